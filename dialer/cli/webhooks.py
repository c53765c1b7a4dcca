"""``dialer webhooks add|list|remove|enable|disable|deliveries|redeliver``: per-campaign webhooks.

Every callback event of a campaign is posted to its active endpoints as JSON,
signed in ``X-Dialer-Signature`` with the endpoint's secret; the secret is
printed once, when the endpoint is added.  Deliveries are sent by
``dialer notifications send-due`` (or the scheduler) and kept as a log.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import click

from campaigns import models
from campaigns.db import utcnow
from campaigns.enums import MessageStatus
from campaigns.store import audit
from campaigns.store import campaigns as campaign_store
from campaigns.store import webhooks as webhook_store
from dialer.cli import common

_EVENT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


def _endpoint_dict(endpoint: models.WebhookEndpoint, campaign_name: str) -> dict[str, Any]:
    return {"id": endpoint.id, "campaign": campaign_name, "campaign_id": endpoint.campaign_id,
            "url": endpoint.url, "events": list(endpoint.events), "is_active": endpoint.is_active,
            "secret_hint": endpoint.secret[:10] + "…", "created_at": endpoint.created_at}


def _delivery_dict(delivery: models.WebhookDelivery) -> dict[str, Any]:
    return {"id": delivery.id, "endpoint_id": delivery.endpoint_id, "event": delivery.event,
            "status": delivery.status.value, "attempts": delivery.attempts,
            "response_status": delivery.response_status, "last_error": delivery.last_error,
            "next_attempt_at": delivery.next_attempt_at, "created_at": delivery.created_at,
            "delivered_at": delivery.delivered_at, "body": delivery.body}


def validate_url(url: str) -> str:
    """An absolute http(s) URL.

    >>> validate_url("https://hooks.example.com/dialer")
    'https://hooks.example.com/dialer'
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise common.usage_error(f"webhook URL {url!r} is not an absolute http(s) URL", "url")
    return url.strip()


@click.group("webhooks")
def command() -> None:
    """Webhooks: signed JSON posts of a campaign's callback events."""


@command.command("add")
@click.argument("url")
@click.option("--campaign", "campaign_name", required=True, help="The campaign.")
@click.option("--event", "events", multiple=True,
              help="An event to receive, e.g. callback.cancelled (repeatable; default all).")
@click.option("--secret", help="Signing secret (default: a generated one, printed once).")
@common.common_options
def add(url: str, campaign_name: str, events: tuple[str, ...], secret: str | None) -> None:
    """Post the campaign's callback events to URL."""
    app = common.app()
    url = validate_url(url)
    for event in events:
        if not _EVENT.match(event):
            raise common.usage_error(f"event {event!r}: use lowercase names like "
                                     "callback.cancelled", "event")
    if secret is not None and len(secret) < 16:
        raise common.usage_error("the secret must have at least 16 characters", "secret")
    secret = secret or "whsec_" + secrets.token_urlsafe(32)
    now = utcnow()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, campaign_name)
        endpoint = webhook_store.add_endpoint(session, campaign_id=campaign.id, url=url,
                                              secret=secret, events=events, now=now)
        audit.record(session, action="webhook.add", entity="webhook", entity_id=endpoint.id,
                     details={"campaign": campaign.name, "url": url, "events": sorted(events)},
                     at=now)
        shown = _endpoint_dict(endpoint, campaign.name) | {"secret": secret}
    app.emit(shown, f"webhook {shown['id']} added for {campaign_name!r}: {url}\n"
                    f"signing secret (shown once): {secret}")


@command.command("list")
@click.option("--campaign", "campaign_name", help="Only this campaign's endpoints.")
@common.common_options
def list_(campaign_name: str | None) -> None:
    """List webhook endpoints (secrets are not shown)."""
    app = common.app()
    with app.session() as session:
        names = {c.id: c.name for c in campaign_store.all_campaigns(session)}
        campaign_id = (campaign_store.get_by_name(session, campaign_name).id
                       if campaign_name else None)
        rows = [_endpoint_dict(e, names.get(e.campaign_id, ""))
                for e in webhook_store.endpoints(session, campaign_id=campaign_id)]
    app.emit({"webhooks": rows}, lambda: common.echo_table(
        rows, ["id", "campaign", "url", "events", "is_active"]))


@command.command("remove")
@click.argument("endpoint_id", type=int)
@common.common_options
def remove(endpoint_id: int) -> None:
    """Delete an endpoint and its delivery log."""
    app = common.app()
    now = utcnow()
    with app.session() as session:
        url = webhook_store.get_endpoint(session, endpoint_id).url
        webhook_store.remove_endpoint(session, endpoint_id)
        audit.record(session, action="webhook.remove", entity="webhook", entity_id=endpoint_id,
                     details={"url": url}, at=now)
    app.emit({"id": endpoint_id, "removed": True}, f"webhook {endpoint_id} removed")


def _set_active(endpoint_id: int, is_active: bool) -> None:
    app = common.app()
    now = utcnow()
    with app.session() as session:
        endpoint = webhook_store.set_active(session, endpoint_id, is_active)
        audit.record(session, action="webhook.enable" if is_active else "webhook.disable",
                     entity="webhook", entity_id=endpoint_id, at=now)
        campaign = campaign_store.get(session, endpoint.campaign_id)
        shown = _endpoint_dict(endpoint, campaign.name)
    app.emit(shown, f"webhook {endpoint_id} {'enabled' if is_active else 'disabled'}")


@command.command("enable")
@click.argument("endpoint_id", type=int)
@common.common_options
def enable(endpoint_id: int) -> None:
    """Post to an endpoint again (deliveries that waited are sent)."""
    _set_active(endpoint_id, True)


@command.command("disable")
@click.argument("endpoint_id", type=int)
@common.common_options
def disable(endpoint_id: int) -> None:
    """Stop posting to an endpoint; new events are not logged for it, pending ones wait."""
    _set_active(endpoint_id, False)


@command.command("deliveries")
@click.option("--campaign", "campaign_name", help="Only this campaign's deliveries.")
@click.option("--endpoint", "endpoint_id", type=int, help="Only this endpoint's deliveries.")
@click.option("--status", type=click.Choice([s.value for s in MessageStatus]))
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True)
@common.common_options
def deliveries(campaign_name: str | None, endpoint_id: int | None, status: str | None,
               limit: int) -> None:
    """The delivery log, newest first."""
    app = common.app()
    with app.session() as session:
        campaign_id = (campaign_store.get_by_name(session, campaign_name).id
                       if campaign_name else None)
        rows = [_delivery_dict(d) for d in webhook_store.deliveries(
            session, campaign_id=campaign_id, endpoint_id=endpoint_id,
            status=MessageStatus(status) if status else None, limit=limit)]
    app.emit({"deliveries": rows}, lambda: common.echo_table(
        rows, ["id", "endpoint_id", "event", "status", "attempts", "response_status",
               "next_attempt_at", "last_error"]))


@command.command("redeliver")
@click.argument("delivery_id", type=int)
@common.common_options
def redeliver(delivery_id: int) -> None:
    """Queue a failed delivery again (its attempts start over)."""
    app = common.app()
    now = utcnow()
    with app.session() as session:
        delivery = webhook_store.requeue(session, delivery_id, now=now)
        audit.record(session, action="webhook.redeliver", entity="webhook_delivery",
                     entity_id=delivery_id, at=now)
        shown = _delivery_dict(delivery)
    app.emit(shown, f"delivery {delivery_id} queued again")
