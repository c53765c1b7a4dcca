"""The notification outbox: enqueue, claim what is due, record each attempt, list.

A message is a row from the moment it is decided (in the transaction of the
change that caused it) until it is sent or failed: nothing is lost silently.
Claiming is one short transaction: it counts the attempt and pushes
``next_attempt_at`` a lease ahead, so the send itself runs outside any
transaction and another dispatcher (or a later pass, if this one died) takes
the message again only when the lease has passed.  On PostgreSQL the claim
uses ``FOR UPDATE SKIP LOCKED``; SQLite serialises writers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns import errors, models, notifications
from campaigns.enums import Channel, MessageStatus

#: statuses a dispatcher may claim.
PENDING = (MessageStatus.QUEUED, MessageStatus.RETRYING)


@dataclass(frozen=True)
class ClaimedMessage:
    """A message taken for one attempt (``attempt`` counts it)."""

    id: int
    campaign_id: int | None
    callback_id: int | None
    channel: Channel
    recipient: str
    event: str
    language: str
    subject: str
    body: str
    attempt: int


def enqueue(session: Session, *, channel: Channel, recipient: str, event: str, body: str,
            now: dt.datetime, subject: str = "", language: str = "en",
            campaign_id: int | None = None, callback_id: int | None = None,
            send_at: dt.datetime | None = None) -> models.OutboxMessage:
    """Queue one message, due at ``send_at`` (default ``now``); flushed, not committed."""
    message = models.OutboxMessage(
        campaign_id=campaign_id, callback_id=callback_id, channel=Channel(channel),
        recipient=recipient, event=str(event), language=language, subject=subject, body=body,
        status=MessageStatus.QUEUED, attempts=0, last_error="",
        next_attempt_at=send_at or now, created_at=now)
    session.add(message)
    session.flush()
    return message


def enqueue_notification(session: Session, *, event: notifications.Event | str,
                         routes: Iterable[notifications.Route], language: str | None,
                         context: notifications.MessageContext, now: dt.datetime,
                         campaign_id: int | None = None, callback_id: int | None = None,
                         send_at: dt.datetime | None = None) -> list[models.OutboxMessage]:
    """Render ``event`` for every route and queue the messages (one per route).

    Routes come from :func:`campaigns.notifications.channels_for`, e.g. with
    :func:`contacts_of` for a record.
    """
    queued = []
    for route in routes:
        message = notifications.render(event, language, context, channel=route.channel)
        queued.append(enqueue(session, channel=route.channel, recipient=route.recipient,
                              event=notifications.Event(event).value, subject=message.subject,
                              body=message.body, language=message.language, now=now,
                              campaign_id=campaign_id, callback_id=callback_id,
                              send_at=send_at))
    return queued


def contacts_of(record: models.Record) -> notifications.Contacts:
    """The e-mail and the valid numbers of a record, as the channel chooser wants them."""
    return notifications.Contacts(
        email=record.email or "",
        phones=tuple(notifications.Phone(p.e164, p.line_type) for p in record.phones
                     if p.is_valid))


def claim_due(session: Session, *, now: dt.datetime, lease: dt.timedelta, limit: int,
              channels: Sequence[Channel] = tuple(Channel)) -> list[ClaimedMessage]:
    """Claim up to ``limit`` due messages of ``channels`` for one attempt each (flushed).

    Due: status queued or retrying and ``next_attempt_at <= now``.  Each claimed
    row gets ``attempts + 1`` and ``next_attempt_at = now + lease``.
    """
    om = models.OutboxMessage
    if not channels:
        return []
    query = (select(om).where(om.status.in_(PENDING), om.next_attempt_at <= now,
                              om.channel.in_(list(channels)))
             .order_by(om.next_attempt_at, om.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + lease
    session.flush()
    return [ClaimedMessage(r.id, r.campaign_id, r.callback_id, r.channel, r.recipient, r.event,
                           r.language, r.subject, r.body, r.attempts) for r in rows]


def mark_sent(session: Session, message_id: int, *, attempt: int, now: dt.datetime) -> bool:
    """Record a successful attempt; ``False`` when the claim was lost meanwhile."""
    return _finish(session, message_id, attempt, status=MessageStatus.SENT, sent_at=now,
                   next_attempt_at=None, last_error="")


def mark_retrying(session: Session, message_id: int, *, attempt: int, error: str,
                  next_attempt_at: dt.datetime) -> bool:
    """Record a failed attempt to be tried again at ``next_attempt_at``."""
    return _finish(session, message_id, attempt, status=MessageStatus.RETRYING,
                   next_attempt_at=next_attempt_at, last_error=error)


def mark_failed(session: Session, message_id: int, *, attempt: int, error: str) -> bool:
    """Record the last failed attempt: the message will not be tried again."""
    return _finish(session, message_id, attempt, status=MessageStatus.FAILED,
                   next_attempt_at=None, last_error=error)


def _finish(session: Session, message_id: int, attempt: int, **values: object) -> bool:
    om = models.OutboxMessage
    # Only the holder of the latest claim writes the outcome (attempts is its token).
    result = session.execute(update(om).where(om.id == message_id, om.attempts == attempt,
                                              om.status.in_(PENDING))
                             .values(**values).execution_options(synchronize_session="fetch"))
    return bool(result.rowcount)


def withdraw_pending(session: Session, *, callback_id: int, reason: str,
                     events: Sequence[str] | None = None) -> int:
    """Stop the pending messages of a callback (e.g. its reminders once it is rescheduled).

    They stay listed, as ``failed`` with ``last_error = "withdrawn: <reason>"``;
    returns how many were withdrawn.
    """
    om = models.OutboxMessage
    query = update(om).where(om.callback_id == callback_id, om.status.in_(PENDING))
    if events is not None:
        query = query.where(om.event.in_([str(e) for e in events]))
    result = session.execute(query.values(status=MessageStatus.FAILED, next_attempt_at=None,
                                          last_error=f"withdrawn: {reason}")
                             .execution_options(synchronize_session="fetch"))
    return int(result.rowcount)


def requeue(session: Session, message_id: int, *, now: dt.datetime) -> models.OutboxMessage:
    """Send a failed message again (attempts start over).

    Raises
    ------
    campaigns.errors.NotFound
        No such message (``no-such-message``).
    campaigns.errors.InvalidInput
        The message was sent already or is still pending (``message-not-failed``).
    """
    message = get(session, message_id)
    if message.status is not MessageStatus.FAILED:
        raise errors.InvalidInput(f"message {message_id} is {message.status.value}, not failed",
                                  fields={"id": message.status.value},
                                  error_id="message-not-failed")
    message.status = MessageStatus.QUEUED
    message.attempts = 0
    message.next_attempt_at = now
    session.flush()
    return message


def get(session: Session, message_id: int) -> models.OutboxMessage:
    message = session.get(models.OutboxMessage, message_id)
    if message is None:
        raise errors.NotFound("message", message_id)
    return message


def list_messages(session: Session, *, status: MessageStatus | None = None,
                  campaign_id: int | None = None, callback_id: int | None = None,
                  limit: int = 1000) -> list[models.OutboxMessage]:
    """Messages, newest first, optionally filtered."""
    om = models.OutboxMessage
    query = select(om).order_by(om.id.desc()).limit(limit)
    if status is not None:
        query = query.where(om.status == status)
    if campaign_id is not None:
        query = query.where(om.campaign_id == campaign_id)
    if callback_id is not None:
        query = query.where(om.callback_id == callback_id)
    return list(session.scalars(query))


def count_pending(session: Session, *, now: dt.datetime) -> dict[Channel, int]:
    """Due messages per channel (to report channels that have no sender)."""
    om = models.OutboxMessage
    rows = session.execute(select(om.channel, func.count())
                           .where(om.status.in_(PENDING), om.next_attempt_at <= now)
                           .group_by(om.channel)).all()
    return {Channel(channel): int(count) for channel, count in rows}
