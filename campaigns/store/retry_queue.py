"""The retry queue's timer passes: when is something next due, and release what is due now.

Retry and callback rows are the truth.  :func:`next_due_at` tells the timer
(:mod:`dialer.timers`) when to wake; :func:`release_due` runs at that instant:

- a due retry that may be dialled now stays pending (the hopper claims it);
  one that may not moves to ``next_dialable_at`` — or, when its window can no
  longer be met, to its next legal window — and the record's
  ``next_attempt_at`` cache follows in the same transaction; one with no legal
  minute within the horizon is cancelled and its record exhausted;
- a scheduled callback whose window has opened becomes ``due``;
- an open callback whose window has passed goes to ``on_missed`` (the
  callbacks workflow's escalation ladder).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from campaigns import calling_hours, calling_rules, models
from campaigns.enums import CallbackStatus, RecordStatus, RetryStatus
from campaigns.store import compliance

HORIZON = dt.timedelta(days=14)
_OPEN_CALLBACK = (CallbackStatus.SCHEDULED, CallbackStatus.DUE, CallbackStatus.REOPENED)

OnMissed = Callable[[Session, models.Callback, dt.datetime], None]


@dataclass
class Release:
    """What one pass did."""

    #: due retries that may be dialled now (left for the hopper).
    ready: int = 0
    #: due retries moved to a later legal instant.
    moved: int = 0
    #: due retries with no legal minute within the horizon (cancelled).
    cancelled: int = 0
    #: callbacks whose window opened.
    callbacks_due: int = 0
    #: callbacks whose window passed (handed to ``on_missed``).
    callbacks_missed: int = 0
    moved_to: list[dt.datetime] = field(default_factory=list)


def next_due_at(session: Session) -> dt.datetime | None:
    """The earliest instant a retry or callback needs the timer."""
    retry = session.scalar(select(func.min(models.Retry.earliest_at))
                           .where(models.Retry.status == RetryStatus.PENDING))
    opening = session.scalar(select(func.min(models.Callback.window_start_at))
                             .where(models.Callback.status == CallbackStatus.SCHEDULED))
    closing = session.scalar(select(func.min(models.Callback.window_end_at))
                             .where(models.Callback.status.in_(_OPEN_CALLBACK)))
    found = [_aware(t) for t in (retry, opening, closing) if t is not None]
    return min(found, default=None)


def _aware(value: dt.datetime) -> dt.datetime:
    # func.min() bypasses the column type on SQLite: the value may come back naive (UTC).
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def mark_missed(session: Session, callback: models.Callback, now: dt.datetime) -> None:
    """The simplest ladder: the callback is missed (the callbacks workflow supplies its own)."""
    callback.status = CallbackStatus.MISSED
    callback.updated_at = now


def release_due(session: Session, now: dt.datetime, *, rules: calling_rules.RuleSet | None = None,
                on_missed: OnMissed = mark_missed, limit: int = 5000) -> Release:
    """One timer pass (flushed, not committed)."""
    rules = rules or calling_rules.default_rules()
    report = Release()
    _release_retries(session, now, rules, report, limit)
    report.callbacks_due = session.execute(
        update(models.Callback).where(models.Callback.status == CallbackStatus.SCHEDULED,
                                      models.Callback.window_start_at <= now,
                                      models.Callback.window_end_at > now)
        .values(status=CallbackStatus.DUE, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount or 0
    passed = session.scalars(select(models.Callback).where(
        models.Callback.status.in_(_OPEN_CALLBACK), models.Callback.window_end_at <= now,
        or_(models.Callback.claimed_until.is_(None), models.Callback.claimed_until < now))
        .order_by(models.Callback.window_end_at).limit(limit)).all()
    for callback in passed:
        on_missed(session, callback, now)
        report.callbacks_missed += 1
    session.flush()
    return report


def _release_retries(session: Session, now: dt.datetime, rules: calling_rules.RuleSet,
                     report: Release, limit: int) -> None:
    due = session.scalars(
        select(models.Retry).join(models.Record, models.Record.id == models.Retry.record_id)
        .where(models.Retry.status == RetryStatus.PENDING, models.Retry.earliest_at <= now,
               or_(models.Record.claimed_until.is_(None), models.Record.claimed_until < now))
        .order_by(models.Retry.earliest_at).limit(limit)).all()
    campaigns = {c.id: c for c in session.scalars(select(models.Campaign).where(
        models.Campaign.id.in_({r.campaign_id for r in due})))}
    phones = {p.id: p for p in session.scalars(
        select(models.PhoneNumber).options(selectinload(models.PhoneNumber.record))
        .where(models.PhoneNumber.id.in_({r.phone_number_id for r in due if r.phone_number_id})))}
    for retry in due:
        phone = phones.get(retry.phone_number_id)
        if phone is None:
            report.ready += 1  # the hopper dials the record's first valid number
            continue
        target = compliance.load_target(session, campaigns[retry.campaign_id], now, phone=phone,
                                        rules=rules)
        lapsed = retry.window_end_at is not None and retry.window_end_at <= now
        if not lapsed and calling_hours.may_dial(target, now).is_allowed:
            report.ready += 1
            continue
        opening = calling_hours.next_dialable_at(target, now, HORIZON)
        if opening is None:
            retry.status = RetryStatus.CANCELLED
            retry.reason = f"{retry.reason}; no legal minute within {HORIZON.days} days"
            phone.record.status = RecordStatus.EXHAUSTED
            phone.record.next_attempt_at = None
            report.cancelled += 1
            continue
        retry.earliest_at = opening
        if lapsed:
            retry.window_end_at = calling_hours.may_dial(target, opening).allowed_until
        phone.record.next_attempt_at = opening
        report.moved += 1
        report.moved_to.append(opening)
