"""The retry queue's timer passes: when is something next due, and release what is due now.

Retry and callback rows are the truth.  :func:`next_due_at` tells the timer
(:mod:`dialer.timers`) when to wake; :func:`release_due` runs at that instant:

- a due retry that may be dialled now is released to the hopper: it stays
  pending, marked ``claimed_by = RELEASED`` with the release instant in
  ``claimed_until`` (the hopper's claim overwrites both), so later passes and
  :func:`next_due_at` skip it; one that may not moves to ``next_dialable_at``
  — or, when its window can no longer be met, to its next legal window — and
  the record's ``next_attempt_at`` cache follows in the same transaction; one
  with no legal minute within the horizon is cancelled and its record
  exhausted.  Due rows are judged in batches of up to
  :data:`PASS_LIMIT`: their targets come from
  :func:`campaigns.store.compliance_batch.load_row_shapes` (a handful of
  set-based queries, one target per shape) and writes are set-based (one bound
  array of ids per value written) or ``executemany``;
- a scheduled callback whose window has opened becomes ``due``;
- an open callback whose window has passed goes to ``on_missed`` (the
  callbacks workflow's escalation ladder).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from campaigns import calling_rules, db, models
from campaigns.enums import CallbackStatus, RecordStatus, RetryStatus
from campaigns.store import compliance_batch

HORIZON = dt.timedelta(days=14)
#: due retries one timer pass handles at most.  A pass reads them with their numbers,
#: records and recent attempts, and holds the database thread while it runs: 50,000 rows
#: took about 1.5 s and 20 MB more than 20,000 (1M pending, SQLite, a busy 2-core
#: machine).  A backlog takes more passes, and each pass walks past the rows the passes
#: before it released and rewrites pages all over the due rows (they come due in no
#: physical order): a 100,000-row backlog took 3.9-4.0 s at 20,000 rows a pass, 2.9-3.1 s
#: at 50,000 (at 5,000, commits alone took 2.0-2.6 s).
PASS_LIMIT = 50_000
#: far rows one pass refines at most (:func:`refine_slots`): a week's adds at 1M pending
#: bring about 140,000 into a day; refined over a few passes the day before.
REFINE_LIMIT = 20_000
#: ``Retry.claimed_by`` of a due retry the timer released to the hopper (no engine has it yet).
RELEASED = "released"
_OPEN_CALLBACK = (CallbackStatus.SCHEDULED, CallbackStatus.DUE, CallbackStatus.REOPENED)

OnMissed = Callable[[Session, models.Callback, dt.datetime], None]
#: columns of a due row (:func:`_due`): the first ten are
#: :class:`campaigns.store.compliance_batch.Subject`'s fields, in order.
_CAMPAIGN, _RECORD, _ID, _END, _REASON, _PHONE = 0, 2, 10, 11, 12, 13
#: open callbacks, on ``callback``: the predicate of the partial index ``ix_callback_open_end``.
_OPEN = f"callback.status IN ({', '.join(repr(s.value) for s in _OPEN_CALLBACK)})"


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
    #: ids of the retries released to the hopper.
    released_ids: list[int] = field(default_factory=list)
    #: far retries given their own hour's slot (:func:`refine_slots`).
    refined: int = 0


@dataclass(frozen=True)
class NewRetry:
    """A retry to add: the next attempt of a record (its number, or None for the first valid)."""

    campaign_id: int
    record_id: int
    phone_number_id: int | None
    earliest_at: dt.datetime
    reason: str = ""
    window_end_at: dt.datetime | None = None


def add_retries(session: Session, retries: Sequence[NewRetry], now: dt.datetime) -> None:
    """Add pending retries in one ``executemany`` and point each record at its retry.

    The queue's add: one statement for the rows and one for the records'
    ``status``/``next_attempt_at`` cache, whatever the batch size (flushed, not
    committed).  Rows go to the driver as plain tuples, instants converted once
    each by :meth:`campaigns.db.UTCDateTime.driver_converter`.  A record should
    have one pending retry: the caller cancels the old one first, as the
    disposition rules do.
    """
    if not retries:
        return
    session.flush()
    connection, mark, instant = _driver(session)
    created, pending, waiting = instant(now), RetryStatus.PENDING.value, RecordStatus.RETRY.value
    rows = [(r, instant(r.earliest_at)) for r in retries]
    connection.exec_driver_sql(
        "INSERT INTO retry (campaign_id, record_id, phone_number_id, earliest_at, window_end_at, "
        f"tz, reason, status, created_at) VALUES ({', '.join([mark] * 9)})",
        [(r.campaign_id, r.record_id, r.phone_number_id, at,
          None if r.window_end_at is None else instant(r.window_end_at), "", r.reason, pending,
          created) for r, at in rows])
    connection.exec_driver_sql(
        f"UPDATE record SET status = {mark}, next_attempt_at = {mark}, updated_at = {mark} "
        f"WHERE id = {mark}", [(waiting, at, created, r.record_id) for r, at in rows])
    _expire_loaded(session, set(), {r.record_id for r in retries})


def next_due_at(session: Session) -> dt.datetime | None:
    """The earliest instant a retry or callback needs the timer."""
    retry = _earliest_retry(session)
    opening = session.scalar(select(func.min(models.Callback.window_start_at))
                             .where(models.Callback.status == CallbackStatus.SCHEDULED))
    closing = session.scalar(select(func.min(models.Callback.window_end_at))
                             .where(models.Callback.status.in_(_OPEN_CALLBACK)))
    found = [_aware(t) for t in (retry, opening, closing) if t is not None]
    return min(found, default=None)


def _earliest_retry(session: Session) -> dt.datetime | None:
    """The earliest ``earliest_at`` of the pending retries nobody claimed or released.

    Within the first slot that has one (``ix_retry_status_due``): a minimum over
    every pending row would read them all.  When that slot is a far row's day
    slot, rows of the later slots up to the hour of that minimum may come due
    before it (a slot is never after its rows' hour): they are read too.
    """
    rt = models.Retry
    waiting = (rt.status == RetryStatus.PENDING, rt.claimed_by.is_(None))
    first = session.scalar(select(rt.due_hour).where(*waiting).order_by(rt.due_hour).limit(1))
    if first is None:
        return None
    earliest = session.scalar(select(func.min(rt.earliest_at))
                              .where(*waiting, rt.due_hour == first))
    if earliest is None:
        return None
    # SQLite rounds an instant to the millisecond before taking its hour: a bound
    # a millisecond later is never before the slot of a row due by ``earliest``.
    hour = int((_aware(earliest) + dt.timedelta(milliseconds=1)).timestamp()) // 3600
    if hour > first:
        earliest = session.scalar(select(func.min(rt.earliest_at))
                                  .where(*waiting, rt.due_hour.between(first, hour)))
    return earliest


def _aware(value: dt.datetime) -> dt.datetime:
    # func.min() bypasses the column type on SQLite: the value may come back naive (UTC).
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def mark_missed(session: Session, callback: models.Callback, now: dt.datetime) -> None:
    """The simplest ladder: the callback is missed (the callbacks workflow supplies its own)."""
    callback.status = CallbackStatus.MISSED
    callback.updated_at = now


def release_due(session: Session, now: dt.datetime, *, rules: calling_rules.RuleSet | None = None,
                on_missed: OnMissed = mark_missed, limit: int = PASS_LIMIT,
                refine: bool = True) -> Release:
    """One timer pass over at most ``limit`` due retries and ``limit`` passed callbacks.

    With ``refine``, far retries of today and tomorrow get their hour's slot first
    (:func:`refine_slots`; a caller making passes often may do it less often).

    Flushed, not committed.  When more retries are due, :func:`next_due_at`
    still names a past instant and the timer makes another pass at once.
    """
    rules = rules or calling_rules.default_rules()
    report = Release()
    session.flush()
    if refine:
        report.refined = refine_slots(session, now)
    _release_retries(session, now, rules, report, limit)
    report.callbacks_due = session.execute(
        update(models.Callback).where(models.Callback.status == CallbackStatus.SCHEDULED,
                                      models.Callback.window_start_at <= now,
                                      models.Callback.window_end_at > now)
        .values(status=CallbackStatus.DUE, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount or 0
    passed = session.scalars(select(models.Callback).from_statement(
        _passed_query(session.connection())), {"now": now, "limit": limit}).all()
    for callback in passed:
        on_missed(session, callback, now)
        report.callbacks_missed += 1
    session.flush()
    return report


def refine_slots(session: Session, now: dt.datetime, limit: int = REFINE_LIMIT) -> int:
    """Give the far retries of today and tomorrow (UTC) their own hour's slot; how many.

    A retry added :data:`campaigns.db.FAR_DAYS` or more days before its day waits
    in the first hour of that day (:func:`campaigns.db.slot_sql`): adds spread
    over a week write a few day slots, not a hundred-odd hour slots.  This
    reads the two day slots (once refined, their first hour's rows alone) and
    refines up to ``limit`` rows.  Nothing else needs it: a far row of an
    earlier day is due already, and a row left coarse is still released on
    time (its slot is never after its hour); the passes, the timer and the
    hopper would only read past more rows of its day.
    """
    connection, mark, _instant = _driver(session)
    today = int(now.timestamp()) // 86400 * 24
    dialect = connection.dialect.name
    # Engines sharing a PostgreSQL database leave each other's rows alone (no waiting).
    skip = " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    return connection.exec_driver_sql(
        f"UPDATE retry SET hourly = {mark} WHERE id IN (SELECT id FROM retry "
        f"WHERE status = {mark} AND due_hour IN ({mark}, {mark}) "
        f"AND {db.far_sql(dialect)} LIMIT {mark}{skip})",
        (True, RetryStatus.PENDING.value, today, today + 24, limit)).rowcount or 0


def _release_retries(session: Session, now: dt.datetime, rules: calling_rules.RuleSet,
                     report: Release, limit: int) -> None:
    due = _due(session, now, limit)
    if not due:
        return
    judged = [row for row in due if row[_PHONE] is not None]
    # the hopper dials the first valid number
    released = [row[_ID] for row in due if row[_PHONE] is None]
    campaigns = {c.id: c for c in session.scalars(select(models.Campaign).where(
        models.Campaign.id.in_({row[_CAMPAIGN] for row in judged})))}
    shapes, _numbers = compliance_batch.load_row_shapes(session, campaigns, judged, now,
                                                        rules=rules)
    lapsed = [row[_END] is not None and row[_END] <= now for row in judged]
    verdicts = compliance_batch.judge(shapes, now, horizon=HORIZON, is_opening_wanted=lapsed)
    moved, openings, ends, cancels = [], [], [], []
    for row, verdict, is_lapsed in zip(judged, verdicts, lapsed, strict=True):
        if verdict.decision.is_allowed and not is_lapsed:
            released.append(row[_ID])
        elif verdict.opening is None:
            cancels.append(row)
        else:
            moved.append(row)
            openings.append(verdict.opening)
            ends.append(verdict.opening_until if is_lapsed else row[_END])
    _mark_released(session, released, now)
    _move(session, moved, openings, ends)
    _cancel(session, cancels)
    report.ready, report.moved, report.cancelled = len(released), len(moved), len(cancels)
    report.released_ids, report.moved_to = released, openings
    _expire_loaded(session, {row[_ID] for row in due}, {row[_RECORD] for row in due})


def _due(session: Session, now: dt.datetime, limit: int) -> list[tuple[Any, ...]]:
    """The earliest due rows, with the columns :func:`_release_retries` judges.

    Read as the driver's tuples (a pass reads thousands of rows; ``window_end_at``,
    mostly empty, is converted where it is not).
    """
    connection, _mark, instant = _driver(session)
    cursor = connection.connection.cursor()
    try:
        at = instant(now)
        cursor.execute(_due_sql(connection), (RetryStatus.PENDING.value, at, at, limit))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    read = db.UTCDateTime().dialect_impl(connection.dialect).result_processor(connection.dialect,
                                                                              None)
    if read is None:
        return rows
    return [row if row[_END] is None else (*row[:_END], read(row[_END]), *row[_END + 1:])
            for row in rows]


def _due_sql(connection: Any) -> str:
    """:func:`_due`'s query (its parameters: the pending status, the instant as the driver
    takes it, twice, the limit).

    Through ``ix_retry_status_due``, slot by slot (:func:`campaigns.db.slot_sql`: an
    hour, or a far row's day until it is refined), each slot's rows in the order
    they were added (an older slot first, so in a backlog the rows that waited
    longest go first, give or take an hour); the rows of the current slot not yet
    due are read and left.  A pass walks past the rows earlier passes released (pending
    until the hopper claims them).  A partial index of the pending rows nobody
    claimed or released spared that walk, but every add paid for one more index
    (adds 30-40 % slower at 200k pending) and every move for its update; with
    :data:`PASS_LIMIT` rows a pass the walk costs less.
    """
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    hour = db.hour_sql(connection.dialect.name, mark)
    return (
        "SELECT r.campaign_id, p.e164, r.record_id, c.raw_state, c.raw_zip, c.raw_tz, "
        "p.region, p.line_type, CAST(p.zones AS TEXT), p.is_valid, "
        "r.id, r.window_end_at, r.reason, p.id FROM retry AS r "
        "JOIN record AS c ON c.id = r.record_id "
        "LEFT OUTER JOIN phone_number AS p ON p.id = r.phone_number_id "
        f"WHERE r.status = {mark} AND r.due_hour <= {hour} AND r.claimed_by IS NULL "
        f"AND r.earliest_at <= {mark} ORDER BY r.due_hour, r.id LIMIT {mark}")


def _passed_query(connection: Any) -> Any:
    """Open callbacks whose window has passed, unclaimed, through ``ix_callback_open_end``.

    SQLite's planner would take ``ix_callback_status_start`` and read every open
    callback: it is told which index to use.
    """
    indexed = " INDEXED BY ix_callback_open_end" if connection.dialect.name == "sqlite" else ""
    table = models.Callback.__table__
    return text(
        f"SELECT {', '.join(f'callback.{c.name}' for c in table.columns)} FROM callback{indexed} "
        f"WHERE {_OPEN} AND callback.window_end_at <= :now "
        "AND (callback.claimed_until IS NULL OR callback.claimed_until < :now) "
        "ORDER BY callback.window_end_at LIMIT :limit"
    ).bindparams(bindparam("now", type_=db.UTCDateTime)).columns(*table.columns)


def _expire_loaded(session: Session, retry_ids: set[int], record_ids: set[int]) -> None:
    """Objects the caller holds for rows written here in bulk read their new values."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, models.Retry) and obj.id in retry_ids \
                or isinstance(obj, models.Record) and obj.id in record_ids:
            session.expire(obj)


def _driver(session: Session) -> tuple[Any, str, Callable[[dt.datetime | None], Any]]:
    """The connection, its placeholder and its instant conversion (for ``executemany``)."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    return connection, mark, db.UTCDateTime.driver_converter(connection.dialect)


def _members(connection: Any, mark: str, ids: list[int], *, status: str = "") -> tuple[str, Any]:
    """``id`` among ``ids`` (and ``status`` = the next bound value when named): one bound array.

    SQLite takes the ids as a JSON array; its ``+status`` keeps the planner off the
    status index (it would walk every pending row of it).
    """
    if connection.dialect.name == "sqlite":
        where = f"id IN (SELECT value FROM json_each({mark}))"
        return (f"{where} AND +{status} = {mark}" if status else where), json.dumps(ids)
    where = f"id = ANY({mark})"
    return (f"{where} AND {status} = {mark}" if status else where), list(ids)


def _mark_released(session: Session, ids: list[int], now: dt.datetime) -> None:
    """One set-based UPDATE: the ids go as one bound array (one statement, not one per row)."""
    if not ids:
        return
    connection, mark, instant = _driver(session)
    members, bound = _members(connection, mark, ids, status="status")
    connection.exec_driver_sql(
        f"UPDATE retry SET claimed_by = {mark}, claimed_until = {mark} WHERE {members}",
        (RELEASED, instant(now), bound, RetryStatus.PENDING.value))


def _move(session: Session, rows: list[Any], openings: list[dt.datetime],
          ends: list[dt.datetime | None]) -> None:
    """Due rows to their opening, with that window end.

    A pass moves its rows to a few instants (the next opening of each place): the
    rows moved to the same (earliest_at, window_end_at) go in one set-based UPDATE,
    their records in one per instant; the rest (a window of its own) in one
    ``executemany``.
    """
    if not rows:
        return
    connection, mark, instant = _driver(session)
    pending = RetryStatus.PENDING.value
    retries: defaultdict[tuple[Any, Any], list[int]] = defaultdict(list)
    for row, at, until in zip(rows, openings, ends, strict=True):
        retries[at, until].append(row[_ID])
    records: defaultdict[Any, list[int]] = defaultdict(list)
    # a record's last move wins, as it would row by row
    latest = {row[_RECORD]: at for row, at in zip(rows, openings, strict=True)}
    for record_id, at in latest.items():
        records[at].append(record_id)
    alone = []
    for (at, until), ids in retries.items():
        if len(ids) == 1:
            alone.append((instant(at), instant(until), ids[0], pending))
            continue
        members, bound = _members(connection, mark, ids, status="status")
        connection.exec_driver_sql(
            f"UPDATE retry SET earliest_at = {mark}, window_end_at = {mark} WHERE {members}",
            (instant(at), instant(until), bound, pending))
    if alone:
        connection.exec_driver_sql(
            f"UPDATE retry SET earliest_at = {mark}, window_end_at = {mark} "
            f"WHERE id = {mark} AND status = {mark}", alone)
    for at, ids in records.items():
        members, bound = _members(connection, mark, ids)
        connection.exec_driver_sql(f"UPDATE record SET next_attempt_at = {mark} WHERE {members}",
                                   (instant(at), bound))


def _cancel(session: Session, rows: list[Any]) -> None:
    if not rows:
        return
    connection, mark, _instant = _driver(session)
    note = f"; no legal minute within {HORIZON.days} days"
    connection.exec_driver_sql(
        f"UPDATE retry SET status = {mark}, reason = {mark} WHERE id = {mark}",
        [(RetryStatus.CANCELLED.value, f"{row[_REASON]}{note}"[:64], row[_ID]) for row in rows])
    connection.exec_driver_sql(
        f"UPDATE record SET status = {mark}, next_attempt_at = NULL WHERE id = {mark}",
        [(RecordStatus.EXHAUSTED.value, row[_RECORD]) for row in rows])
