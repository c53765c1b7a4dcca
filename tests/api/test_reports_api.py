"""``/api/calendar`` and ``/api/reports`` (F9): callbacks by day in both zones, reports per
campaign and agent with CSV export; role checks and error shapes (F18)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from campaigns import db, models
from campaigns.enums import CallbackStatus, CallOutcome
from tests.api.conftest import NOW
from tests.api.test_dashboard_api import error_of
from tests.api.test_dashboard_data import add_attempt, add_callback, add_records


def seed_reports(web: Any) -> dict[str, int]:
    """alpha: agent1 talks twice (sale 120 s, callback 60 s), one abandon, one no answer;
    callbacks: agent1's tomorrow 10:00 London, an unowned one, agent2's in beta."""
    with db.unit_of_work(web.factory) as session:
        first, second = add_records(session, web.ids["alpha"])
        [other] = add_records(session, web.ids["beta"], 1)
        agent1 = web.ids["agent1"]
        for started, code, talk in ((NOW - dt.timedelta(hours=3), "sale", 120),
                                    (NOW - dt.timedelta(days=1), "callback", 60)):
            attempt = add_attempt(session, first, started, outcome=CallOutcome.ANSWERED,
                                  agent_id=agent1, connected=True)
            attempt.disposition = code
            attempt.ended_at = attempt.connected_at + dt.timedelta(seconds=talk)
        add_attempt(session, second, NOW - dt.timedelta(hours=2), outcome=CallOutcome.ANSWERED,
                    is_abandoned=True)
        add_attempt(session, second, NOW - dt.timedelta(hours=1)).disposition = "no_answer"
        add_attempt(session, second, NOW - dt.timedelta(days=20))  # outside the default week
        tomorrow = dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)
        mine = add_callback(session, first, tomorrow, owner_id=agent1)
        anyone = add_callback(session, second, tomorrow + dt.timedelta(days=1))
        theirs = add_callback(session, other, tomorrow, owner_id=web.ids["agent2"])
        done = add_callback(session, second, NOW - dt.timedelta(hours=5), owner_id=agent1,
                            status=CallbackStatus.COMPLETED)
        done.completed_at, done.time_taken_s = NOW - dt.timedelta(hours=4), 60
        cancelled = add_callback(session, second, tomorrow, status=CallbackStatus.CANCELLED)
        session.get(models.User, web.ids["admin"]).tz = "America/New_York"
        return {"mine": mine.id, "anyone": anyone.id, "theirs": theirs.id, "done": done.id,
                "cancelled": cancelled.id}


@pytest.mark.req("F9")
def test_the_calendar_shows_callbacks_in_both_zones(web) -> None:
    ids = seed_reports(web)
    shown = web.client("admin").get("/api/calendar").json()
    assert shown["tz"] == "America/New_York" and shown["from"] == "2026-11-21"
    assert len(shown["days"]) == 7 and shown["to"] == "2026-11-27"
    by_id = {c["id"]: c for c in shown["callbacks"]}
    assert set(by_id) == {ids["mine"], ids["anyone"], ids["theirs"], ids["done"]}
    mine = by_id[ids["mine"]]
    assert (mine["customer_time"], mine["viewer_time"]) == ("10:00–12:00", "05:00–07:00")
    assert (mine["customer"], mine["owner"], mine["day"]) == ("Ada0 Lovelace", "agent1",
                                                             "2026-11-22")
    day = web.client("admin").get("/api/calendar?from=2026-11-21&to=2026-11-21").json()
    assert [c["id"] for c in day["callbacks"]] == [ids["done"]]
    with_cancelled = web.client("admin").get("/api/calendar?include_cancelled=true").json()
    assert ids["cancelled"] in {c["id"] for c in with_cancelled["callbacks"]}


@pytest.mark.req("F9", "F18")
def test_calendar_filters_and_what_agents_see(web_sqlite) -> None:
    web = web_sqlite
    ids = seed_reports(web)
    admin = web.client("admin")
    by_agent = admin.get("/api/calendar?agent=agent1&from=2026-11-20").json()["callbacks"]
    assert {c["id"] for c in by_agent} == {ids["mine"], ids["done"]}
    beta = admin.get(f"/api/calendar?campaign_id={web.ids['beta']}").json()["callbacks"]
    assert [c["id"] for c in beta] == [ids["theirs"]]
    agent = web.client("agent1")
    assert {c["id"] for c in agent.get("/api/calendar").json()["callbacks"]} \
        == {ids["mine"], ids["anyone"], ids["done"]}
    error_of(agent.get(f"/api/calendar?campaign_id={web.ids['beta']}"), 403, "not-a-member")
    error_of(agent.get("/api/calendar?agent=agent2"), 403, "forbidden")
    error_of(admin.get("/api/calendar?agent=nobody"), 404, "no-such-user")
    error_of(admin.get("/api/calendar?from=2026-11-21&to=2026-11-01"), 400, "invalid-range")
    error_of(admin.get("/api/calendar?from=yesterday"), 422, "invalid-input")
    error_of(web.anonymous().get("/api/calendar"), 401, "not-authenticated")


@pytest.mark.req("F9")
def test_a_campaign_report_counts_attempts_contacts_dispositions_and_talk_time(web) -> None:
    seed_reports(web)
    report = web.client("super").get(f"/api/reports/campaigns/{web.ids['alpha']}").json()
    assert (report["from"], report["to"]) == ("2026-11-15", "2026-11-21")
    assert (report["dials"], report["contacts"], report["abandoned"]) == (4, 2, 1)
    assert report["dispositions"] == {"callback": 1, "no_answer": 1, "sale": 1}
    assert report["talk_time_s"] == 180 and report["average_talk_s"] == 90
    assert report["abandon_rate"] == pytest.approx(1 / 3)
    assert report["callbacks"]["callbacks"] == 4 and report["callbacks"]["completed"] == 1
    assert report["callbacks"]["kept_on_time"] == 1
    days = {d["day"]: d for d in report["daily"]}
    assert len(days) == 7 and days["2026-11-20"]["contacts"] == 1
    assert days["2026-11-21"]["dials"] == 3
    older = web.client("super").get(f"/api/reports/campaigns/{web.ids['alpha']}"
                                    "?from=2026-10-01&to=2026-11-10").json()
    assert older["dials"] == 1 and older["contacts"] == 0


@pytest.mark.req("F9")
def test_the_agents_report_and_both_csv_exports(web_sqlite) -> None:
    web = web_sqlite
    seed_reports(web)
    client = web.client("admin")
    agents = client.get(f"/api/reports/agents?campaign_id={web.ids['alpha']}").json()["agents"]
    assert [a["agent"] for a in agents] == ["agent1"]
    assert agents[0]["contacts"] == 2 and agents[0]["talk_time_s"] == 180
    assert agents[0]["callbacks"]["callbacks"] == 2
    everyone = client.get("/api/reports/agents").json()["agents"]
    assert [a["agent"] for a in everyone] == ["agent1", "agent2"]
    for url in (f"/api/reports/campaigns/{web.ids['alpha']}?format=csv",
                f"/api/reports/campaigns/{web.ids['alpha']}.csv"):
        response = client.get(url)
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == 8 and rows[-1]["name"] == "total"
        assert rows[-1]["disposition:sale"] == "1" and rows[-1]["talk_time_s"] == "180"
        assert rows[-1]["callbacks:completed"] == "1"
    for url in ("/api/reports/agents?format=csv", "/api/reports/agents.csv"):
        rows = list(csv.DictReader(io.StringIO(client.get(url).text)))
        assert [r["name"] for r in rows] == ["agent1", "agent2"]
        assert rows[0]["contacts"] == "2"


@pytest.mark.req("F18")
def test_reports_are_for_staff_and_name_their_errors(web_sqlite) -> None:
    web = web_sqlite
    alpha = web.ids["alpha"]
    agent = web.client("agent1")
    for url in (f"/api/reports/campaigns/{alpha}", f"/api/reports/campaigns/{alpha}.csv",
                "/api/reports/agents", "/api/reports/agents.csv"):
        assert error_of(agent.get(url), 403)["id"] == "forbidden"
        assert error_of(web.anonymous().get(url), 401)["id"] == "not-authenticated"
    admin = web.client("admin")
    assert error_of(admin.get("/api/reports/campaigns/999"), 404)["id"] == "no-such-campaign"
    assert error_of(admin.get("/api/reports/agents?campaign_id=999"),
                    404)["id"] == "no-such-campaign"
    assert error_of(admin.get(f"/api/reports/campaigns/{alpha}?format=pdf"),
                    400)["id"] == "invalid-input"
    assert error_of(admin.get(f"/api/reports/campaigns/{alpha}?from=2020-01-01&to=2026-01-01"),
                    400)["id"] == "invalid-range"
