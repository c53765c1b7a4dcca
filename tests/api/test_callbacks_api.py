"""``/api/callbacks``: every callback workflow over HTTP (F1), roles and error shapes (F18)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api import callback_world as w
from tests.api.conftest import Web


@pytest.fixture
def cbweb(db_url: str, tmp_path: Path) -> Iterator[Web]:
    app = w.make_web(db_url, tmp_path)
    yield app
    app.close()


@pytest.fixture
def lite(sqlite_url: str, tmp_path: Path) -> Iterator[Web]:
    app = w.make_web(sqlite_url, tmp_path)
    yield app
    app.close()


def _window(day=w.MONDAY, start="10:00", end="12:00", **extra) -> dict:
    return {"date": day.isoformat(), "from": start, "to": end, **extra}


@pytest.mark.req("F1")
def test_an_agent_schedules_a_callback_in_the_customers_zone(cbweb: Web) -> None:
    record_id = w.add_record(cbweb)
    agent = cbweb.client("agent1")
    made = agent.post("/api/callbacks", json={"record_id": record_id, "owner": "agent1",
                                              "note": "after lunch", **_window()})
    assert made.status_code == 201, made.text
    shown = made.json()
    assert shown["tz"] == w.NY and shown["owner"] == "agent1" and shown["status"] == "scheduled"
    assert shown["window_start_at"] == "2026-11-23T15:00:00Z"
    assert shown["history"][0]["actor"] == "agent:agent1"
    again = agent.get(f"/api/callbacks/{shown['id']}").json()
    assert again == shown


@pytest.mark.req("F1")
def test_a_window_without_a_legal_minute_is_refused_naming_the_earliest(lite: Web) -> None:
    record_id = w.add_record(lite)
    refused = lite.client("admin").post("/api/callbacks", json={
        "record_id": record_id, **_window(start="22:00", end="23:00")})
    assert refused.status_code == 422
    error = w.error_of(refused)
    assert error["id"] == "no-legal-minute" and error["fields"]["earliest_legal_at"]


@pytest.mark.req("F1")
def test_a_local_time_the_dst_change_repeats_is_refused_with_a_field_error(lite: Web) -> None:
    import datetime as dt

    record_id = w.add_record(lite)
    callback_id = w.add_callback(lite, record_id)
    refused = lite.client("agent1").post(f"/api/callbacks/{callback_id}/reschedule",
                                         json=_window(day=dt.date(2027, 11, 7), start="01:30",
                                                      end="03:00"))
    assert refused.status_code == 422
    error = w.error_of(refused)
    assert error["id"] == "ambiguous-local-time" and "from" in error["fields"]


@pytest.mark.req("F1")
def test_agents_list_their_own_and_unowned_callbacks_of_their_campaigns(cbweb: Web) -> None:
    w.give_shift(cbweb, "agent2", "alpha")
    mine = w.add_callback(cbweb, w.add_record(cbweb, first="Ana"), owner="agent1")
    anyone = w.add_callback(cbweb, w.add_record(cbweb, first="Bea"), owner=None)
    theirs = w.add_callback(cbweb, w.add_record(cbweb, first="Cy"), owner="agent2")
    beta = w.add_callback(cbweb, w.add_record(cbweb, "beta", first="Di"), owner="agent2")
    listed = cbweb.client("agent1").get("/api/callbacks").json()["callbacks"]
    assert {c["id"] for c in listed} == {mine, anyone}
    staff = cbweb.client("super").get("/api/callbacks").json()["callbacks"]
    assert {c["id"] for c in staff} == {mine, anyone, theirs, beta}
    only = cbweb.client("super").get("/api/callbacks", params={
        "owner": "agent2", "campaign_id": cbweb.ids["beta"]}).json()["callbacks"]
    assert [c["id"] for c in only] == [beta]


@pytest.mark.req("F1")
def test_list_filters_by_status_and_window(lite: Web) -> None:
    record_id = w.add_record(lite)
    monday = w.add_callback(lite, record_id, start=w.ny(w.MONDAY, 10))
    tuesday = w.add_callback(lite, w.add_record(lite, first="Bo"),
                             start=w.ny(w.MONDAY.replace(day=24), 10))
    admin = lite.client("admin")
    assert admin.post(f"/api/callbacks/{tuesday}/cancel", json={"reason": "x"}).status_code == 200
    got = admin.get("/api/callbacks", params={"status": "scheduled"}).json()["callbacks"]
    assert [c["id"] for c in got] == [monday]
    day = admin.get("/api/callbacks", params={"from": "2026-11-24", "to": "2026-11-25"})
    assert [c["id"] for c in day.json()["callbacks"]] == [tuesday]
    bad = admin.get("/api/callbacks", params={"status": "later"})
    assert bad.status_code == 400 and w.error_of(bad)["fields"] == {"status": "unknown"}


@pytest.mark.req("F1")
def test_reschedule_request_propose_and_cancel_reopen_complete(lite: Web) -> None:
    w.give_shift(lite, "agent1")
    callback_id = w.add_callback(lite, w.add_record(lite))
    agent = lite.client("agent1")
    base = f"/api/callbacks/{callback_id}"
    moved = agent.post(f"{base}/reschedule", json=_window(start="13:00", end="14:00"))
    assert moved.status_code == 200 and moved.json()["window_start_at"] == "2026-11-23T18:00:00Z"
    assert agent.post(f"{base}/request", json={"message": "please pick"}).json()["status"] \
        == "requested"
    proposed = agent.post(f"{base}/propose", json={"slots": [
        {"date": "2026-11-23", "from": "14:00", "to": "14:30"}]})
    assert proposed.status_code == 200, proposed.text
    assert proposed.json()["status"] == "proposed"
    cancelled = agent.post(f"{base}/cancel", json={"reason": "customer asked"})
    assert cancelled.json()["status"] == "cancelled"
    assert agent.post(f"{base}/reopen", json={"why": "mistake"}).json()["status"] == "reopened"
    done = agent.post(f"{base}/complete", json={"outcome": "sold", "time_taken_s": 120})
    assert done.json()["status"] == "completed" and done.json()["time_taken_s"] == 120
    actions = [e["action"] for e in agent.get(base).json()["history"]]
    assert actions == ["scheduled", "rescheduled", "requested", "proposed", "cancelled",
                       "reopened", "completed"]


@pytest.mark.req("F1")
def test_accept_takes_the_customers_suggestion(lite: Web) -> None:
    from dialer import callbacks_config, callbacks_portal

    callback_id = w.add_callback(lite, w.add_record(lite))
    agent = lite.client("agent1")
    refused = agent.post(f"/api/callbacks/{callback_id}/accept", json={})
    assert refused.status_code == 422 and w.error_of(refused)["id"] == "no-suggestion"
    with lite.factory.begin() as session:
        callbacks_portal.customer_suggest(
            session, callbacks_config.settings_of(lite.settings), w.link_of(lite, callback_id),
            start_at=w.ny(w.MONDAY, 15), end_at=w.ny(w.MONDAY, 16), now=lite.clock[0])
    accepted = agent.post(f"/api/callbacks/{callback_id}/accept", json={})
    assert accepted.status_code == 200
    assert accepted.json()["window_start_at"] == "2026-11-23T20:00:00Z"


@pytest.mark.req("F1")
def test_no_show_miss_link_and_notes(lite: Web) -> None:
    first = w.add_callback(lite, w.add_record(lite))
    second = w.add_callback(lite, w.add_record(lite, first="Bo"))
    agent = lite.client("agent1")
    assert agent.post(f"/api/callbacks/{first}/no-show", json={}).json()["status"] == "no_show"
    assert agent.post(f"/api/callbacks/{second}/miss", json={}).json()["status"] == "missed"
    link = agent.post(f"/api/callbacks/{second}/link").json()["url"]
    assert link.startswith(f"{w.BASE}/c/")
    added = agent.post(f"/api/callbacks/{second}/notes", json={"body": "prefers Spanish"})
    assert added.status_code == 201
    note_id = added.json()["note_id"]
    edited = agent.patch(f"/api/callbacks/{second}/notes/{note_id}", json={"body": "Spanish"})
    assert [n["body"] for n in edited.json()["notes"]] == ["Spanish"]
    assert agent.get(f"/api/callbacks/{second}/notes").json()["notes"][0]["author"] \
        == "agent:agent1"
    other = lite.client("super").patch(f"/api/callbacks/{first}/notes/{note_id}",
                                       json={"body": "x"})
    assert other.status_code == 404


@pytest.mark.req("F1")
def test_the_owner_reassigns_to_a_colleague_scheduled_and_free_only(lite: Web) -> None:
    w.give_shift(lite, "agent1", "alpha")
    callback_id = w.add_callback(lite, w.add_record(lite))
    agent = lite.client("agent1")
    refused = agent.post(f"/api/callbacks/{callback_id}/reassign", json={"to": "agent2"})
    assert refused.status_code == 422 and w.error_of(refused)["id"] == "agent-unavailable"
    w.give_shift(lite, "agent2", "alpha")
    assert agent.get(f"/api/callbacks/{callback_id}/available").json()["available"] == ["agent2"]
    moved = agent.post(f"/api/callbacks/{callback_id}/reassign", json={"to": "agent2"})
    assert moved.status_code == 200 and moved.json()["owner"] == "agent2"
    again = agent.post(f"/api/callbacks/{callback_id}/reassign", json={"to": "agent1"})
    assert again.status_code == 403 and w.error_of(again)["id"] == "not-your-callback"


@pytest.mark.req("F18")
def test_roles_and_campaign_membership_are_enforced_with_the_error_shape(cbweb: Web) -> None:
    alpha = w.add_callback(cbweb, w.add_record(cbweb))
    beta_record = w.add_record(cbweb, "beta", first="Di")
    anonymous = cbweb.anonymous()
    for method, path in (("GET", "/api/callbacks"), ("GET", f"/api/callbacks/{alpha}"),
                         ("POST", f"/api/callbacks/{alpha}/cancel")):
        response = anonymous.request(method, path, json={"reason": "x"})
        assert response.status_code == 401 and w.error_of(response)["id"] == "not-authenticated"
    agent2 = cbweb.client("agent2")
    for method, path, body in (
            ("GET", f"/api/callbacks/{alpha}", None),
            ("GET", f"/api/callbacks/{alpha}/notes", None),
            ("POST", f"/api/callbacks/{alpha}/cancel", {"reason": "x"}),
            ("POST", f"/api/callbacks/{alpha}/link", None),
            ("GET", f"/api/callbacks?campaign_id={cbweb.ids['alpha']}", None)):
        response = agent2.request(method, path, json=body)
        assert response.status_code == 403, (path, response.text)
        assert w.error_of(response)["id"] == "not-a-member"
    agent1 = cbweb.client("agent1")
    scheduled = agent1.post("/api/callbacks", json={"record_id": beta_record, **_window()})
    assert scheduled.status_code == 403 and w.error_of(scheduled)["id"] == "not-a-member"
    as_other = agent1.post("/api/callbacks", json={"record_id": w.add_record(cbweb, first="E"),
                                                   "owner": "agent2", **_window()})
    assert as_other.status_code == 403
    missing = agent1.get("/api/callbacks/999999")
    assert missing.status_code == 404 and w.error_of(missing)["id"] == "no-such-callback"


@pytest.mark.req("F18")
def test_an_agent_cannot_change_an_unowned_callback_but_can_see_and_annotate_it(lite: Web) -> None:
    callback_id = w.add_callback(lite, w.add_record(lite), owner=None)
    agent = lite.client("agent1")
    assert agent.get(f"/api/callbacks/{callback_id}").status_code == 200
    refused = agent.post(f"/api/callbacks/{callback_id}/cancel", json={"reason": "x"})
    assert refused.status_code == 403 and w.error_of(refused)["id"] == "not-your-callback"
    assert agent.post(f"/api/callbacks/{callback_id}/notes", json={"body": "hi"}).status_code \
        == 201
    invalid = agent.post(f"/api/callbacks/{callback_id}/notes", json={"body": ""})
    assert invalid.status_code == 422 and "body" in w.error_of(invalid)["fields"]
