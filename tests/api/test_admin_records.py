"""``/api/records``, ``/api/attempts``, ``/api/hours`` and ``/api/audit`` (F1): searches, one
record's history, calling-hours decisions, the audit trail; role checks and membership (F18)."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import models
from campaigns.enums import CallOutcome
from tests.api.test_admin_campaigns import error_of
from tests.api.test_admin_lists import upload, wait_for_job

AT = dt.datetime(2026, 11, 21, 14, 0, tzinfo=dt.UTC)


def load(web, campaign: str) -> int:
    """Load the test list into ``campaign``; returns the list id."""
    admin = web.client("admin")
    described = upload(admin).json()
    job = wait_for_job(admin, admin.post("/api/import-jobs", json={
        "upload": described["upload"], "campaign": campaign, "list_name": f"l-{campaign}",
        "mapping": {"phone": "Tel 1", "last_name": "Surname"}}).json()["id"])
    assert job["status"] == "done", job["error"]
    return job["list_id"]


def add_attempt(web, record_id: int, campaign_id: int) -> int:
    with web.ctx.unit_of_work() as session:
        attempt = models.Attempt(campaign_id=campaign_id, record_id=record_id,
                                 number_e164="+12125550101", started_at=AT, ended_at=AT,
                                 outcome=CallOutcome.BUSY)
        session.add(attempt)
        session.flush()
        return attempt.id


@pytest.mark.req("F1")
def test_records_are_searched_paged_and_shown_with_their_history(web) -> None:
    load(web, "alpha")
    admin = web.client("admin")
    alpha = web.ids["alpha"]
    everything = admin.get("/api/records", params={"campaign_id": alpha}).json()
    assert everything["total"] == 2
    by_name = admin.get("/api/records", params={"campaign_id": alpha, "q": "lee"}).json()
    assert [r["last_name"] for r in by_name["records"]] == ["Lee"]
    by_digits = admin.get("/api/records", params={"q": "555-0102"}).json()
    assert [r["first_name"] for r in by_digits["records"]] == ["Bob"]
    paged = admin.get("/api/records", params={"campaign_id": alpha, "limit": 1,
                                              "offset": 1}).json()
    assert paged["total"] == 2 and len(paged["records"]) == 1
    assert admin.get("/api/records", params={"status": "new"}).json()["total"] == 2
    assert error_of(admin.get("/api/records", params={"status": "nope"}), 422)["fields"]
    record_id = by_name["records"][0]["id"]
    attempt_id = add_attempt(web, record_id, alpha)
    shown = admin.get(f"/api/records/{record_id}").json()
    assert shown["numbers"][0]["e164"] == "+12125550101"
    assert [a["id"] for a in shown["attempts"]] == [attempt_id]
    assert shown["retries"] == [] and shown["callbacks"] == []
    attempts = admin.get("/api/attempts", params={"campaign_id": alpha,
                                                  "since": "2026-11-21"}).json()
    assert [a["outcome"] for a in attempts["attempts"]] == ["busy"]
    assert admin.get("/api/attempts", params={"since": "2026-11-22"}).json()["attempts"] == []
    assert error_of(admin.get("/api/attempts", params={"since": "yesterday"}), 422)
    assert error_of(admin.get("/api/records/99999"), 404)["id"] == "no-such-record"


@pytest.mark.req("F18")
def test_agents_reach_only_their_campaigns_records_and_attempts(web_sqlite) -> None:
    load(web_sqlite, "beta")
    agent = web_sqlite.client("agent1")
    beta = web_sqlite.ids["beta"]
    admin_view = web_sqlite.client("admin").get("/api/records", params={"campaign_id": beta})
    record_id = admin_view.json()["records"][0]["id"]
    add_attempt(web_sqlite, record_id, beta)
    assert error_of(agent.get("/api/records", params={"campaign_id": beta}), 403)["id"] \
        == "not-a-member"
    assert agent.get("/api/records").json()["total"] == 0  # alpha (theirs) has none
    assert error_of(agent.get(f"/api/records/{record_id}"), 403)["id"] == "not-a-member"
    assert error_of(agent.get("/api/attempts", params={"campaign_id": beta}), 403)
    assert agent.get("/api/attempts").json()["attempts"] == []
    assert web_sqlite.client("agent2").get(f"/api/records/{record_id}").status_code == 200
    assert error_of(web_sqlite.anonymous().get("/api/records"), 401)
    assert error_of(web_sqlite.anonymous().get("/api/attempts"), 401)


@pytest.mark.req("F1")
def test_calling_hours_rules_and_checks(web_sqlite) -> None:
    supervisor = web_sqlite.client("super")
    rules = supervisor.get("/api/hours/rules").json()
    assert rules["rules"] and {"id", "jurisdiction"} <= set(rules["rules"][0])
    florida = supervisor.get("/api/hours/rules", params={"jurisdiction": "US-FL"}).json()
    assert {r["jurisdiction"] for r in florida["rules"]} <= {"US", "US-FL"}
    assert error_of(supervisor.get("/api/hours/rules", params={"jurisdiction": "XX-YY"}), 404)
    night = supervisor.get("/api/hours/check", params={
        "number": "+1 212 555 0101", "at": "2026-11-21T07:00:00Z"}).json()  # 02:00 in New York
    assert night["allowed"] is False and night["reasons"]
    assert night["next_allowed_at"] > "2026-11-21T07:00:00Z"
    day = supervisor.get("/api/hours/check", params={
        "number": "+1 212 555 0101", "at": "2026-11-21T17:00:00Z",
        "campaign": str(web_sqlite.ids["alpha"])}).json()
    assert "America/New_York" in day["zones"]
    assert error_of(supervisor.get("/api/hours/check", params={
        "number": "+12125550101", "at": "2026-11-21T07:00:00"}), 422)["fields"] == {
        "at": "ISO instant with offset"}
    agent = web_sqlite.client("agent1")
    assert error_of(agent.get("/api/hours/rules"), 403)["id"] == "forbidden"
    assert error_of(agent.get("/api/hours/check", params={
        "number": "+12125550101", "campaign": "beta"}), 403)["id"] == "not-a-member"


@pytest.mark.req("F1")
def test_the_audit_trail_for_administrators_only(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    alpha = web_sqlite.ids["alpha"]
    admin.patch(f"/api/campaigns/{alpha}", json={"max_attempts": 7})
    web_sqlite.client("super").post(f"/api/campaigns/{alpha}/pause")
    changes = admin.get("/api/audit", params={"action": "campaign.", "entity": "campaign"}).json()
    assert [e["action"] for e in changes["events"]] == ["campaign.paused", "campaign.update"]
    by_actor = admin.get("/api/audit", params={"actor": "supervisor:super"}).json()
    assert {e["action"] for e in by_actor["events"]} >= {"campaign.paused"}
    first = admin.get("/api/audit", params={"limit": 1}).json()
    assert len(first["events"]) == 1 and first["next_before_id"] == first["events"][0]["id"]
    older = admin.get("/api/audit", params={"limit": 1, "before_id": first["next_before_id"]})
    assert older.json()["events"][0]["id"] < first["events"][0]["id"]
    assert admin.get("/api/audit", params={"since": "2030-01-01"}).json()["events"] == []
    assert error_of(admin.get("/api/audit", params={"since": "soon"}), 422)
    for name in ("super", "agent1"):
        assert error_of(web_sqlite.client(name).get("/api/audit"), 403)["id"] == "forbidden"
