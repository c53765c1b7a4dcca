"""After a call: open and close attempts, and apply the campaign's disposition rules.

The rules (:mod:`campaigns.dispositions`) decide; this module writes what they
decided in the caller's transaction: a retry row, a callback row, a final
status, a DNC entry or the record's next number.  Retry and callback rows are
the truth about what comes next; ``Record.next_attempt_at`` is their cache,
written here in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns import dispositions, errors, models
from campaigns.enums import (
    CallbackStatus,
    CallOutcome,
    PhoneKind,
    RecordStatus,
    RetryStatus,
    RuleAction,
)
from campaigns.store import dnc as dnc_store
from campaigns.store import rules as rule_store


@dataclass(frozen=True)
class CallbackRequest:
    """What wrap-up says about a callback (the callbacks workflow validates it first)."""

    window_start_at: dt.datetime
    window_end_at: dt.datetime
    tz: str
    number_e164: str
    owner_id: int | None = None
    notes: str = ""


@dataclass(frozen=True)
class Applied:
    """What happened to the record."""

    action: RuleAction
    record_status: RecordStatus
    reason: str = ""
    retry_id: int | None = None
    callback_id: int | None = None
    next_attempt_at: dt.datetime | None = None


def open_attempt(session: Session, *, campaign_id: int | None, record_id: int | None,
                 phone_number_id: int | None, number_e164: str, caller_id: str,
                 started_at: dt.datetime, engine_id: str | None = None,
                 is_test: bool = False) -> models.Attempt:
    """Record that a call is being placed (before the backend is asked)."""
    attempt = models.Attempt(campaign_id=campaign_id, record_id=record_id,
                             phone_number_id=phone_number_id, number_e164=number_e164,
                             caller_id=caller_id, started_at=started_at, engine_id=engine_id,
                             is_test=is_test, counts_as_attempt=not is_test)
    session.add(attempt)
    session.flush()
    return attempt


def close_attempt(session: Session, attempt: models.Attempt, *, outcome: CallOutcome,
                  ended_at: dt.datetime, answered_at: dt.datetime | None = None,
                  connected_at: dt.datetime | None = None, sip_status: int | None = None,
                  q850_cause: int | None = None, cause: str = "", is_abandoned: bool = False,
                  agent_id: int | None = None) -> None:
    """Write how the call ended, as the backend reported it."""
    attempt.outcome = outcome
    attempt.ended_at = ended_at
    attempt.answered_at = answered_at
    attempt.connected_at = connected_at
    attempt.sip_status = sip_status
    attempt.q850_cause = q850_cause
    attempt.cause = cause
    attempt.is_abandoned = is_abandoned
    attempt.agent_id = agent_id
    if outcome is CallOutcome.CANCELLED:
        attempt.counts_as_attempt = False
    session.flush()


def apply_disposition(session: Session, attempt: models.Attempt, code: str, *, now: dt.datetime,
                      notes: str = "", callback: CallbackRequest | None = None,
                      max_attempts: int | None = None) -> Applied:
    """Set ``code`` on the attempt and do what the campaign's rule for it says.

    Raises
    ------
    campaigns.errors.InvalidInput
        For a code the campaign has no rule for, or a callback disposition without
        a callback request.
    """
    if attempt.record_id is None or attempt.campaign_id is None:
        raise errors.InvalidInput("a test call has no disposition", fields={"attempt": "test call"})
    rules = rule_store.for_campaign(session, attempt.campaign_id)
    rule = rules.get(code)
    if rule is None:
        raise errors.InvalidInput(f"disposition {code!r} is not one of the campaign's: "
                                  f"{', '.join(sorted(rules))}", fields={"disposition": "unknown"},
                                  error_id="unknown-disposition")
    record = session.get(models.Record, attempt.record_id, with_for_update=_lock(session))
    campaign = session.get(models.Campaign, attempt.campaign_id)
    attempt.disposition = code
    attempt.notes = notes or attempt.notes
    attempt.counts_as_attempt = attempt.counts_as_attempt and rule.counts_as_attempt
    session.flush()
    with_code = session.scalar(select(func.count()).select_from(models.Attempt).where(
        models.Attempt.record_id == record.id, models.Attempt.disposition == code))
    counted = session.scalar(select(func.count()).select_from(models.Attempt).where(
        models.Attempt.record_id == record.id, models.Attempt.counts_as_attempt.is_(True)))
    record.attempts_count = counted
    decision = dispositions.decide(rule, with_code=with_code, attempts=counted,
                                   max_attempts=max_attempts or campaign.max_attempts, now=now)
    _cancel_pending(session, record.id)
    applied = _act(session, record, attempt, decision, now=now, callback=callback)
    record.claimed_by = record.claimed_until = None
    record.updated_at = now
    session.flush()
    return applied


def _lock(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _cancel_pending(session: Session, record_id: int) -> None:
    session.execute(update(models.Retry).where(
        models.Retry.record_id == record_id,
        models.Retry.status.in_([RetryStatus.PENDING, RetryStatus.CLAIMED]))
        .values(status=RetryStatus.DONE).execution_options(synchronize_session=False))


def _act(session: Session, record: models.Record, attempt: models.Attempt,
         decision: dispositions.Decision, *, now: dt.datetime,
         callback: CallbackRequest | None) -> Applied:
    action = decision.action
    if action is RuleAction.RETRY:
        return _retry(session, record, attempt.phone_number_id, decision.earliest_at, now,
                      decision.reason)
    if action is RuleAction.NEXT_NUMBER:
        following = _next_number(session, record.id, attempt.phone_number_id)
        if following is None:
            return _final(record, RecordStatus.EXHAUSTED, RuleAction.NEXT_NUMBER, "no_more_numbers")
        return _retry(session, record, following, now, now, "next_number")
    if action is RuleAction.CALLBACK:
        if callback is None:
            raise errors.InvalidInput("a callback disposition needs a date, a window and a zone",
                                      fields={"callback": "missing"}, error_id="callback-missing")
        return _callback(session, record, attempt, callback, now)
    if action is RuleAction.DNC:
        dnc_store.add(session, [attempt.number_e164], campaign_id=None,
                      source="in_call_request", now=now)
        dnc_store.mark_records(session, [attempt.number_e164], campaign_id=None, now=now)
        return _final(record, RecordStatus.DNC, action, "do_not_call")
    if action is RuleAction.FINAL_SUCCESS:
        return _final(record, RecordStatus.DONE_SUCCESS, action, decision.reason)
    status = RecordStatus.EXHAUSTED if decision.reason == "max_attempts" else RecordStatus.DONE_FAILURE
    return _final(record, status, action, decision.reason)


def _retry(session: Session, record: models.Record, phone_number_id: int | None,
           earliest_at: dt.datetime | None, now: dt.datetime, reason: str) -> Applied:
    earliest_at = earliest_at or now
    retry = models.Retry(campaign_id=record.campaign_id, record_id=record.id,
                         phone_number_id=phone_number_id, earliest_at=earliest_at, reason=reason,
                         created_at=now)
    session.add(retry)
    session.flush()
    record.status = RecordStatus.RETRY
    record.next_attempt_at = earliest_at
    return Applied(RuleAction.RETRY if reason != "next_number" else RuleAction.NEXT_NUMBER,
                   RecordStatus.RETRY, reason, retry_id=retry.id, next_attempt_at=earliest_at)


def _callback(session: Session, record: models.Record, attempt: models.Attempt,
              request: CallbackRequest, now: dt.datetime) -> Applied:
    if request.window_end_at <= request.window_start_at:
        raise errors.InvalidInput("the callback window ends before it starts",
                                  fields={"window_end_at": "before window_start_at"})
    phone_id = session.scalar(select(models.PhoneNumber.id).where(
        models.PhoneNumber.record_id == record.id, models.PhoneNumber.e164 == request.number_e164))
    row = models.Callback(campaign_id=record.campaign_id, record_id=record.id,
                          phone_number_id=phone_id, number_e164=request.number_e164,
                          window_start_at=request.window_start_at,
                          window_end_at=request.window_end_at, tz=request.tz,
                          owner_id=request.owner_id, status=CallbackStatus.SCHEDULED,
                          notes=request.notes, created_by=str(attempt.agent_id or "system"),
                          created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    record.status = RecordStatus.CALLBACK
    record.next_attempt_at = request.window_start_at
    return Applied(RuleAction.CALLBACK, RecordStatus.CALLBACK, "callback", callback_id=row.id,
                   next_attempt_at=request.window_start_at)


def _final(record: models.Record, status: RecordStatus, action: RuleAction,
           reason: str) -> Applied:
    record.status = status
    record.next_attempt_at = None
    return Applied(action, status, reason)


def _next_number(session: Session, record_id: int, current_id: int | None) -> int | None:
    """The record's next valid number after ``current_id`` (primary, then alternates in order)."""
    rows = session.execute(select(models.PhoneNumber.id).where(
        models.PhoneNumber.record_id == record_id, models.PhoneNumber.is_valid.is_(True))
        .order_by(models.PhoneNumber.kind != PhoneKind.PRIMARY, models.PhoneNumber.position,
                  models.PhoneNumber.id)).scalars().all()
    if current_id in rows:
        index = rows.index(current_id)
        return rows[index + 1] if index + 1 < len(rows) else None
    return rows[0] if rows else None


def close_in_flight(session: Session, *, engine_id: str | None, now: dt.datetime,
                    cause: str = "engine_restart") -> int:
    """Close attempts an engine left open (it died): outcome failed, with ``cause``.

    ``engine_id`` None closes every open attempt (a single-node restart).
    """
    query = update(models.Attempt).where(models.Attempt.ended_at.is_(None),
                                         models.Attempt.is_test.is_(False))
    if engine_id is not None:
        query = query.where(models.Attempt.engine_id == engine_id)
    result = session.execute(query.values(outcome=CallOutcome.FAILED, ended_at=now, cause=cause)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0
