"""``/admin/callbacks`` (calendar, day and week), ``/admin/callbacks/{id}`` and ``/admin/reports``
(F9): what the browser test finds; staff only (F18)."""

from __future__ import annotations

import re

import pytest

from tests.api.test_reports_api import seed_reports


@pytest.mark.req("F9")
def test_the_week_calendar_shows_each_callback_in_both_zones(web_sqlite) -> None:
    web = web_sqlite
    ids = seed_reports(web)
    page = web.client("admin").get("/admin/callbacks?view=week")
    assert page.status_code == 200
    for testid in ("calendar", "calendar-view-day", "calendar-view-week", "calendar-agent",
                   "calendar-campaign"):
        assert f'data-testid="{testid}"' in page.text, testid
    entries = re.findall(r'<a class="entry[^"]*" data-testid="calendar-callback" '
                         r'data-callback-id="(\d+)"[^>]*>(.*?)</a>', page.text, re.DOTALL)
    shown = {int(cid): body for cid, body in entries}
    assert set(shown) == {ids["mine"], ids["anyone"], ids["theirs"], ids["done"]}
    assert "Ada0 Lovelace" in shown[ids["mine"]]
    assert "05:00–07:00 your time" in shown[ids["mine"]]  # the admin is in New York
    assert "10:00–12:00 Europe/London" in shown[ids["mine"]]
    assert f'href="/admin/callbacks/{ids["mine"]}"' in page.text


@pytest.mark.req("F9")
def test_the_day_view_and_the_filters(web_sqlite) -> None:
    web = web_sqlite
    ids = seed_reports(web)
    client = web.client("admin")
    day = client.get("/admin/callbacks?view=day&date=2026-11-22")
    found = {int(c) for c in re.findall(r'data-callback-id="(\d+)"', day.text)}
    assert found == {ids["mine"], ids["theirs"]}
    assert 'data-view="day"' in day.text
    filtered = client.get(f"/admin/callbacks?view=week&agent=agent2&campaign_id={web.ids['beta']}")
    assert {int(c) for c in re.findall(r'data-callback-id="(\d+)"', filtered.text)} \
        == {ids["theirs"]}
    assert '<option value="agent2" selected>agent2</option>' in filtered.text
    unknown = client.get("/admin/callbacks?agent=nobody&date=not-a-date")
    assert unknown.status_code == 200  # a bad filter shows everything rather than failing


@pytest.mark.req("F9")
def test_a_callback_page_shows_its_record(web_sqlite) -> None:
    web = web_sqlite
    ids = seed_reports(web)
    page = web.client("super").get(f"/admin/callbacks/{ids['mine']}")
    assert page.status_code == 200
    assert 'data-testid="callback-record"' in page.text and "Ada0 Lovelace" in page.text
    assert "+442079460110" in page.text
    missing = web.client("super").get("/admin/callbacks/999")
    assert missing.status_code == 404 and missing.json()["error"]["id"] == "no-such-callback"


@pytest.mark.req("F9")
def test_the_reports_page_has_tables_charts_and_csv_links(web_sqlite) -> None:
    web = web_sqlite
    seed_reports(web)
    page = web.client("admin").get(f"/admin/reports?campaign_id={web.ids['alpha']}")
    assert page.status_code == 200
    assert 'data-testid="report-campaign-table"' in page.text
    assert 'data-testid="report-agent-table"' in page.text
    assert 'data-campaign="alpha"' in page.text and 'data-campaign="beta"' not in page.text
    assert 'data-agent="agent1"' in page.text
    links = re.findall(r'data-testid="report-csv" href="([^"]+)"', page.text)
    assert len(links) == 2
    for link in links:
        response = web.client("admin").get(link.replace("&amp;", "&"))
        assert response.status_code == 200 and response.text.startswith("name,")
    bad = web.client("admin").get("/admin/reports?start=2026-11-21&end=2026-01-01")
    assert bad.status_code == 200 and "ends before it starts" in bad.text


@pytest.mark.req("F18")
def test_the_calendar_and_reports_pages_are_for_staff(web_sqlite) -> None:
    for path in ("/admin/callbacks", "/admin/reports", "/admin/callbacks/1"):
        assert web_sqlite.client("agent1").get(path).status_code == 403
        assert web_sqlite.anonymous().get(path, follow_redirects=False).status_code == 303
