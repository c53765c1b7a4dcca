"""Timer passes over the retry queue: next due instant, legal re-checks, callbacks due and missed."""

from __future__ import annotations

import datetime as dt

import pytest
import pytz
from sqlalchemy import select, text

from campaigns import models
from campaigns.enums import CallbackStatus, CampaignStatus, PhoneKind, RecordStatus, RetryStatus
from campaigns.store import retry_queue

UTC = dt.UTC
# Monday 2026-11-23, 12:00 UTC = 07:00 in New York (before 08:00), 13:00 in London.
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _campaign(session):
    campaign = models.Campaign(name="c", status=CampaignStatus.ACTIVE, call_category="debt_collection",
                               centre_tz="UTC", schedule_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                               schedule_start=dt.time(0, 0), schedule_end=dt.time(23, 59),
                               created_at=NOW, updated_at=NOW)
    session.add(campaign)
    session.flush()
    calling_list = models.CallingList(campaign_id=campaign.id, name="l", created_at=NOW)
    session.add(calling_list)
    session.flush()
    return campaign, calling_list


def _retry(session, campaign, calling_list, number, *, earliest_at, window_end_at=None, created_at=NOW):
    record = models.Record(campaign_id=campaign.id, list_id=calling_list.id, status=RecordStatus.RETRY,
                           created_at=NOW, updated_at=NOW)
    session.add(record)
    session.flush()
    phone = models.PhoneNumber(record_id=record.id, campaign_id=campaign.id, e164=number,
                               kind=PhoneKind.PRIMARY, created_at=NOW)
    session.add(phone)
    session.flush()
    retry = models.Retry(campaign_id=campaign.id, record_id=record.id, phone_number_id=phone.id,
                         earliest_at=earliest_at, window_end_at=window_end_at, reason="busy",
                         created_at=created_at)
    session.add(retry)
    session.flush()
    return retry, record


@pytest.mark.req("D10")
def test_due_retry_outside_hours_moves_to_next_dialable_at(session) -> None:
    campaign, calling_list = _campaign(session)
    retry, record = _retry(session, campaign, calling_list, "+12125550123", earliest_at=NOW)
    report = retry_queue.release_due(session, NOW)
    assert report.moved == 1 and report.ready == 0
    # 08:00 in New York (EST) = 13:00 UTC.
    opening = dt.datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert retry.earliest_at == opening and retry.status is RetryStatus.PENDING
    assert record.next_attempt_at == opening
    assert retry_queue.next_due_at(session) == opening
    # At the opening it is ready for the hopper.
    later = retry_queue.release_due(session, opening)
    assert later.ready == 1 and later.moved == 0


@pytest.mark.req("D10")
def test_due_retry_inside_hours_is_left_for_the_hopper(session) -> None:
    campaign, calling_list = _campaign(session)
    retry, _ = _retry(session, campaign, calling_list, "+442079460958", earliest_at=NOW)
    report = retry_queue.release_due(session, NOW)
    assert report.ready == 1 and retry.earliest_at == NOW


@pytest.mark.req("D10")
def test_lapsed_window_moves_to_the_next_legal_window(session) -> None:
    campaign, calling_list = _campaign(session)
    retry, _ = _retry(session, campaign, calling_list, "+442079460958",
                      earliest_at=NOW - dt.timedelta(hours=3), window_end_at=NOW - dt.timedelta(hours=1))
    report = retry_queue.release_due(session, NOW)
    assert report.moved == 1
    assert retry.earliest_at >= NOW and retry.window_end_at > retry.earliest_at
    assert retry.window_end_at > NOW


