"""Webhook endpoints per campaign and the delivery log: enqueue, claim, record, list.

An event is turned into its exact JSON body once, when it happens; every
active endpoint of the campaign that wants the event gets a delivery row with
that body, which is signed (with a fresh timestamp) and posted at each attempt.
Claiming works as in :mod:`campaigns.store.outbox` (lease, SKIP LOCKED).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaigns import errors, models
from campaigns.enums import MessageStatus

PENDING = (MessageStatus.QUEUED, MessageStatus.RETRYING)


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery taken for one attempt, with what is needed to post it."""

    id: int
    endpoint_id: int
    url: str
    secret: str
    event: str
    body: str
    attempt: int


def add_endpoint(session: Session, *, campaign_id: int, url: str, secret: str,
                 events: Sequence[str] = (), now: dt.datetime) -> models.WebhookEndpoint:
    """Register an endpoint (flushed); an empty ``events`` receives every event."""
    endpoint = models.WebhookEndpoint(campaign_id=campaign_id, url=url, secret=secret,
                                      events=sorted(set(events)), is_active=True, created_at=now)
    session.add(endpoint)
    session.flush()
    return endpoint


def get_endpoint(session: Session, endpoint_id: int) -> models.WebhookEndpoint:
    """The endpoint ``endpoint_id``.

    Raises
    ------
    campaigns.errors.NotFound
        When there is none (error id ``no-such-webhook``).
    """
    endpoint = session.get(models.WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise errors.NotFound("webhook", endpoint_id)
    return endpoint


def endpoints(session: Session, *, campaign_id: int | None = None,
              is_active: bool | None = None) -> list[models.WebhookEndpoint]:
    query = select(models.WebhookEndpoint).order_by(models.WebhookEndpoint.id)
    if campaign_id is not None:
        query = query.where(models.WebhookEndpoint.campaign_id == campaign_id)
    if is_active is not None:
        query = query.where(models.WebhookEndpoint.is_active == is_active)
    return list(session.scalars(query))


def remove_endpoint(session: Session, endpoint_id: int) -> None:
    """Delete an endpoint and its delivery log."""
    session.delete(get_endpoint(session, endpoint_id))
    session.flush()


def set_active(session: Session, endpoint_id: int, is_active: bool) -> models.WebhookEndpoint:
    endpoint = get_endpoint(session, endpoint_id)
    endpoint.is_active = is_active
    session.flush()
    return endpoint


def event_body(*, event: str, campaign_id: int, data: Mapping[str, Any], now: dt.datetime,
               event_id: str) -> str:
    """The exact JSON text posted for an event (compact, keys sorted).

    >>> event_body(event="callback.cancelled", campaign_id=3, data={"callback_id": 7},
    ...            now=dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.timezone.utc), event_id="e1")
    '{"campaign_id":3,"created_at":"2026-11-21T09:00:00Z","data":{"callback_id":7},"id":"e1","type":"callback.cancelled"}'
    """
    envelope = {"id": event_id, "type": event, "created_at": _iso(now),
                "campaign_id": campaign_id, "data": dict(data)}
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_json_default)


def enqueue_event(session: Session, *, campaign_id: int, event: str, data: Mapping[str, Any],
                  now: dt.datetime, event_id: str | None = None) -> list[models.WebhookDelivery]:
    """A delivery for every active endpoint of the campaign that wants ``event`` (flushed).

    ``data`` must be JSON-serialisable (datetimes are written as UTC ``...Z``).
    """
    body = event_body(event=event, campaign_id=campaign_id, data=data, now=now,
                      event_id=event_id or uuid.uuid4().hex)
    deliveries = []
    for endpoint in endpoints(session, campaign_id=campaign_id, is_active=True):
        if endpoint.events and event not in endpoint.events:
            continue
        delivery = models.WebhookDelivery(endpoint_id=endpoint.id, event=event, body=body,
                                          status=MessageStatus.QUEUED, attempts=0, last_error="",
                                          next_attempt_at=now, created_at=now)
        session.add(delivery)
        deliveries.append(delivery)
    session.flush()
    return deliveries


