"""The engine end to end: database hopper, orchestrator, recorder, simulated carrier and agents.

A small campaign of scripted numbers runs to idle on SQLite and PostgreSQL with
a fast real clock: every record gets attempts with outcomes and dispositions,
retries are created and dialled again when due, no record is dialled twice at
once, every attempt is closed.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt

import pytest
from sqlalchemy import select

from campaigns import caller_ids, db, models
from campaigns.enums import CallOutcome, RecordStatus, RetryStatus
from dialer import app
from dialer import settings as settings_mod
from telephony import clock as clockmod
from telephony import sim
from tests.engine import campaign_data as data

SUFFIXES = ("01", "02", "03", "04", "07", "08")


def _settings(url: str):
    return settings_mod.load_settings(overrides={
        "database": {"url": url},
        "telephony": {"backend": "sim", "sim": {"wrap_mean_s": 0.1, "wrap_cv": 0.0}}}, environ={})


def _run(url: str, options: app.EngineOptions, *, timeout_s: float = 90.0) -> dict:
    engine = db.make_engine(url)
    factory = db.make_sessionmaker(engine)
    clock = clockmod.RealClock()
    backend = sim.SimulatedBackend(clock, scripted_ring_s=0.1, scripted_talk_s=0.3)

    async def main() -> dict:
        runner = app.Engine(_settings(url), options, session_factory=factory, clock=clock,
                            backend=backend)
        return await asyncio.wait_for(runner.run(), timeout_s)

    try:
        summary = asyncio.run(main())
        assert backend.live_calls == 0
        return summary
    finally:
        engine.dispose()


@pytest.mark.req("D2")
@pytest.mark.req("D5")
@pytest.mark.req("D6")
@pytest.mark.req("D9")
@pytest.mark.req("D14")
def test_small_campaign_runs_to_idle_with_outcomes_dispositions_and_retries(db_url: str) -> None:
    engine = db.make_engine(db_url)
    factory = db.make_sessionmaker(engine)
    numbers = [data.scripted(area, suffix) for area in data.AREAS[:2] for suffix in SUFFIXES]
    pool = (caller_ids.PoolNumber("+12125559001", "212", "US-NY"),
            caller_ids.PoolNumber("+16175559001", "617", "US-MA"))
    campaign_id = data.create_campaign(factory, "engine-small", numbers, pool=pool)
    options = app.EngineOptions(engine_id="test-engine", is_until_idle=True, sim_agents=2,
                                sim_dispositions={"sale": 1.0}, tick_s=0.1, status_poll_s=0.2)

    summary = _run(db_url, options)

    with factory() as session:
        by_record = data.attempts_by_record(session, campaign_id)
        records = {r.id: r for r in session.scalars(
            select(models.Record).where(models.Record.campaign_id == campaign_id))}
        retries = session.scalars(select(models.Retry)
                                  .where(models.Retry.campaign_id == campaign_id)).all()
        changes = session.scalars(select(models.AgentStateChange)
                                  .where(models.AgentStateChange.campaign_id == campaign_id)).all()
        assert set(by_record) == set(records)
        for record_id, attempts in by_record.items():
            number = attempts[0].number_e164
            assert all(a.ended_at is not None and a.outcome is not None for a in attempts)
            assert all(a.disposition is not None for a in attempts)
            assert all(a.engine_id == "test-engine" for a in attempts)
            assert not data.overlapping(attempts), number
            counted = sum(1 for a in attempts if a.counts_as_attempt)
            assert records[record_id].attempts_count == counted <= 3
            assert records[record_id].status is not RecordStatus.NEW
            area = number[2:5]
            assert {a.caller_id for a in attempts} == {f"+1{area}5559001"}  # local presence
        outcomes = {a.number_e164[-2:]: a for attempts in by_record.values() for a in attempts}
        assert outcomes["02"].outcome is CallOutcome.BUSY and outcomes["02"].disposition == "busy"
        assert outcomes["02"].sip_status == 486 and outcomes["02"].q850_cause == 17
        assert outcomes["03"].disposition == "no_answer"
        live = [a for attempts in by_record.values() for a in attempts
                if a.number_e164.endswith("08")]
        assert all(a.connected_at is not None and a.agent_id is not None for a in live)
        assert {a.disposition for a in live} == {"sale"}
        busy_attempts = [len(a) for a in by_record.values() if a[0].number_e164.endswith("02")]
        assert busy_attempts == [3, 3]  # retried when due, up to the campaign's cap
        assert retries and all(r.status is RetryStatus.DONE for r in retries)
        assert {c.state.value for c in changes} >= {"ready", "reserved", "on_call", "wrap_up"}
    assert summary["recovered_attempts"] == 0
    assert summary["campaigns"][0]["dials"] == sum(len(a) for a in by_record.values())
    engine.dispose()
    counts = collections.Counter(a.outcome for attempts in by_record.values() for a in attempts)
    assert counts[CallOutcome.ANSWERED] >= 2


@pytest.mark.req("D15")
def test_start_closes_attempts_left_open_by_this_engine_and_retries_them(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    factory = db.make_sessionmaker(engine)
    campaign_id = data.create_campaign(factory, "engine-restart", [data.scripted("212", "08")])
    now = dt.datetime.now(dt.UTC)
    with db.unit_of_work(factory) as session:
        record = session.scalars(select(models.Record)).one()
        record.claimed_by, record.claimed_until = "crashed", now + dt.timedelta(minutes=30)
        session.add(models.Attempt(campaign_id=campaign_id, record_id=record.id,
                                   number_e164=data.scripted("212", "08"), started_at=now,
                                   engine_id="crashed"))
    options = app.EngineOptions(engine_id="crashed", is_until_idle=True, sim_agents=1,
                                sim_dispositions={"sale": 1.0}, tick_s=0.1, status_poll_s=0.2)

    summary = _run(sqlite_url, options)

    assert summary["recovered_attempts"] == 1
    with factory() as session:
        first, second = data.attempts_by_record(session, campaign_id)[record.id]
        assert (first.outcome, first.cause, first.disposition) == (CallOutcome.FAILED,
                                                                   "engine_restart", "failed")
        assert second.disposition == "sale"
        assert session.get(models.Record, record.id).status is RecordStatus.DONE_SUCCESS
    engine.dispose()


def _callback_chain(url: str, name: str, *, tick_s: float,
                    timeout_s: float = 90.0) -> tuple[list, list]:
    """One record whose every answer books a callback 1 s later: its attempts and callbacks."""
    engine = db.make_engine(url)
    factory = db.make_sessionmaker(engine)
    campaign_id = data.create_campaign(factory, name, [data.scripted("212", "08")])
    options = app.EngineOptions(engine_id=name, is_until_idle=True, sim_agents=1,
                                sim_dispositions={"callback": 1.0}, tick_s=tick_s,
                                status_poll_s=0.2, sim_callback_delay=dt.timedelta(seconds=1))
    try:
        _run(url, options, timeout_s=timeout_s)
        with factory() as session:
            (attempts,) = data.attempts_by_record(session, campaign_id).values()
            callbacks = session.scalars(select(models.Callback).order_by(models.Callback.id)).all()
            return attempts, callbacks
    finally:
        engine.dispose()


@pytest.mark.req("D5")
@pytest.mark.req("D9")
def test_agent_callback_is_scheduled_released_when_due_and_dialled(sqlite_url: str) -> None:
    attempts, callbacks = _callback_chain(sqlite_url, "callbacks", tick_s=0.1)

    # the rule's cap (max_per_record = 5) ends the chain: no sixth call, no fifth callback
    assert [a.disposition for a in attempts] == ["callback"] * 5
    assert all(a.connected_at is not None for a in attempts)
    assert len(callbacks) == 4
    for callback, next_call in zip(callbacks, attempts[1:], strict=True):
        assert next_call.started_at >= callback.window_start_at  # dialled when due
        assert callback.status.value == "completed"


@pytest.mark.req("D9")
@pytest.mark.req("D11")
def test_a_callback_coming_due_is_dialled_when_the_timer_releases_it_not_at_the_next_tick(
        sqlite_url: str) -> None:
    # a pacing tick far longer than the run: only the timer's wake can dial the callbacks in time
    attempts, callbacks = _callback_chain(sqlite_url, "woken", tick_s=60.0, timeout_s=45.0)

    assert len(callbacks) == 4
    for callback, next_call in zip(callbacks, attempts[1:], strict=True):
        waited = (next_call.started_at - callback.window_start_at).total_seconds()
        assert 0 <= waited < 2.0, waited


@pytest.mark.req("D6")
def test_a_caller_id_at_its_daily_cap_gives_way_to_another_pool_number(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    factory = db.make_sessionmaker(engine)
    numbers = [data.scripted("212", suffix) for suffix in ("02", "04", "07")]
    pool = (caller_ids.PoolNumber("+12125559001", "212", "US-NY", daily_cap=1),
            caller_ids.PoolNumber("+16175559001", "617", "US-MA"))
    campaign_id = data.create_campaign(factory, "capped", numbers, pool=pool, max_attempts=1)
    options = app.EngineOptions(engine_id="capped", is_until_idle=True, sim_agents=1,
                                tick_s=0.1, status_poll_s=0.2)

    _run(sqlite_url, options)

    with factory() as session:
        used = sorted(a.caller_id for attempts in
                      data.attempts_by_record(session, campaign_id).values() for a in attempts)
    assert used == ["+12125559001", "+16175559001", "+16175559001"]
    engine.dispose()
