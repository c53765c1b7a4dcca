"""``/c/{token}``: the customer's self-service page (F15)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaigns import db
from campaigns.store import callbacks as store
from dialer.web.pages import customer
from tests.api import callback_world as w
from tests.api.conftest import Web


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Iterator[Web]:
    app = w.make_web(sqlite_url, tmp_path)
    w.give_shift(app, "agent1")
    yield app
    app.close()


def _testid(html: str, name: str) -> list[str]:
    return re.findall(rf'data-testid="{name}"[^>]*>([^<]*)<', html)


def _status(web: Web, callback_id: int) -> str:
    with db.unit_of_work(web.factory) as session:
        return store.get(session, callback_id).status.value


def _form_token(web: Web, token: str) -> str:
    return customer.form_token(w.SECRET, token)


@pytest.mark.req("F15")
def test_the_page_shows_the_time_in_the_customers_zone_and_free_slots(site: Web) -> None:
    callback_id = w.add_callback(site, w.add_record(site))
    page = site.anonymous().get(f"/c/{w.link_of(site, callback_id)}")
    assert page.status_code == 200
    assert _testid(page.text, "callback-time") == [
        "We will call you on Monday 23 November 2026, 10:00–12:00."]
    assert "America/New_York" in page.text and 'name="viewport"' in page.text
    assert len(_testid(page.text, "slot")) > 3
    assert 'data-testid="suggest-form"' in page.text and 'data-testid="cancel-form"' in page.text
    assert "Lopez" not in page.text and "+1212" not in page.text


@pytest.mark.req("F15")
def test_the_page_speaks_the_customers_language(site: Web) -> None:
    callback_id = w.add_callback(site, w.add_record(site, language="es-MX"))
    page = site.anonymous().get(f"/c/{w.link_of(site, callback_id)}")
    assert '<html lang="es">' in page.text
    assert _testid(page.text, "callback-time") == [
        "Le llamaremos el lunes 23 de noviembre de 2026, 10:00–12:00."]
    assert "Proponga una hora" in page.text


@pytest.mark.req("F15")
def test_picking_a_slot_books_it_and_confirms(site: Web) -> None:
    callback_id = w.add_callback(site, w.add_record(site))
    token = w.link_of(site, callback_id)
    client = site.anonymous()
    slots = re.findall(r'name="slot" value="([^"]+)"', client.get(f"/c/{token}").text)
    chosen = slots[2]
    done = client.post(f"/c/{token}/pick", data={"slot": chosen,
                                                 "form_token": _form_token(site, token)})
    assert done.status_code == 200
    assert _testid(done.text, "customer-message")[0].startswith("Thank you: we will call you on")
    with db.unit_of_work(site.factory) as session:
        booked = store.get(session, callback_id)
        assert booked.window_start_at == dt.datetime.fromisoformat(chosen)
        assert store.history(session, callback_id)[-1]["actor"] == "customer"


@pytest.mark.req("F15")
def test_a_suggestion_outside_legal_hours_is_explained_and_a_legal_one_kept(site: Web) -> None:
    callback_id = w.add_callback(site, w.add_record(site))
    token = w.link_of(site, callback_id)
    client = site.anonymous()
    form = {"date": "2026-11-24", "form_token": _form_token(site, token)}
    refused = client.post(f"/c/{token}/suggest", data={**form, "start": "22:00", "end": "23:00"})
    assert refused.status_code == 422
    message = _testid(refused.text, "customer-message")[0]
    assert message.startswith("We cannot call at that time. The earliest possible time is")
    kept = client.post(f"/c/{token}/suggest", data={**form, "start": "15:00", "end": "16:00",
                                                    "message": "after work"})
    assert kept.status_code == 200
    assert "Tuesday 24 November 2026, 15:00–16:00" in _testid(kept.text, "customer-message")[0]
    assert _status(site, callback_id) == "requested"


@pytest.mark.req("F15")
def test_cancel_with_a_reason_then_the_link_is_revoked(site: Web) -> None:
    callback_id = w.add_callback(site, w.add_record(site))
    token = w.link_of(site, callback_id)
    client = site.anonymous()
    done = client.post(f"/c/{token}/cancel", data={"reason": "sold already",
                                                   "form_token": _form_token(site, token)})
    assert done.status_code == 200 and "cancelled" in _testid(done.text, "customer-message")[0]
    assert _status(site, callback_id) == "cancelled"
    gone = client.get(f"/c/{token}")
    assert gone.status_code == 410
    assert _testid(gone.text, "customer-message") == [
        "This link has expired or is no longer valid."]


@pytest.mark.req("F15")
def test_tampered_and_expired_links_show_one_message_and_nothing_else(site: Web) -> None:
    callback_id = w.add_callback(site, w.add_record(site))
    token = w.link_of(site, callback_id)
    client = site.anonymous()
    head, _, mac = token.rpartition(".")
    tampered = client.get(f"/c/{head}.{mac[::-1]}")
    assert tampered.status_code == 404
    assert _testid(tampered.text, "customer-message") == [
        "This link is not valid. Please use the latest link we sent you."]
    assert "<form" not in tampered.text and "<nav" not in tampered.text
    assert "alpha" not in tampered.text
    spanish = client.get("/c/nonsense", headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert spanish.status_code == 404 and "no es válido" in spanish.text
    site.clock[0] = site.clock[0] + dt.timedelta(days=5)
    expired = client.get(f"/c/{token}")
    assert expired.status_code == 410 and "<form" not in expired.text


@pytest.mark.req("F15")
def test_a_form_without_the_links_form_token_changes_nothing(site: Web) -> None:
    callback_id = w.add_callback(site, w.add_record(site))
    token = w.link_of(site, callback_id)
    forged = site.anonymous().post(f"/c/{token}/cancel", data={"reason": "x",
                                                               "form_token": "forged"})
    assert forged.status_code == 403
    assert _status(site, callback_id) == "scheduled"
