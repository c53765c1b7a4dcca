"""Queries only the running engine needs: recovery after a crash, idle checks, agent history.

Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from campaigns import errors, models
from campaigns.enums import (
    AgentState,
    CallbackStatus,
    CampaignStatus,
    RecordStatus,
    RetryStatus,
    Role,
)
from campaigns.store import outcomes

_OPEN_CALLBACKS = (CallbackStatus.SCHEDULED, CallbackStatus.DUE, CallbackStatus.IN_PROGRESS,
                   CallbackStatus.REOPENED)


@dataclass(frozen=True)
class Recovery:
    """What a restart found and repaired."""

    #: attempts left open by the dead engine, closed as failed (cause ``engine_restart``).
    closed_attempts: int
    #: claims given back (records, retries, callbacks claimed but never dialled).
    released_claims: int


def recover(session: Session, *, engine_id: str | None, now: dt.datetime,
            cause: str = "engine_restart") -> Recovery:
    """Close the attempts an engine left open and give its claims back (D15).

    Each closed attempt then gets the ``failed`` system disposition, so the
    campaign's rule for failed calls decides what comes next (a retry, or the
    cap) and the record is never lost.  ``engine_id`` None: every engine (a
    single-node restart).
    """
    open_query = select(models.Attempt.id).where(models.Attempt.ended_at.is_(None),
                                                 models.Attempt.is_test.is_(False))
    if engine_id is not None:
        open_query = open_query.where(models.Attempt.engine_id == engine_id)
    open_ids = list(session.scalars(open_query))
    closed = outcomes.close_in_flight(session, engine_id=engine_id, now=now, cause=cause)
    for attempt_id in open_ids:
        attempt = session.get(models.Attempt, attempt_id)
        if attempt is None or attempt.record_id is None:
            continue
        try:
            outcomes.apply_disposition(session, attempt, "failed", now=now)
        except errors.InvalidInput:  # the campaign has no rule for "failed": leave it claimable
            pass
    _dispose_orphans(session, engine_id=engine_id, now=now)
    return Recovery(closed, release_claims(session, engine_id=engine_id))


def _dispose_orphans(session: Session, *, engine_id: str | None, now: dt.datetime) -> None:
    """Closed attempts whose disposition died with the engine get the system's.

    A call that reached an agent gets ``answered`` ("answered, no disposition
    given"); the others the disposition of their outcome.
    """
    query = select(models.Attempt).where(models.Attempt.ended_at.is_not(None),
                                         models.Attempt.disposition.is_(None),
                                         models.Attempt.record_id.is_not(None),
                                         models.Attempt.is_test.is_(False))
    if engine_id is not None:
        query = query.where(models.Attempt.engine_id == engine_id)
    for attempt in session.scalars(query).all():
        if attempt.connected_at is not None:
            code = "answered"
        elif attempt.is_abandoned:
            code = "abandoned"
        else:
            code = str(getattr(attempt.outcome, "value", attempt.outcome or "failed"))
        try:
            outcomes.apply_disposition(session, attempt, code, now=now)
        except errors.InvalidInput:
            pass


def release_claims(session: Session, *, engine_id: str | None) -> int:
    """Give back every claim of ``engine_id`` (None: of every engine)."""
    def owned(column):
        return column.is_not(None) if engine_id is None else column == engine_id

    released = session.execute(
        update(models.Record).where(owned(models.Record.claimed_by))
        .values(claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)).rowcount or 0
    session.execute(update(models.Retry).where(models.Retry.status == RetryStatus.CLAIMED,
                                               owned(models.Retry.claimed_by))
                    .values(status=RetryStatus.PENDING, claimed_by=None, claimed_until=None)
                    .execution_options(synchronize_session=False))
    session.execute(update(models.Callback).where(
        models.Callback.status == CallbackStatus.IN_PROGRESS, owned(models.Callback.claimed_by))
        .values(status=CallbackStatus.DUE, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False))
    return released


def campaign_statuses(session: Session, names: Iterable[str] = ()) -> dict[int, tuple[str, CampaignStatus]]:
    """Campaign id -> (name, status), of the named campaigns or of all."""
    query = select(models.Campaign.id, models.Campaign.name, models.Campaign.status)
    names = list(names)
    if names:
        query = query.where(models.Campaign.name.in_(names))
    return {cid: (name, CampaignStatus(status)) for cid, name, status in session.execute(query)}


def remaining_work(session: Session, campaign_id: int) -> int:
    """Records still to dial, retries and callbacks still open, attempts still live."""
    new = session.scalar(select(func.count()).select_from(models.Record).where(
        models.Record.campaign_id == campaign_id, models.Record.status == RecordStatus.NEW))
    retries = session.scalar(select(func.count()).select_from(models.Retry).where(
        models.Retry.campaign_id == campaign_id,
        models.Retry.status.in_([RetryStatus.PENDING, RetryStatus.CLAIMED])))
    callbacks = session.scalar(select(func.count()).select_from(models.Callback).where(
        models.Callback.campaign_id == campaign_id, models.Callback.status.in_(_OPEN_CALLBACKS)))
    live = session.scalar(select(func.count()).select_from(models.Attempt).where(
        models.Attempt.campaign_id == campaign_id, models.Attempt.ended_at.is_(None)))
    undisposed = session.scalar(select(func.count()).select_from(models.Attempt).where(
        models.Attempt.campaign_id == campaign_id, models.Attempt.disposition.is_(None),
        models.Attempt.is_test.is_(False)))
    return int(new or 0) + int(retries or 0) + int(callbacks or 0) + int(live or 0) \
        + int(undisposed or 0)


def simulated_agents(session: Session, campaign_id: int, count: int,
                     now: dt.datetime) -> list[int]:
    """User ids of ``count`` simulated agents of a campaign (created on first use)."""
    names = [f"sim-agent-{campaign_id}-{i}" for i in range(1, count + 1)]
    found = dict(session.execute(select(models.User.name, models.User.id)
                                 .where(models.User.name.in_(names))).all())
    for name in names:
        if name not in found:
            user = models.User(name=name, role=Role.AGENT, full_name="simulated agent",
                               created_at=now)
            session.add(user)
            session.flush()
            found[name] = user.id
    return [found[name] for name in names]


def record_agent_changes(session: Session, campaign_id: int,
                         changes: Iterable[tuple[int, str, str, dt.datetime]]) -> int:
    """Keep agent state changes: (user id, state, reason, at) each."""
    rows = [models.AgentStateChange(user_id=user_id, campaign_id=campaign_id,
                                    state=AgentState(state), reason=reason[:64], at=at)
            for user_id, state, reason, at in changes]
    session.add_all(rows)
    session.flush()
    return len(rows)


def dnc_block(session: Session, record_id: int, now: dt.datetime) -> None:
    """A claimed record's number is on a do-not-call list: the record is final (DNC)."""
    session.execute(update(models.Record).where(models.Record.id == record_id)
                    .values(status=RecordStatus.DNC, next_attempt_at=None, claimed_by=None,
                            claimed_until=None, updated_at=now)
                    .execution_options(synchronize_session=False))


def stale_claims(session: Session, now: dt.datetime) -> int:
    """Retries still marked claimed after their lease ran out become pending again.

    (The hopper only claims pending retries; a dead engine's claimed retry would
    otherwise wait for that engine's restart.)
    """
    return session.execute(
        update(models.Retry).where(models.Retry.status == RetryStatus.CLAIMED,
                                   or_(models.Retry.claimed_until.is_(None),
                                       models.Retry.claimed_until < now))
        .values(status=RetryStatus.PENDING, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)).rowcount or 0
