"""The product's main flow in Debian's Chromium against a real ``dialer run --web`` (F19).

An administrator uploads a list and starts a campaign on the simulated carrier; an agent logs
in, receives a call, and sets a ``callback`` disposition with the Next call controls using the
keyboard; the callback shows in the calendar; the customer's link reschedules it; the
dashboard reflects each step.  Every page is kept as a screenshot in
``test-output/screenshots/``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import pytz

from tests.browser.conftest import Site, login, no_horizontal_scroll, shot

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

#: Ofcom's drama range: valid UK numbers that belong to nobody; the UK allows calls at any hour,
#: so the flow runs whenever the suite runs.
CUSTOMERS = [("Ada", "Lovelace", "+44 20 7946 0101"), ("Alan", "Turing", "+44 20 7946 0102"),
             ("Grace", "Hopper", "+44 20 7946 0103")]


def _list_file(directory: Path) -> Path:
    path = directory / "flow-customers.csv"
    rows = ["First Name,Last Name,Phone,Time Zone,Language"]
    rows += [f"{first},{last},{phone},Europe/London,en" for first, last, phone in CUSTOMERS]
    path.write_text("\n".join(rows) + "\n")
    return path


def _prepare(site: Site) -> None:
    """What an administrator would have done before: a campaign, its agent, the TPS scrub."""
    site.dialer("campaign", "create", "flow", "--mode", "progressive", "--centre-tz",
                "Europe/London", "--days", "mon-sun", "--hours", "00:00-23:59")
    site.dialer("users", "create", "agent1", "--role", "agent", "--tz", "America/New_York",
                "--password", "pw-agent1-12345", "--campaign", "flow")
    site.dialer("users", "shifts", "agent1", "--add", "mon-sun 00:00-23:59")
    tps = site.directory / "tps.txt"
    tps.write_text("+44 20 7946 0999\n")
    site.dialer("dnc", "import", str(tps), "--source", "uk-tps")


def _wait(predicate: Any, timeout_s: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _dials_today(page: Any) -> int:
    text = page.inner_text("[data-testid=dials-today]").strip()
    return int(re.sub(r"\D", "", text) or 0)


def _upload_and_start(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/admin/lists")
    form = page.locator("[data-testid=list-upload-form]")
    form.locator("input[type=file][name=file]").set_input_files(str(_list_file(site.directory)))
    page.select_option("[data-testid=list-campaign]", label="flow")
    page.fill("[data-testid=list-name]", "flow-customers")
    page.click("[data-testid=list-upload]")
    page.wait_for_selector("[data-testid=list-mapping]")
    shot(page, "admin-list-mapping")
    page.click("[data-testid=list-import]")
    summary = page.wait_for_selector("[data-testid=import-summary]", timeout=60_000)
    _wait(lambda: "imported 3" in summary.inner_text(), what="the import summary")
    assert page.locator("[data-testid=reject-download]").count() == 1
    shot(page, "admin-list-imported")
    page.goto(f"{site.url}/admin/campaigns")
    page.click("text=flow")
    page.click("[data-testid=campaign-start]")
    try:
        _wait(lambda: (page.text_content("[data-testid=campaign-status]") or "").strip().lower() == "active",
              what="the campaign to be active")
    finally:
        shot(page, "admin-campaign-started")
    shot(page, "admin-campaign-active")


def _take_call_and_set_callback(page: Any, site: Site, day: dt.date) -> dict[str, str]:
    page.goto(f"{site.url}/agent")
    page.check("[data-testid=campaign-choice][data-name=flow]")
    page.click("[data-testid=agent-login]")
    page.click("[data-testid=agent-ready]")
    pop = page.wait_for_selector("[data-testid=screen-pop][data-record-id]", timeout=60_000)
    name = page.inner_text("[data-testid=customer-name]")
    assert page.inner_text("[data-testid=customer-local-time]").strip()
    assert page.inner_text("[data-testid=minutes-left]").strip()
    shot(page, "agent-screen-pop")
    page.wait_for_selector("[data-testid=wrapup-form]", state="visible", timeout=60_000)
    # The whole wrap-up with the keyboard alone (F14).
    page.focus("[data-testid=disposition]")
    page.select_option("[data-testid=disposition]", "callback")
    page.wait_for_selector("[data-testid=next-call]", state="visible")
    page.focus("[data-testid=cb-date]")
    page.keyboard.type(day.strftime("%m%d%Y"))
    page.focus("[data-testid=cb-from]")
    page.keyboard.type("1000AM")
    page.focus("[data-testid=cb-to]")
    page.keyboard.type("1200PM")
    tz = page.locator("[data-testid=cb-tz]")
    assert tz.input_value() == "Europe/London"  # the customer's zone by default
    page.focus("[data-testid=wrapup-note]")
    page.keyboard.type("Asked to be called tomorrow morning.")
    _wait(lambda: page.inner_text("[data-testid=next-call-check]").strip(),
          what="the Next call check")
    assert "America/New_York" in page.inner_text("[data-testid=both-zones]")
    shot(page, "agent-wrapup-next-call")
    assert no_horizontal_scroll(page)
    page.focus("[data-testid=wrapup-submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=wrapup-form]", state="hidden", timeout=30_000)
    return {"name": name, "record_id": pop.get_attribute("data-record-id") or ""}


def _callback_id(site: Site) -> int:
    listed = json.loads(site.dialer("callbacks", "list", "--json"))
    rows = listed["callbacks"] if isinstance(listed, dict) else listed
    assert len(rows) == 1, rows
    return int(rows[0]["id"])


@pytest.mark.req("F19")
def test_list_to_campaign_to_callback_to_customer_reschedule(browser, site: Site) -> None:
    _prepare(site)
    admin = browser.new_context(viewport={"width": 1366, "height": 768})
    agent = browser.new_context(viewport={"width": 1366, "height": 768})
    customer = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        board = admin.new_page()
        login(board, site, "admin")
        _upload_and_start(board, site)
        board.goto(f"{site.url}/admin/dashboard")
        board.select_option("[data-testid=dashboard-campaign]", label="flow")
        before = _dials_today(board)
        shot(board, "dashboard-start")

        desk = agent.new_page()
        login(desk, site, "agent1")
        tomorrow = (dt.datetime.now(pytz.timezone("Europe/London")) + dt.timedelta(days=1)).date()
        call = _take_call_and_set_callback(desk, site, tomorrow)
        shot(desk, "agent-after-wrapup")

        _wait(lambda: _dials_today(board) > before, what="the dashboard to count the dial")
        row = board.locator("[data-testid=agent-row][data-agent=agent1]")
        assert row.count() == 1
        shot(board, "dashboard-after-call")

        calendar = admin.new_page()
        calendar.goto(f"{site.url}/admin/callbacks?view=week")
        entry = calendar.wait_for_selector("[data-testid=calendar-callback]")
        assert call["name"].split()[0] in entry.inner_text()
        shot(calendar, "admin-calendar")

        callback_id = _callback_id(site)
        link = json.loads(site.dialer("callbacks", "link", str(callback_id), "--json"))
        url = link.get("url") or link.get("link")
        assert url.startswith(site.url)
        phone = customer.new_page()
        phone.goto(url)
        assert phone.inner_text("[data-testid=callback-time]").strip()
        assert no_horizontal_scroll(phone)
        shot(phone, "customer-link")
        slots = phone.locator("[data-testid=slot]")
        assert slots.count() > 0
        chosen = slots.nth(min(2, slots.count() - 1))
        chosen.click()
        phone.wait_for_selector("[data-testid=customer-message]")
        assert no_horizontal_scroll(phone)
        shot(phone, "customer-rescheduled")

        shown = json.loads(site.dialer("callbacks", "show", str(callback_id), "--json"))
        assert any(e.get("action", "").startswith("customer") or e.get("actor", "")
                   .startswith("customer") for e in shown.get("history", [])), shown
        calendar.reload()
        calendar.wait_for_selector("[data-testid=calendar-callback]")
        shot(calendar, "admin-calendar-after-reschedule")
        board.reload()
        board.select_option("[data-testid=dashboard-campaign]", label="flow")
        _wait(lambda: _dials_today(board) > before, what="the dashboard after reload")
        shot(board, "dashboard-end")
    finally:
        for context in (admin, agent, customer):
            context.close()
