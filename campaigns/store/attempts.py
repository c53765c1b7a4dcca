"""Operator test calls: an audited attempt outside any campaign (``dialer call``).

A test attempt has no campaign and no record, ``is_test`` set and
``counts_as_attempt`` cleared, so no pacing estimate, report or retry rule ever
counts it; the audit trail says who placed it and how it ended.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from campaigns import models
from campaigns.enums import CallOutcome
from campaigns.store import audit


def open_test_attempt(session: Session, *, number: str, caller_id: str, backend: str,
                      actor: str, now: dt.datetime) -> models.Attempt:
    """Insert the attempt of a test call (flushed) and audit that it was placed."""
    attempt = models.Attempt(campaign_id=None, record_id=None, number_e164=number,
                             caller_id=caller_id, started_at=now, is_test=True,
                             counts_as_attempt=False)
    session.add(attempt)
    session.flush()
    audit.record(session, action="test_call_placed", entity="attempt", entity_id=attempt.id,
                 actor=actor, details={"number": number, "backend": backend}, at=now)
    return attempt


def close_test_attempt(session: Session, attempt_id: int, *, outcome: CallOutcome,
                       sip_status: int | None, q850_cause: int | None, cause: str,
                       answered_at: dt.datetime | None, ended_at: dt.datetime,
                       actor: str) -> models.Attempt:
    """Write how the test call ended, and audit it."""
    attempt = session.get(models.Attempt, attempt_id)
    assert attempt is not None, attempt_id
    attempt.outcome = outcome
    attempt.sip_status = sip_status
    attempt.q850_cause = q850_cause
    attempt.cause = cause[:64]
    attempt.answered_at = answered_at
    attempt.ended_at = ended_at
    session.flush()
    audit.record(session, action="test_call_ended", entity="attempt", entity_id=attempt.id,
                 actor=actor, details={"outcome": outcome.value, "sip_status": sip_status,
                                       "q850_cause": q850_cause, "cause": cause}, at=ended_at)
    return attempt
