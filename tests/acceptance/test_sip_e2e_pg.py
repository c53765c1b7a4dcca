"""D17: a 5-agent progressive campaign on PostgreSQL through pjsua2 workers against sipp.

Customers are one sipp carrier (``tests/telephony/sipp/carrier.xml``: numbers
ending 0200 answer and hang up after a second, 0486 are busy); the five
agents' phones are one sipp playing ``sipp/agent_phone.xml`` (answer, stream a
tone, stay up until BYE).  The agents log in through ``engine.desk`` and the
test gives their dispositions through ``engine.desk.dispose``, as the web
desktop does.  Then the database must show every attempt with its outcome and
SIP status, the agents' dispositions, a busy record retried (its retry row
released when due and dialled again), no record dialled twice at once, and
nothing left running.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from campaigns import db, models
from campaigns.enums import CallOutcome, RecordStatus, RetryStatus, Role
from campaigns.store import users as user_store
from dialer import app
from dialer import settings as settings_mod
from tests import needs
from tests.engine import campaign_data as data
from tests.telephony.sipp_server import SCENARIOS, Sipp, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.sipp, pytest.mark.slow,
              pytest.mark.timeout(150)]

AGENTS = 5
ANSWER = [f"+1{area}5550200" for area in data.AREAS[:5]]
BUSY = [f"+1{area}5550486" for area in data.AREAS[5:7]]
#: what each agent answers, by the agent's position (the web desktop's choice).
CODES = ("sale", "not_interested", "sale", "not_interested", "sale")
AGENT_PHONE = Path(__file__).parent / "sipp" / "agent_phone.xml"


@pytest.fixture
def sipps(tmp_path: Path) -> Iterator[dict[str, Sipp]]:
    """The customers' carrier and the agents' phones, stopped by pid at teardown."""
    binary = needs.binary("sipp")
    started: dict[str, Sipp] = {}
    try:
        for name, scenario in (("carrier", SCENARIOS / "carrier.xml"),
                               ("phones", AGENT_PHONE)):
            (tmp_path / name).mkdir()
            started[name] = Sipp(binary, tmp_path / name, str(scenario)).start()
        yield started
    finally:
        for server in started.values():
            server.stop()


def _world(factory: Any, phones: Sipp) -> tuple[int, list[int]]:
    """The campaign (busy retried once, after a second) and five member agents with phones."""
    campaign_id = data.create_campaign(factory, "d17", ANSWER + BUSY, max_attempts=2,
                                       ring_timeout_s=15)
    now = dt.datetime.now(dt.UTC)
    with db.unit_of_work(factory) as session:
        campaign = session.get(models.Campaign, campaign_id)
        agents = []
        for i in range(1, AGENTS + 1):
            user = user_store.create(session, f"agent{i}", role=Role.AGENT, now=now,
                                     phone_address=f"sip:agent{i}@{phones.address}")
            user_store.join(session, user, campaign)
            agents.append(user.id)
    return campaign_id, agents


def _settings(url: str, carrier: Sipp) -> Any:
    block = 30000 + (os.getpid() % 20) * 400
    return settings_mod.load_settings(overrides={
        "database": {"url": url},
        "telephony": {"backend": "sip", "sip": {
            "domain": carrier.address, "port": free_port(), "workers": AGENTS,
            "rtp_port_min": block, "rtp_port_max": block + 399,
            "max_cps_per_worker": 20}}}, environ={})


def _is_finished(factory: Any, campaign_id: int) -> bool:
    with factory() as session:
        statuses = session.scalars(select(models.Record.status).where(
            models.Record.campaign_id == campaign_id)).all()
    return all(s not in (RecordStatus.NEW, RecordStatus.RETRY) for s in statuses)


async def _desktops(engine: app.Engine, agents: list[int], campaign_id: int,
                    factory: Any, deadline_s: float) -> dict[int, str]:
    """Log the agents in, make them ready, and dispose every call they wrap up."""
    desk = engine.desk
    assert desk is not None
    events = desk.subscribe()
    for user_id in agents:
        state = await desk.login(user_id, [campaign_id])
        assert state["state"] == "not_ready", state
        await desk.ready(user_id)
    disposed: dict[int, str] = {}
    end = time.monotonic() + deadline_s
    while not _is_finished(factory, campaign_id) or engine.desk.live_calls():
        assert time.monotonic() < end, f"campaign not finished; disposed {disposed}"
        try:
            event = await asyncio.wait_for(events.get(), 0.5)
        except TimeoutError:
            continue
        if event["type"] == "wrap" and event.get("attempt_id") in (None, *disposed):
            continue
        if event["type"] == "wrap":
            code = CODES[agents.index(event["user_id"])]
            done = await desk.dispose(event["user_id"], event["attempt_id"], code,
                                      note=f"by agent{agents.index(event['user_id']) + 1}")
            assert done["state"]["state"] == "ready", done
            disposed[event["attempt_id"]] = code
    return disposed


@pytest.mark.req("D17")
@pytest.mark.req("D3")
def test_five_agents_progressive_campaign_on_postgresql_through_pjsua2_against_sipp(
        pg_url: str, sipps: dict[str, Sipp]) -> None:
    bind = db.make_engine(pg_url)
    factory = db.make_sessionmaker(bind)
    campaign_id, agents = _world(factory, sipps["phones"])
    options = app.EngineOptions(engine_id="d17", tick_s=0.2, status_poll_s=0.2,
                                wrap_limit_s=60.0)
    engine = app.Engine(_settings(pg_url, sipps["carrier"]), options, session_factory=factory)
    started = time.monotonic()

    async def main() -> tuple[dict[int, str], list[int]]:
        run = asyncio.create_task(engine.run())
        try:
            while engine.desk is None or campaign_id not in engine.runners:
                assert not run.done(), run.result()
                await asyncio.sleep(0.05)
            pids = engine.recorder.inner.worker_pids()
            assert len(pids) == AGENTS
            return await _desktops(engine, agents, campaign_id, factory, 90), pids
        finally:
            engine.request_stop()
            await asyncio.wait([run], timeout=30)
            assert run.done(), "the engine did not stop"
            run.result()

    disposed, pids = asyncio.run(main())
    elapsed = time.monotonic() - started
    try:
        _check_database(factory, campaign_id, agents, disposed)
        assert engine.recorder.inner.worker_pids() == []
        assert not [pid for pid in pids if _is_alive(pid)]  # every worker process is gone
        assert sipps["phones"].received("INVITE") == AGENTS  # one always-on leg per agent
        _wait(lambda: sipps["phones"].received("BYE") == AGENTS, "the agents' legs hung up")
        print(f"D17: {len(ANSWER) + len(BUSY)} records, {AGENTS} agents in {elapsed:.1f} s")
    finally:
        bind.dispose()


def _wait(predicate: Any, what: str, timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _check_database(factory: Any, campaign_id: int, agents: list[int],
                    disposed: dict[int, str]) -> None:
    with factory() as session:
        by_record = data.attempts_by_record(session, campaign_id)
        retries = session.scalars(select(models.Retry).where(
            models.Retry.campaign_id == campaign_id)).all()
        records = {r.id: r for r in session.scalars(select(models.Record).where(
            models.Record.campaign_id == campaign_id))}
        changes = session.scalars(select(models.AgentStateChange).where(
            models.AgentStateChange.campaign_id == campaign_id)).all()
    assert len(by_record) == len(ANSWER) + len(BUSY)
    for attempts in by_record.values():
        assert not data.overlapping(attempts)  # never dialled twice at once
        assert all(a.ended_at is not None and a.engine_id == "d17" for a in attempts)
    answered = [a for group in by_record.values() for a in group if a.number_e164 in ANSWER]
    assert len(answered) == len(ANSWER)
    for attempt in answered:
        assert (attempt.outcome, attempt.sip_status) == (CallOutcome.ANSWERED, 200)
        assert attempt.connected_at is not None and attempt.agent_id in agents
        assert attempt.disposition == disposed[attempt.id]
        assert attempt.notes == f"by agent{agents.index(attempt.agent_id) + 1}"
        expected = (RecordStatus.DONE_SUCCESS if attempt.disposition == "sale"
                    else RecordStatus.DONE_FAILURE)
        assert records[attempt.record_id].status is expected
    busy = [group for group in by_record.values() if group[0].number_e164 in BUSY]
    for group in busy:
        assert [(a.outcome, a.sip_status, a.disposition) for a in group] == \
            [(CallOutcome.BUSY, 486, "busy")] * 2  # dialled, then retried once
        retry = next(r for r in retries if r.record_id == group[0].record_id)
        assert retry.status is RetryStatus.DONE and retry.reason
        assert group[1].started_at >= retry.earliest_at >= group[0].ended_at
        assert records[group[0].record_id].status is RecordStatus.EXHAUSTED
    assert {c.user_id for c in changes if c.state.value == "on_call"} <= set(agents)
    assert {c.state.value for c in changes} >= {"not_ready", "ready", "reserved", "on_call",
                                                 "wrap_up", "logged_out"}
