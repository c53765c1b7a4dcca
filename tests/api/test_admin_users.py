"""``/api/users`` and ``/api/agents``: users, roles, passwords, shifts, memberships and agents'
states (F7), with role checks and error shapes (F18)."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import models
from campaigns.enums import AgentState
from campaigns.store import audit
from tests.api.test_admin_campaigns import error_of


@pytest.mark.req("F7")
def test_create_edit_reset_and_deactivate_a_user(web) -> None:
    admin = web.client("admin")
    created = admin.post("/api/users", json={"name": "ann", "role": "agent", "tz": "America/Chicago",
                                             "phone": "sip:1001@10.0.0.5", "campaigns": ["alpha"]})
    assert created.status_code == 201, created.text
    ann = created.json()
    assert len(ann["password"]) >= 12 and ann["campaigns"] == ["alpha"]
    login = web.anonymous().post("/api/auth/login",
                                 json={"username": "ann", "password": ann["password"]})
    assert login.status_code == 200
    patched = admin.patch(f"/api/users/{ann['id']}", json={"role": "supervisor",
                                                          "password": "new-password-1"})
    assert patched.json()["role"] == "supervisor"
    assert sorted(patched.json()["changed"]) == ["password", "role"]
    assert web.anonymous().post("/api/auth/login", json={
        "username": "ann", "password": "new-password-1"}).status_code == 200
    assert admin.patch(f"/api/users/{ann['id']}", json={"is_active": False}).status_code == 200
    assert web.anonymous().post("/api/auth/login", json={
        "username": "ann", "password": "new-password-1"}).status_code == 401
    with web.factory() as session:
        actions = [e.action for e in audit.events(session, entity="user", entity_id=ann["id"])
                   if e.action.startswith("user.")]
    assert actions == ["user.create", "user.update", "user.update"]


@pytest.mark.req("F7")
def test_bad_users_are_refused_naming_the_field(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    assert "name" in error_of(admin.post("/api/users", json={"name": "a b"}), 422)["fields"]
    assert error_of(admin.post("/api/users", json={"name": "agent1"}), 409)["id"] == "user-exists"
    assert "phone" in error_of(admin.post("/api/users", json={"name": "x", "phone": "bad"}),
                               422)["fields"]
    assert "password" in error_of(admin.post("/api/users", json={"name": "x", "password": "short"}),
                                  422)["fields"]
    assert error_of(admin.post("/api/users", json={"name": "x", "tz": "Mars/Base"}), 422)
    assert error_of(admin.post("/api/users", json={"name": "x", "role": "boss"}), 422)
    assert error_of(admin.get("/api/users/9999"), 404)["id"] == "no-such-user"
    me = web_sqlite.ids["admin"]
    last = admin.patch(f"/api/users/{me}", json={"role": "agent"})
    assert error_of(last, 409)["id"] == "last-administrator"
    assert error_of(admin.patch(f"/api/users/{me}", json={"is_active": False}), 409)


@pytest.mark.req("F7")
def test_shifts_and_memberships_are_replaced(web) -> None:
    admin = web.client("admin")
    agent = web.ids["agent1"]
    shifts = admin.put(f"/api/users/{agent}/shifts", json={
        "weekly": ["mon-fri 09:00-17:00", "sat 10:00-14:00"], "exceptions": ["2026-12-24 off"]})
    assert shifts.status_code == 200, shifts.text
    assert shifts.json()["weekly"][0] == "mon 09:00-17:00" and len(shifts.json()["weekly"]) == 6
    assert shifts.json()["exceptions"] == [{"date": "2026-12-24", "hours": None, "reason": ""}]
    overlap = admin.put(f"/api/users/{agent}/shifts", json={
        "weekly": ["mon 09:00-17:00", "mon 16:00-18:00"]})
    assert error_of(overlap, 422)["fields"] == {"weekly": "overlapping shifts"}
    assert error_of(admin.put(f"/api/users/{agent}/shifts", json={"weekly": ["someday"]}), 422)
    assert admin.get(f"/api/users/{agent}/shifts").json()["weekly"][-1] == "sat 10:00-14:00"
    members = admin.put(f"/api/users/{agent}/campaigns",
                        json={"campaigns": [web.ids["beta"]]}).json()
    assert members["campaigns"] == ["beta"]
    client = web.client("agent1")
    assert client.get(f"/api/campaigns/{web.ids['alpha']}").status_code == 403
    assert client.get(f"/api/campaigns/{web.ids['beta']}").status_code == 200
    assert error_of(admin.put(f"/api/users/{agent}/campaigns", json={"campaigns": ["nope"]}), 404)


@pytest.mark.req("F7")
def test_agents_states_come_from_the_recorded_history_without_an_engine(web_sqlite) -> None:
    at = dt.datetime(2026, 11, 21, 14, 0, tzinfo=dt.UTC)
    with web_sqlite.ctx.unit_of_work() as session:
        for state, minutes in ((AgentState.READY, 0), (AgentState.NOT_READY, 5)):
            session.add(models.AgentStateChange(user_id=web_sqlite.ids["agent1"],
                                                campaign_id=web_sqlite.ids["alpha"], state=state,
                                                reason="lunch" if minutes else "",
                                                at=at + dt.timedelta(minutes=minutes)))
    agents = web_sqlite.client("super").get("/api/agents").json()
    assert agents["source"] == "history"
    by_name = {a["name"]: a for a in agents["agents"]}
    assert by_name["agent1"]["state"] == "not_ready" and by_name["agent1"]["reason"] == "lunch"
    assert by_name["agent2"]["state"] == "logged_out"


@pytest.mark.req("F7")
def test_agents_states_come_from_the_engine_when_it_runs(sqlite_url, tmp_path) -> None:
    from tests.api.conftest import Web

    class Desk:
        def snapshot(self):
            return [{"user_id": web.ids["agent2"], "state": "on_call", "since": None,
                     "reason": "", "campaign_id": web.ids["beta"], "call_id": "c1"}]

    class Engine:
        desk = Desk()

    web = Web(sqlite_url, tmp_path, engine=Engine())
    try:
        agents = web.client("admin").get("/api/agents").json()
        assert agents["source"] == "engine"
        by_name = {a["name"]: a for a in agents["agents"]}
        assert by_name["agent2"]["state"] == "on_call" and by_name["agent2"]["call_id"] == "c1"
        assert by_name["agent1"]["state"] == "logged_out"
    finally:
        web.close()


@pytest.mark.req("F18")
def test_user_routes_check_roles(web_sqlite) -> None:
    agent, supervisor = web_sqlite.client("agent1"), web_sqlite.client("super")
    target = web_sqlite.ids["agent2"]
    for path in ("/api/users", f"/api/users/{target}", f"/api/users/{target}/shifts",
                 "/api/agents"):
        assert error_of(agent.get(path), 403)["id"] == "forbidden"
        assert supervisor.get(path).status_code == 200
    for client in (agent, supervisor):
        for method, path, body in [
                ("POST", "/api/users", {"name": "x"}),
                ("PATCH", f"/api/users/{target}", {"tz": "UTC"}),
                ("PUT", f"/api/users/{target}/shifts", {"weekly": []}),
                ("PUT", f"/api/users/{target}/campaigns", {"campaigns": []})]:
            assert error_of(client.request(method, path, json=body), 403)["id"] == "forbidden"
    assert error_of(web_sqlite.anonymous().get("/api/users"), 401)


@pytest.mark.req("F7")
def test_the_users_pages(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert 'data-testid="users-table"' in page.text and 'data-testid="user-create-form"' in page.text
    assert 'data-agent="agent1"' in page.text
    one = admin.get(f"/admin/users/{web_sqlite.ids['agent1']}")
    assert one.status_code == 200 and 'data-testid="shifts-form"' in one.text
    supervisor = web_sqlite.client("super").get("/admin/users")
    assert supervisor.status_code == 200 and 'data-testid="user-create-form"' not in supervisor.text
    assert web_sqlite.client("agent1").get("/admin/users").status_code == 403
