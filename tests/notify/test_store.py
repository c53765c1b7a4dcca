"""The outbox and the webhook log on SQLite and PostgreSQL: enqueue, claim, record, list."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from campaigns import db, errors, models, notifications
from campaigns.enums import Channel, MessageStatus
from campaigns.store import campaigns as campaign_store
from campaigns.store import outbox, webhooks
from tests.notify.conftest import NOW

LEASE = dt.timedelta(minutes=10)


def _email(session, **values) -> models.OutboxMessage:
    defaults = dict(channel=Channel.EMAIL, recipient="ana@example.com",
                    event="callback_scheduled", subject="s", body="b", now=NOW)
    return outbox.enqueue(session, **{**defaults, **values})


@pytest.mark.req("E15")
def test_an_enqueued_message_is_queued_and_due_now(session) -> None:
    message = _email(session)
    assert (message.status, message.attempts, message.next_attempt_at) == (
        MessageStatus.QUEUED, 0, NOW)
    claimed = outbox.claim_due(session, now=NOW, lease=LEASE, limit=10)
    assert [(c.id, c.attempt) for c in claimed] == [(message.id, 1)]


@pytest.mark.req("E15")
def test_a_claimed_message_is_not_claimed_again_before_the_lease_ends(session) -> None:
    _email(session)
    assert len(outbox.claim_due(session, now=NOW, lease=LEASE, limit=10)) == 1
    assert outbox.claim_due(session, now=NOW + LEASE - dt.timedelta(seconds=1), lease=LEASE,
                            limit=10) == []
    again = outbox.claim_due(session, now=NOW + LEASE, lease=LEASE, limit=10)
    assert [c.attempt for c in again] == [2]


@pytest.mark.req("E15")
def test_only_due_messages_of_the_asked_channels_are_claimed(session) -> None:
    later = _email(session, send_at=NOW + dt.timedelta(hours=1))
    sms = _email(session, channel=Channel.SMS, recipient="+12025550199")
    email = _email(session)
    claimed = outbox.claim_due(session, now=NOW, lease=LEASE, limit=10, channels=[Channel.SMS])
    assert [c.id for c in claimed] == [sms.id]
    claimed = outbox.claim_due(session, now=NOW, lease=LEASE, limit=10)
    assert [c.id for c in claimed] == [email.id]
    assert later.id not in [c.id for c in outbox.claim_due(session, now=NOW, lease=LEASE,
                                                           limit=10)]


@pytest.mark.req("E15")
def test_results_are_recorded_with_attempts_and_last_error(session) -> None:
    message = _email(session)
    [claim] = outbox.claim_due(session, now=NOW, lease=LEASE, limit=1)
    retry_at = NOW + dt.timedelta(minutes=1)
    assert outbox.mark_retrying(session, claim.id, attempt=claim.attempt, error="451 later",
                                next_attempt_at=retry_at)
    session.refresh(message)
    assert (message.status, message.attempts, message.last_error, message.next_attempt_at) == (
        MessageStatus.RETRYING, 1, "451 later", retry_at)
    assert outbox.claim_due(session, now=NOW, lease=LEASE, limit=1) == []
    [claim] = outbox.claim_due(session, now=retry_at, lease=LEASE, limit=1)
    assert outbox.mark_sent(session, claim.id, attempt=2, now=retry_at)
    session.refresh(message)
    assert (message.status, message.attempts, message.sent_at, message.last_error) == (
        MessageStatus.SENT, 2, retry_at, "")


@pytest.mark.req("E15")
def test_a_stale_claim_cannot_overwrite_a_newer_result(session) -> None:
    message = _email(session)
    outbox.claim_due(session, now=NOW, lease=LEASE, limit=1)
    outbox.claim_due(session, now=NOW + LEASE, lease=LEASE, limit=1)  # the lease ran out
    assert not outbox.mark_failed(session, message.id, attempt=1, error="late")
    assert outbox.mark_sent(session, message.id, attempt=2, now=NOW + LEASE)


@pytest.mark.req("E15")
def test_a_failed_message_can_be_requeued_and_nothing_else(session) -> None:
    message = _email(session)
    outbox.claim_due(session, now=NOW, lease=LEASE, limit=1)
    outbox.mark_failed(session, message.id, attempt=1, error="550 no such user")
    assert outbox.requeue(session, message.id, now=NOW).status is MessageStatus.QUEUED
    with pytest.raises(errors.InvalidInput):
        outbox.requeue(session, message.id, now=NOW)
    with pytest.raises(errors.NotFound):
        outbox.requeue(session, 999_999, now=NOW)


@pytest.mark.req("E15")
def test_messages_are_listed_newest_first_and_filtered(session) -> None:
    campaign = campaign_store.create(session, "c", now=NOW)
    first = _email(session, campaign_id=campaign.id)
    second = _email(session)
    outbox.claim_due(session, now=NOW, lease=LEASE, limit=1)
    outbox.mark_failed(session, first.id, attempt=1, error="x")
    assert [m.id for m in outbox.list_messages(session)] == [second.id, first.id]
    assert [m.id for m in outbox.list_messages(session, status=MessageStatus.FAILED)] == [first.id]
    assert [m.id for m in outbox.list_messages(session, campaign_id=campaign.id)] == [first.id]
    assert outbox.count_pending(session, now=NOW) == {Channel.EMAIL: 1}


@pytest.mark.req("E14")
def test_a_notification_is_rendered_once_per_route_in_the_record_language(session) -> None:
    routes = notifications.channels_for(notifications.Contacts(
        "ana@example.com", (notifications.Phone("+34600123456", "mobile"),)))
    context = notifications.MessageContext(customer_name="Ana", company_name="Acme",
                                           manage_url="https://d.test/l/x")
    queued = outbox.enqueue_notification(session, event=notifications.Event.CALLBACK_MISSED,
                                         routes=routes, language="es-ES", context=context,
                                         now=NOW)
    assert [(m.channel, m.recipient, m.language, m.event) for m in queued] == [
        (Channel.EMAIL, "ana@example.com", "es", "callback_missed"),
        (Channel.SMS, "+34600123456", "es", "callback_missed")]
    assert queued[0].subject.startswith("No pudimos hablar con usted")
    assert queued[1].subject == "" and "https://d.test/l/x" in queued[1].body


@pytest.mark.req("E16")
def test_endpoints_are_configured_per_campaign(session) -> None:
    one = campaign_store.create(session, "one", now=NOW)
    two = campaign_store.create(session, "two", now=NOW)
    a = webhooks.add_endpoint(session, campaign_id=one.id, url="https://a.test/h", secret="s1",
                              events=["callback.cancelled"], now=NOW)
    b = webhooks.add_endpoint(session, campaign_id=two.id, url="https://b.test/h", secret="s2",
                              now=NOW)
    assert [e.id for e in webhooks.endpoints(session, campaign_id=one.id)] == [a.id]
    webhooks.set_active(session, b.id, False)
    assert webhooks.endpoints(session, campaign_id=two.id, is_active=True) == []
    webhooks.remove_endpoint(session, a.id)
    with pytest.raises(errors.NotFound) as caught:
        webhooks.get_endpoint(session, a.id)
    assert caught.value.error_id == "no-such-webhook"


@pytest.mark.req("E16")
def test_an_event_fans_out_to_the_endpoints_that_want_it(session) -> None:
    campaign = campaign_store.create(session, "c", now=NOW)
    other = campaign_store.create(session, "other", now=NOW)
    every = webhooks.add_endpoint(session, campaign_id=campaign.id, url="https://a.test",
                                  secret="s", now=NOW)
    webhooks.add_endpoint(session, campaign_id=campaign.id, url="https://b.test", secret="s",
                          events=["callback.cancelled"], now=NOW)
    webhooks.add_endpoint(session, campaign_id=other.id, url="https://c.test", secret="s",
                          now=NOW)
    made = webhooks.enqueue_event(session, campaign_id=campaign.id, event="callback.rescheduled",
                                  data={"callback_id": 7, "window_start_at": NOW}, now=NOW,
                                  event_id="evt-1")
    assert [d.endpoint_id for d in made] == [every.id]
    assert json.loads(made[0].body) == {
        "id": "evt-1", "type": "callback.rescheduled", "created_at": "2026-11-21T15:00:00Z",
        "campaign_id": campaign.id, "data": {"callback_id": 7,
                                             "window_start_at": "2026-11-21T15:00:00Z"}}


@pytest.mark.req("E16")
def test_deliveries_are_claimed_recorded_and_logged(session) -> None:
    campaign = campaign_store.create(session, "c", now=NOW)
    endpoint = webhooks.add_endpoint(session, campaign_id=campaign.id, url="https://a.test",
                                     secret="whsec", now=NOW)
    [delivery] = webhooks.enqueue_event(session, campaign_id=campaign.id, event="callback.missed",
                                        data={}, now=NOW)
    [claim] = webhooks.claim_due(session, now=NOW, lease=LEASE, limit=5)
    assert (claim.url, claim.secret, claim.body, claim.attempt) == (
        "https://a.test", "whsec", delivery.body, 1)
    assert webhooks.mark_retrying(session, claim.id, attempt=1, error="HTTP 500",
                                  response_status=500, next_attempt_at=NOW + LEASE)
    [claim] = webhooks.claim_due(session, now=NOW + LEASE, lease=LEASE, limit=5)
    assert webhooks.mark_delivered(session, claim.id, attempt=2, response_status=204,
                                   now=NOW + LEASE)
    [logged] = webhooks.deliveries(session, campaign_id=campaign.id)
    session.refresh(logged)
    assert (logged.status, logged.attempts, logged.response_status, logged.delivered_at) == (
        MessageStatus.SENT, 2, 204, NOW + LEASE)
    assert webhooks.deliveries(session, endpoint_id=endpoint.id + 1) == []


@pytest.mark.req("E16")
def test_deliveries_of_an_inactive_endpoint_wait(session) -> None:
    campaign = campaign_store.create(session, "c", now=NOW)
    endpoint = webhooks.add_endpoint(session, campaign_id=campaign.id, url="https://a.test",
                                     secret="s", now=NOW)
    webhooks.enqueue_event(session, campaign_id=campaign.id, event="callback.missed", data={},
                           now=NOW)
    webhooks.set_active(session, endpoint.id, False)
    assert webhooks.claim_due(session, now=NOW, lease=LEASE, limit=5) == []
    assert [d.status for d in webhooks.deliveries(session)] == [MessageStatus.QUEUED]


@pytest.mark.postgres
@pytest.mark.req("E15")
def test_two_dispatchers_claim_disjoint_messages_on_postgresql(pg_url: str) -> None:
    engine = db.make_engine(pg_url)
    try:
        factory = db.make_sessionmaker(engine)
        with db.unit_of_work(factory) as session:
            ids = {_email(session).id for _ in range(6)}
        with factory() as first, factory() as second:
            mine = outbox.claim_due(first, now=NOW, lease=LEASE, limit=4)
            theirs = outbox.claim_due(second, now=NOW, lease=LEASE, limit=4)
            first.commit()
            second.commit()
        assert len(mine) == 4 and len(theirs) == 2
        assert {c.id for c in mine} | {c.id for c in theirs} == ids
    finally:
        engine.dispose()


@pytest.mark.req("E15")
def test_pending_reminders_of_a_callback_can_be_withdrawn_and_stay_listed(session) -> None:
    campaign = campaign_store.create(session, "c", now=NOW)
    record_list = models.CallingList(campaign_id=campaign.id, name="l", created_at=NOW)
    session.add(record_list)
    session.flush()
    record = models.Record(campaign_id=campaign.id, list_id=record_list.id, created_at=NOW,
                           updated_at=NOW)
    session.add(record)
    session.flush()
    callback = models.Callback(campaign_id=campaign.id, record_id=record.id,
                               number_e164="+12025550199", window_start_at=NOW,
                               window_end_at=NOW + LEASE, tz="UTC", created_at=NOW,
                               updated_at=NOW)
    session.add(callback)
    session.flush()
    reminder = _email(session, callback_id=callback.id, event="callback_reminder",
                      send_at=NOW + dt.timedelta(days=1))
    scheduled = _email(session, callback_id=callback.id, event="callback_scheduled")
    other = _email(session, event="callback_reminder")
    assert outbox.withdraw_pending(session, callback_id=callback.id, reason="rescheduled",
                                   events=["callback_reminder"]) == 1
    for message in (reminder, scheduled, other):
        session.refresh(message)
    assert (reminder.status, reminder.last_error) == (MessageStatus.FAILED,
                                                      "withdrawn: rescheduled")
    assert scheduled.status is other.status is MessageStatus.QUEUED
