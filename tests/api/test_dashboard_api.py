"""``/api/dashboard`` JSON and server-sent events, forcing agents (F8), role checks and error
shapes (F18)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from campaigns.store import audit
from tests.api.conftest import Web
from tests.api.test_dashboard_data import FakeDesk, desk_for, seed


def error_of(response: Any, status: int, error_id: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"id", "message", "fields"}
    if error_id is not None:
        assert body["error"]["id"] == error_id
    return body["error"]


def wait_for(predicate: Any, timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


class StreamingDesk(FakeDesk):
    """A desk with change events and the supervisor's commands."""

    def __init__(self, base: FakeDesk) -> None:
        super().__init__(base.agents, base.calls)
        self.queues: list[asyncio.Queue[Any]] = []
        self.unsubscribed = 0
        self.forced: list[tuple[str, int]] = []

    def subscribe(self) -> asyncio.Queue[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Any]) -> None:
        self.queues.remove(queue)
        self.unsubscribed += 1

    async def force_not_ready(self, user_id: int) -> dict[str, Any]:
        self.forced.append(("not_ready", user_id))
        return {"user_id": user_id, "state": "not_ready"}

    async def force_logout(self, user_id: int) -> dict[str, Any]:
        self.forced.append(("logout", user_id))
        return {"user_id": user_id, "state": "logged_out"}


class FakeEngine:
    def __init__(self, desk: Any) -> None:
        self.desk = desk


def with_engine(web: Web) -> StreamingDesk:
    desk = StreamingDesk(desk_for(web))
    web.ctx.engine = FakeEngine(desk)
    return desk


def read_event(lines: Any) -> tuple[str, Any]:
    """The next event (or comment) of an SSE stream: ("snapshot", data) or (":", text)."""
    event, data = "", None
    for line in lines:
        if line.startswith(":"):
            return ":", line[1:].strip()
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = json.loads(line[5:])
        elif line == "" and event:
            return event, data
    raise AssertionError("the stream ended")


@pytest.mark.req("F8")
def test_the_dashboard_json_of_a_campaign(web) -> None:
    seed(web)
    shown = web.client("super").get(f"/api/dashboard?campaign_id={web.ids['alpha']}").json()
    assert shown["dials_today"] == 3 and shown["tz"] == "UTC"
    assert [a["name"] for a in shown["agents"]] == ["agent1"]
    assert shown["abandon"]["is_over_cap"] is True


@pytest.mark.req("F8", "F18")
def test_agents_see_only_their_campaigns_without_numbers(web_sqlite) -> None:
    web = web_sqlite
    seed(web)
    agent = web.client("agent2")
    error_of(agent.get(f"/api/dashboard?campaign_id={web.ids['alpha']}"), 403, "not-a-member")
    error_of(agent.get(f"/api/dashboard/stream?campaign_id={web.ids['alpha']}"), 403,
             "not-a-member")
    own = agent.get("/api/dashboard").json()
    assert [c["name"] for c in own["campaigns"]] == ["beta"]
    assert own["agents"][0]["call_id"] is None and own["calls"]["live"][0]["number"] is None
    error_of(web.anonymous().get("/api/dashboard"), 401, "not-authenticated")
    error_of(web.client("admin").get("/api/dashboard?campaign_id=999"), 404, "no-such-campaign")
    error_of(web.client("admin").get("/api/dashboard?hours=0"), 422, "invalid-input")


@pytest.mark.req("F8")
def test_the_stream_sends_a_snapshot_at_once_then_keep_alives(web_sqlite) -> None:
    web = web_sqlite
    seed(web)
    client = web.client("admin")
    url = f"/api/dashboard/stream?campaign_id={web.ids['alpha']}&interval=60&keepalive=0.2"
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        event, data = read_event(lines)
        assert event == "snapshot" and data["dials_today"] == 3 and data["source"] == "database"
        assert read_event(lines) == (":", "keep-alive")


