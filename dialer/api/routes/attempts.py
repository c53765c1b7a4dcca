"""``/api/attempts``: dialled calls, newest first, by campaign and time (F1).

Staff see every campaign's; agents only their campaigns'.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from campaigns import models
from dialer.api import auth
from dialer.api.routes import _admin
from dialer.api.routes.audit import parse_since

router = APIRouter(tags=["records"])


def attempt_json(a: models.Attempt) -> dict[str, Any]:
    return {"id": a.id, "campaign_id": a.campaign_id, "record_id": a.record_id,
            "number": a.number_e164, "caller_id": a.caller_id, "started_at": a.started_at,
            "answered_at": a.answered_at, "connected_at": a.connected_at, "ended_at": a.ended_at,
            "outcome": a.outcome.value if a.outcome else None, "sip_status": a.sip_status,
            "q850_cause": a.q850_cause, "cause": a.cause, "is_abandoned": a.is_abandoned,
            "agent_id": a.agent_id, "disposition": a.disposition, "notes": a.notes,
            "counts_as_attempt": a.counts_as_attempt, "is_test": a.is_test}


@router.get("/api/attempts")
def list_attempts(session: auth.Db, user: auth.AnyUser, campaign_id: int | None = None,
                  since: str = "", record_id: int | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  before_id: int | None = None) -> dict[str, Any]:
    query = select(models.Attempt).order_by(models.Attempt.id.desc())
    if campaign_id is not None:
        _admin.campaign_for(session, user, campaign_id)
        query = query.where(models.Attempt.campaign_id == campaign_id)
    elif not user.is_staff:
        query = query.where(models.Attempt.campaign_id.in_(sorted(user.campaign_ids)))
    instant = parse_since(since)
    if instant is not None:
        query = query.where(models.Attempt.started_at >= instant)
    if record_id is not None:
        query = query.where(models.Attempt.record_id == record_id)
    if before_id is not None:
        query = query.where(models.Attempt.id < before_id)
    rows = list(session.scalars(query.limit(limit)))
    return {"attempts": [attempt_json(a) for a in rows],
            "next_before_id": rows[-1].id if len(rows) == limit else None}
