"""The web desktop's entry point: an agent's disposition applied once, in one unit of work."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from campaigns import db, models
from campaigns.enums import CallOutcome, RecordStatus
from campaigns.store import outcomes
from dialer import wrapup
from tests.engine import campaign_data as data


@pytest.mark.req("D5")
def test_submit_disposition_applies_the_agents_code_once(db_url: str) -> None:
    engine = db.make_engine(db_url)
    factory = db.make_sessionmaker(engine)
    campaign_id = data.create_campaign(factory, "wrapup", [data.scripted("212", "08")])
    now = dt.datetime.now(dt.UTC)
    with db.unit_of_work(factory) as session:
        record = session.scalars(select(models.Record)).one()
        attempt = outcomes.open_attempt(session, campaign_id=campaign_id, record_id=record.id,
                                        phone_number_id=None, number_e164="+12125550108",
                                        caller_id="", started_at=now, engine_id="e")
        outcomes.close_attempt(session, attempt, outcome=CallOutcome.ANSWERED, ended_at=now,
                               answered_at=now, connected_at=now)
        attempt_id, record_id = attempt.id, record.id

    applied = wrapup.submit_disposition(factory, attempt_id, "sale", "bought the premium plan")

    assert applied.record_status is RecordStatus.DONE_SUCCESS
    with factory() as session:
        stored = session.get(models.Attempt, attempt_id)
        assert (stored.disposition, stored.notes) == ("sale", "bought the premium plan")
        assert session.get(models.Record, record_id).status is RecordStatus.DONE_SUCCESS
    with pytest.raises(wrapup.AlreadyDisposed):
        wrapup.submit_disposition(factory, attempt_id, "not_interested")
    engine.dispose()


def _world_with_answered_call(factory):
    """The callbacks tests' New York campaign (default rules), one call answered by bob."""
    from campaigns import dispositions
    from campaigns.store import rules as rule_store
    from tests.callbacks.conftest import NOW, make_world

    with db.unit_of_work(factory) as session:
        world = make_world(session)
        rule_store.replace(session, world.campaign,
                           dispositions.parse_rules(dispositions.default_rules_text()))
        phone = world.record.phones[0]
        attempt = outcomes.open_attempt(session, campaign_id=world.campaign.id,
                                        record_id=world.record.id, phone_number_id=phone.id,
                                        number_e164=phone.e164, caller_id="", started_at=NOW)
        outcomes.close_attempt(session, attempt, outcome=CallOutcome.ANSWERED, ended_at=NOW,
                               answered_at=NOW, connected_at=NOW, agent_id=world.bob.id)
        return attempt.id, world.record.id


@pytest.mark.req("E1")
def test_a_wrap_up_callback_goes_through_the_callbacks_workflow(db_url: str) -> None:
    from dialer import callbacks_service
    from tests.callbacks.conftest import NOW, ny

    engine = db.make_engine(db_url)
    factory = db.make_sessionmaker(engine)
    attempt_id, record_id = _world_with_answered_call(factory)

    applied = wrapup.submit_disposition(
        factory, attempt_id, "callback", now=NOW, note="wants the evening",
        callback={"start_at": ny(24, 20), "end_at": ny(24, 23), "tz": "America/New_York",
                  "number": "+1 212 555 0199", "note": "after dinner", "owner": "bob"})

    assert applied.record_status is RecordStatus.CALLBACK
    with factory() as session:
        callback = session.get(models.Callback, applied.callback_id)
        shown = callbacks_service.show(session, callback)
        assert (shown["number"], shown["owner"], shown["notes"], shown["tz"]) == (
            "+12125550199", "bob", "after dinner", "America/New_York")
        # 21:00 is the end of legal hours in New York: clipped, and it says so
        assert (callback.window_start_at, callback.window_end_at) == (ny(24, 20), ny(24, 21))
        assert (shown["is_clipped"], shown["earliest_legal_at"]) == (True, "2026-11-25T01:00:00Z")
        assert [(h["action"], h["actor"]) for h in shown["history"]] == [("scheduled", "bob")]
        events = {m.event for m in session.scalars(select(models.OutboxMessage).where(
            models.OutboxMessage.callback_id == callback.id))}
        assert "callback_scheduled" in events  # the customer's confirmation waits in the outbox
        assert session.get(models.Attempt, attempt_id).notes == "wants the evening"
        assert session.get(models.Record, record_id).next_attempt_at == ny(24, 20)
    engine.dispose()