@pytest.mark.req("D10")
@pytest.mark.req("E9")
def test_callbacks_become_due_and_passed_windows_go_to_on_missed(session) -> None:
    campaign, calling_list = _campaign(session)
    record = models.Record(campaign_id=campaign.id, list_id=calling_list.id,
                           status=RecordStatus.CALLBACK, created_at=NOW, updated_at=NOW)
    session.add(record)
    session.flush()

    def callback(start, end):
        row = models.Callback(campaign_id=campaign.id, record_id=record.id, number_e164="+442079460958",
                              window_start_at=start, window_end_at=end, tz="Europe/London",
                              created_at=NOW, updated_at=NOW)
        session.add(row)
        session.flush()
        return row

    opening = callback(NOW - dt.timedelta(minutes=5), NOW + dt.timedelta(hours=1))
    passed = callback(NOW - dt.timedelta(hours=2), NOW - dt.timedelta(minutes=1))
    future = callback(NOW + dt.timedelta(hours=5), NOW + dt.timedelta(hours=6))
    missed = []
    report = retry_queue.release_due(session, NOW, on_missed=lambda s, cb, now: missed.append(cb.id))
    assert report.callbacks_due == 1 and report.callbacks_missed == 1
    session.refresh(opening)
    assert opening.status is CallbackStatus.DUE and missed == [passed.id]
    assert future.status is CallbackStatus.SCHEDULED
    retry_queue.release_due(session, NOW)
    session.refresh(passed)
    assert passed.status is CallbackStatus.MISSED
    assert retry_queue.next_due_at(session) == opening.window_end_at


@pytest.mark.req("D11")
def test_added_retries_read_back_as_written_and_point_their_records(session) -> None:
    campaign, calling_list = _campaign(session)
    first, first_record = _retry(session, campaign, calling_list, "+442079460958",
                                 earliest_at=NOW + dt.timedelta(days=3))
    second, second_record = _retry(session, campaign, calling_list, "+442079460959",
                                   earliest_at=NOW + dt.timedelta(days=3))
    later = NOW + dt.timedelta(minutes=5, microseconds=7)
    retry_queue.add_retries(session, [
        retry_queue.NewRetry(campaign.id, first_record.id, first.phone_number_id, later, "busy",
                             window_end_at=later + dt.timedelta(hours=1)),
        retry_queue.NewRetry(campaign.id, second_record.id, None, NOW, "next_number")], NOW)
    added = session.scalars(select(models.Retry).where(models.Retry.id.not_in([first.id, second.id]))
                            .order_by(models.Retry.earliest_at)).all()
    assert [(r.record_id, r.phone_number_id, r.earliest_at, r.window_end_at, r.reason, r.status)
            for r in added] == [
        (second_record.id, None, NOW, None, "next_number", RetryStatus.PENDING),
        (first_record.id, first.phone_number_id, later, later + dt.timedelta(hours=1), "busy",
         RetryStatus.PENDING)]
    session.refresh(first_record)
    assert first_record.next_attempt_at == later and first_record.status is RecordStatus.RETRY
    assert retry_queue.next_due_at(session) == NOW


@pytest.mark.req("D11")
def test_added_instants_are_stored_exactly_as_the_orm_stores_them(session) -> None:
    """The add path converts instants itself: same stored value, so order and equality hold."""
    campaign, calling_list = _campaign(session)
    new_york = pytz.timezone("America/New_York")
    instants = [NOW, NOW + dt.timedelta(microseconds=1),
                new_york.localize(dt.datetime(2026, 11, 23, 7, 0, 0, 500)),
                dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))]
    for index, at in enumerate(instants):
        orm, record = _retry(session, campaign, calling_list, f"+44207946095{index}", earliest_at=at,
                             window_end_at=at)
        retry_queue.add_retries(session, [retry_queue.NewRetry(
            campaign.id, record.id, orm.phone_number_id, at, "busy", window_end_at=at)], NOW)
        stored = session.execute(text(
            "SELECT earliest_at, window_end_at FROM retry WHERE record_id = :r ORDER BY id"),
            {"r": record.id}).all()
        assert stored[0] == stored[1], at
        session.refresh(record)
        assert record.next_attempt_at == at
    with pytest.raises(ValueError, match="naive"):
        retry_queue.add_retries(session, [retry_queue.NewRetry(
            campaign.id, record.id, None, dt.datetime(2026, 11, 23, 12), "busy")], NOW)


