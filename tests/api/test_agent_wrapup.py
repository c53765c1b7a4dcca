"""The desktop's database side: the screen-pop data (F11), the Next call check and the
window conversion in any zone, DST included (F12), the agent dispositions, and what the
desk routes answer without an engine or to the wrong user (F18)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaigns import db
from dialer.api.routes import _screen_pop
from tests.api import callback_world as w
from tests.api.conftest import Web

CHICAGO = "America/Chicago"


@pytest.fixture
def lite(sqlite_url: str, tmp_path: Path) -> Iterator[Web]:
    app = w.make_web(sqlite_url, tmp_path)
    w.load_default_rules(app)
    yield app
    app.close()


def _check(web: Web, record_id: int, day: str, start: str, end: str, tz: str = CHICAGO,
           **extra: str) -> dict:
    response = web.client("agent1").post("/api/agent/next-call/check", json={
        "record_id": record_id, "date": day, "from": start, "to": end, "tz": tz, **extra})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.req("F11")
def test_the_screen_pop_has_the_record_history_callbacks_and_both_clocks(lite: Web) -> None:
    record_id = w.add_record(lite)
    w.add_attempt(lite, record_id, disposition="call_later", notes="driving")
    callback_id = w.add_callback(lite, record_id)
    with db.unit_of_work(lite.factory) as session:
        pop = _screen_pop.screen_pop(session, record_id, number="", now=lite.clock[0],
                                     agent_tz=CHICAGO)
    assert pop["record"]["name"] == "Ana Lopez" and pop["record"]["fields"] == {"account": "A-1"}
    assert [n["kind"] for n in pop["numbers"]] == ["primary", "alternate"]
    assert (pop["attempts"][0]["disposition"], pop["attempts"][0]["notes"]) == ("call_later",
                                                                                "driving")
    assert pop["callbacks"][0]["id"] == callback_id
    assert pop["callbacks"][0]["history"][0]["action"] == "scheduled"
    assert pop["customer_tz"] == w.NY and pop["zones"] == [w.NY]
    assert pop["customer_local_time"].startswith("2026-11-21T10:00:00-05:00")
    assert pop["agent_local_time"].startswith("2026-11-21T09:00:00-06:00")
    end = dt.datetime.fromisoformat(pop["windows_today"][0][1])
    assert pop["is_legal_now"] and pop["minutes_left"] == (end - lite.clock[0]).seconds // 60 > 0


@pytest.mark.req("F11")
def test_outside_legal_hours_the_screen_pop_shows_no_minutes_and_the_next_opening(
        lite: Web) -> None:
    record_id = w.add_record(lite)
    late = dt.datetime(2026, 11, 21, 23, 30, tzinfo=dt.UTC)  # 18:30 in New York
    with db.unit_of_work(lite.factory) as session:
        pop = _screen_pop.screen_pop(session, record_id, number="", now=late, agent_tz="UTC")
    assert pop["is_legal_now"] is False and pop["minutes_left"] == 0
    assert pop["next_legal_at"] > "2026-11-21T23:30:00Z"


@pytest.mark.req("F12")
def test_a_window_with_no_legal_minute_is_explained_with_the_earliest_time(lite: Web) -> None:
    record_id = w.add_record(lite)
    result = _check(lite, record_id, "2026-11-23", "06:00", "06:30")  # 07:00 in New York
    assert result["ok"] is False
    assert result["message"] == "no legal minute in that window; earliest 07:00 America/Chicago"
    assert result["earliest"] == "07:00 America/Chicago"
    assert "America/New_York" in result["both_zones"]["customer"] or \
        CHICAGO in result["both_zones"]["customer"]


@pytest.mark.req("F12")
def test_a_window_partly_outside_hours_is_clipped_and_shown_in_both_zones(lite: Web) -> None:
    record_id = w.add_record(lite)
    result = _check(lite, record_id, "2026-11-23", "06:30", "08:00")
    assert result["ok"] is True and result["is_clipped"] is True
    assert result["clipped_to"]["start_at"] == "2026-11-23T13:00:00Z"
    assert result["clipped_to"]["customer"].startswith("07:00–08:00 America/Chicago")
    default_zone = _check(lite, record_id, "2026-11-23", "10:00", "11:00", tz="")
    assert default_zone["tz"] == w.NY and default_zone["ok"] is True
    assert default_zone["both_zones"]["agent"].startswith("15:00–16:00 UTC")


@pytest.mark.req("F12")
def test_the_window_is_converted_with_the_zones_dst_rules(lite: Web) -> None:
    record_id = w.add_record(lite)
    before = _check(lite, record_id, "2027-03-12", "10:00", "11:00")  # CST, UTC-6
    after = _check(lite, record_id, "2027-03-15", "10:00", "11:00")  # CDT, UTC-5
    assert before["clipped_to"]["start_at"] == "2027-03-12T16:00:00Z"
    assert after["clipped_to"]["start_at"] == "2027-03-15T15:00:00Z"
    skipped = _check(lite, record_id, "2027-03-14", "02:30", "04:00")
    assert skipped["ok"] is False and skipped["error_id"] == "nonexistent-local-time"
    assert set(skipped["fields"]) == {"from"}
    repeated = _check(lite, record_id, "2027-11-07", "00:00", "01:30")
    assert repeated["ok"] is False and repeated["error_id"] == "ambiguous-local-time"
    assert set(repeated["fields"]) == {"to"}


@pytest.mark.req("F12")
def test_a_wrapup_with_an_ambiguous_local_time_is_refused_with_a_field_error(lite: Web) -> None:
    record_id = w.add_record(lite)
    attempt_id = w.add_attempt(lite, record_id)
    refused = lite.client("agent1").post("/api/agent/wrapup", json={
        "attempt_id": attempt_id, "code": "callback",
        "callback": {"date": "2027-11-07", "from": "01:30", "to": "03:00", "tz": CHICAGO}})
    assert refused.status_code == 422
    error = w.error_of(refused)
    assert error["id"] == "ambiguous-local-time" and set(error["fields"]) == {"from"}


@pytest.mark.req("F12")
def test_the_campaigns_agent_dispositions_say_which_make_a_next_call(lite: Web) -> None:
    got = lite.client("agent1").get("/api/agent/dispositions",
                                    params={"campaign_id": lite.ids["alpha"]}).json()
    codes = {d["code"]: d for d in got["dispositions"]}
    assert set(codes) == {"sale", "not_interested", "callback", "wrong_number", "do_not_call",
                          "call_later"}
    assert codes["callback"]["next_call"] and not codes["sale"]["next_call"]
    assert codes["call_later"]["implies_attempt"] and not codes["call_later"]["next_call"]


@pytest.mark.req("F18")
def test_agent_routes_check_membership_roles_and_the_engine(lite: Web) -> None:
    beta_record = w.add_record(lite, "beta")
    agent1 = lite.client("agent1")
    for method, path, body in (
            ("GET", f"/api/agent/dispositions?campaign_id={lite.ids['beta']}", None),
            ("POST", "/api/agent/next-call/check", {"record_id": beta_record,
                                                    "date": "2026-11-23", "from": "10:00",
                                                    "to": "11:00"}),
            ("POST", "/api/agent/wrapup", {"attempt_id": w.add_attempt(lite, beta_record,
                                                                       agent="agent2"),
                                           "code": "callback", "callback": {
                                               "date": "2026-11-23", "from": "10:00",
                                               "to": "11:00"}})):
        response = agent1.request(method, path, json=body)
        assert response.status_code == 403, (path, response.text)
        assert w.error_of(response)["id"] == "not-a-member"
    no_engine = agent1.get("/api/agent/state")
    assert no_engine.status_code == 503
    assert w.error_of(no_engine)["id"] == "engine-not-running"
    staff = lite.client("super").post("/api/agent/session", json={"campaign_ids": [1]})
    assert staff.status_code == 403
    for path in ("/api/agent/dispositions?campaign_id=1", "/api/agent/state"):
        assert lite.anonymous().get(path).status_code == 401
