"""``dialer notifications`` and ``dialer webhooks`` on the command line."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import db, webhook_signing
from campaigns.enums import Channel
from campaigns.store import campaigns as campaign_store
from campaigns.store import outbox
from campaigns.store import webhooks as webhook_store
from tests.notify.conftest import NOW


def _session_factory(cli):
    engine = db.make_engine(cli.db_url)
    return engine, db.make_sessionmaker(engine)


@pytest.fixture
def campaign(cli) -> str:
    assert cli("campaign", "create", "Spring").code == 0
    return "Spring"


def _queue(cli, campaign: str, channel=Channel.EMAIL, recipient="ana@example.com",
           now: dt.datetime = NOW) -> int:
    engine, factory = _session_factory(cli)
    try:
        with db.unit_of_work(factory) as session:
            campaign_id = campaign_store.get_by_name(session, campaign).id
            return outbox.enqueue(session, channel=channel, recipient=recipient,
                                  event="callback_scheduled", subject="Your call", body="b",
                                  now=now, campaign_id=campaign_id).id
    finally:
        engine.dispose()


def _event(cli, campaign: str) -> None:
    engine, factory = _session_factory(cli)
    try:
        with db.unit_of_work(factory) as session:
            campaign_id = campaign_store.get_by_name(session, campaign).id
            webhook_store.enqueue_event(session, campaign_id=campaign_id,
                                        event="callback.cancelled", data={"callback_id": 4},
                                        now=dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()


@pytest.mark.req("E15")
def test_notifications_list_json_shows_every_message_with_its_status(cli, campaign) -> None:
    first = _queue(cli, campaign)
    second = _queue(cli, campaign, Channel.SMS, "+12025550199")
    result = cli("notifications", "list", "--json")
    assert result.code == 0, result.err
    rows = result.json()["messages"]
    assert [(r["id"], r["channel"], r["status"], r["attempts"]) for r in rows] == [
        (second, "sms", "queued", 0), (first, "email", "queued", 0)]
    assert rows[1]["next_attempt_at"] == "2026-11-21T15:00:00Z"
    assert cli("notifications", "list", "--status", "failed", "--json").json() == {"messages": []}
    assert len(cli("notifications", "list", "--campaign", campaign, "--json").json()[
        "messages"]) == 2


@pytest.mark.req("E15")
def test_notifications_list_refuses_an_unknown_campaign(cli) -> None:
    result = cli("notifications", "list", "--campaign", "nope", "--json")
    assert result.code == 2
    assert result.json()["error"]["id"] == "no-such-campaign"


@pytest.mark.req("E15")
def test_send_due_reports_messages_waiting_for_an_unconfigured_channel(cli, campaign) -> None:
    message_id = _queue(cli, campaign, now=dt.datetime.now(dt.UTC))
    result = cli("notifications", "send-due", "--json")
    assert result.code == 0, result.err
    assert result.json()["waiting_for_sender"] == {"email": 1}
    assert cli("notifications", "show", str(message_id), "--json").json()["status"] == "queued"
    text = cli("notifications", "send-due")
    assert "1 email message(s) wait: no email sender is configured" in text.out


@pytest.mark.req("E15")
def test_retry_refuses_a_message_that_did_not_fail(cli, campaign) -> None:
    message_id = _queue(cli, campaign)
    result = cli("notifications", "retry", str(message_id))
    assert result.code == 2
    assert "not failed" in result.err


@pytest.mark.req("E14")
def test_test_email_needs_an_smtp_server(cli) -> None:
    result = cli("notifications", "test-email", "ana@example.com", "--json")
    assert result.code == 2
    assert result.json()["error"]["id"] == "config-invalid"


@pytest.mark.req("E16")
def test_webhooks_add_prints_a_generated_secret_once(cli, campaign) -> None:
    added = cli("webhooks", "add", "https://hooks.example.com/d", "--campaign", campaign,
                "--event", "callback.cancelled", "--json")
    assert added.code == 0, added.err
    shown = added.json()
    assert shown["secret"].startswith("whsec_") and len(shown["secret"]) > 30
    assert shown["events"] == ["callback.cancelled"]
    listed = cli("webhooks", "list", "--json").json()["webhooks"]
    assert [w["url"] for w in listed] == ["https://hooks.example.com/d"]
    assert "secret" not in listed[0]
    assert shown["secret"] not in cli("webhooks", "list").out


@pytest.mark.req("E16")
@pytest.mark.parametrize("args, field", [
    (["ftp://x.test/h"], "url"), (["https://x.test", "--event", "Callback Cancelled"], "event"),
    (["https://x.test", "--secret", "short"], "secret")])
def test_webhooks_add_refuses_bad_input(cli, campaign, args: list[str], field: str) -> None:
    result = cli("webhooks", "add", *args, "--campaign", campaign, "--json")
    assert result.code == 2
    assert field in result.json()["error"]["fields"]


@pytest.mark.req("E16")
def test_webhooks_remove_and_disable(cli, campaign) -> None:
    endpoint_id = cli("webhooks", "add", "https://x.test/h", "--campaign", campaign,
                      "--json").json()["id"]
    assert cli("webhooks", "disable", str(endpoint_id), "--json").json()["is_active"] is False
    assert cli("webhooks", "enable", str(endpoint_id), "--json").json()["is_active"] is True
    assert cli("webhooks", "remove", str(endpoint_id)).code == 0
    assert cli("webhooks", "list", "--json").json() == {"webhooks": []}
    missing = cli("webhooks", "remove", str(endpoint_id), "--json")
    assert (missing.code, missing.json()["error"]["id"]) == (2, "no-such-webhook")


@pytest.mark.req("E16")
def test_send_due_delivers_webhooks_and_the_log_shows_it(cli, campaign, http_recorder) -> None:
    secret = "whsec_0123456789abcdef"
    assert cli("webhooks", "add", http_recorder.url + "/in", "--campaign", campaign,
               "--secret", secret).code == 0
    _event(cli, campaign)
    http_recorder.statuses.append(500)
    first = cli("notifications", "send-due", "--json").json()
    assert first["deliveries"]["retrying"] == 1
    [logged] = cli("webhooks", "deliveries", "--json").json()["deliveries"]
    assert (logged["status"], logged["attempts"], logged["response_status"]) == (
        "retrying", 1, 500)
    [request] = http_recorder.requests
    assert request.body.decode() == logged["body"]
    assert webhook_signing.verify(secret, request.headers["X-Dialer-Signature"], request.body,
                                  dt.datetime.now(dt.UTC))
    # The retry is not due yet: the log says when it will be.
    assert cli("notifications", "send-due", "--json").json()["deliveries"]["sent"] == 0
    assert logged["next_attempt_at"] is not None
    assert len(http_recorder.requests) == 1


@pytest.mark.req("E16")
def test_redeliver_queues_a_failed_delivery_again(cli, campaign) -> None:
    engine, factory = _session_factory(cli)
    cli("webhooks", "add", "https://x.test/h", "--campaign", campaign)
    try:
        with db.unit_of_work(factory) as session:
            campaign_id = campaign_store.get_by_name(session, campaign).id
            [delivery] = webhook_store.enqueue_event(session, campaign_id=campaign_id,
                                                     event="callback.missed", data={}, now=NOW)
            webhook_store.claim_due(session, now=NOW, lease=dt.timedelta(minutes=1), limit=1)
            webhook_store.mark_failed(session, delivery.id, attempt=1, error="HTTP 410",
                                      response_status=410)
    finally:
        engine.dispose()
    assert cli("webhooks", "deliveries", "--status", "failed", "--json").json()[
        "deliveries"][0]["last_error"] == "HTTP 410"
    again = cli("webhooks", "redeliver", str(delivery.id), "--json").json()
    assert (again["status"], again["attempts"]) == ("queued", 0)
    assert cli("webhooks", "redeliver", str(delivery.id)).code == 2