@pytest.mark.req("D9")
def test_released_retry_is_judged_once_then_left_to_the_hopper(session) -> None:
    from campaigns.store import hopper

    campaign, calling_list = _campaign(session)
    retry, _record = _retry(session, campaign, calling_list, "+442079460958", earliest_at=NOW)
    report = retry_queue.release_due(session, NOW)
    assert report.ready == 1 and report.released_ids == [retry.id]
    session.refresh(retry)
    assert retry.status is RetryStatus.PENDING and retry.claimed_by == retry_queue.RELEASED
    assert retry_queue.next_due_at(session) is None
    again = retry_queue.release_due(session, NOW + dt.timedelta(seconds=1))
    assert (again.ready, again.moved, again.cancelled) == (0, 0, 0)
    work = hopper.claim(session, campaign.id, engine_id="e1", now=NOW, lease=dt.timedelta(minutes=5),
                        limit=5)
    assert [(w.kind, w.retry_id) for w in work] == [("retry", retry.id)]
    session.refresh(retry)
    assert retry.status is RetryStatus.CLAIMED and retry.claimed_by == "e1"


@pytest.mark.req("D11")
@pytest.mark.req("D10")
def test_passes_over_more_due_rows_than_the_limit_handle_each_once(session) -> None:
    campaign, calling_list = _campaign(session)
    allowed = [_retry(session, campaign, calling_list, f"+4420794609{i:02d}",
                      earliest_at=NOW - dt.timedelta(minutes=i))[0] for i in range(12)]
    blocked = [_retry(session, campaign, calling_list, f"+1212555{i:04d}",
                      earliest_at=NOW - dt.timedelta(seconds=i))[0] for i in range(3)]
    not_due = _retry(session, campaign, calling_list, "+442079461000",
                     earliest_at=NOW + dt.timedelta(minutes=1))[0]
    released, moved = [], 0
    for _ in range(10):
        report = retry_queue.release_due(session, NOW, limit=5)
        released += report.released_ids
        moved += report.moved
        if not report.ready + report.moved + report.cancelled:
            break
    assert sorted(released) == sorted(r.id for r in allowed) and moved == len(blocked)
    for retry in blocked:
        session.refresh(retry)
        assert retry.earliest_at == dt.datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 08:00 in NY
    session.refresh(not_due)
    assert not_due.claimed_by is None and retry_queue.next_due_at(session) == not_due.earliest_at


@pytest.mark.req("D10")
def test_due_retry_with_no_legal_minute_is_cancelled_and_its_record_exhausted(session) -> None:
    campaign, calling_list = _campaign(session)
    retry, record = _retry(session, campaign, calling_list, "+442079460958", earliest_at=NOW)
    session.add(models.DncEntry(e164="+442079460958", scope="global", added_at=NOW))
    session.flush()
    report = retry_queue.release_due(session, NOW)
    assert report.cancelled == 1 and report.released_ids == []
    session.refresh(retry)
    session.refresh(record)
    assert retry.status is RetryStatus.CANCELLED and "no legal minute" in retry.reason
    assert record.status is RecordStatus.EXHAUSTED and record.next_attempt_at is None


