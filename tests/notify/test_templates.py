"""Templates per event and language, and the channels a message goes out on (E14)."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import errors, notifications
from campaigns.enums import Channel
from campaigns.notifications import Contacts, Event, MessageContext, Phone

START = dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC)
CONTEXT = MessageContext(
    customer_name="Ana Ruiz", company_name="Acme Energy", campaign_name="Spring renewals",
    agent_name="Bob", tz="America/New_York", window_start_at=START,
    window_end_at=START + dt.timedelta(minutes=30),
    previous_window_start_at=START - dt.timedelta(days=1),
    previous_window_end_at=START - dt.timedelta(days=1) + dt.timedelta(minutes=30),
    slots=((START, START + dt.timedelta(minutes=30)),
           (START + dt.timedelta(hours=2), START + dt.timedelta(hours=2, minutes=30))),
    manage_url="https://dialer.test/l/tok123",
    message="Our agent is ill, sorry.", reason="agent unavailable")

pytestmark = pytest.mark.req("E14")


@pytest.mark.parametrize("language", notifications.LANGUAGES)
@pytest.mark.parametrize("event", list(Event))
@pytest.mark.parametrize("channel", list(Channel))
def test_every_event_renders_in_every_shipped_language(event: Event, language: str,
                                                       channel: Channel) -> None:
    message = notifications.render(event, language, CONTEXT, channel=channel)
    assert message.language == language
    assert "$" not in message.subject + message.body
    assert (message.subject != "") is (channel is Channel.EMAIL)
    assert message.body.strip()
    # a cancelled callback's link is revoked (E12); the agent has no self-service link.
    if event not in (Event.CALLBACK_REMINDER_AGENT, Event.CALLBACK_CANCELLED):
        assert "https://dialer.test/l/tok123" in message.body


@pytest.mark.parametrize("tag, expected", [("es", "es"), ("es-MX", "es"), ("ES_es", "es"),
                                           ("en-GB", "en"), ("fr", "en"), ("", "en"),
                                           (None, "en")])
def test_language_comes_from_the_record_with_english_fallback(tag: str | None,
                                                             expected: str) -> None:
    assert notifications.render(Event.CALLBACK_SCHEDULED, tag, CONTEXT).language == expected


def test_times_are_written_in_the_customer_zone_with_its_name() -> None:
    body = notifications.render(Event.CALLBACK_SCHEDULED, "en", CONTEXT).body
    assert "Tuesday 24 November 2026, 14:00–14:30 (America/New_York)" in body
    spanish = notifications.render(Event.CALLBACK_SCHEDULED, "es", CONTEXT).body
    assert "martes 24 de noviembre de 2026, 14:00–14:30 (America/New_York)" in spanish


def test_a_window_in_another_zone_reads_differently() -> None:
    tokyo = MessageContext(tz="Asia/Tokyo", window_start_at=START,
                           window_end_at=START + dt.timedelta(minutes=30))
    assert "Wednesday 25 November 2026, 04:00–04:30 (Asia/Tokyo)" in notifications.render(
        Event.CALLBACK_REMINDER, "en", tokyo).body


def test_rescheduled_names_old_and_new_times() -> None:
    body = notifications.render(Event.CALLBACK_RESCHEDULED, "en", CONTEXT).body
    assert "from Monday 23 November 2026, 14:00–14:30" in body
    assert "to Tuesday 24 November 2026, 14:00–14:30" in body


def test_reschedule_request_links_to_pick_a_time_and_to_cancel() -> None:
    context = MessageContext(customer_name="Ana", company_name="Acme",
                             reschedule_url="https://d.test/l/t?do=reschedule",
                             cancel_url="https://d.test/l/t?do=cancel")
    body = notifications.render(Event.RESCHEDULE_REQUESTED, "en", context).body
    assert "https://d.test/l/t?do=reschedule" in body
    assert "cancel it here: https://d.test/l/t?do=cancel" in body


def test_cancellation_carries_the_reason_and_the_message() -> None:
    body = notifications.render(Event.CALLBACK_CANCELLED, "es", CONTEXT).body
    assert "Motivo: agent unavailable" in body
    assert "Mensaje de Acme Energy:\nOur agent is ill, sorry." in body


def test_no_message_block_without_a_message() -> None:
    body = notifications.render(Event.CALLBACK_SCHEDULED, "en",
                                MessageContext(company_name="Acme")).body
    assert "Message from" not in body
    assert "Hello customer," in body


def test_proposed_slots_are_listed() -> None:
    body = notifications.render(Event.SLOTS_PROPOSED, "en", CONTEXT).body
    assert "- Tuesday 24 November 2026, 14:00–14:30 (America/New_York)\n" in body
    assert "- Tuesday 24 November 2026, 16:00–16:30 (America/New_York)\n" in body


def test_missed_says_we_missed_you() -> None:
    message = notifications.render(Event.CALLBACK_MISSED, "en", CONTEXT)
    assert message.subject.startswith("We missed you")
    assert "Please pick a new time" in message.body


def test_agent_reminder_speaks_to_the_agent() -> None:
    body = notifications.render(Event.CALLBACK_REMINDER_AGENT, "en", CONTEXT).body
    assert body.startswith("Hello Bob,")
    assert "callback to Ana Ruiz (Spring renewals)" in body


def test_an_unknown_event_is_refused() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        notifications.render("callback.exploded", "en", CONTEXT)
    assert caught.value.error_id == "unknown-event"


MOBILE = Phone("+12025550199", "mobile")
LANDLINE = Phone("+12025550100", "fixed_line")


@pytest.mark.parametrize("contacts, expected", [
    (Contacts("ana@example.com", (LANDLINE, MOBILE)),
     [("email", "ana@example.com"), ("sms", "+12025550199")]),
    (Contacts("ana@example.com"), [("email", "ana@example.com")]),
    (Contacts("", (LANDLINE,)), [("sms", "+12025550100")]),
    (Contacts(), []),
])
def test_channels_are_on_when_the_contact_is_known(contacts: Contacts,
                                                   expected: list[tuple[str, str]]) -> None:
    routes = notifications.channels_for(contacts)
    assert [(r.channel.value, r.recipient) for r in routes] == expected


def test_an_explicit_channel_list_overrides() -> None:
    contacts = Contacts("ana@example.com", (MOBILE,))
    assert [r.channel for r in notifications.channels_for(contacts, ["email"])] == [Channel.EMAIL]
    assert notifications.channels_for(contacts, []) == []


def test_a_hand_entered_address_wins_and_enables_the_channel() -> None:
    routes = notifications.channels_for(Contacts(), ["email", "sms"],
                                        addresses={"email": "new@example.org",
                                                   Channel.SMS: "+34600123456"})
    assert [(r.channel, r.recipient) for r in routes] == [
        (Channel.EMAIL, "new@example.org"), (Channel.SMS, "+34600123456")]


def test_asking_for_a_channel_without_contact_is_refused() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        notifications.channels_for(Contacts("ana@example.com"), ["sms"])
    assert caught.value.error_id == "no-contact-for-channel"


@pytest.mark.parametrize("addresses", [{"email": "not-an-address"}, {"sms": "2025550100"}])
def test_a_malformed_recipient_is_refused(addresses: dict[str, str]) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        notifications.channels_for(Contacts(), list(addresses), addresses=addresses)
    assert caught.value.error_id == "invalid-recipient"