@pytest.mark.req("F8")
def test_the_stream_follows_desk_changes_and_unsubscribes_when_the_client_leaves(
        web_sqlite) -> None:
    web = web_sqlite
    seed(web)
    desk = with_engine(web)
    client = web.client("super")
    url = f"/api/dashboard/stream?campaign_id={web.ids['alpha']}&interval=60&keepalive=60"
    with client.stream("GET", url) as response:
        lines = response.iter_lines()
        event, data = read_event(lines)
        assert data["source"] == "engine" and data["agents"][0]["state"] == "on_call"
        wait_for(lambda: desk.queues)
        desk.agents[0] = {**desk.agents[0], "state": "wrap_up", "call_id": None}
        desk.queues[0].put_nowait({"type": "agent", "user_id": web.ids["agent1"]})
        event, data = read_event(lines)
        assert event == "snapshot" and data["agents"][0]["state"] == "wrap_up"
    wait_for(lambda: desk.unsubscribed == 1)
    assert desk.queues == []


@pytest.mark.req("F8")
def test_the_stream_repeats_the_snapshot_every_interval(web_sqlite) -> None:
    web = web_sqlite
    seed(web)
    with web.client("admin").stream("GET", "/api/dashboard/stream?interval=0.2") as response:
        lines = response.iter_lines()
        first = read_event(lines)
        second = read_event(lines)
    assert first[0] == second[0] == "snapshot"
    assert {c["name"] for c in second[1]["campaigns"]} == {"alpha", "beta"}


@pytest.mark.req("F8", "F18")
def test_supervisors_force_an_agent_not_ready_or_out_through_the_desk(web) -> None:
    desk = with_engine(web)
    agent1 = web.ids["agent1"]
    response = web.client("super").post(f"/api/agents/{agent1}/force-not-ready")
    assert response.status_code == 200 and response.json()["agent"]["state"] == "not_ready"
    assert web.client("admin").post(f"/api/agents/{agent1}/force-logout").status_code == 200
    assert desk.forced == [("not_ready", agent1), ("logout", agent1)]
    with web.factory() as session:
        actions = [(e.action, e.actor) for e in audit.events(session, entity="user",
                                                             entity_id=agent1)]
    assert ("agent.force_not_ready", "supervisor:super") in actions
    error_of(web.client("agent2").post(f"/api/agents/{agent1}/force-not-ready"), 403,
             "forbidden")
    error_of(web.anonymous().post(f"/api/agents/{agent1}/force-logout"), 401)


@pytest.mark.req("F8", "F18")
def test_forcing_without_an_engine_is_503(web_sqlite) -> None:
    response = web_sqlite.client("admin").post(
        f"/api/agents/{web_sqlite.ids['agent1']}/force-not-ready")
    assert error_of(response, 503)["id"] == "engine-not-running"


def _counted(shown: dict[str, Any]) -> int:
    return sum(shown["not_dialing"]["records"].values()) + shown["hopper_depth"]


@pytest.mark.req("F8")
def test_the_diagnosis_is_shared_for_a_while_then_taken_again(web_sqlite, monkeypatch) -> None:
    from campaigns import db
    from dialer.api.routes import dashboard as routes
    from tests.api.test_dashboard_data import add_records

    web = web_sqlite
    seed(web)
    client = web.client("admin")
    url = f"/api/dashboard?campaign_id={web.ids['alpha']}"
    assert _counted(client.get(url).json()) == 2
    with db.unit_of_work(web.factory) as session:
        add_records(session, web.ids["alpha"], 1, "more")
    assert _counted(client.get(url).json()) == 2  # the cached diagnosis
    monkeypatch.setattr(routes, "DIAGNOSIS_TTL_S", 0.0)
    monkeypatch.setattr(routes, "DIAGNOSIS_TTL_FACTOR", 0.0)
    assert _counted(client.get(url).json()) == 3
