"""Callback queries: look up, list, book counts, agents on shift, internal notes, history, reports.

The history of a callback is its audit events (entity ``callback``), oldest
first.  Nothing here commits; the unit of work (``dialer.callbacks_service``)
does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns import callbacks, errors, models, shifts
from campaigns.enums import CallbackStatus, Role
from campaigns.store import audit, users

ENTITY = "callback"


def get(session: Session, callback_id: int, *, for_update: bool = False) -> models.Callback:
    """The callback ``callback_id``.

    Raises
    ------
    campaigns.errors.NotFound
        When there is none (error id ``no-such-callback``).
    """
    callback = session.get(models.Callback, callback_id,
                           with_for_update=for_update and _is_pg(session))
    if callback is None:
        raise errors.NotFound("callback", callback_id)
    return callback


def list_callbacks(session: Session, *, campaign_id: int | None = None,
                   statuses: list[CallbackStatus] | None = None, owner_id: int | None = None,
                   record_id: int | None = None, limit: int = 1000) -> list[models.Callback]:
    """Callbacks by window start, optionally filtered."""
    cb = models.Callback
    query = select(cb).order_by(cb.window_start_at, cb.id).limit(limit)
    if campaign_id is not None:
        query = query.where(cb.campaign_id == campaign_id)
    if statuses:
        query = query.where(cb.status.in_(statuses))
    if owner_id is not None:
        query = query.where(cb.owner_id == owner_id)
    if record_id is not None:
        query = query.where(cb.record_id == record_id)
    return list(session.scalars(query))


def add(session: Session, **values: Any) -> models.Callback:
    """Insert a callback (flushed)."""
    callback = models.Callback(**values)
    session.add(callback)
    session.flush()
    return callback


def record_change(session: Session, callback: models.Callback, *, action: str, actor: str,
                  at: dt.datetime, before: CallbackStatus | None, why: str = "",
                  details: dict[str, Any] | None = None) -> models.AuditEvent:
    """Append the audit event of a lifecycle change (who, when, from, to, why)."""
    data = {"from": before.value if before is not None else None,
            "to": CallbackStatus(callback.status).value, "why": why}
    data.update(details or {})
    return audit.record(session, action=f"callback.{action}", entity=ENTITY,
                        entity_id=callback.id, actor=actor, at=at, details=data)


def history(session: Session, callback_id: int) -> list[dict[str, Any]]:
    """The callback's audit events, oldest first, as plain dicts."""
    out = []
    for event in audit.events(session, entity=ENTITY, entity_id=callback_id):
        at = event.at if event.at.tzinfo else event.at.replace(tzinfo=dt.UTC)
        out.append({"at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "actor": event.actor,
                    "action": event.action.removeprefix("callback."),
                    "from": event.details.get("from"), "to": event.details.get("to"),
                    "why": event.details.get("why", ""),
                    "details": {k: v for k, v in event.details.items()
                                if k not in ("from", "to", "why")}})
    return out


def owner_name(session: Session, callback: models.Callback) -> str | None:
    if callback.owner_id is None:
        return None
    user = session.get(models.User, callback.owner_id)
    return user.name if user is not None else None


# --------------------------------------------------------------------------- notes


def add_note(session: Session, callback_id: int, *, author: str, body: str,
             now: dt.datetime) -> models.CallbackNote:
    if not body.strip():
        raise errors.InvalidInput("a note needs some text", fields={"body": "empty"})
    note = models.CallbackNote(callback_id=callback_id, author=author, body=body.strip(),
                               created_at=now, updated_at=now)
    session.add(note)
    session.flush()
    return note


def get_note(session: Session, note_id: int) -> models.CallbackNote:
    note = session.get(models.CallbackNote, note_id)
    if note is None:
        raise errors.NotFound("note", note_id)
    return note


