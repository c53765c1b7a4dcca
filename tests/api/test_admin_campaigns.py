"""``/api/campaigns`` and the campaign pages: create, edit, start/pause/stop, diagnose, caller-ID
pool (F5), with every route's role checks and error shapes (F18)."""

from __future__ import annotations

import pytest

from campaigns.store import audit
from tests.api.conftest import Web


def error_of(response, status: int) -> dict:
    """The error of a response, after checking its status and the one error shape (F3)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"id", "message", "fields"}
    return body["error"]


@pytest.mark.req("F5")
def test_an_administrator_creates_and_edits_a_campaign_with_audit(web) -> None:
    admin = web.client("admin")
    created = admin.post("/api/campaigns", json={"name": "gamma", "mode": "power",
                                                 "hours": "09:00-18:00", "days": "mon-fri"})
    assert created.status_code == 201
    campaign = created.json()
    assert campaign["mode"] == "power" and campaign["schedule"]["start"] == "09:00"
    assert campaign["schedule"]["days"] == ["mon", "tue", "wed", "thu", "fri"]
    changed = admin.patch(f"/api/campaigns/{campaign['id']}", json={
        "ring_timeout_s": 25, "window": "09:00-20:00", "abandon_cap": 0.02,
        "category": "debt_collection", "caller_id": "+18505550100", "amd": False})
    assert changed.status_code == 200
    assert changed.json()["window"] == "09:00-20:00" and changed.json()["abandon_cap"] == 0.02
    assert "ring_timeout_s" in changed.json()["changed"]
    with web.factory() as session:
        events = audit.events(session, entity="campaign", entity_id=campaign["id"])
    assert [e.action for e in events] == ["campaign.create", "campaign.update"]
    assert events[1].actor == "administrator:admin"
    assert events[1].details["ring_timeout_s"] == [20, 25]


@pytest.mark.req("F5")
def test_bad_settings_are_refused_naming_the_field(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    alpha = web_sqlite.ids["alpha"]
    error = error_of(admin.patch(f"/api/campaigns/{alpha}", json={"ring_timeout_s": 5}), 422)
    assert error["fields"] == {"ring_timeout_s": "at least 15"}
    assert "mode" in error_of(admin.patch(f"/api/campaigns/{alpha}", json={"mode": "x"}), 422)[
        "fields"]
    assert error_of(admin.post("/api/campaigns", json={"name": "alpha"}), 409)["id"] \
        == "campaign-exists"
    assert error_of(admin.patch(f"/api/campaigns/{alpha}", json={"name": "beta"}), 409)
    assert error_of(admin.get("/api/campaigns/99999"), 404)["id"] == "no-such-campaign"
    assert error_of(admin.patch(f"/api/campaigns/{alpha}", json={"nope": 1}), 422)


@pytest.mark.req("F5")
def test_start_pause_stop_and_delete_rules(web) -> None:
    supervisor = web.client("super")
    alpha = web.ids["alpha"]
    started = supervisor.post(f"/api/campaigns/{alpha}/start")
    assert started.json()["status"] == "active" and started.json()["previous_status"] == "draft"
    assert supervisor.post(f"/api/campaigns/{alpha}/pause").json()["status"] == "paused"
    supervisor.post(f"/api/campaigns/{alpha}/start")
    admin = web.client("admin")
    assert error_of(admin.delete(f"/api/campaigns/{alpha}"), 409)["id"] == "campaign-active"
    assert supervisor.post(f"/api/campaigns/{alpha}/stop").json()["status"] == "stopped"
    assert admin.delete(f"/api/campaigns/{alpha}").json()["deleted"] == "alpha"
    with web.factory() as session:
        actions = [e.action for e in audit.events(session, entity="campaign",
                                                  entity_id=alpha)]
    assert actions[:3] == ["campaign.active", "campaign.paused", "campaign.active"]
    assert actions[-2:] == ["campaign.stopped", "campaign.delete"]


@pytest.mark.req("F5")
def test_a_campaign_that_cannot_start_is_refused_naming_the_key(sqlite_url, tmp_path) -> None:
    web = Web(sqlite_url, tmp_path, settings_overrides={"telephony": {"backend": "sip"}})
    try:
        admin = web.client("admin")
        alpha = web.ids["alpha"]
        admin.patch(f"/api/campaigns/{alpha}", json={"amd": True})
        error = error_of(admin.post(f"/api/campaigns/{alpha}/start"), 422)
        assert "amd" in error["fields"]
        assert admin.get(f"/api/campaigns/{alpha}").json()["status"] == "draft"
    finally:
        web.close()


@pytest.mark.req("F5")
def test_the_caller_id_pool_and_diagnose(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    alpha = web_sqlite.ids["alpha"]
    pool = admin.post(f"/api/campaigns/{alpha}/caller-ids",
                      json={"numbers": ["+1 850 555 0100", "+1 305 555 0100"], "daily_cap": 300})
    assert [n["state"] for n in pool.json()["pool"]] == ["US-FL", "US-FL"]
    assert error_of(admin.post(f"/api/campaigns/{alpha}/caller-ids", json={"numbers": ["12"]}),
                    422)["fields"]
    removed = admin.delete(f"/api/campaigns/{alpha}/caller-ids",
                           params={"number": "+13055550100"})
    assert removed.json()["removed"] == 1
    assert [n["e164"] for n in admin.get(f"/api/campaigns/{alpha}/caller-ids").json()["pool"]] \
        == ["+18505550100"]
    report = web_sqlite.client("super").get(f"/api/campaigns/{alpha}/diagnose").json()
    assert report["campaign"] == "alpha" and "dialable" in report["blocked"]


@pytest.mark.req("F18")
def test_campaign_routes_check_roles_and_membership(web_sqlite) -> None:
    alpha, beta = web_sqlite.ids["alpha"], web_sqlite.ids["beta"]
    agent, supervisor = web_sqlite.client("agent1"), web_sqlite.client("super")
    assert [c["name"] for c in agent.get("/api/campaigns").json()["campaigns"]] == ["alpha"]
    assert agent.get(f"/api/campaigns/{alpha}").status_code == 200
    assert error_of(agent.get(f"/api/campaigns/{beta}"), 403)["id"] == "not-a-member"
    for method, path, body in [
            ("POST", "/api/campaigns", {"name": "x"}),
            ("PATCH", f"/api/campaigns/{alpha}", {"max_attempts": 3}),
            ("DELETE", f"/api/campaigns/{alpha}", None),
            ("POST", f"/api/campaigns/{alpha}/caller-ids", {"numbers": ["+18505550100"]})]:
        for client in (agent, supervisor):
            assert error_of(client.request(method, path, json=body), 403)["id"] == "forbidden"
    for action in ("start", "pause", "stop"):
        assert error_of(agent.post(f"/api/campaigns/{alpha}/{action}"), 403)["id"] == "forbidden"
    assert error_of(agent.get(f"/api/campaigns/{alpha}/diagnose"), 403)
    assert error_of(agent.get(f"/api/campaigns/{alpha}/caller-ids"), 403)
    assert error_of(web_sqlite.anonymous().get("/api/campaigns"), 401)["id"] \
        == "not-authenticated"


@pytest.mark.req("F5")
def test_the_campaign_pages_show_the_forms_and_status(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    listing = admin.get("/admin/campaigns")
    assert listing.status_code == 200 and 'data-testid="campaign-create-form"' in listing.text
    page = admin.get(f"/admin/campaigns/{web_sqlite.ids['alpha']}")
    for testid in ("campaign-status", "campaign-start", "campaign-pause", "campaign-stop",
                   "campaign-edit-form", "campaign-save"):
        assert f'data-testid="{testid}"' in page.text
    assert 'data-testid="campaign-status">draft<' in page.text
    supervisor_page = web_sqlite.client("super").get(f"/admin/campaigns/{web_sqlite.ids['alpha']}")
    assert 'data-testid="campaign-save"' not in supervisor_page.text
    assert web_sqlite.client("agent1").get("/admin/campaigns").status_code == 403
    assert web_sqlite.anonymous().get("/admin/campaigns", follow_redirects=False) \
        .status_code == 303
