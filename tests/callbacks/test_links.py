"""Customer self-service links (E12): signed, one callback only, expiring, revoked at the end;
the page logic shows the callback in the customer's zone and lets them cancel."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import callbacks
from campaigns.enums import CallbackStatus as S
from dialer import callbacks_messages
from dialer import callbacks_portal as portal
from dialer import callbacks_service as service
from dialer.callbacks_config import CallbacksSettings
from tests.callbacks.conftest import CFG, NOW, SECRET, ny

EMAIL = callbacks_messages.Notify(channels=["email"])
U = dt.UTC


def _schedule(session, world, record=None, **kw):
    values = {"record_id": (record or world.record).id, "actor": "admin", "now": NOW,
                  "start_at": ny(24, 10), "end_at": ny(24, 11), "how": EMAIL}
    values.update(kw)
    return service.schedule(session, CFG, **values)


def _token(callback, now=NOW, cfg=CFG) -> str:
    return callbacks_messages.link_url(cfg, callback, now).rsplit("/", 1)[1]


@pytest.mark.req("E12")
def test_the_page_shows_the_callback_in_the_customers_zone(lite, lworld):
    callback = _schedule(lite, lworld)
    view = portal.customer_view(lite, CFG, _token(callback), NOW)
    assert view["callback"]["id"] == callback.id
    assert view["callback"]["tz"] == "America/New_York"
    assert view["callback"]["window_start"] == "2026-11-24T10:00:00-05:00"
    assert view["callback"]["number_last_digits"] == "0100"
    assert view["slots"] and all(s["start"].endswith("-05:00") for s in view["slots"])


@pytest.mark.req("E12")
def test_a_tampered_link_is_invalid(lite, lworld):
    token = _token(_schedule(lite, lworld))
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(callbacks.LinkError) as caught:
        portal.customer_view(lite, CFG, tampered, NOW)
    assert caught.value.error_id == "link-invalid"


@pytest.mark.req("E12")
def test_a_link_never_serves_another_customers_callback(lite, lworld):
    mine = _schedule(lite, lworld)
    theirs = _schedule(lite, lworld, record=lworld.other)
    token = _token(mine)
    swapped = ".".join([str(theirs.id), *token.split(".")[1:]])
    with pytest.raises(callbacks.LinkError) as caught:
        portal.customer_view(lite, CFG, swapped, NOW)
    assert caught.value.error_id == "link-invalid"
    assert portal.customer_view(lite, CFG, token, NOW)["callback"]["id"] == mine.id


@pytest.mark.req("E12")
def test_a_link_signed_with_another_secret_is_invalid(lite, lworld):
    callback = _schedule(lite, lworld)
    other = CallbacksSettings(link_secret="z" * 40, public_base_url="https://dialer.test")
    with pytest.raises(callbacks.LinkError):
        portal.resolve(lite, CFG, _token(callback, cfg=other), NOW)


@pytest.mark.req("E12")
def test_a_link_expires_a_day_after_the_window_ends(lite, lworld):
    callback = _schedule(lite, lworld)
    token = _token(callback)
    assert portal.resolve(lite, CFG, token, ny(25, 10, 59)).id == callback.id
    with pytest.raises(callbacks.LinkExpired) as caught:
        portal.resolve(lite, CFG, token, ny(25, 11))
    assert caught.value.error_id == "link-expired"


@pytest.mark.req("E12")
def test_a_link_lives_at_most_the_configured_days():
    issued = dt.datetime(2026, 11, 23, tzinfo=U)
    assert callbacks.link_expiry(issued + dt.timedelta(days=40), issued,
                                 max_age=dt.timedelta(days=14)) == issued + dt.timedelta(days=14)
    assert callbacks.link_expiry(issued + dt.timedelta(days=40), issued,
                                 max_age=dt.timedelta(days=3)) == issued + dt.timedelta(days=3)


@pytest.mark.req("E12")
def test_a_link_is_revoked_when_the_callback_ends(lite, lworld):
    callback = _schedule(lite, lworld)
    token = _token(callback)
    portal.customer_cancel(lite, CFG, token, now=NOW, reason="changed my mind")
    assert (callback.status, callback.cancel_reason) == (S.CANCELLED, "changed my mind")
    with pytest.raises(callbacks.LinkExpired):
        portal.customer_view(lite, CFG, token, NOW)


@pytest.mark.req("E12")
def test_reopening_does_not_revive_old_links(lite, lworld):
    callback = _schedule(lite, lworld)
    token = _token(callback)
    service.complete(lite, CFG, callback.id, actor="bob", now=NOW, outcome="ok")
    service.reopen(lite, CFG, callback.id, actor="admin", now=NOW)
    with pytest.raises(callbacks.LinkExpired):
        portal.resolve(lite, CFG, token, NOW)
    assert portal.resolve(lite, CFG, _token(callback), NOW).id == callback.id


@pytest.mark.parametrize("token", ["", "abc", "1.1.1", "1.1.x.sig", "1.1.99999999999.sig"])
@pytest.mark.req("E12")
def test_malformed_tokens_are_invalid(token):
    with pytest.raises(callbacks.LinkError) as caught:
        callbacks.read_link(token, SECRET, NOW)
    assert caught.value.error_id == "link-invalid"


@pytest.mark.req("E12")
def test_placeholder_and_short_link_secrets_are_refused():
    with pytest.raises(ValueError):
        CallbacksSettings(link_secret="changeme")
    with pytest.raises(ValueError):
        CallbacksSettings(link_secret="short")
