"""The hopper's queries: claim the next dialable work of a campaign, with a lease.

Order: due callbacks first, then due retries, then new records by list
priority and record priority.  The record row is the unit of exclusivity: a
claim writes ``claimed_by``/``claimed_until`` on it, and an expired lease is
claimable again.  On PostgreSQL candidates are locked with ``FOR UPDATE OF
record SKIP LOCKED`` so several engines share a campaign and never claim one
record twice; SQLite runs a single engine (its writes are serialised anyway).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from campaigns import db, models
from campaigns.enums import CallbackStatus, PhoneKind, RecordStatus, RetryStatus


@dataclass(frozen=True)
class Work:
    """One claimed piece of work: dial this number of this record."""

    #: ``callback``, ``retry`` or ``new``.
    kind: str
    campaign_id: int
    record_id: int
    number_e164: str
    phone_number_id: int | None
    callback_id: int | None = None
    retry_id: int | None = None
    #: the personal owner of a callback (None = anyone).
    owner_id: int | None = None


def _unclaimed(now: dt.datetime):
    return or_(models.Record.claimed_until.is_(None), models.Record.claimed_until < now)


def _lock(query, session: Session):
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(of=models.Record, skip_locked=True)
    return query


def claim(session: Session, campaign_id: int, *, engine_id: str, now: dt.datetime,
          lease: dt.timedelta, limit: int, owner_ids: Iterable[int] = (),
          handoff_after: dt.timedelta = dt.timedelta(minutes=5)) -> list[Work]:
    """Claim up to ``limit`` pieces of work of a campaign (flushed, not committed).

    Parameters
    ----------
    owner_ids:
        Agents ready now: a personal callback is claimable for its owner while
        the owner is among them, and for anyone once ``handoff_after`` has
        passed since its window opened.
    """
    work: list[Work] = []
    until = now + lease
    for fetch in (_callbacks, _retries, _new_records):
        if len(work) >= limit:
            break
        work += fetch(session, campaign_id, engine_id=engine_id, now=now, until=until,
                      limit=limit - len(work), owner_ids=tuple(owner_ids),
                      handoff_after=handoff_after)
    return work


def _mark(session: Session, record_ids: list[int], engine_id: str, until: dt.datetime) -> None:
    if record_ids:
        session.execute(update(models.Record).where(models.Record.id.in_(record_ids))
                        .values(claimed_by=engine_id, claimed_until=until)
                        .execution_options(synchronize_session=False))


def _callbacks(session: Session, campaign_id: int, *, engine_id: str, now: dt.datetime,
               until: dt.datetime, limit: int, owner_ids: tuple[int, ...],
               handoff_after: dt.timedelta) -> list[Work]:
    cb = models.Callback
    owner_ok = or_(cb.owner_id.is_(None), cb.window_start_at <= now - handoff_after)
    if owner_ids:
        owner_ok = or_(owner_ok, cb.owner_id.in_(owner_ids))
    query = (select(cb.id, cb.record_id, cb.number_e164, cb.phone_number_id, cb.owner_id)
             .join(models.Record, models.Record.id == cb.record_id)
             .where(cb.campaign_id == campaign_id,
                    cb.status.in_([CallbackStatus.SCHEDULED, CallbackStatus.DUE,
                                   CallbackStatus.REOPENED]),
                    cb.window_start_at <= now, cb.window_end_at > now, owner_ok,
                    _unclaimed(now))
             .order_by(cb.window_start_at, cb.id).limit(limit))
    rows = session.execute(_lock(query, session)).all()
    rows = _one_per_record(rows)
    if not rows:
        return []
    session.execute(update(cb).where(cb.id.in_([r.id for r in rows]))
                    .values(status=CallbackStatus.IN_PROGRESS, claimed_by=engine_id,
                            claimed_until=until, updated_at=now)
                    .execution_options(synchronize_session=False))
    _mark(session, [r.record_id for r in rows], engine_id, until)
    return [Work("callback", campaign_id, r.record_id, r.number_e164, r.phone_number_id,
                 callback_id=r.id, owner_id=r.owner_id) for r in rows]


def _retries(session: Session, campaign_id: int, *, engine_id: str, now: dt.datetime,
             until: dt.datetime, limit: int, **_: object) -> list[Work]:
    rt = models.Retry
    query = (select(rt.id, rt.record_id, rt.phone_number_id, models.PhoneNumber.e164)
             .join(models.Record, models.Record.id == rt.record_id)
             .join(models.PhoneNumber, models.PhoneNumber.id == rt.phone_number_id, isouter=True)
             .where(rt.campaign_id == campaign_id, rt.status == RetryStatus.PENDING,
                    rt.due_hour <= db.HourOf(bindparam("due_now", now, type_=db.UTCDateTime)),
                    rt.earliest_at <= now,
                    or_(rt.window_end_at.is_(None), rt.window_end_at > now),
                    models.Record.status == RecordStatus.RETRY, _unclaimed(now))
             .order_by(rt.due_hour, rt.id).limit(limit))
    rows = _one_per_record(session.execute(_lock(query, session)).all())
    if not rows:
        return []
    session.execute(update(rt).where(rt.id.in_([r.id for r in rows]))
                    .values(status=RetryStatus.CLAIMED, claimed_by=engine_id, claimed_until=until)
                    .execution_options(synchronize_session=False))
    _mark(session, [r.record_id for r in rows], engine_id, until)
    primaries = _primaries(session, [r.record_id for r in rows if r.e164 is None])
    work = []
    for row in rows:
        number, phone_id = row.e164, row.phone_number_id
        if number is None:
            number, phone_id = primaries.get(row.record_id, ("", None))
        work.append(Work("retry", campaign_id, row.record_id, number, phone_id, retry_id=row.id))
    return work


def _new_records(session: Session, campaign_id: int, *, engine_id: str, now: dt.datetime,
                 until: dt.datetime, limit: int, **_: object) -> list[Work]:
    rec, lst = models.Record, models.CallingList
    today = now.date()
    query = (select(rec.id)
             .join(lst, lst.id == rec.list_id)
             .where(rec.campaign_id == campaign_id, rec.status == RecordStatus.NEW,
                    lst.is_active.is_(True), or_(lst.expires_on.is_(None), lst.expires_on >= today),
                    or_(rec.next_attempt_at.is_(None), rec.next_attempt_at <= now),
                    _unclaimed(now))
             .order_by(lst.priority.desc(), rec.priority.desc(), rec.id).limit(limit))
    ids = list(session.scalars(_lock(query, session)))
    if not ids:
        return []
    _mark(session, ids, engine_id, until)
    primaries = _primaries(session, ids)
    return [Work("new", campaign_id, record_id, *primaries.get(record_id, ("", None)))
            for record_id in ids]


def _primaries(session: Session, record_ids: list[int]) -> dict[int, tuple[str, int | None]]:
    """Each record's first valid number (primary before alternates), in one query."""
    rows = session.execute(
        select(models.PhoneNumber.record_id, models.PhoneNumber.e164, models.PhoneNumber.id)
        .where(models.PhoneNumber.record_id.in_(record_ids), models.PhoneNumber.is_valid.is_(True))
        .order_by(models.PhoneNumber.record_id, models.PhoneNumber.kind != PhoneKind.PRIMARY,
                  models.PhoneNumber.position))
    found: dict[int, tuple[str, int | None]] = {}
    for record_id, e164, phone_id in rows:
        found.setdefault(record_id, (e164, phone_id))
    return found


