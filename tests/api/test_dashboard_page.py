"""``/admin/dashboard``: the page carries the first snapshot and every element the browser test
finds (F8); staff only (F18)."""

from __future__ import annotations

import json
import re

import pytest

from tests.api.test_dashboard_data import seed

TESTIDS = ("dashboard", "dashboard-campaign", "agents-table", "calls-ringing", "calls-connected",
           "hopper-depth", "dials-chart", "abandon-today", "abandon-30d", "callbacks-due",
           "not-dialing", "dials-today")


@pytest.mark.req("F8")
def test_the_dashboard_page_embeds_the_first_snapshot(web_sqlite) -> None:
    web = web_sqlite
    seed(web)
    page = web.client("super").get(f"/admin/dashboard?campaign_id={web.ids['alpha']}")
    assert page.status_code == 200
    for testid in TESTIDS:
        assert f'data-testid="{testid}"' in page.text, testid
    assert re.search(r'data-testid="dials-today"[^>]*>3<', page.text)
    assert f'<option value="{web.ids["alpha"]}" selected>alpha</option>' in page.text
    embedded = re.search(r'<script type="application/json" id="dashboard-initial">(.*?)</script>',
                         page.text, re.DOTALL)
    assert embedded and json.loads(embedded.group(1))["dials_today"] == 3
    assert "/static/dashboard.js" in page.text and "chart-4.6.1.umd.min.js" in page.text
    assert web.client("admin").get("/static/dashboard.js").status_code == 200


@pytest.mark.req("F18")
def test_the_dashboard_page_is_for_staff(web_sqlite) -> None:
    anonymous = web_sqlite.anonymous().get("/admin/dashboard", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    refused = web_sqlite.client("agent1").get("/admin/dashboard")
    assert refused.status_code == 403 and 'data-testid="forbidden"' in refused.text
