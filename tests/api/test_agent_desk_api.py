"""``/api/agent``: the desktop's routes over a running engine (F10-F12, F18).

The engine runs on the simulated carrier, on the real clock, in a thread with its own event
loop (``ctx.on_engine`` hops to it), over the same SQLite database as the web application.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from campaigns import db, localtime, models
from campaigns.enums import CallOutcome, DialingMode
from campaigns.store import callbacks as callback_store
from campaigns.store import users as user_store
from dialer import app
from dialer import settings as settings_mod
from telephony import clock as clockmod
from telephony import sim
from tests.api import callback_world as w
from tests.api.conftest import Web
from tests.engine import campaign_data as data

pytestmark = pytest.mark.timeout(120)
LIVE = data.scripted("212", "08")


class EngineThread:
    """A real engine (sim backend) on its own loop in a thread."""

    def __init__(self, url: str, talk_s: float) -> None:
        self.url, self.talk_s = url, talk_s
        self.engine: app.Engine | None = None
        self.bind = db.make_engine(url)
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        settings = settings_mod.load_settings(overrides={
            "database": {"url": self.url},
            "telephony": {"backend": "sim", "sim": {"wrap_mean_s": 0.1, "wrap_cv": 0.0}}},
            environ={})
        clock = clockmod.RealClock()
        backend = sim.SimulatedBackend(clock, scripted_ring_s=0.1, scripted_talk_s=self.talk_s)
        self.engine = app.Engine(settings, app.EngineOptions(engine_id="web-desk", tick_s=0.1,
                                                             status_poll_s=0.1),
                                 session_factory=db.make_sessionmaker(self.bind), clock=clock,
                                 backend=backend)
        await self.engine.run()

    def start(self) -> app.Engine:
        self.thread.start()
        wait_for(lambda: self.engine is not None and self.engine.desk is not None
                 and self.engine._loop is not None, "the engine's desk")
        assert self.engine is not None
        return self.engine

    def stop(self) -> None:
        if self.engine is not None and self.engine._loop is not None:
            self.engine._loop.call_soon_threadsafe(self.engine.request_stop)
        self.thread.join(30)
        assert not self.thread.is_alive()
        self.bind.dispose()


def wait_for(predicate: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def desk(sqlite_url: str, tmp_path: Path) -> Iterator[Web]:
    yield from _site(sqlite_url, tmp_path, [LIVE], DialingMode.PROGRESSIVE)


@pytest.fixture
def preview(sqlite_url: str, tmp_path: Path) -> Iterator[Web]:
    yield from _site(sqlite_url, tmp_path, [LIVE, data.scripted("617", "08")],
                     DialingMode.PREVIEW)


def _site(url: str, tmp_path: Path, numbers: list[str], mode: DialingMode) -> Iterator[Web]:
    web = w.make_web(url, tmp_path, now=dt.datetime.now(dt.UTC))
    campaign_id = data.create_campaign(web.factory, "desk", numbers)
    web.ids["desk"] = campaign_id
    with db.unit_of_work(web.factory) as session:
        session.get(models.Campaign, campaign_id).dialing_mode = mode
        user = user_store.get_by_name(session, "agent1")
        user.tz = "America/Chicago"
        user_store.join(session, user, session.get(models.Campaign, campaign_id))
    runner = EngineThread(url, talk_s=0.5)
    web.ctx.engine = runner.start()
    web.clock[0] = dt.datetime.now(dt.UTC)
    try:
        yield web
    finally:
        runner.stop()
        web.close()


def _state_until(client: Any, predicate: Callable[[dict], Any], what: str) -> dict:
    def current() -> dict | None:
        state = client.get("/api/agent/state").json()
        return state if predicate(state) else None

    return wait_for(current, what)


@pytest.mark.req("F10")
@pytest.mark.req("F11")
@pytest.mark.req("F12")
def test_an_agent_logs_in_takes_a_call_sees_the_screen_pop_and_sets_a_callback(desk: Web) -> None:
    agent = desk.client("agent1")
    logged = agent.post("/api/agent/session", json={"campaign_ids": [desk.ids["desk"]]})
    assert logged.status_code == 200, logged.text
    assert logged.json()["state"] == "not_ready"
    paused = agent.post("/api/agent/not-ready", json={"reason": "lunch"}).json()
    assert (paused["state"], paused["reason"]) == ("not_ready", "lunch")
    assert agent.post("/api/agent/ready").json()["state"] in ("ready", "reserved", "on_call")
    wrap = _state_until(agent, lambda s: s["wrap"], "the wrap-up")
    pop = wrap["screen_pop"]
    assert wrap["state"] == "wrap_up" and pop["record"]["id"] == wrap["wrap"]["record_id"]
    assert pop["customer_tz"] == "America/New_York" and pop["minutes_left"] > 0
    assert pop["agent_tz"] == "America/Chicago" and pop["attempts"][0]["number"] == LIVE
    assert {d["code"]: d["next_call"] for d in wrap["dispositions"]}["callback"] is True
    tomorrow = (localtime.to_local(desk.clock[0], w.NY) + dt.timedelta(days=1)).date()
    body = {"attempt_id": wrap["wrap"]["attempt_id"], "code": "callback", "note": "tomorrow",
            "callback": {"date": tomorrow.isoformat(), "from": "10:00", "to": "12:00",
                         "tz": "America/Chicago", "number": LIVE}}
    done = agent.post("/api/agent/wrapup", json=body)
    assert done.status_code == 200, done.text
    assert done.json()["callback_id"] and done.json()["state"]["wrap"] is None
    with db.unit_of_work(desk.factory) as session:
        callback = callback_store.get(session, done.json()["callback_id"])
        assert callback.tz == "America/Chicago" and callback.number_e164 == LIVE
        assert callback.owner_id == desk.ids["agent1"]  # the agent's own by default
        assert localtime.to_local(callback.window_start_at, "America/Chicago").hour == 10
    again = agent.post("/api/agent/wrapup", json=body)
    assert again.status_code == 422 and w.error_of(again)["id"] == "already-disposed"
    out = agent.delete("/api/agent/session")
    assert out.status_code == 200


@pytest.mark.req("F10")
def test_the_event_stream_starts_with_the_agents_state(desk: Web) -> None:
    agent = desk.client("agent1")
    agent.post("/api/agent/session", json={"campaign_ids": [desk.ids["desk"]]})
    with agent.stream("GET", "/api/agent/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "event: state"
        assert '"state": "not_ready"' in next(lines)


@pytest.mark.req("F18")
def test_desk_routes_refuse_staff_strangers_and_other_campaigns(desk: Web) -> None:
    for name in ("admin", "super"):
        refused = desk.client(name).post("/api/agent/ready")
        assert refused.status_code == 403 and w.error_of(refused)["id"] == "forbidden"
    anonymous = desk.anonymous().get("/api/agent/state")
    assert anonymous.status_code == 401 and w.error_of(anonymous)["id"] == "not-authenticated"
    other = desk.client("agent1").post("/api/agent/session",
                                       json={"campaign_ids": [desk.ids["beta"]]})
    assert other.status_code == 403 and w.error_of(other)["id"] == "not-a-member"
    not_logged = desk.client("agent2").post("/api/agent/ready")
    assert not_logged.status_code == 409 and w.error_of(not_logged)["id"] == "not-logged-in"
    skip = desk.client("agent1").post("/api/agent/preview/skip",
                                      json={"record_id": w.add_record(desk, "beta")})
    assert skip.status_code == 403 and w.error_of(skip)["id"] == "not-a-member"


@pytest.mark.req("F11")
def test_preview_shows_the_record_first_then_skip_with_a_reason_or_dial(preview: Web) -> None:
    agent = preview.client("agent1")
    agent.post("/api/agent/session", json={"campaign_ids": [preview.ids["desk"]]})
    agent.post("/api/agent/ready")
    first = _state_until(agent, lambda s: s["preview"], "an offer")
    assert first["screen_pop"]["record"]["id"] == first["preview"]["record_id"]
    assert first["call"] is None  # nothing is dialled before the agent says so
    skipped = agent.post("/api/agent/preview/skip", json={
        "record_id": first["preview"]["record_id"], "reason": "needs_research"})
    assert skipped.status_code == 200, skipped.text
    second = _state_until(agent, lambda s: s["preview"] and s["preview"]["record_id"]
                          != first["preview"]["record_id"], "the next offer")
    dialled = agent.post("/api/agent/preview/dial",
                         json={"record_id": second["preview"]["record_id"]})
    assert dialled.status_code == 200, dialled.text
    wrap = _state_until(agent, lambda s: s["wrap"], "the wrap-up")
    assert wrap["wrap"]["record_id"] == second["preview"]["record_id"]
    with db.unit_of_work(preview.factory) as session:
        attempt = session.get(models.Attempt, first["preview"]["attempt_id"])
        assert (attempt.outcome, attempt.notes) == (CallOutcome.CANCELLED, "skip:needs_research")
