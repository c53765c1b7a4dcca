"""The agent desk (``engine.desk``) on the simulated carrier and the real database (D3).

A human agent logs in through the desk, goes ready, takes a simulated live call,
wraps up and disposes; supervisors force not ready and log out; preview
campaigns offer a record that is dialled or skipped only when the agent says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytz
from sqlalchemy import select, update

from campaigns import db, models
from campaigns.enums import CallOutcome, CampaignStatus, DialingMode, RecordStatus, Role
from campaigns.store import audit
from campaigns.store import users as user_store
from dialer import agent_desk, app, wrapup
from dialer import settings as settings_mod
from telephony import clock as clockmod
from telephony import sim
from tests.engine import campaign_data as data

pytestmark = pytest.mark.timeout(120)
LIVE = data.scripted("212", "08")


@pytest.fixture
def make_factory() -> Any:
    """``make_factory(url)``: a session factory whose engine is disposed at teardown."""
    binds: list[Any] = []

    def make(url: str) -> Any:
        binds.append(db.make_engine(url))
        return db.make_sessionmaker(binds[-1])

    yield make
    for bind in binds:
        bind.dispose()


def _numbers(count: int, suffix: str = "08") -> list[str]:
    return [data.scripted(area, suffix) for area in data.AREAS[:count]]


def _user(factory: Any, name: str, campaign_ids: list[int], role: Role = Role.AGENT) -> int:
    with db.unit_of_work(factory) as session:
        user = user_store.create(session, name, role=role, now=dt.datetime.now(dt.UTC))
        for campaign_id in campaign_ids:
            user_store.join(session, user, session.get(models.Campaign, campaign_id))
        return user.id


def _set(factory: Any, campaign_id: int, **values: Any) -> None:
    with db.unit_of_work(factory) as session:
        session.execute(update(models.Campaign).where(models.Campaign.id == campaign_id)
                        .values(**values))


async def _until(predicate: Callable[[], Any], what: str, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def _engine(url: str, *, talk_s: float = 1.0, **options: Any) -> AsyncIterator[app.Engine]:
    settings = settings_mod.load_settings(overrides={
        "database": {"url": url},
        "telephony": {"backend": "sim", "sim": {"wrap_mean_s": 0.1, "wrap_cv": 0.0}}}, environ={})
    bind = db.make_engine(url)
    factory = db.make_sessionmaker(bind)
    clock = clockmod.RealClock()
    backend = sim.SimulatedBackend(clock, scripted_ring_s=0.1, scripted_talk_s=talk_s)
    values = {"engine_id": "desk-test", "tick_s": 0.1, "status_poll_s": 0.1, **options}
    engine = app.Engine(settings, app.EngineOptions(**values), session_factory=factory,
                        clock=clock, backend=backend)
    task = asyncio.create_task(engine.run())
    try:
        await _until(lambda: engine.desk is not None, "the desk")
        yield engine
    finally:
        engine.request_stop()
        await asyncio.wait_for(task, 30)
        assert backend.live_calls == 0
        bind.dispose()


def _running(engine: app.Engine, campaign_id: int) -> bool:
    runner = engine.runners.get(campaign_id)
    return bool(runner and runner.task and not runner.task.done() and runner.orchestrator)


def _drain(queue: asyncio.Queue) -> list[dict[str, Any]]:
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


@pytest.mark.req("D3")
def test_human_agent_logs_in_takes_a_call_disposes_and_is_forced_out(
        db_url: str, make_factory: Any) -> None:
    factory = make_factory(db_url)
    campaign_id = data.create_campaign(factory, "desk", [LIVE], status=CampaignStatus.PAUSED)
    ann = _user(factory, "ann", [campaign_id])

    async def scenario() -> dict[str, Any]:
        async with _engine(db_url) as engine:
            desk = engine.desk
            events = desk.subscribe()
            state = await desk.login(ann, [campaign_id])  # not running yet: waits for it
            assert (state["state"], state["reason"]) == ("not_ready", "no_running_campaign")
            await desk.ready(ann)
            _set(factory, campaign_id, status=CampaignStatus.ACTIVE)
            await _until(lambda: desk.state(ann)["state"] == "ready", "seated and ready")
            on_call = await _until(lambda: desk.state(ann)["call"], "the call")
            assert on_call["number"] == LIVE and on_call["campaign_id"] == campaign_id
            board = await _until(lambda: [r for r in desk.snapshot() if r["number"]], "snapshot")
            assert board[0]["number"] == "***0108" and board[0]["name"] == "ann"
            assert [c["number"] for c in desk.live_calls()] in ([], ["***0108"])
            await desk.force_not_ready(ann)  # after this call
            wrap = await _until(lambda: desk.state(ann)["wrap"], "wrap-up")
            assert wrap["attempt_id"] == on_call["attempt_id"] and wrap["deadline_at"] > wrap[
                "started_at"]
            with pytest.raises(agent_desk.DeskError) as refused:
                await desk.ready(ann)
            assert refused.value.error_id == "wrap-up-pending"
            done = await desk.dispose(ann, wrap["attempt_id"], "sale", note="bought")
            assert (done["record_status"], done["state"]["state"]) == ("done_success",
                                                                       "not_ready")
            assert done["state"]["reason"] == "supervisor"
            with pytest.raises(wrapup.AlreadyDisposed):
                await desk.dispose(ann, wrap["attempt_id"], "not_interested")
            await desk.force_logout(ann)
            assert desk.state(ann)["state"] == "logged_out" and not desk.snapshot()
            await asyncio.sleep(0)
            return {"attempt": wrap["attempt_id"], "events": _drain(events)}

    result = asyncio.run(scenario())
    kinds = {(e["type"], e.get("state")) for e in result["events"]}
    assert {("login", None), ("agent", "ready"), ("call", "ringing"), ("call", "connected"),
            ("call", "ended"), ("wrap", None), ("agent", "not_ready"),
            ("agent", "logged_out")} <= kinds
    with factory() as session:
        attempt = session.get(models.Attempt, result["attempt"])
        assert (attempt.disposition, attempt.notes, attempt.agent_id) == ("sale", "bought", ann)
        states = [c.state.value for c in session.scalars(
            select(models.AgentStateChange).where(models.AgentStateChange.user_id == ann)
            .order_by(models.AgentStateChange.id))]
    assert states == ["not_ready", "ready", "reserved", "on_call", "wrap_up", "not_ready",
                      "logged_out"]


@pytest.mark.req("D3")
def test_desk_refusals_carry_error_ids_and_the_wrap_limit_gives_answered(
        sqlite_url: str, make_factory: Any) -> None:
    factory = make_factory(sqlite_url)
    campaign_id = data.create_campaign(factory, "refusals", [LIVE])
    other = data.create_campaign(factory, "other", _numbers(1, "02"),
                                 status=CampaignStatus.PAUSED)
    bob = _user(factory, "bob", [campaign_id])
    eve = _user(factory, "eve", [campaign_id])
    boss = _user(factory, "boss", [campaign_id], role=Role.SUPERVISOR)

    async def refused(call: Any) -> str:
        with pytest.raises(agent_desk.DeskError) as caught:
            await call
        return caught.value.error_id

    async def scenario() -> int:
        async with _engine(sqlite_url, wrap_limit_s=0.3) as engine:
            desk = engine.desk
            assert await refused(desk.login(bob, [other])) == "not-a-member"
            assert await refused(desk.login(boss, [campaign_id])) == "not-an-agent"
            assert await refused(desk.login(9999, [campaign_id])) == "no-such-user"
            assert await refused(desk.login(bob, [])) == "no-campaign"
            assert await refused(desk.ready(bob)) == "not-logged-in"
            await _until(lambda: _running(engine, campaign_id), "the campaign")
            await desk.login(bob, [campaign_id])
            await desk.ready(bob)
            wrap = await _until(lambda: desk.state(bob)["wrap"], "wrap-up", 30)
            assert await refused(desk.dispose(eve, wrap["attempt_id"], "sale")) == "not-your-call"
            assert await refused(desk.dispose(bob, 424242, "sale")) == "no-such-attempt"
            await _until(lambda: desk.state(bob)["state"] == "ready", "the wrap limit")
            return wrap["attempt_id"]

    attempt_id = asyncio.run(scenario())
    with factory() as session:
        attempt = session.get(models.Attempt, attempt_id)
        assert attempt.disposition == "answered"  # nobody disposed within the limit


@pytest.mark.req("D3")
@pytest.mark.req("E1")
def test_dispose_with_a_callback_books_it_through_the_callbacks_workflow(
        sqlite_url: str, make_factory: Any) -> None:
    factory = make_factory(sqlite_url)
    campaign_id = data.create_campaign(factory, "desk-callback", [LIVE])
    cid = _user(factory, "cid", [campaign_id])
    zone = pytz.timezone("America/New_York")
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date()
    start = zone.localize(dt.datetime.combine(day, dt.time(10))).astimezone(dt.UTC)
    window = {"start_at": start, "end_at": start + dt.timedelta(hours=2),
              "tz": "America/New_York", "number": LIVE, "note": "after lunch"}

    async def scenario() -> dict[str, Any]:
        async with _engine(sqlite_url) as engine:
            await _until(lambda: _running(engine, campaign_id), "the campaign")
            await engine.desk.login(cid, [campaign_id])
            await engine.desk.ready(cid)
            wrap = await _until(lambda: engine.desk.state(cid)["wrap"], "wrap-up", 30)
            return await engine.desk.dispose(cid, wrap["attempt_id"], "callback",
                                             note="call me back", callback=window)

    done = asyncio.run(scenario())
    assert done["record_status"] == "callback" and done["state"]["state"] == "ready"
    with factory() as session:
        callback = session.get(models.Callback, done["callback_id"])
        assert (callback.window_start_at, callback.tz) == (start, "America/New_York")
        assert session.get(models.Record, callback.record_id).status is RecordStatus.CALLBACK


@pytest.mark.req("D3")
def test_preview_offers_a_record_that_is_dialled_or_skipped_on_the_agents_word(
        db_url: str, make_factory: Any) -> None:
    factory = make_factory(db_url)
    campaign_id = data.create_campaign(factory, "preview", _numbers(2))
    _set(factory, campaign_id, dialing_mode=DialingMode.PREVIEW)
    pia = _user(factory, "pia", [campaign_id])

    async def scenario() -> dict[str, Any]:
        async with _engine(db_url, talk_s=0.3) as engine:
            desk = engine.desk
            await _until(lambda: _running(engine, campaign_id), "the campaign")
            await desk.login(pia, [campaign_id])
            await desk.ready(pia)
            first = await _until(lambda: desk.state(pia)["preview"], "an offer")
            assert not desk.live_calls()  # nothing is dialled before the agent says so
            with pytest.raises(agent_desk.DeskError) as wrong:
                await desk.preview_dial(pia, first["record_id"] + 1000)
            assert wrong.value.error_id == "no-such-preview"
            await desk.preview_skip(pia, first["record_id"], "asked for the manager")
            second = await _until(lambda: desk.state(pia)["preview"], "the next offer")
            assert second["record_id"] != first["record_id"]  # not offered again at once
            await desk.preview_dial(pia, second["record_id"])
            wrap = await _until(lambda: desk.state(pia)["wrap"], "wrap-up", 30)
            await desk.dispose(pia, wrap["attempt_id"], "not_interested")
            await desk.not_ready(pia, "lunch")
            return {"first": first, "second": second, "wrap": wrap}

    seen = asyncio.run(scenario())
    with factory() as session:
        skipped = session.get(models.Attempt, seen["first"]["attempt_id"])
        assert (skipped.outcome, skipped.cause, skipped.counts_as_attempt) == (
            CallOutcome.CANCELLED, "preview_skip", False)
        assert skipped.notes == "skip:asked for the manager"
        record = session.get(models.Record, seen["first"]["record_id"])
        assert record.status is RecordStatus.RETRY and record.next_attempt_at > skipped.ended_at
        events = audit.events(session, entity="record", entity_id=seen["first"]["record_id"])
        assert [e.action for e in events] == ["preview_skip"]
        assert events[0].details["reason"] == "asked for the manager"
        dialled = session.get(models.Attempt, seen["wrap"]["attempt_id"])
        assert dialled.record_id == seen["second"]["record_id"]
        assert (dialled.disposition, dialled.agent_id) == ("not_interested", pia)
        assert dialled.started_at >= skipped.ended_at  # started when dialled, not when offered


@pytest.mark.req("D3")
def test_simulated_agents_in_preview_dial_their_offers_and_the_campaign_runs_out(
        sqlite_url: str, make_factory: Any) -> None:
    factory = make_factory(sqlite_url)
    numbers = _numbers(3) + _numbers(2, "02")
    campaign_id = data.create_campaign(factory, "sim-preview", numbers, max_attempts=1)
    _set(factory, campaign_id, dialing_mode=DialingMode.PREVIEW)

    async def scenario() -> None:
        async with _engine(sqlite_url, talk_s=0.2, sim_agents=2, is_until_idle=True,
                           sim_dispositions={"sale": 1.0}) as engine:
            await _until(lambda: engine.runners.get(campaign_id) is not None
                         and engine.runners[campaign_id].task.done(), "the run to end", 60)

    asyncio.run(scenario())
    with factory() as session:
        by_record = data.attempts_by_record(session, campaign_id)
    assert len(by_record) == len(numbers)
    attempts = [a for group in by_record.values() for a in group]
    assert all(a.ended_at is not None and a.disposition for a in attempts)
    assert {a.disposition for a in attempts if a.number_e164.endswith("08")} == {"sale"}
    assert all(not data.overlapping(group) for group in by_record.values())


def _passes_calling(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, module: Any,
                    name: str) -> list[float]:
    """Timer passes 0, 30, 61, 90 and 122 s apart: the seconds of those that called
    ``module.name`` (which still runs)."""
    called: list[dt.datetime] = []
    real = getattr(module, name)

    def spy(session: Any, *args: Any, **kwargs: Any) -> Any:
        called.append(args[-1])  # the pass's instant comes last
        return real(session, *args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    t0 = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # after any pass the engine makes itself

    async def scenario() -> None:
        async with _engine(sqlite_url) as engine:
            loop = asyncio.get_running_loop()
            for seconds in (0, 30, 61, 90, 122):
                await loop.run_in_executor(None, engine._on_due,
                                           t0 + dt.timedelta(seconds=seconds))

    asyncio.run(scenario())
    return [(at - t0).total_seconds() for at in called if at >= t0]


@pytest.mark.req("E9")
def test_the_timer_pass_runs_the_callbacks_sweep_every_minute(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _passes_calling(sqlite_url, monkeypatch, app.callbacks_engine, "sweep") == [0, 61, 122]


@pytest.mark.req("D11")
def test_the_timer_pass_refines_far_retries_once_a_minute(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _passes_calling(sqlite_url, monkeypatch, app.retry_queue, "refine_slots") == [0, 61, 122]


@pytest.mark.req("D3")
def test_an_agent_follows_their_campaigns_as_they_start_and_stop(
        sqlite_url: str, make_factory: Any) -> None:
    factory = make_factory(sqlite_url)
    first = data.create_campaign(factory, "first", _numbers(1, "03"))
    second = data.create_campaign(factory, "second", _numbers(1, "03"),
                                  status=CampaignStatus.PAUSED)
    dan = _user(factory, "dan", [first, second])

    async def scenario() -> list[tuple[Any, str]]:
        seen = []
        async with _engine(sqlite_url) as engine:
            desk = engine.desk
            await _until(lambda: _running(engine, first), "the first campaign")
            state = await desk.login(dan, [second, first])  # the second is not running
            seen.append((state["campaign_id"], state["state"]))
            await desk.not_ready(dan, "coffee")
            _set(factory, first, status=CampaignStatus.PAUSED)
            _set(factory, second, status=CampaignStatus.ACTIVE)
            moved = await _until(lambda: desk.state(dan).get("campaign_id") == second
                                 and desk.state(dan), "the move to the second campaign")
            seen.append((moved["campaign_id"], f"{moved['state']}:{moved['reason']}"))
            await desk.logout(dan)
            seen.append((None, desk.state(dan)["state"]))
            assert await _refused_id(desk.ready(dan)) == "not-logged-in"
        return seen

    assert asyncio.run(scenario()) == [(first, "not_ready"), (second, "not_ready:coffee"),
                                       (None, "logged_out")]


async def _refused_id(call: Any) -> str:
    with pytest.raises(agent_desk.DeskError) as caught:
        await call
    return caught.value.error_id


@pytest.mark.req("D3")
def test_humans_and_simulated_agents_share_a_campaign_each_with_their_own_desk(
        sqlite_url: str, make_factory: Any) -> None:
    factory = make_factory(sqlite_url)
    campaign_id = data.create_campaign(factory, "mixed", _numbers(4),
                                       status=CampaignStatus.PAUSED)
    hal = _user(factory, "hal", [campaign_id])

    async def scenario() -> list[dict[str, Any]]:
        async with _engine(sqlite_url, talk_s=0.3, sim_agents=1,
                           sim_dispositions={"sale": 1.0}) as engine:
            desk = engine.desk
            events = desk.subscribe()
            await desk.login(hal, [campaign_id])
            await desk.ready(hal)
            _set(factory, campaign_id, status=CampaignStatus.ACTIVE)
            deadline = time.monotonic() + 40
            while True:
                with factory() as session:
                    if not session.scalars(select(models.Record.id).where(
                            models.Record.campaign_id == campaign_id,
                            models.Record.status == RecordStatus.NEW)).first() \
                            and not desk.live_calls():
                        break
                assert time.monotonic() < deadline, "the campaign did not finish"
                with contextlib.suppress(TimeoutError):
                    event = await asyncio.wait_for(events.get(), 0.2)
                    if event["type"] == "wrap" and event["user_id"] == hal:
                        await desk.dispose(hal, event["attempt_id"], "not_interested")
            rows = desk.snapshot()
            assert {r["is_simulated"] for r in rows} == {True, False}
            return rows

    asyncio.run(scenario())
    with factory() as session:
        attempts = [a for group in data.attempts_by_record(session, campaign_id).values()
                    for a in group]
    by_agent = {(a.agent_id == hal, a.disposition) for a in attempts}
    assert by_agent == {(True, "not_interested"), (False, "sale")}