def notes(session: Session, callback_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(models.CallbackNote)
                           .where(models.CallbackNote.callback_id == callback_id)
                           .order_by(models.CallbackNote.id))
    return [{"id": n.id, "author": n.author, "body": n.body,
             "created_at": callbacks.iso_utc(n.created_at),
             "updated_at": callbacks.iso_utc(n.updated_at)} for n in rows]


# --------------------------------------------------------------------------- capacity


def agents(session: Session, campaign_id: int) -> list[models.User]:
    """Active agents who are members of the campaign."""
    query = (select(models.User)
             .join(models.CampaignMember, models.CampaignMember.user_id == models.User.id)
             .where(models.CampaignMember.campaign_id == campaign_id,
                    models.User.is_active.is_(True), models.User.role == Role.AGENT)
             .order_by(models.User.name))
    return list(session.scalars(query))


def is_on_shift(user: models.User, at: dt.datetime) -> bool:
    return shifts.is_working(users.weekly_shifts(user), users.shift_exceptions(user), user.tz, at)


def booked(session: Session, campaign_id: int, start: dt.datetime, end: dt.datetime, *,
           owner_id: int | None = None, exclude_id: int | None = None) -> int:
    """Booked callbacks whose window starts in ``[start, end)`` (optionally one owner's)."""
    cb = models.Callback
    query = select(func.count()).select_from(cb).where(
        cb.campaign_id == campaign_id, cb.status.in_(list(callbacks.BOOKED)),
        cb.window_start_at >= start, cb.window_start_at < end)
    if owner_id is not None:
        query = query.where(cb.owner_id == owner_id)
    if exclude_id is not None:
        query = query.where(cb.id != exclude_id)
    return int(session.scalar(query) or 0)


# --------------------------------------------------------------------------- engine and ladder


def overdue(session: Session, now: dt.datetime, *, limit: int = 500) -> list[models.Callback]:
    """Callbacks still waiting for their call whose window has ended (an in-progress one
    only once its engine's lease has run out)."""
    cb = models.Callback
    waiting = cb.status.in_([CallbackStatus.SCHEDULED, CallbackStatus.DUE,
                             CallbackStatus.REOPENED])
    abandoned = (cb.status == CallbackStatus.IN_PROGRESS) & (
        cb.claimed_until.is_(None) | (cb.claimed_until < now))
    query = (select(cb).where(waiting | abandoned, cb.window_end_at <= now)
             .order_by(cb.window_end_at, cb.id).limit(limit))
    return list(session.scalars(query))


def on_ladder(session: Session, *, limit: int = 500) -> list[models.Callback]:
    """Missed callbacks, and notified ones waiting for the customer, whose ladder goes on."""
    cb = models.Callback
    query = (select(cb).where(
        (cb.status == CallbackStatus.MISSED) & (cb.ladder_step < callbacks.Step.CLOSE)
        | ((cb.status == CallbackStatus.REQUESTED) & (cb.ladder_step == callbacks.Step.NOTIFY)))
        .order_by(cb.id).limit(limit))
    return list(session.scalars(query))


def reminders_due(session: Session, campaign_id: int | None = None) -> list[models.Callback]:
    cb = models.Callback
    query = select(cb).where(cb.status.in_(list(callbacks.BOOKED)))
    if campaign_id is not None:
        query = query.where(cb.campaign_id == campaign_id)
    return list(session.scalars(query))


# --------------------------------------------------------------------------- report


def report_rows(session: Session, *, campaign_id: int | None = None,
                since: dt.datetime | None = None) -> list[models.Callback]:
    cb = models.Callback
    query = select(cb).order_by(cb.id)
    if campaign_id is not None:
        query = query.where(cb.campaign_id == campaign_id)
    if since is not None:
        query = query.where(cb.window_start_at >= since)
    return list(session.scalars(query))


def campaign_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(models.Campaign.id, models.Campaign.name)).all())


def user_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(models.User.id, models.User.name)).all())


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
