"""Sending for real: an aiosmtpd server, a local HTTP server as SMS provider and webhook receiver.

Each test drives :func:`dialer.notify.dispatcher.deliver_due` with an explicit
``now`` and asserts on what the servers received and what the outbox or the
delivery log says.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from campaigns import db, models, notifications, webhook_signing
from campaigns.enums import MessageStatus
from campaigns.store import outbox
from campaigns.store import webhooks as webhook_store
from dialer.notify import config, dispatcher, errors, sms, smtp, webhooks
from tests import pg
from tests.notify.conftest import NOW
from tests.notify.servers import SmtpServer

RETRY = config.RetrySettings(max_attempts=3, base_delay_s=60, max_delay_s=600)
SETTINGS = config.NotificationSettings(retry=RETRY)
START = dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC)
CONTEXT = notifications.MessageContext(
    customer_name="Ana", company_name="Acme Energy", tz="Europe/Madrid", window_start_at=START,
    window_end_at=START + dt.timedelta(minutes=30), manage_url="https://dialer.test/l/tok-9")


def _smtp(port: int) -> smtp.SmtpSender:
    return smtp.SmtpSender(config.SmtpSettings(host="127.0.0.1", port=port, starttls=False,
                                               from_address="callbacks@acme.test", timeout_s=5))


def _sms(url: str) -> sms.TwilioSmsProvider:
    return sms.TwilioSmsProvider(config.SmsSettings(url=url, account_sid="AC123",
                                                    auth_token="tok-secret",
                                                    from_number="+15005550006", timeout_s=5))


def _enqueue(factory, event=notifications.Event.CALLBACK_SCHEDULED, language="es",
             contacts=notifications.Contacts("ana@example.com"), requested=None,
             campaign_id=None) -> list[int]:
    with db.unit_of_work(factory) as session:
        routes = notifications.channels_for(contacts, requested)
        return [m.id for m in outbox.enqueue_notification(
            session, event=event, routes=routes, language=language, context=CONTEXT, now=NOW,
            campaign_id=campaign_id)]


def _message(factory, message_id: int) -> models.OutboxMessage:
    with factory() as session:
        return outbox.get(session, message_id)


@pytest.mark.req("E14")
def test_an_email_reaches_the_smtp_server_in_the_customer_language(factory, smtp_server) -> None:
    [message_id] = _enqueue(factory)
    report = dispatcher.deliver_due(factory, dispatcher.Senders(email=_smtp(smtp_server.port)),
                                    NOW, settings=SETTINGS)
    assert report.messages["sent"] == 1
    [received] = smtp_server.handler.messages
    assert received["To"] == "ana@example.com"
    assert received["From"] == "callbacks@acme.test"
    assert received["Subject"] == ("Su llamada con Acme Energy: martes 24 de noviembre de 2026, "
                                   "20:00–20:30 (Europe/Madrid)")
    assert received["Content-Language"] == "es"
    assert received["X-Dialer-Event"] == "callback_scheduled"
    assert received["Message-ID"].endswith("@acme.test>")
    body = received.get_content()
    assert body.startswith("Hola, Ana:")
    assert "Para elegir otra hora: https://dialer.test/l/tok-9" in body
    stored = _message(factory, message_id)
    assert (stored.status, stored.attempts, stored.sent_at) == (MessageStatus.SENT, 1, NOW)


@pytest.mark.req("E15")
def test_email_is_retried_with_backoff_while_the_server_is_down_then_sent(factory) -> None:
    port = pg.free_port()  # nothing listens there yet
    senders = dispatcher.Senders(email=_smtp(port))
    [message_id] = _enqueue(factory, language="en")
    report = dispatcher.deliver_due(factory, senders, NOW, settings=SETTINGS)
    assert report.messages["retrying"] == 1
    stored = _message(factory, message_id)
    assert (stored.status, stored.attempts) == (MessageStatus.RETRYING, 1)
    assert "ConnectionRefusedError" in stored.last_error
    assert stored.next_attempt_at == NOW + dt.timedelta(seconds=60)
    # Not due before the back-off has passed.
    assert dispatcher.deliver_due(factory, senders, NOW + dt.timedelta(seconds=59),
                                  settings=SETTINGS).messages["retrying"] == 0
    server = SmtpServer(port).start()
    try:
        later = NOW + dt.timedelta(seconds=60)
        assert dispatcher.deliver_due(factory, senders, later,
                                      settings=SETTINGS).messages["sent"] == 1
        assert [m["To"] for m in server.handler.messages] == ["ana@example.com"]
    finally:
        server.stop()
    stored = _message(factory, message_id)
    assert (stored.status, stored.attempts, stored.sent_at, stored.last_error) == (
        MessageStatus.SENT, 2, NOW + dt.timedelta(seconds=60), "")


@pytest.mark.req("E15")
def test_a_temporary_smtp_refusal_is_retried_and_doubles_the_wait(factory, smtp_server) -> None:
    smtp_server.handler.refusals = 2
    senders = dispatcher.Senders(email=_smtp(smtp_server.port))
    [message_id] = _enqueue(factory)
    dispatcher.deliver_due(factory, senders, NOW, settings=SETTINGS)
    first = _message(factory, message_id)
    assert first.last_error.startswith("SMTP 451")
    second_try = first.next_attempt_at
    assert second_try == NOW + dt.timedelta(seconds=60)
    dispatcher.deliver_due(factory, senders, second_try, settings=SETTINGS)
    assert _message(factory, message_id).next_attempt_at == second_try + dt.timedelta(seconds=120)
    dispatcher.deliver_due(factory, senders, second_try + dt.timedelta(seconds=120),
                           settings=SETTINGS)
    stored = _message(factory, message_id)
    assert (stored.status, stored.attempts) == (MessageStatus.SENT, 3)
    assert len(smtp_server.handler.messages) == 1


@pytest.mark.req("E15")
def test_a_message_is_failed_after_max_attempts_with_its_last_error(factory) -> None:
    senders = dispatcher.Senders(email=_smtp(pg.free_port()))
    [message_id] = _enqueue(factory)
    now = NOW
    outcomes = []
    for _ in range(RETRY.max_attempts):
        report = dispatcher.deliver_due(factory, senders, now, settings=SETTINGS)
        outcomes.append([k for k, v in report.messages.items() if v])
        now = _message(factory, message_id).next_attempt_at or now
    assert outcomes == [["retrying"], ["retrying"], ["failed"]]
    stored = _message(factory, message_id)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == (
        MessageStatus.FAILED, 3, None)
    assert "ConnectionRefusedError" in stored.last_error
    with factory() as session:
        assert [m.id for m in outbox.list_messages(session, status=MessageStatus.FAILED)] == [
            message_id]


@pytest.mark.req("E14")
def test_an_sms_is_a_twilio_style_form_post_with_basic_auth(factory, http_recorder) -> None:
    contacts = notifications.Contacts("", (notifications.Phone("+34600123456", "mobile"),))
    [message_id] = _enqueue(factory, contacts=contacts, event=notifications.Event.CALLBACK_MISSED)
    report = dispatcher.deliver_due(factory, dispatcher.Senders(sms=_sms(http_recorder.url)),
                                    NOW, settings=SETTINGS)
    assert report.messages["sent"] == 1
    [request] = http_recorder.requests
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(
        b"AC123:tok-secret").decode()
    assert request.form() == {
        "To": "+34600123456", "From": "+15005550006",
        "Body": "Acme Energy: no pudimos hablar con usted. Elija una nueva hora: "
                "https://dialer.test/l/tok-9"}
    assert _message(factory, message_id).status is MessageStatus.SENT


@pytest.mark.req("E15")
def test_sms_provider_errors_retry_on_5xx_and_fail_at_once_on_4xx(factory, http_recorder) -> None:
    contacts = notifications.Contacts("", (notifications.Phone("+34600123456", "mobile"),))
    http_recorder.statuses.extend([503, 400])
    senders = dispatcher.Senders(sms=_sms(http_recorder.url))
    [message_id] = _enqueue(factory, contacts=contacts)
    dispatcher.deliver_due(factory, senders, NOW, settings=SETTINGS)
    stored = _message(factory, message_id)
    assert (stored.status, stored.last_error) == (
        MessageStatus.RETRYING, "SMS provider HTTP 503: scripted 503")
    dispatcher.deliver_due(factory, senders, stored.next_attempt_at, settings=SETTINGS)
    stored = _message(factory, message_id)
    assert (stored.status, stored.attempts, stored.last_error) == (
        MessageStatus.FAILED, 2, "SMS provider HTTP 400: scripted 400")


@pytest.mark.req("E15")
def test_a_channel_without_sender_waits_in_the_outbox(factory, smtp_server) -> None:
    contacts = notifications.Contacts("ana@example.com",
                                      (notifications.Phone("+34600123456", "mobile"),))
    email_id, sms_id = _enqueue(factory, contacts=contacts)
    report = dispatcher.deliver_due(factory, dispatcher.Senders(email=_smtp(smtp_server.port)),
                                    NOW, settings=SETTINGS)
    assert report.messages["sent"] == 1
    assert _message(factory, email_id).status is MessageStatus.SENT
    waiting = _message(factory, sms_id)
    assert (waiting.status, waiting.attempts) == (MessageStatus.QUEUED, 0)


def _endpoint(factory, campaign_id: int, url: str, events=()) -> int:
    with db.unit_of_work(factory) as session:
        return webhook_store.add_endpoint(session, campaign_id=campaign_id, url=url,
                                          secret="whsec_test", events=events, now=NOW).id


def _event(factory, campaign_id: int, event="callback.rescheduled") -> list[int]:
    with db.unit_of_work(factory) as session:
        return [d.id for d in webhook_store.enqueue_event(
            session, campaign_id=campaign_id, event=event,
            data={"callback_id": 12, "status": "scheduled"}, now=NOW)]


def _poster() -> webhooks.WebhookPoster:
    return webhooks.WebhookPoster(config.WebhookSettings(timeout_s=5))


@pytest.mark.req("E16")
def test_a_webhook_posts_the_exact_body_signed(factory, campaign_id, http_recorder) -> None:
    _endpoint(factory, campaign_id, http_recorder.url + "/hooks/dialer")
    [delivery_id] = _event(factory, campaign_id)
    report = dispatcher.deliver_due(factory, dispatcher.Senders(webhooks=_poster()), NOW,
                                    settings=SETTINGS)
    assert report.deliveries["sent"] == 1
    [request] = http_recorder.requests
    with factory() as session:
        [logged] = webhook_store.deliveries(session, campaign_id=campaign_id)
    assert request.path == "/hooks/dialer"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Dialer-Event"] == "callback.rescheduled"
    assert request.body.decode() == logged.body
    assert json.loads(request.body)["data"] == {"callback_id": 12, "status": "scheduled"}
    signature = request.headers["X-Dialer-Signature"]
    t = int(signature.split(",")[0].removeprefix("t="))
    assert abs(t - NOW.timestamp()) < 5
    assert webhook_signing.verify("whsec_test", signature, request.body, NOW)
    assert not webhook_signing.verify("whsec_test", signature, request.body,
                                      NOW + dt.timedelta(minutes=6))
    assert not webhook_signing.verify("another", signature, request.body, NOW)
    assert (logged.id, logged.status, logged.response_status, logged.attempts) == (
        delivery_id, MessageStatus.SENT, 200, 1)


@pytest.mark.req("E16")
def test_a_webhook_is_retried_on_500_then_delivered_and_logged(factory, campaign_id,
                                                               http_recorder) -> None:
    _endpoint(factory, campaign_id, http_recorder.url)
    _event(factory, campaign_id)
    http_recorder.statuses.extend([500])
    senders = dispatcher.Senders(webhooks=_poster())
    assert dispatcher.deliver_due(factory, senders, NOW,
                                  settings=SETTINGS).deliveries["retrying"] == 1
    with factory() as session:
        [logged] = webhook_store.deliveries(session)
    assert (logged.status, logged.response_status, logged.attempts) == (
        MessageStatus.RETRYING, 500, 1)
    assert logged.last_error.startswith(f"webhook {http_recorder.url}: HTTP 500")
    later = NOW + dt.timedelta(seconds=60)
    assert logged.next_attempt_at == later
    assert dispatcher.deliver_due(factory, senders, later,
                                  settings=SETTINGS).deliveries["sent"] == 1
    with factory() as session:
        [logged] = webhook_store.deliveries(session)
    assert (logged.status, logged.response_status, logged.attempts, logged.delivered_at) == (
        MessageStatus.SENT, 200, 2, later)
    first, second = http_recorder.requests
    assert first.body == second.body
    # Each attempt is signed when it is sent.
    assert webhook_signing.verify("whsec_test", second.headers["X-Dialer-Signature"],
                                  second.body, later)
    assert not webhook_signing.verify("whsec_test", first.headers["X-Dialer-Signature"],
                                      first.body, later + dt.timedelta(minutes=5))


@pytest.mark.req("E16")
def test_a_webhook_fails_after_max_attempts(factory, campaign_id, http_recorder) -> None:
    _endpoint(factory, campaign_id, http_recorder.url)
    _event(factory, campaign_id)
    http_recorder.statuses.extend([502] * RETRY.max_attempts)
    senders = dispatcher.Senders(webhooks=_poster())
    now = NOW
    for _ in range(RETRY.max_attempts):
        dispatcher.deliver_due(factory, senders, now, settings=SETTINGS)
        with factory() as session:
            [logged] = webhook_store.deliveries(session)
        now = logged.next_attempt_at or now
    assert (logged.status, logged.attempts, logged.response_status) == (
        MessageStatus.FAILED, 3, 502)
    assert len(http_recorder.requests) == 3


@pytest.mark.req("E16")
def test_an_unreachable_receiver_is_retried(factory, campaign_id) -> None:
    _endpoint(factory, campaign_id, f"http://127.0.0.1:{pg.free_port()}/h")
    _event(factory, campaign_id)
    dispatcher.deliver_due(factory, dispatcher.Senders(webhooks=_poster()), NOW,
                           settings=SETTINGS)
    with factory() as session:
        [logged] = webhook_store.deliveries(session)
    assert (logged.status, logged.response_status) == (MessageStatus.RETRYING, None)
    assert "ConnectError" in logged.last_error


@pytest.mark.req("E14")
def test_smtp_login_is_used_when_a_username_is_configured() -> None:
    server = SmtpServer(pg.free_port(), credentials=("dialer", "s3cret-pw")).start()
    try:
        def sender(password: str) -> smtp.SmtpSender:
            return smtp.SmtpSender(config.SmtpSettings(
                host="127.0.0.1", port=server.port, starttls=False, username="dialer",
                password=password, from_address="callbacks@acme.test", timeout_s=5))

        sender("s3cret-pw").send(to="ana@example.com", subject="Hi", body="b", language="en",
                                 now=NOW)
        assert [m["Subject"] for m in server.handler.messages] == ["Hi"]
        assert server.logins == [("dialer", True)]
        with pytest.raises(errors.DeliveryError) as caught:
            sender("wrong-pw").send(to="ana@example.com", subject="Hi", body="b",
                                    language="en", now=NOW)
        assert caught.value.is_permanent and "535" in str(caught.value)
        assert server.logins[-1] == ("dialer", False)
    finally:
        server.stop()


@pytest.mark.req("E15")
def test_a_permanent_smtp_refusal_fails_at_once_with_the_reason(factory, smtp_server) -> None:
    smtp_server.handler.unknown_recipients.add("gone@example.com")
    [message_id] = _enqueue(factory, contacts=notifications.Contacts("gone@example.com"))
    report = dispatcher.deliver_due(factory, dispatcher.Senders(email=_smtp(smtp_server.port)),
                                    NOW, settings=SETTINGS)
    assert report.messages["failed"] == 1
    stored = _message(factory, message_id)
    assert (stored.status, stored.attempts) == (MessageStatus.FAILED, 1)
    assert "550 5.1.1 no such user" in stored.last_error
