"""Webhook signatures: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` (E16)."""

from __future__ import annotations

import datetime as dt
import doctest
import hashlib
import hmac

import pytest

from campaigns import webhook_signing

pytestmark = pytest.mark.req("E16")

BODY = '{"campaign_id":1,"type":"callback.rescheduled"}'
T = 1_795_000_000
AT_T = dt.datetime.fromtimestamp(T, dt.UTC)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"whsec_abc", f"{T}.{BODY}".encode(), hashlib.sha256).hexdigest()
    assert webhook_signing.sign("whsec_abc", BODY, T) == f"t={T},v1={expected}"


@pytest.mark.parametrize("age_s, accepted", [(0, True), (299, True), (300, True), (301, False),
                                             (3600, False), (-301, False)])
def test_receivers_reject_signatures_older_than_five_minutes(age_s: int, accepted: bool) -> None:
    header = webhook_signing.sign("whsec_abc", BODY, T)
    now = AT_T + dt.timedelta(seconds=age_s)
    assert webhook_signing.verify("whsec_abc", header, BODY, now) is accepted


@pytest.mark.parametrize("header", ["", "garbage", f"t={T}", "v1=00", "t=soon,v1=00",
                                    f"t={T},v1=" + "0" * 64])
def test_malformed_or_wrong_headers_are_rejected(header: str) -> None:
    assert webhook_signing.verify("whsec_abc", header, BODY, AT_T) is False


def test_a_tampered_body_is_rejected() -> None:
    header = webhook_signing.sign("whsec_abc", BODY, T)
    assert webhook_signing.verify("whsec_abc", header, BODY.replace("1", "2"), AT_T) is False


def test_any_of_several_signatures_may_match_during_secret_rotation() -> None:
    old = webhook_signing.sign("old", BODY, T).split(",")[1]
    header = webhook_signing.sign("new", BODY, T) + "," + old
    assert webhook_signing.verify("old", header, BODY, AT_T)
    assert webhook_signing.verify("new", header, BODY, AT_T)


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(webhook_signing).failed == 0