def _one_per_record(rows: list) -> list:
    seen: set[int] = set()
    kept = []
    for row in rows:
        if row.record_id not in seen:
            seen.add(row.record_id)
            kept.append(row)
    return kept


def release(session: Session, work: Work, *, engine_id: str,
            not_before: dt.datetime | None = None) -> None:
    """Give back a claim that will not be dialled now (compliance, no agent...).

    ``not_before`` moves the work forward: a retry's ``earliest_at``, a new
    record's ``next_attempt_at`` cache.  A callback stays in its window (due again
    when it was in progress).
    """
    record_filter = and_(models.Record.id == work.record_id, models.Record.claimed_by == engine_id)
    values: dict[str, object] = {"claimed_by": None, "claimed_until": None}
    if work.kind == "new" and not_before is not None:
        values["next_attempt_at"] = not_before
    session.execute(update(models.Record).where(record_filter).values(**values)
                    .execution_options(synchronize_session=False))
    if work.retry_id is not None:
        retry_values: dict[str, object] = {"status": RetryStatus.PENDING, "claimed_by": None,
                                           "claimed_until": None}
        if not_before is not None:
            retry_values["earliest_at"] = not_before
        session.execute(update(models.Retry).where(models.Retry.id == work.retry_id)
                        .values(**retry_values).execution_options(synchronize_session=False))
    if work.callback_id is not None:
        # only a callback still in progress goes back to due (one the dial-time check
        # just cancelled, for a DNC number, stays cancelled).
        session.execute(update(models.Callback)
                        .where(models.Callback.id == work.callback_id,
                               models.Callback.status == CallbackStatus.IN_PROGRESS)
                        .values(status=CallbackStatus.DUE, claimed_by=None, claimed_until=None)
                        .execution_options(synchronize_session=False))