@pytest.mark.req("E2")
def test_a_wrap_up_callback_with_no_legal_minute_is_refused_and_nothing_is_stored(
        db_url: str) -> None:
    from campaigns import calling_hours
    from tests.callbacks.conftest import NOW, ny

    engine = db.make_engine(db_url)
    factory = db.make_sessionmaker(engine)
    attempt_id, record_id = _world_with_answered_call(factory)

    with pytest.raises(calling_hours.NoLegalMinute) as refused:
        wrapup.submit_disposition(factory, attempt_id, "callback", now=NOW,
                                  callback={"start_at": ny(24, 22), "end_at": ny(24, 23)})

    assert refused.value.error_id == "no-legal-minute"
    with factory() as session:
        assert session.get(models.Attempt, attempt_id).disposition is None
        assert session.scalars(select(models.Callback)).all() == []
        assert session.get(models.Record, record_id).status is RecordStatus.NEW
    engine.dispose()


@pytest.mark.req("E1")
def test_a_callback_code_without_a_chosen_window_gets_the_default_one_legally(
        sqlite_url: str) -> None:
    from dialer import callbacks_service
    from tests.callbacks.conftest import ny

    engine = db.make_engine(sqlite_url)
    factory = db.make_sessionmaker(engine)
    attempt_id, _ = _world_with_answered_call(factory)
    late = ny(23, 20, 30)  # the default window (an hour later) would open after 21:00

    applied = wrapup.submit_disposition(factory, attempt_id, "callback", now=late)

    with factory() as session:
        callback = session.get(models.Callback, applied.callback_id)
        shown = callbacks_service.show(session, callback)
        # moved to the first legal time (08:00 next morning), in the customer's zone
        assert (callback.window_start_at, callback.window_end_at) == (ny(24, 8), ny(24, 10))
        assert (shown["tz"], shown["number"]) == ("America/New_York", "+12125550100")
        assert [h["action"] for h in shown["history"]] == ["scheduled"]
    engine.dispose()


@pytest.mark.req("E9")
@pytest.mark.req("E1")
def test_an_agents_wrap_up_of_a_callback_call_completes_it_and_may_book_the_next(
        db_url: str) -> None:
    from campaigns.enums import CallbackStatus
    from campaigns.store import hopper
    from dialer import callbacks_service
    from tests.callbacks.conftest import NOW, ny

    engine = db.make_engine(db_url)
    factory = db.make_sessionmaker(engine)
    attempt_id, record_id = _world_with_answered_call(factory)
    wrapup.submit_disposition(factory, attempt_id, "callback", now=NOW,
                              callback={"start_at": ny(24, 10), "end_at": ny(24, 12)})
    with db.unit_of_work(factory) as session:
        [work] = hopper.claim(session, session.get(models.Record, record_id).campaign_id,
                              engine_id="e1", now=ny(24, 10, 1), lease=dt.timedelta(minutes=5),
                              limit=1)
        assert work.kind == "callback"
        attempt = outcomes.open_attempt(session, campaign_id=work.campaign_id,
                                        record_id=record_id, phone_number_id=None,
                                        number_e164=work.number_e164, caller_id="",
                                        started_at=ny(24, 10, 1))
        outcomes.close_attempt(session, attempt, outcome=CallOutcome.ANSWERED,
                               ended_at=ny(24, 10, 6), connected_at=ny(24, 10, 1))
        second_id, first_callback = attempt.id, work.callback_id

    applied = wrapup.submit_disposition(
        factory, second_id, "callback", now=ny(24, 10, 6), actor="bob",
        callback={"start_at": ny(25, 9), "end_at": ny(25, 10), "note": "needs his wife"})

    with factory() as session:
        done = session.get(models.Callback, first_callback)
        assert (done.status, done.outcome) == (CallbackStatus.COMPLETED, "callback")
        booked = session.get(models.Callback, applied.callback_id)
        assert (booked.status, booked.window_start_at) == (CallbackStatus.SCHEDULED, ny(25, 9))
        history = callbacks_service.show(session, booked)["history"]
        assert [(h["action"], h["actor"]) for h in history] == [("scheduled", "bob")]
    engine.dispose()
