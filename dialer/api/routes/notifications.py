"""``/api/notifications`` (the outbox of e-mail and SMS) and ``/api/webhooks`` (per-campaign
signed event posts and their delivery log) (F1 resources).

The JSON shapes are those of ``dialer notifications`` and ``dialer webhooks``.  Supervisors and
administrators read and re-queue failed messages; administrators add, remove, enable and
disable webhooks and re-deliver failed deliveries.  Every change is audited.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from campaigns.enums import Channel, MessageStatus
from campaigns.store import audit, outbox
from campaigns.store import campaigns as campaign_store
from campaigns.store import webhooks as webhook_store
from dialer.api import auth, errors
from dialer.cli import notifications as notification_cli
from dialer.cli import webhooks as webhook_cli

router = APIRouter(tags=["notifications"])

_EVENT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


class WebhookIn(BaseModel):
    campaign_id: int
    url: str = Field(min_length=1, max_length=2000)
    #: events to receive, e.g. ``callback.cancelled`` (empty: every event).
    events: list[str] = Field(default_factory=list, max_length=100)
    #: signing secret (default: a generated one, shown once in the answer).
    secret: str | None = Field(default=None, min_length=16, max_length=200)


def _status(value: str | None) -> MessageStatus | None:
    try:
        return MessageStatus(value) if value else None
    except ValueError:
        raise errors.ApiError(f"status {value!r} is not one of "
                              f"{', '.join(s.value for s in MessageStatus)}",
                              fields={"status": "unknown"}, error_id="invalid-input") from None


@router.get("/api/notifications")
def list_notifications(user: auth.Staff, session: auth.Db, status: str | None = None,
                       channel: Channel | None = None, callback_id: int | None = None,
                       campaign_id: int | None = None,
                       limit: int = Query(200, ge=1, le=10_000)) -> dict[str, Any]:
    """Outbox messages, newest first, filtered by status, channel, campaign or callback."""
    if campaign_id is not None:
        user.check_campaign(campaign_id)
    rows = outbox.list_messages(session, status=_status(status), campaign_id=campaign_id,
                                callback_id=callback_id,
                                limit=limit if channel is None else 100_000)
    if channel is not None:
        rows = [m for m in rows if m.channel is channel][:limit]
    return {"messages": [notification_cli.as_dict(m) for m in rows]}


@router.get("/api/notifications/{message_id}")
def show_notification(message_id: int, user: auth.Staff, session: auth.Db) -> dict[str, Any]:
    """One message with its body."""
    return notification_cli.as_dict(outbox.get(session, message_id), with_body=True)


@router.post("/api/notifications/{message_id}/retry")
def retry_notification(message_id: int, user: auth.Staff, session: auth.Db,
                       ctx: auth.Ctx) -> dict[str, Any]:
    """Queue a failed message again (its attempts start over)."""
    message = outbox.requeue(session, message_id, now=ctx.now())
    audit.record(session, action="notification.requeue", entity="outbox_message",
                 entity_id=message_id, actor=user.actor, at=ctx.now())
    return notification_cli.as_dict(message)


def _names(session: Session) -> dict[int, str]:
    return {c.id: c.name for c in campaign_store.all_campaigns(session)}


@router.get("/api/webhooks")
def list_webhooks(user: auth.Staff, session: auth.Db,
                  campaign_id: int | None = None) -> dict[str, Any]:
    """Webhook endpoints (secrets are not shown)."""
    names = _names(session)
    return {"webhooks": [webhook_cli._endpoint_dict(e, names.get(e.campaign_id, ""))
                         for e in webhook_store.endpoints(session, campaign_id=campaign_id)]}


@router.post("/api/webhooks", status_code=201)
def add_webhook(body: WebhookIn, user: auth.Admin, session: auth.Db,
                ctx: auth.Ctx) -> dict[str, Any]:
    """Post the campaign's callback events to ``url``; the secret is shown only here."""
    url = webhook_cli.validate_url(body.url)
    for event in body.events:
        if not _EVENT.match(event):
            raise errors.ApiError(f"event {event!r}: use lowercase names like "
                                  "callback.cancelled", fields={"events": event},
                                  error_id="invalid-input")
    campaign = campaign_store.get(session, body.campaign_id)
    secret = body.secret or "whsec_" + secrets.token_urlsafe(32)
    endpoint = webhook_store.add_endpoint(session, campaign_id=campaign.id, url=url,
                                          secret=secret, events=body.events, now=ctx.now())
    audit.record(session, action="webhook.add", entity="webhook", entity_id=endpoint.id,
                 actor=user.actor, at=ctx.now(),
                 details={"campaign": campaign.name, "url": url, "events": sorted(body.events)})
    return webhook_cli._endpoint_dict(endpoint, campaign.name) | {"secret": secret}


