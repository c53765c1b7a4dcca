"""The agent pages: the desktop's controls (F10, F12, F14) and My callbacks (F13)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaigns import db
from dialer import callbacks_config, callbacks_engine
from dialer.web.pages import agent as agent_page
from tests.api import callback_world as w
from tests.api.conftest import Web


@pytest.fixture
def lite(sqlite_url: str, tmp_path: Path) -> Iterator[Web]:
    app = w.make_web(sqlite_url, tmp_path)
    yield app
    app.close()


def _ids(html: str) -> set[str]:
    return set(re.findall(r'data-testid="([^"]+)"', html))


@pytest.mark.req("F10")
@pytest.mark.req("F14")
def test_the_desktop_has_every_control_and_documents_its_keys(lite: Web) -> None:
    page = lite.client("agent1").get("/agent")
    assert page.status_code == 200
    assert {"campaign-choice", "agent-login", "agent-ready", "agent-not-ready",
            "not-ready-reason", "agent-state", "screen-pop", "customer-name",
            "customer-local-time", "minutes-left", "agent-local-time", "preview-dial",
            "preview-skip", "wrapup-form", "disposition", "wrapup-note", "next-call", "cb-date",
            "cb-from", "cb-to", "cb-tz", "cb-number", "cb-new-number", "next-call-check",
            "both-zones", "wrapup-submit"} <= _ids(page.text)
    assert re.search(rf'data-testid="campaign-choice" value="{lite.ids["alpha"]}" '
                     r'data-name="alpha"', page.text)
    assert 'data-name="beta"' not in page.text
    assert re.search(r'<form id="wrapup-form" data-testid="wrapup-form" hidden>', page.text)
    assert re.search(r'<fieldset data-testid="next-call" id="next-call" hidden>', page.text)
    assert 'type="date" data-testid="cb-date"' in page.text
    assert "<option>Pacific/Chatham</option>" in page.text  # every IANA zone
    assert 'type="submit" class="primary" data-testid="wrapup-submit"' in page.text
    assert "Access keys" in page.text and 'accesskey="s"' in page.text


@pytest.mark.req("F10")
def test_the_desktop_sends_anonymous_users_to_the_login_page(lite: Web) -> None:
    response = lite.anonymous().get("/agent", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def _rows(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-testid="callback-row" data-callback-id="(\d+)"',
                                       html)]


@pytest.mark.req("F13")
def test_my_callbacks_splits_upcoming_due_and_missed(lite: Web) -> None:
    w.give_shift(lite, "agent2", "alpha")
    now = lite.clock[0]
    upcoming = w.add_callback(lite, w.add_record(lite, first="Up"))
    due = w.add_callback(lite, w.add_record(lite, first="Due"),
                         start=now - dt.timedelta(minutes=30))
    missed = w.add_callback(lite, w.add_record(lite, first="Gone"),
                            start=now - dt.timedelta(minutes=10))
    with db.unit_of_work(lite.factory) as session:
        callbacks_engine.on_missed(session, callbacks_config.settings_of(lite.settings), missed,
                                   now=now, actor="test", why="no answer")
    w.add_callback(lite, w.add_record(lite, first="Theirs"), owner="agent2",
                   start=w.ny(w.MONDAY, 14))
    client = lite.client("agent1")
    pages = {tab: client.get("/agent/callbacks", params={"tab": tab}).text
             for tab in agent_page.TABS}
    assert _rows(pages["upcoming"]) == [upcoming]
    assert _rows(pages["due"]) == [due]
    assert _rows(pages["missed"]) == [missed]
    assert {"my-callbacks", "tab-upcoming", "tab-due", "tab-missed", "callback-reschedule",
            "callback-cancel", "callback-reassign", "callback-note"} <= _ids(pages["upcoming"])
    assert "Upcoming (1)" in pages["due"] and "Missed (1)" in pages["due"]
    assert "<option>agent2</option>" in pages["upcoming"]  # free then: offered for reassign
    assert f'data-action="/api/callbacks/{upcoming}/reschedule"' in pages["upcoming"]
