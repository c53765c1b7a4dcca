"""Campaign status followed live by the running engine (D1): pause, resume, stop; the schedule."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from campaigns import db, models
from campaigns.enums import CallbackStatus, CampaignStatus, RecordStatus
from dialer import app
from dialer import settings as settings_mod
from telephony import clock as clockmod
from telephony import sim
from tests.engine import campaign_data as data

UTC = dt.UTC
DEADLINE_S = 30.0


async def _until(condition: Callable[[], bool], what: str, timeout_s: float = DEADLINE_S) -> None:
    """Wait for ``condition`` with a deadline (polling, no fixed sleep in the assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _engine(url: str, factory, options: app.EngineOptions) -> tuple[app.Engine, sim.SimulatedBackend]:
    settings = settings_mod.load_settings(overrides={
        "database": {"url": url},
        "telephony": {"sim": {"wrap_mean_s": 0.1, "wrap_cv": 0.0}}}, environ={})
    clock = clockmod.RealClock()
    backend = sim.SimulatedBackend(clock, scripted_ring_s=0.1, scripted_talk_s=0.3)
    return app.Engine(settings, options, session_factory=factory, clock=clock,
                      backend=backend), backend


def _set_status(factory, campaign_id: int, status: CampaignStatus) -> None:
    with db.unit_of_work(factory) as session:
        session.get(models.Campaign, campaign_id).status = status


def _attempts(factory, campaign_id: int) -> tuple[int, int, dt.datetime | None]:
    """(attempts, attempts still open, latest start)."""
    with factory() as session:
        row = session.execute(select(
            func.count(), func.count().filter(models.Attempt.ended_at.is_(None)),
            func.max(models.Attempt.started_at)).where(
            models.Attempt.campaign_id == campaign_id)).one()
    latest = row[2]
    if latest is not None and latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    return int(row[0]), int(row[1]), latest


def _last_states(factory, campaign_id: int) -> dict[int, str]:
    with factory() as session:
        rows = session.scalars(select(models.AgentStateChange).where(
            models.AgentStateChange.campaign_id == campaign_id)
            .order_by(models.AgentStateChange.id)).all()
    return {row.user_id: row.state.value for row in rows}


@pytest.mark.req("D1")
def test_pause_lets_calls_finish_resume_dials_again_stop_logs_agents_out(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    factory = db.make_sessionmaker(engine)
    areas = data.AREAS * 3
    numbers = sorted({data.scripted(area, s) for area in areas for s in ("02", "03", "08")})
    campaign_id = data.create_campaign(factory, "live-control", numbers, delay_s=30)
    options = app.EngineOptions(engine_id="control", sim_agents=2, sim_dispositions={"sale": 1},
                                tick_s=0.1, status_poll_s=0.1)
    runner, backend = _engine(sqlite_url, factory, options)

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        try:
            await _until(lambda: _attempts(factory, campaign_id)[0] >= 2, "first calls")
            _set_status(factory, campaign_id, CampaignStatus.PAUSED)
            paused_at = dt.datetime.now(UTC)
            await _until(lambda: runner.runners[campaign_id].task.done(), "paused runner to end")
            count, live, latest = _attempts(factory, campaign_id)
            assert live == 0 and backend.live_calls == 0  # live calls finished
            # no call placed after the engine saw the pause (one poll and one tick late at most)
            assert latest <= paused_at + dt.timedelta(seconds=1)
            assert "logged_out" not in _last_states(factory, campaign_id).values()

            _set_status(factory, campaign_id, CampaignStatus.ACTIVE)
            await _until(lambda: _attempts(factory, campaign_id)[0] > count, "dialing again")

            _set_status(factory, campaign_id, CampaignStatus.STOPPED)
            await _until(lambda: runner.runners[campaign_id].task.done(), "stopped runner to end")
            await _until(lambda: set(_last_states(factory, campaign_id).values()) == {"logged_out"},
                         "agents logged out")
            assert _attempts(factory, campaign_id)[1] == 0
        finally:
            runner.request_stop()
            await asyncio.wait_for(task, DEADLINE_S)

    asyncio.run(scenario())
    assert backend.live_calls == 0
    engine.dispose()


@pytest.mark.req("D1")
def test_campaign_outside_its_operating_schedule_places_no_call(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    factory = db.make_sessionmaker(engine)
    campaign_id = data.create_campaign(factory, "closed-now", [data.scripted("212", "08")])
    now = dt.datetime.now(UTC)
    opens = (now + dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    with db.unit_of_work(factory) as session:
        campaign = session.get(models.Campaign, campaign_id)
        campaign.schedule_start = opens.time()
        campaign.schedule_end = (opens + dt.timedelta(hours=1)).time()
    options = app.EngineOptions(engine_id="schedule", sim_agents=1, tick_s=0.1, status_poll_s=0.1)
    runner, _ = _engine(sqlite_url, factory, options)

    def released_until() -> dt.datetime | None:
        with factory() as session:
            return session.scalars(select(models.Record.next_attempt_at)).one()

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        try:
            await _until(lambda: released_until() is not None, "the claim to be released")
        finally:
            runner.request_stop()
            await asyncio.wait_for(task, DEADLINE_S)

    asyncio.run(scenario())
    assert _attempts(factory, campaign_id)[0] == 0
    assert released_until() == opens
    engine.dispose()


@pytest.mark.req("D9")
@pytest.mark.req("D10")
def test_timer_hands_a_callback_whose_window_passed_to_the_missed_ladder(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    factory = db.make_sessionmaker(engine)
    campaign_id = data.create_campaign(factory, "missed", [data.scripted("212", "08")])
    now = dt.datetime.now(UTC)
    with db.unit_of_work(factory) as session:
        record = session.scalars(select(models.Record)).one()
        record.status = RecordStatus.CALLBACK
        callback = models.Callback(
            campaign_id=campaign_id, record_id=record.id, number_e164=data.scripted("212", "08"),
            window_start_at=now - dt.timedelta(hours=2), window_end_at=now - dt.timedelta(hours=1),
            tz="America/New_York", status=CallbackStatus.SCHEDULED, created_at=now,
            updated_at=now)
        session.add(callback)
        session.flush()
        callback_id = callback.id
    options = app.EngineOptions(engine_id="missed", sim_agents=1, tick_s=0.1, status_poll_s=0.1)
    runner, _ = _engine(sqlite_url, factory, options)

    def missed_at() -> dt.datetime | None:
        with factory() as session:
            return session.get(models.Callback, callback_id).missed_at

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        try:
            await _until(lambda: missed_at() is not None, "the callback to be missed")
        finally:
            runner.request_stop()
            await asyncio.wait_for(task, DEADLINE_S)

    asyncio.run(scenario())
    assert runner.timer is not None and runner.timer.passes >= 1
    assert _attempts(factory, campaign_id)[0] == 0  # a passed window is never dialled
    engine.dispose()