@router.get("/api/webhooks/{endpoint_id}")
def show_webhook(endpoint_id: int, user: auth.Staff, session: auth.Db) -> dict[str, Any]:
    endpoint = webhook_store.get_endpoint(session, endpoint_id)
    return webhook_cli._endpoint_dict(endpoint, _names(session).get(endpoint.campaign_id, ""))


@router.delete("/api/webhooks/{endpoint_id}")
def remove_webhook(endpoint_id: int, user: auth.Admin, session: auth.Db,
                   ctx: auth.Ctx) -> dict[str, Any]:
    """Delete an endpoint and its delivery log."""
    url = webhook_store.get_endpoint(session, endpoint_id).url
    webhook_store.remove_endpoint(session, endpoint_id)
    audit.record(session, action="webhook.remove", entity="webhook", entity_id=endpoint_id,
                 actor=user.actor, details={"url": url}, at=ctx.now())
    return {"id": endpoint_id, "removed": True}


def _set_active(session: Session, user: auth.Principal, ctx: Any, endpoint_id: int,
                is_active: bool) -> dict[str, Any]:
    endpoint = webhook_store.set_active(session, endpoint_id, is_active)
    audit.record(session, action="webhook.enable" if is_active else "webhook.disable",
                 entity="webhook", entity_id=endpoint_id, actor=user.actor, at=ctx.now())
    return webhook_cli._endpoint_dict(endpoint, _names(session).get(endpoint.campaign_id, ""))


@router.post("/api/webhooks/{endpoint_id}/enable")
def enable_webhook(endpoint_id: int, user: auth.Admin, session: auth.Db,
                   ctx: auth.Ctx) -> dict[str, Any]:
    """Post to the endpoint again (deliveries that waited are sent)."""
    return _set_active(session, user, ctx, endpoint_id, True)


@router.post("/api/webhooks/{endpoint_id}/disable")
def disable_webhook(endpoint_id: int, user: auth.Admin, session: auth.Db,
                    ctx: auth.Ctx) -> dict[str, Any]:
    """Stop posting to the endpoint; new events are not logged for it."""
    return _set_active(session, user, ctx, endpoint_id, False)


@router.get("/api/webhooks/{endpoint_id}/deliveries")
def list_deliveries(endpoint_id: int, user: auth.Staff, session: auth.Db,
                    status: str | None = None,
                    limit: int = Query(200, ge=1, le=10_000)) -> dict[str, Any]:
    """The endpoint's delivery log, newest first."""
    webhook_store.get_endpoint(session, endpoint_id)
    rows = webhook_store.deliveries(session, endpoint_id=endpoint_id, status=_status(status),
                                    limit=limit)
    return {"deliveries": [webhook_cli._delivery_dict(d) for d in rows]}


@router.post("/api/webhooks/deliveries/{delivery_id}/redeliver")
def redeliver(delivery_id: int, user: auth.Admin, session: auth.Db,
              ctx: auth.Ctx) -> dict[str, Any]:
    """Queue a failed delivery again (its attempts start over)."""
    delivery = webhook_store.requeue(session, delivery_id, now=ctx.now())
    audit.record(session, action="webhook.redeliver", entity="webhook_delivery",
                 entity_id=delivery_id, actor=user.actor, at=ctx.now())
    return webhook_cli._delivery_dict(delivery)