def _plan(connection, sql: str, parameters) -> str:
    """The database's plan of ``sql`` (PostgreSQL told to avoid reading whole tables)."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters).all()
        return "\n".join(row[-1] for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}", parameters))


@pytest.mark.req("D11")
def test_passes_find_passed_callbacks_through_the_open_callbacks_index(session) -> None:
    """Through (status, window_start_at) each pass read every open callback."""
    from sqlalchemy import event

    campaign, calling_list = _campaign(session)
    _retry(session, campaign, calling_list, "+442079460958", earliest_at=NOW)
    passed = []

    def seen(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM callback" in statement and "window_end_at <=" in statement:
            passed.append((statement, parameters))

    event.listen(session.bind, "before_cursor_execute", seen)
    try:
        report = retry_queue.release_due(session, NOW)
    finally:
        event.remove(session.bind, "before_cursor_execute", seen)
    assert report.ready == 1 and len(passed) == 1
    plan = _plan(session.connection(), *passed[0])
    assert "ix_callback_open_end" in plan and "status_start" not in plan


@pytest.mark.req("D10")
def test_moves_of_one_pass_write_each_row_and_its_record(session) -> None:
    """Rows moved to one instant go together, a row keeping a window of its own alone."""
    campaign, calling_list = _campaign(session)
    together = [_retry(session, campaign, calling_list, f"+1212555{i:04d}",
                       earliest_at=NOW - dt.timedelta(seconds=i)) for i in range(3)]
    until = NOW + dt.timedelta(hours=5)
    alone = _retry(session, campaign, calling_list, "+12125559999", earliest_at=NOW,
                   window_end_at=until)
    not_due = _retry(session, campaign, calling_list, "+12125558888",
                     earliest_at=NOW + dt.timedelta(minutes=1))
    report = retry_queue.release_due(session, NOW)
    assert (report.ready, report.moved, report.cancelled) == (0, 4, 0)
    opening = dt.datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert report.moved_to == [opening] * 4
    for retry, record in [*together, alone, not_due]:
        session.refresh(retry)
        session.refresh(record)
    assert [(r.earliest_at, r.window_end_at, c.next_attempt_at) for r, c in [*together, alone]] == \
        [(opening, None, opening)] * 3 + [(opening, until, opening)]
    assert not_due[0].earliest_at == NOW + dt.timedelta(minutes=1)
    assert not_due[1].next_attempt_at is None


@pytest.mark.req("D11")
def test_due_hour_never_puts_an_instant_after_a_later_one_and_passes_release_by_it(session) -> None:
    """``due_hour`` is computed by the database; the passes rely on its order only."""
    campaign, calling_list = _campaign(session)
    base = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    offsets = [-1e-6, 0, 0.0004, 0.9996, 3599.9994, 3599.9996, 3599.999999, 3600, 5400, 7199.9]
    instants = [base + dt.timedelta(seconds=s) for s in offsets]
    retries = [_retry(session, campaign, calling_list, f"+44207946{i:04d}", earliest_at=at)[0]
               for i, at in enumerate(instants)]
    hours = [session.scalar(select(models.Retry.due_hour).where(models.Retry.id == r.id))
             for r in retries]
    assert hours == sorted(hours)
    hour = int(base.timestamp()) // 3600
    # SQLite reads instants to the millisecond: a microsecond before the hour is in it.
    assert hours[0] in (hour - 1, hour) and hours[1] == hour and hours[-1] == hour + 1
    # Release at each instant: exactly the rows due by then, whatever hour they round to.
    for now in (instants[5], instants[6], instants[7]):
        due = {row[10] for row in retry_queue._due(session, now, 100)}
        assert due == {r.id for r in retries if r.earliest_at <= now}
    assert retry_queue.next_due_at(session) == instants[0]


@pytest.mark.req("D11")
def test_a_backlog_releases_the_older_hours_first(session) -> None:
    """Within a pass's limit an older hour goes before a later one, whichever was added first."""
    campaign, calling_list = _campaign(session)
    late = _retry(session, campaign, calling_list, "+442079460001", earliest_at=NOW - dt.timedelta(minutes=5))[0]
    old = _retry(session, campaign, calling_list, "+442079460002", earliest_at=NOW - dt.timedelta(hours=3))[0]
    report = retry_queue.release_due(session, NOW, limit=1)
    assert report.released_ids == [old.id]
    assert retry_queue.release_due(session, NOW, limit=1).released_ids == [late.id]


