"""``/api/audit``: the append-only trace of who changed what (administrators only; F1)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from campaigns import models
from dialer.api import auth
from dialer.api.routes import _forms

router = APIRouter(tags=["audit"])


def parse_since(text: str) -> dt.datetime | None:
    """An ISO date or instant (a date is midnight UTC; an instant needs its offset)."""
    return _forms.parse_instant(text, "since")


@router.get("/api/audit")
def audit_events(session: auth.Db, user: auth.Admin, since: str = "", actor: str = "",
                 action: str = "", entity: str = "", entity_id: str = "",
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 before_id: int | None = None) -> dict[str, Any]:
    """Newest first; ``action`` matches a prefix (``campaign.`` for every campaign change);
    page with ``before_id`` = the last id seen."""
    query = select(models.AuditEvent).order_by(models.AuditEvent.id.desc())
    instant = parse_since(since)
    if instant is not None:
        query = query.where(models.AuditEvent.at >= instant)
    if actor:
        query = query.where(models.AuditEvent.actor == actor)
    if action:
        query = query.where(models.AuditEvent.action.startswith(action, autoescape=True))
    if entity:
        query = query.where(models.AuditEvent.entity == entity)
    if entity_id:
        query = query.where(models.AuditEvent.entity_id == entity_id)
    if before_id is not None:
        query = query.where(models.AuditEvent.id < before_id)
    rows = list(session.scalars(query.limit(limit)))
    return {"events": [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
                        "entity": e.entity, "entity_id": e.entity_id, "details": e.details}
                       for e in rows],
            "next_before_id": rows[-1].id if len(rows) == limit else None}
