"""The workflows of the seeds, one behaviour per test (E5-E11, E13), with real e-mail delivery.

Notifications go through the outbox and a real dispatch pass to an aiosmtpd
server on 127.0.0.1; assertions read the received messages.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from campaigns import errors, models
from campaigns.enums import CallbackStatus as S
from campaigns.enums import Channel, MessageStatus
from dialer import callbacks_messages, callbacks_slots
from dialer import callbacks_portal as portal
from dialer import callbacks_service as service
from dialer.callbacks_config import CallbacksSettings
from tests.callbacks.conftest import CFG, NOW, deliver, ny

_LINK = re.compile(r"https://dialer\.test/c/(\S+)")


def _schedule(session, world, record=None, cfg=CFG, **kw):
    values = {"record_id": (record or world.record).id, "actor": "admin", "now": NOW,
                  "start_at": ny(24, 10), "end_at": ny(24, 11),
                  "how": callbacks_messages.Notify(channels=["email"])}
    values.update(kw)
    return service.schedule(session, cfg, **values)


def _token(message) -> str:
    return _LINK.search(message.get_content()).group(1)


EMAIL = callbacks_messages.Notify(channels=["email"])


@pytest.mark.req("E5")
def test_reschedule_tells_the_customer_with_cancel_and_reschedule_links(lite, lworld,
                                                                        smtp_server):
    callback = _schedule(lite, lworld)
    deliver(lite, smtp_server, NOW)
    service.reschedule(lite, CFG, callback.id, actor="bob", now=NOW, start_at=ny(25, 14),
                       end_at=ny(25, 15), how=callbacks_messages.Notify(channels=["email"],
                                                             message="Our agent is ill."))
    [received] = deliver(lite, smtp_server, NOW)
    assert received["To"] == "ana@example.com"
    assert received["X-Dialer-Event"] == "callback_rescheduled"
    body = received.get_content()
    assert "Wednesday 25 November 2026, 14:00–15:00 (America/New_York)" in received["Subject"]
    assert "from Tuesday 24 November 2026, 10:00–11:00" in body
    assert "Our agent is ill." in body
    assert "To pick another time: https://dialer.test/c/" in body
    assert "To cancel: https://dialer.test/c/" in body
    assert portal.resolve(lite, CFG, _token(received), NOW).id == callback.id
    assert (callback.status, callback.reschedule_count) == (S.SCHEDULED, 1)


@pytest.mark.req("E6")
def test_request_then_customer_suggests_then_agent_accepts(lite, lworld, smtp_server):
    callback = _schedule(lite, lworld)
    service.request_reschedule(lite, CFG, callback.id, actor="bob", now=NOW, how=EMAIL)
    messages = deliver(lite, smtp_server, NOW)
    requested = next(m for m in messages if m["X-Dialer-Event"] == "reschedule_requested")
    assert callback.status is S.REQUESTED
    token = _token(requested)
    portal.customer_suggest(lite, CFG, token, start_at=ny(26, 16), end_at=ny(26, 17), now=NOW,
                            message="after school")
    assert callback.status is S.REQUESTED
    assert (callback.suggested_start_at, callback.customer_answer) == (ny(26, 16), "after school")
    service.accept(lite, CFG, callback.id, actor="bob", now=NOW, how=EMAIL)
    [accepted] = deliver(lite, smtp_server, NOW)
    assert accepted["X-Dialer-Event"] == "suggestion_accepted"
    assert callback.status is S.SCHEDULED
    assert (callback.window_start_at, callback.window_end_at) == (ny(26, 16), ny(26, 17))
    assert callback.suggested_start_at is None


@pytest.mark.req("E6")
def test_a_suggestion_outside_legal_hours_is_refused_to_the_customer(lite, lworld):
    callback = _schedule(lite, lworld)
    service.request_reschedule(lite, CFG, callback.id, actor="bob", now=NOW, how=EMAIL)
    token = callbacks_messages.link_url(CFG, callback, NOW).rsplit("/", 1)[1]
    with pytest.raises(errors.InvalidInput) as caught:
        portal.customer_suggest(lite, CFG, token, start_at=ny(26, 22), end_at=ny(26, 23),
                                now=NOW)
    assert caught.value.error_id == "no-legal-minute"


@pytest.mark.req("E6")
def test_the_customer_picks_a_slot_after_a_request(lite, lworld):
    callback = _schedule(lite, lworld)
    service.request_reschedule(lite, CFG, callback.id, actor="bob", now=NOW, how=EMAIL)
    token = callbacks_messages.link_url(CFG, callback, NOW).rsplit("/", 1)[1]
    view = portal.customer_view(lite, CFG, token, NOW)
    first = view["slots"][0]
    assert first["start"] == "2026-11-23T10:00:00-05:00"
    portal.customer_pick(lite, CFG, token, ny(23, 10), NOW)
    assert callback.status is S.SCHEDULED
    assert (callback.window_start_at, callback.window_end_at) == (ny(23, 10), ny(23, 10, 30))
    assert callback.consent["channel"] == "web"


@pytest.mark.req("E7")
def test_thirty_one_slots_are_refused(lite, lworld):
    callback = _schedule(lite, lworld)
    slots = [(ny(24, 9) + dt.timedelta(minutes=10 * i),
              ny(24, 9) + dt.timedelta(minutes=10 * i + 10)) for i in range(31)]
    with pytest.raises(errors.InvalidInput) as caught:
        service.propose(lite, CFG, callback.id, actor="bob", now=NOW, slots=slots)
    assert caught.value.error_id == "too-many-slots"


@pytest.mark.req("E7")
def test_a_slot_outside_legal_hours_is_refused(lite, lworld):
    callback = _schedule(lite, lworld)
    with pytest.raises(errors.InvalidInput) as caught:
        service.propose(lite, CFG, callback.id, actor="bob", now=NOW,
                        slots=[(ny(24, 10), ny(24, 10, 30)), (ny(24, 21), ny(24, 21, 30))])
    assert caught.value.error_id == "slot-unavailable"


@pytest.mark.req("E7")
def test_proposed_slots_are_sent_and_the_customer_confirms_one(lite, lworld, smtp_server):
    callback = _schedule(lite, lworld)
    deliver(lite, smtp_server, NOW)
    service.propose(lite, CFG, callback.id, actor="bob", now=NOW, how=EMAIL,
                    slots=[(ny(25, 14), ny(25, 14, 30)), (ny(24, 10), ny(24, 10, 30))])
    [received] = deliver(lite, smtp_server, NOW)
    body = received.get_content()
    assert "Tuesday 24 November 2026, 10:00–10:30" in body
    assert "Wednesday 25 November 2026, 14:00–14:30" in body
    token = _token(received)
    view = portal.customer_view(lite, CFG, token, NOW)
    assert [s["start"] for s in view["slots"]] == ["2026-11-24T10:00:00-05:00",
                                                  "2026-11-25T14:00:00-05:00"]
    portal.customer_pick(lite, CFG, token, ny(25, 14), NOW)
    assert (callback.status, callback.window_start_at) == (S.SCHEDULED, ny(25, 14))
    assert callback.proposed_slots == []


@pytest.mark.req("E7")
def test_none_of_these_times_work_returns_to_requested_with_the_answer(lite, lworld):
    callback = _schedule(lite, lworld)
    service.propose(lite, CFG, callback.id, actor="bob", now=NOW, how=EMAIL,
                    slots=[(ny(24, 10), ny(24, 10, 30))])
    token = callbacks_messages.link_url(CFG, callback, NOW).rsplit("/", 1)[1]
    portal.customer_decline(lite, CFG, token, now=NOW, message="I work days")
    assert callback.status is S.REQUESTED
    assert callback.customer_answer == "none_of_these: I work days"
    assert service.show(lite, callback)["history"][-1]["action"] == "declined_slots"


@pytest.mark.req("E8")
def test_slot_capacity_is_agents_on_shift_times_per_agent_minus_booked(lite, lworld):
    campaign = lworld.campaign.id
    assert callbacks_slots.slot_capacity(lite, CFG, campaign, ny(24, 10), ny(24, 10, 30)) == 2
    assert callbacks_slots.slot_capacity(lite, CFG, campaign, ny(24, 14), ny(24, 14, 30)) == 3
    _schedule(lite, lworld, record=lworld.other, start_at=ny(24, 10), end_at=ny(24, 10, 30))
    assert callbacks_slots.slot_capacity(lite, CFG, campaign, ny(24, 10), ny(24, 10, 30)) == 1
    doubled = CallbacksSettings(callbacks_per_agent_slot=2, link_secret=CFG.link_secret)
    assert callbacks_slots.slot_capacity(lite, doubled, campaign, ny(24, 10), ny(24, 10, 30)) == 3


@pytest.mark.req("E8")
def test_offered_slots_follow_shifts_and_bookings(lite, lworld):
    taken = _schedule(lite, lworld, record=lworld.other, start_at=ny(24, 10),
                      end_at=ny(24, 10, 30))
    _schedule(lite, lworld, record=lworld.other, start_at=ny(24, 10), end_at=ny(24, 10, 30))
    callback = _schedule(lite, lworld)
    starts = {s.start_at for s in callbacks_slots.open_slots(lite, CFG, callback, NOW, days=2)}
    assert ny(24, 9, 30) in starts and ny(24, 16, 30) in starts
    assert ny(24, 10) not in starts          # two agents, two booked
    assert ny(24, 17) not in starts          # nobody on shift
    assert ny(24, 8, 30) not in starts       # legal, but before the shifts
    assert all(s.end_at - s.start_at == dt.timedelta(minutes=30)
               for s in callbacks_slots.open_slots(lite, CFG, callback, NOW, days=2))
    service.cancel(lite, CFG, taken.id, actor="admin", now=NOW, reason="duplicate")
    assert ny(24, 10) in {s.start_at for s in callbacks_slots.open_slots(lite, CFG, callback, NOW,
                                                                 days=2)}


@pytest.mark.req("E10")
def test_reassign_offers_only_agents_on_shift_and_free(lite, lworld):
    callback = _schedule(lite, lworld, owner="ana.agent")
    _schedule(lite, lworld, record=lworld.other, owner="bob", start_at=ny(24, 10),
              end_at=ny(24, 10, 30))
    assert [a.name for a in callbacks_slots.available_agents(lite, CFG, callback)] == ["ana.agent"]
    with pytest.raises(errors.InvalidInput) as caught:
        service.reassign(lite, CFG, callback.id, to="carl", actor="admin", now=NOW)
    assert caught.value.error_id == "agent-unavailable"
    assert "available: ana.agent" in caught.value.message
    later = _schedule(lite, lworld, owner="ana.agent", start_at=ny(24, 14), end_at=ny(24, 15))
    service.reassign(lite, CFG, later.id, to="carl", actor="admin", now=NOW)
    assert later.owner_id == lworld.carl.id
    assert service.show(lite, later)["history"][-1]["details"] == {
        "previous_owner": "ana.agent", "owner": "carl"}


@pytest.mark.req("E10")
def test_the_customer_is_told_of_a_reassignment_when_configured(lite, lworld, smtp_server):
    cfg = CallbacksSettings(link_secret=CFG.link_secret, public_base_url="https://dialer.test",
                            notify_on_reassign=True, reminder_offsets_s=[])
    callback = _schedule(lite, lworld, cfg=cfg, owner="ana.agent", start_at=ny(24, 14),
                         end_at=ny(24, 15))
    deliver(lite, smtp_server, NOW)
    service.reassign(lite, cfg, callback.id, to="carl", actor="admin", now=NOW, how=EMAIL)
    [received] = deliver(lite, smtp_server, NOW)
    assert received["X-Dialer-Event"] == "callback_reassigned"


@pytest.mark.req("E11")
def test_cancel_needs_a_listed_reason_and_sends_the_message(lite, lworld, smtp_server):
    cfg = CallbacksSettings(link_secret=CFG.link_secret, public_base_url="https://dialer.test",
                            cancel_reasons=["customer request", "duplicate"])
    callback = _schedule(lite, lworld, cfg=cfg)
    deliver(lite, smtp_server, NOW)
    with pytest.raises(errors.InvalidInput) as caught:
        service.cancel(lite, cfg, callback.id, actor="admin", now=NOW, reason="whim")
    assert caught.value.error_id == "unknown-cancel-reason"
    service.cancel(lite, cfg, callback.id, actor="admin", now=NOW, reason="duplicate",
                   how=callbacks_messages.Notify(channels=["email"], message="You are already booked."))
    [received] = deliver(lite, smtp_server, NOW)
    body = received.get_content()
    assert received["X-Dialer-Event"] == "callback_cancelled"
    assert "duplicate" in body and "You are already booked." in body
    assert (callback.status, callback.cancel_reason) == (S.CANCELLED, "duplicate")


@pytest.mark.req("E11")
def test_complete_records_time_taken_reason_and_outcome_then_reopen(lite, lworld):
    callback = _schedule(lite, lworld)
    service.complete(lite, CFG, callback.id, actor="bob", now=ny(24, 10, 20), outcome="renewed",
                     reason="price accepted", time_taken_s=420)
    assert (callback.status, callback.time_taken_s, callback.outcome,
            callback.completion_reason) == (S.COMPLETED, 420, "renewed", "price accepted")
    service.reopen(lite, CFG, callback.id, actor="admin", now=ny(24, 12), why="wrong outcome")
    assert callback.status is S.REOPENED
    assert service.show(lite, callback)["history"][-1]["from"] == "completed"


@pytest.mark.req("E11")
def test_no_show_ends_the_callback(lite, lworld):
    callback = _schedule(lite, lworld)
    service.no_show(lite, CFG, callback.id, actor="bob", now=ny(24, 10, 40), why="voicemail")
    assert callback.status is S.NO_SHOW
    with pytest.raises(errors.InvalidInput):
        service.request_reschedule(lite, CFG, callback.id, actor="bob", now=NOW)


@pytest.mark.req("E13")
def test_reminders_reach_the_customer_and_the_owner_at_their_offsets(lite, lworld,
                                                                     smtp_server):
    callback = _schedule(lite, lworld, owner="bob", start_at=ny(25, 10), end_at=ny(25, 11))
    deliver(lite, smtp_server, NOW)
    reminders = lite.scalars(select(models.OutboxMessage).where(
        models.OutboxMessage.callback_id == callback.id,
        models.OutboxMessage.event.like("callback_reminder%"),
        models.OutboxMessage.channel == Channel.EMAIL)).all()
    assert sorted((m.recipient, m.next_attempt_at) for m in reminders) == [
        ("ana@example.com", ny(24, 10)), ("ana@example.com", ny(25, 9)),
        ("bob@acme.test", ny(24, 10)), ("bob@acme.test", ny(25, 9))]
    assert deliver(lite, smtp_server, ny(24, 9, 59)) == []
    received = deliver(lite, smtp_server, ny(24, 10))
    assert sorted((m["To"], m["X-Dialer-Event"]) for m in received) == [
        ("ana@example.com", "callback_reminder"), ("bob@acme.test", "callback_reminder_agent")]


@pytest.mark.req("E13")
def test_rescheduling_withdraws_old_reminders_and_plans_new_ones(lite, lworld):
    callback = _schedule(lite, lworld, start_at=ny(25, 10), end_at=ny(25, 11))
    service.reschedule(lite, CFG, callback.id, actor="bob", now=NOW, start_at=ny(26, 10),
                       end_at=ny(26, 11), how=EMAIL)
    rows = lite.scalars(select(models.OutboxMessage).where(
        models.OutboxMessage.event == "callback_reminder",
        models.OutboxMessage.channel == Channel.EMAIL)).all()
    pending = sorted(m.next_attempt_at for m in rows if m.status is MessageStatus.QUEUED)
    withdrawn = [m for m in rows if m.status is MessageStatus.FAILED]
    assert pending == [ny(25, 10), ny(26, 9)]
    assert len(withdrawn) == 2 and withdrawn[0].last_error == "withdrawn: rescheduled"


@pytest.fixture
def sms_recorder():
    from tests.notify import servers

    recorder = servers.HttpRecorder().start()
    try:
        yield recorder
    finally:
        recorder.stop()


@pytest.mark.req("E6")
def test_the_request_goes_by_sms_to_the_mobile_with_a_working_link(lite, lworld, sms_recorder):
    from campaigns import db
    from dialer.notify import config as notify_config
    from dialer.notify import dispatcher, sms

    callback = _schedule(lite, lworld)
    service.request_reschedule(lite, CFG, callback.id, actor="bob", now=NOW,
                               how=callbacks_messages.Notify(channels=["sms"]))
    lite.commit()
    provider = sms.TwilioSmsProvider(notify_config.SmsSettings(
        url=sms_recorder.url, account_sid="AC1", auth_token="tok-real", from_number="+15005550006",
        timeout_s=5))
    try:
        dispatcher.deliver_due(db.make_sessionmaker(lite.get_bind()),
                               dispatcher.Senders(sms=provider), NOW,
                               settings=notify_config.NotificationSettings())
    finally:
        provider.close()
    [request] = sms_recorder.requests
    form = request.form()
    assert form["To"] == "+12125550199"
    token = _LINK.search(form["Body"]).group(1)
    assert portal.customer_view(lite, CFG, token, NOW)["callback"]["id"] == callback.id