@pytest.mark.req("D11")
def test_due_rows_next_instant_and_claims_read_through_the_due_hour_index(session) -> None:
    """No pass, timer arming or claim reads every pending row or sorts them."""
    from sqlalchemy import event

    from campaigns.store import hopper

    campaign, calling_list = _campaign(session)
    for i in range(3):
        _retry(session, campaign, calling_list, f"+44207946{i:04d}", earliest_at=NOW - dt.timedelta(hours=i))
    connection = session.connection()
    at = models.Retry.__table__.c.earliest_at.type.dialect_impl(connection.dialect) \
        .bind_processor(connection.dialect)
    now = at(NOW) if at else NOW
    plans = [_plan(connection, retry_queue._due_sql(connection),
                   (RetryStatus.PENDING.value, now, now, 10))]
    seen = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM retry" in statement and "due_hour" in statement:
            seen.append((statement, parameters))

    event.listen(session.bind, "before_cursor_execute", capture)
    try:
        retry_queue.next_due_at(session)
        hopper.claim(session, campaign.id, engine_id="e1", now=NOW,
                     lease=dt.timedelta(minutes=1), limit=5)
    finally:
        event.remove(session.bind, "before_cursor_execute", capture)
    assert len(seen) == 3  # the timer's first slot and its minimum, the hopper's claim
    plans += [_plan(session.connection(), *found) for found in seen]
    for plan in plans:
        assert "ix_retry_status_due" in plan, plan
        assert "TEMP B-TREE" not in plan.upper() or connection.dialect.name != "sqlite", plan


def _slot(session, retry) -> int:
    return session.scalar(select(models.Retry.due_hour).where(models.Retry.id == retry.id))


@pytest.mark.req("D11")
def test_far_adds_wait_in_their_days_first_hour_until_the_day_before(session) -> None:
    """Two UTC days or more ahead: the day's first hour; refined, the row's own hour."""
    campaign, calling_list = _campaign(session)
    ahead = {"soon": NOW + dt.timedelta(hours=1),
             "tomorrow": dt.datetime(2026, 11, 24, 20, 30, tzinfo=UTC),
             "far": dt.datetime(2026, 11, 25, 20, 30, tzinfo=UTC),
             "far_first_hour": dt.datetime(2026, 11, 26, 0, 10, tzinfo=UTC)}
    made = {name: _retry(session, campaign, calling_list, f"+44207946{i:04d}", earliest_at=NOW)
            for i, name in enumerate(ahead)}
    retry_queue.add_retries(session, [
        retry_queue.NewRetry(campaign.id, record.id, retry.phone_number_id, ahead[name], "busy")
        for name, (retry, record) in made.items()], NOW)
    for retry, _record in made.values():  # the first retries are done with
        retry.status = RetryStatus.DONE
    session.flush()
    added = {name: session.scalars(select(models.Retry).where(
        models.Retry.record_id == record.id, models.Retry.status == RetryStatus.PENDING)).one()
        for name, (_retry_row, record) in made.items()}

    def hour(at: dt.datetime) -> int:
        return int(at.timestamp()) // 3600

    slots = {name: _slot(session, retry) for name, retry in added.items()}
    assert slots == {"soon": hour(ahead["soon"]), "tomorrow": hour(ahead["tomorrow"]),
                     "far": hour(dt.datetime(2026, 11, 25, tzinfo=UTC)),
                     "far_first_hour": hour(ahead["far_first_hour"])}
    # Today (the 23rd) the far row's day is not near; on the 24th it is (tomorrow).
    assert retry_queue.refine_slots(session, NOW) == 0
    assert retry_queue.release_due(session, dt.datetime(2026, 11, 24, 0, 5, tzinfo=UTC)).refined == 1
    session.refresh(added["far"])
    assert added["far"].hourly and _slot(session, added["far"]) == hour(ahead["far"])
    assert retry_queue.refine_slots(session, dt.datetime(2026, 11, 25, tzinfo=UTC)) == 1  # the 26th's
    assert {name: _slot(session, retry) for name, retry in added.items()} == {
        name: hour(at) for name, at in ahead.items()}
    assert retry_queue.refine_slots(session, dt.datetime(2026, 11, 26, tzinfo=UTC)) == 0


