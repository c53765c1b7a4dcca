"""Applying disposition rules after a call: retries, next number, callbacks, final, DNC, caps."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from campaigns import dispositions, errors, models
from campaigns.enums import (
    CallbackStatus,
    CallOutcome,
    PhoneKind,
    RecordStatus,
    RetryStatus,
    RuleAction,
)
from campaigns.store import outcomes
from campaigns.store import rules as rule_store

NOW = dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def record(session) -> models.Record:
    campaign = models.Campaign(name="c", max_attempts=4, created_at=NOW, updated_at=NOW)
    session.add(campaign)
    session.flush()
    rule_store.replace(session, campaign, dispositions.parse_rules(dispositions.default_rules_text()))
    calling_list = models.CallingList(campaign_id=campaign.id, name="l", created_at=NOW)
    session.add(calling_list)
    session.flush()
    rec = models.Record(campaign_id=campaign.id, list_id=calling_list.id, created_at=NOW,
                        updated_at=NOW)
    session.add(rec)
    session.flush()
    for position, (number, kind) in enumerate([("+13125550100", PhoneKind.PRIMARY),
                                               ("+13125550101", PhoneKind.ALTERNATE)]):
        session.add(models.PhoneNumber(record_id=rec.id, campaign_id=campaign.id, e164=number,
                                       kind=kind, position=position, created_at=NOW))
    session.flush()
    session.refresh(rec)
    return rec


def _call(session, record, outcome=CallOutcome.BUSY, *, phone_index=0, at=NOW):
    phone = record.phones[phone_index]
    attempt = outcomes.open_attempt(session, campaign_id=record.campaign_id, record_id=record.id,
                                    phone_number_id=phone.id, number_e164=phone.e164,
                                    caller_id="+13125559999", started_at=at)
    outcomes.close_attempt(session, attempt, outcome=outcome, ended_at=at + dt.timedelta(seconds=20))
    return attempt


@pytest.mark.req("D5")
def test_busy_retries_with_backoff_and_writes_the_cache(session, record) -> None:
    first = outcomes.apply_disposition(session, _call(session, record), "busy", now=NOW)
    assert first.action is RuleAction.RETRY
    assert first.next_attempt_at == NOW + dt.timedelta(seconds=600)
    assert record.status is RecordStatus.RETRY and record.next_attempt_at == first.next_attempt_at
    second = outcomes.apply_disposition(session, _call(session, record), "busy", now=NOW)
    assert second.next_attempt_at == NOW + dt.timedelta(seconds=1200)
    pending = session.scalars(select(models.Retry).where(models.Retry.status == RetryStatus.PENDING)).all()
    assert [r.id for r in pending] == [second.retry_id]


@pytest.mark.req("D5")
def test_record_attempt_cap_makes_it_exhausted(session, record) -> None:
    for _ in range(3):
        outcomes.apply_disposition(session, _call(session, record, CallOutcome.NO_ANSWER), "no_answer", now=NOW)
    last = outcomes.apply_disposition(session, _call(session, record, CallOutcome.NO_ANSWER), "no_answer", now=NOW)
    assert last.record_status is RecordStatus.EXHAUSTED and last.reason == "max_attempts"
    assert record.attempts_count == 4


@pytest.mark.req("D5")
def test_per_disposition_cap_applies_on_cap(session, record) -> None:
    applied = outcomes.apply_disposition(session, _call(session, record, CallOutcome.ANSWERED),
                                         "abandoned", now=NOW)
    assert applied.record_status is RecordStatus.DONE_FAILURE and applied.reason == "cap_reached"


@pytest.mark.req("D5")
def test_cancelled_does_not_count(session, record) -> None:
    outcomes.apply_disposition(session, _call(session, record, CallOutcome.CANCELLED), "cancelled", now=NOW)
    assert record.attempts_count == 0


@pytest.mark.req("D5")
def test_wrong_number_moves_to_the_next_number_then_exhausts(session, record) -> None:
    first = outcomes.apply_disposition(session, _call(session, record, CallOutcome.ANSWERED),
                                       "wrong_number", now=NOW)
    retry = session.get(models.Retry, first.retry_id)
    assert retry.phone_number_id == record.phones[1].id and retry.earliest_at == NOW
    second = outcomes.apply_disposition(session, _call(session, record, CallOutcome.ANSWERED, phone_index=1),
                                        "wrong_number", now=NOW)
    assert second.record_status is RecordStatus.EXHAUSTED


@pytest.mark.req("D5")
def test_callback_disposition_creates_the_callback_row(session, record) -> None:
    request = outcomes.CallbackRequest(window_start_at=NOW + dt.timedelta(days=1),
                                       window_end_at=NOW + dt.timedelta(days=1, hours=2),
                                       tz="America/Chicago", number_e164="+13125550101")
    applied = outcomes.apply_disposition(session, _call(session, record, CallOutcome.ANSWERED),
                                         "callback", now=NOW, callback=request, notes="after 5pm")
    callback = session.get(models.Callback, applied.callback_id)
    assert callback.status is CallbackStatus.SCHEDULED
    assert callback.number_e164 == "+13125550101" and callback.phone_number_id == record.phones[1].id
    assert record.status is RecordStatus.CALLBACK and record.next_attempt_at == request.window_start_at
    with pytest.raises(errors.InvalidInput):
        outcomes.apply_disposition(session, _call(session, record, CallOutcome.ANSWERED), "callback", now=NOW)


@pytest.mark.req("D5")
@pytest.mark.req("B9")
def test_do_not_call_is_honoured_at_once(session, record) -> None:
    attempt = _call(session, record, CallOutcome.ANSWERED)
    applied = outcomes.apply_disposition(session, attempt, "do_not_call", now=NOW)
    assert applied.record_status is RecordStatus.DNC
    entry = session.scalars(select(models.DncEntry)).one()
    assert entry.e164 == attempt.number_e164 and entry.scope == "global"


@pytest.mark.req("D5")
def test_final_dispositions_and_unknown_codes(session, record) -> None:
    applied = outcomes.apply_disposition(session, _call(session, record, CallOutcome.ANSWERED), "sale", now=NOW)
    assert applied.record_status is RecordStatus.DONE_SUCCESS
    with pytest.raises(errors.InvalidInput, match="not one of the campaign's"):
        outcomes.apply_disposition(session, _call(session, record), "teleported", now=NOW)


@pytest.mark.req("D15")
def test_close_in_flight_fails_open_attempts_of_a_dead_engine(session, record) -> None:
    attempt = outcomes.open_attempt(session, campaign_id=record.campaign_id, record_id=record.id,
                                    phone_number_id=None, number_e164="+13125550100", caller_id="",
                                    started_at=NOW, engine_id="dead")
    other = outcomes.open_attempt(session, campaign_id=record.campaign_id, record_id=record.id,
                                  phone_number_id=None, number_e164="+13125550100", caller_id="",
                                  started_at=NOW, engine_id="alive")
    assert outcomes.close_in_flight(session, engine_id="dead", now=NOW) == 1
    session.refresh(attempt)
    session.refresh(other)
    assert attempt.outcome is CallOutcome.FAILED and attempt.cause == "engine_restart"
    assert other.ended_at is None
