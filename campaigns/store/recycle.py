"""Recycling a list: give its unfinished records another pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from campaigns import models
from campaigns.enums import RecordStatus, RetryStatus

#: records that may get another pass: waiting for a retry, or out of attempts in this pass.
RECYCLABLE = (RecordStatus.RETRY, RecordStatus.EXHAUSTED)


def requeue(session: Session, calling_list: models.CallingList, outcomes: Iterable[str], *,
            now: dt.datetime) -> int:
    """Make the list's unfinished records whose last call ended in ``outcomes`` new again.

    ``outcomes`` are telephony outcomes or disposition codes (``busy``, ``no_answer``,
    ``machine``...).  The records' attempt counters restart for the new pass (their
    attempt history stays, and frequency limits still count it); pending retries are
    closed.  Returns the number of records re-queued.
    """
    wanted = sorted(set(outcomes))
    last = (select(models.Attempt.record_id, func.max(models.Attempt.id).label("id"))
            .where(models.Attempt.record_id.in_(
                select(models.Record.id).where(models.Record.list_id == calling_list.id)))
            .group_by(models.Attempt.record_id).subquery())
    chosen = select(models.Attempt.record_id).join(last, last.c.id == models.Attempt.id).where(
        or_(models.Attempt.outcome.in_(wanted), models.Attempt.disposition.in_(wanted)))
    ids = list(session.scalars(select(models.Record.id).where(
        models.Record.list_id == calling_list.id, models.Record.status.in_(RECYCLABLE),
        models.Record.id.in_(chosen))))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        session.execute(update(models.Retry).where(
            models.Retry.record_id.in_(chunk),
            models.Retry.status.in_([RetryStatus.PENDING, RetryStatus.CLAIMED]))
            .values(status=RetryStatus.CANCELLED).execution_options(synchronize_session=False))
        session.execute(update(models.Record).where(models.Record.id.in_(chunk)).values(
            status=RecordStatus.NEW, attempts_count=0, next_attempt_at=None, claimed_by=None,
            claimed_until=None, updated_at=now).execution_options(synchronize_session=False))
    calling_list.passes += 1
    session.flush()
    return len(ids)