@pytest.mark.req("D11")
def test_rows_left_in_a_day_slot_are_released_and_timed_exactly(session) -> None:
    """An unrefined far row (the engine was down) goes out at its instant, not before, and
    the timer wakes for an earlier row in a later slot."""
    campaign, calling_list = _campaign(session)
    day = dt.datetime(2026, 11, 26, tzinfo=UTC)
    coarse = _retry(session, campaign, calling_list, "+442079460001",
                    earliest_at=day + dt.timedelta(hours=20), created_at=NOW)[0]
    fine = _retry(session, campaign, calling_list, "+442079460002",
                  earliest_at=day + dt.timedelta(hours=3), created_at=day - dt.timedelta(hours=1))[0]
    assert _slot(session, coarse) == int(day.timestamp()) // 3600 < _slot(session, fine)
    assert retry_queue.next_due_at(session) == fine.earliest_at
    for now, due in [(fine.earliest_at, {fine.id}),
                     (coarse.earliest_at - dt.timedelta(microseconds=1), {fine.id}),
                     (coarse.earliest_at, {fine.id, coarse.id})]:
        assert {row[10] for row in retry_queue._due(session, now, 100)} == due
    fine.status = RetryStatus.DONE
    session.flush()
    assert retry_queue.next_due_at(session) == coarse.earliest_at


@pytest.mark.req("D11")
def test_refinement_reads_two_day_slots_through_the_due_index(session) -> None:
    """A refinement walks today's and tomorrow's day slots, not the pending rows."""
    from sqlalchemy import event

    campaign, calling_list = _campaign(session)
    _retry(session, campaign, calling_list, "+442079460001", earliest_at=NOW + dt.timedelta(days=4))
    seen = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.startswith("UPDATE retry SET hourly"):
            seen.append((statement, parameters))

    event.listen(session.bind, "before_cursor_execute", capture)
    try:
        assert retry_queue.refine_slots(session, NOW) == 0
    finally:
        event.remove(session.bind, "before_cursor_execute", capture)
    (statement, parameters), = seen
    plan = _plan(session.connection(), statement, parameters)
    assert "ix_retry_status_due" in plan, plan
    if session.connection().dialect.name == "sqlite":
        assert "due_hour=?" in plan, plan  # two probes, not a range


@pytest.mark.req("D11")
@pytest.mark.postgres
def test_engines_refining_at_once_on_postgresql_skip_each_others_rows(pg_url: str) -> None:
    """A far row another engine's pass holds is left to it: no wait, no second write."""
    from campaigns import db, schema

    engine = db.make_engine(pg_url)
    schema.ensure_current(engine)
    factory = db.make_sessionmaker(engine)
    with db.unit_of_work(factory) as session:
        campaign, calling_list = _campaign(session)
        held, _ = _retry(session, campaign, calling_list, "+442079460001",
                         earliest_at=NOW + dt.timedelta(days=3, hours=5))
        free, _ = _retry(session, campaign, calling_list, "+442079460002",
                         earliest_at=NOW + dt.timedelta(days=3, hours=6))
        held_id, free_id = held.id, free.id
    tomorrow_but_one = NOW + dt.timedelta(days=2)
    with factory() as first, factory() as second:
        first.execute(text("SELECT id FROM retry WHERE id = :id FOR UPDATE"), {"id": held_id})
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        assert retry_queue.refine_slots(second, tomorrow_but_one) == 1
        second.commit()
        first.rollback()
        hourly = dict(second.execute(select(models.Retry.id, models.Retry.hourly)).all())
    assert hourly == {held_id: False, free_id: True}
    with db.unit_of_work(factory) as session:
        assert retry_queue.refine_slots(session, tomorrow_but_one) == 1
    engine.dispose()