def claim_due(session: Session, *, now: dt.datetime, lease: dt.timedelta,
              limit: int) -> list[ClaimedDelivery]:
    """Claim up to ``limit`` due deliveries for one attempt each (flushed).

    A delivery whose endpoint was deactivated is not claimed; it stays in the log.
    """
    wd, we = models.WebhookDelivery, models.WebhookEndpoint
    query = (select(wd, we.url, we.secret).join(we, we.id == wd.endpoint_id)
             .where(wd.status.in_(PENDING), wd.next_attempt_at <= now, we.is_active.is_(True))
             .order_by(wd.next_attempt_at, wd.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=wd, skip_locked=True)
    rows = session.execute(query).all()
    claimed = []
    for delivery, url, secret in rows:
        delivery.attempts += 1
        delivery.next_attempt_at = now + lease
        claimed.append(ClaimedDelivery(delivery.id, delivery.endpoint_id, url, secret,
                                       delivery.event, delivery.body, delivery.attempts))
    session.flush()
    return claimed


def mark_delivered(session: Session, delivery_id: int, *, attempt: int, response_status: int,
                   now: dt.datetime) -> bool:
    """Record a 2xx answer; ``False`` when the claim was lost meanwhile."""
    return _finish(session, delivery_id, attempt, status=MessageStatus.SENT, delivered_at=now,
                   response_status=response_status, next_attempt_at=None, last_error="")


def mark_retrying(session: Session, delivery_id: int, *, attempt: int, error: str,
                  response_status: int | None, next_attempt_at: dt.datetime) -> bool:
    return _finish(session, delivery_id, attempt, status=MessageStatus.RETRYING,
                   response_status=response_status, next_attempt_at=next_attempt_at,
                   last_error=error)


def mark_failed(session: Session, delivery_id: int, *, attempt: int, error: str,
                response_status: int | None) -> bool:
    return _finish(session, delivery_id, attempt, status=MessageStatus.FAILED,
                   response_status=response_status, next_attempt_at=None, last_error=error)


def _finish(session: Session, delivery_id: int, attempt: int, **values: object) -> bool:
    wd = models.WebhookDelivery
    result = session.execute(update(wd).where(wd.id == delivery_id, wd.attempts == attempt,
                                              wd.status.in_(PENDING))
                             .values(**values).execution_options(synchronize_session="fetch"))
    return bool(result.rowcount)


def requeue(session: Session, delivery_id: int, *, now: dt.datetime) -> models.WebhookDelivery:
    """Post a failed delivery again (attempts start over).

    Raises
    ------
    campaigns.errors.NotFound
        No such delivery (``no-such-delivery``).
    campaigns.errors.InvalidInput
        It is not failed (``delivery-not-failed``).
    """
    delivery = session.get(models.WebhookDelivery, delivery_id)
    if delivery is None:
        raise errors.NotFound("delivery", delivery_id)
    if delivery.status is not MessageStatus.FAILED:
        raise errors.InvalidInput(f"delivery {delivery_id} is {delivery.status.value}, "
                                  "not failed", fields={"id": delivery.status.value},
                                  error_id="delivery-not-failed")
    delivery.status = MessageStatus.QUEUED
    delivery.attempts = 0
    delivery.next_attempt_at = now
    session.flush()
    return delivery


def deliveries(session: Session, *, campaign_id: int | None = None,
               endpoint_id: int | None = None, status: MessageStatus | None = None,
               limit: int = 1000) -> list[models.WebhookDelivery]:
    """The delivery log, newest first."""
    wd, we = models.WebhookDelivery, models.WebhookEndpoint
    query = select(wd).join(we, we.id == wd.endpoint_id).order_by(wd.id.desc()).limit(limit)
    if campaign_id is not None:
        query = query.where(we.campaign_id == campaign_id)
    if endpoint_id is not None:
        query = query.where(wd.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(wd.status == status)
    return list(session.scalars(query))


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
