"""The callback itself on SQLite and PostgreSQL: creation (E1), legal windows and clipping (E2),
statuses, history and notes (E3), JSON shape (E4)."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import callbacks, calling_hours, errors
from campaigns.enums import CallbackStatus as S
from campaigns.enums import RecordStatus
from dialer import callbacks_service as service
from tests.callbacks.conftest import CFG, NOW, TZ, ny


def _schedule(session, world, **kw):
    values = {"record_id": world.record.id, "actor": "admin", "now": NOW, "start_at": ny(24, 10),
                  "end_at": ny(24, 11)}
    values.update(kw)
    return service.schedule(session, CFG, **values)


@pytest.mark.req("E1")
def test_schedule_takes_a_new_number_an_owner_a_note_and_the_customer_zone(session, world):
    callback = _schedule(session, world, number="(646) 555-0142", owner="bob", note="after lunch")
    assert callback.number_e164 == "+16465550142"
    assert callback.phone_number_id is None
    assert callback.owner_id == world.bob.id
    assert callback.tz == TZ
    assert callback.notes == "after lunch"
    assert (callback.window_start_at, callback.window_end_at) == (ny(24, 10), ny(24, 11))
    assert world.record.status is RecordStatus.CALLBACK


@pytest.mark.req("E1")
def test_schedule_defaults_to_the_records_first_number_and_anyone(session, world):
    callback = _schedule(session, world)
    assert (callback.number_e164, callback.owner_id) == ("+12125550100", None)
    assert callback.phone_number_id == world.record.phones[0].id


@pytest.mark.req("E1")
def test_an_invalid_number_is_refused(session, world):
    with pytest.raises(errors.InvalidInput) as caught:
        _schedule(session, world, number="12345")
    assert caught.value.error_id == "invalid-number"


@pytest.mark.req("E2")
def test_a_window_with_no_legal_minute_is_refused_naming_the_earliest_legal_time(session, world):
    with pytest.raises(calling_hours.NoLegalMinute) as caught:
        _schedule(session, world, start_at=ny(24, 22), end_at=ny(24, 23))
    assert caught.value.error_id == "no-legal-minute"
    assert caught.value.earliest_legal_at == ny(25, 8)
    assert caught.value.fields["earliest_legal_at"] == "2026-11-25T13:00:00Z"


@pytest.mark.req("E2")
def test_a_window_partly_outside_legal_hours_is_clipped_and_says_so(session, world):
    callback = _schedule(session, world, start_at=ny(24, 19), end_at=ny(24, 23))
    assert (callback.window_start_at, callback.window_end_at) == (ny(24, 19), ny(24, 21))
    assert callback.is_clipped is True
    shown = service.show(session, callback)
    assert shown["is_clipped"] is True
    assert shown["history"][0]["details"]["is_clipped"] is True


@pytest.mark.req("E2")
def test_a_window_across_the_dst_change_is_clipped_in_standard_time(session, world):
    # Sunday 1 November 2026: clocks go back at 02:00; 08:00 EST is 13:00 UTC.
    now = dt.datetime(2026, 10, 31, 12, 0, tzinfo=dt.UTC)
    callback = _schedule(session, world, now=now, start_at=ny(1, 0, 30),
                         end_at=ny(1, 9, 0))
    assert callback.earliest_legal_at == dt.datetime(2026, 11, 1, 13, 0, tzinfo=dt.UTC)
    assert callback.window_start_at == callback.earliest_legal_at
    assert callback.window_end_at == dt.datetime(2026, 11, 1, 14, 0, tzinfo=dt.UTC)
    assert callback.window_end_at - ny(1, 0, 30) == dt.timedelta(hours=9, minutes=30)


@pytest.mark.req("E2")
def test_a_window_that_ended_already_is_refused(session, world):
    with pytest.raises(errors.InvalidInput) as caught:
        _schedule(session, world, start_at=NOW - dt.timedelta(hours=2),
                  end_at=NOW - dt.timedelta(hours=1))
    assert caught.value.error_id == "window-in-past"


@pytest.mark.req("E3")
def test_every_change_is_audited_in_order_with_who_from_to_and_why(session, world):
    callback = _schedule(session, world)
    service.reschedule(session, CFG, callback.id, actor="bob", now=NOW, start_at=ny(25, 10),
                       end_at=ny(25, 11), why="customer busy")
    service.cancel(session, CFG, callback.id, actor="admin", now=NOW, reason="duplicate")
    history = service.show(session, callback)["history"]
    assert [(h["action"], h["actor"], h["from"], h["to"]) for h in history] == [
        ("scheduled", "admin", None, "scheduled"),
        ("rescheduled", "bob", "scheduled", "scheduled"),
        ("cancelled", "admin", "scheduled", "cancelled")]
    assert history[1]["why"] == "customer busy"
    assert history[2]["why"] == "duplicate"


@pytest.mark.req("E3")
def test_an_ended_callback_cannot_be_completed(session, world):
    callback = _schedule(session, world)
    service.cancel(session, CFG, callback.id, actor="admin", now=NOW, reason="duplicate")
    with pytest.raises(callbacks.InvalidTransition) as caught:
        service.complete(session, CFG, callback.id, actor="bob", now=NOW, outcome="sold")
    assert caught.value.error_id == "invalid-transition"
    assert "cancelled" in caught.value.message


@pytest.mark.req("E3")
def test_internal_notes_are_added_and_edited(session, world):
    callback = _schedule(session, world)
    note = service.add_note(session, callback.id, body="prefers Spanish", actor="bob", now=NOW)
    service.edit_note(session, note.id, body="prefers Spanish, after 10", actor="ana.agent",
                      now=NOW + dt.timedelta(minutes=5))
    shown = service.show(session, callback)
    assert [(n["author"], n["body"]) for n in shown["internal_notes"]] == [
        ("bob", "prefers Spanish, after 10")]
    assert shown["history"][-1]["details"]["previous"] == "prefers Spanish"


@pytest.mark.parametrize("current,new,is_allowed", [
    (S.REQUESTED, S.SCHEDULED, True), (S.PROPOSED, S.REQUESTED, True),
    (S.SCHEDULED, S.IN_PROGRESS, True), (S.IN_PROGRESS, S.COMPLETED, True),
    (S.COMPLETED, S.REOPENED, True), (S.COMPLETED, S.SCHEDULED, False),
    (S.CANCELLED, S.COMPLETED, False), (S.NO_SHOW, S.MISSED, False),
    (S.SCHEDULED, S.REOPENED, False), (S.MISSED, S.SCHEDULED, True),
])
@pytest.mark.req("E3")
def test_transitions(current, new, is_allowed):
    if is_allowed:
        callbacks.check_transition(current, new)
    else:
        with pytest.raises(callbacks.InvalidTransition):
            callbacks.check_transition(current, new)


@pytest.mark.req("E4")
def test_json_shape_has_the_required_fields(session, world):
    callback = _schedule(session, world, owner="bob")
    shown = service.show(session, callback)
    required = {"id", "status", "record_id", "number", "window_start_at", "window_end_at", "tz",
                "owner", "is_clipped", "earliest_legal_at", "history"}
    assert required <= set(shown)
    assert shown["owner"] == "bob"
    assert shown["number"] == "+12125550100"
    assert shown["window_start_at"] == "2026-11-24T15:00:00Z"
    assert shown["earliest_legal_at"] == "2026-11-24T15:00:00Z"
    assert shown["status"] == "scheduled"


@pytest.mark.req("E1")
def test_a_wrap_up_callback_is_validated_clipped_then_audited(session, world):
    from campaigns import dispositions
    from campaigns.enums import CallOutcome
    from campaigns.store import outcomes
    from campaigns.store import rules as rule_store

    rule_store.replace(session, world.campaign,
                       dispositions.parse_rules(dispositions.default_rules_text()))
    phone = world.record.phones[1]
    attempt = outcomes.open_attempt(session, campaign_id=world.campaign.id,
                                    record_id=world.record.id, phone_number_id=phone.id,
                                    number_e164=phone.e164, caller_id="", started_at=NOW)
    outcomes.close_attempt(session, attempt, outcome=CallOutcome.ANSWERED, ended_at=NOW,
                           agent_id=world.bob.id)
    request = service.wrap_up_request(session, record_id=world.record.id, now=NOW,
                                      start_at=ny(24, 20), end_at=ny(24, 23),
                                      number=phone.e164, owner="bob", note="wants evening")
    assert (request.window_start_at, request.window_end_at) == (ny(24, 20), ny(24, 21))
    applied = outcomes.apply_disposition(session, attempt, "callback", now=NOW, callback=request)
    callback = service.adopt(session, CFG, applied.callback_id, actor="bob", now=NOW,
                             is_clipped=request.window_end_at != ny(24, 23))
    shown = service.show(session, callback)
    assert (shown["number"], shown["owner"], shown["notes"]) == ("+12125550199", "bob",
                                                                 "wants evening")
    assert [h["action"] for h in shown["history"]] == ["scheduled"]
    assert shown["earliest_legal_at"] == "2026-11-25T01:00:00Z"
    assert shown["is_clipped"] is True
