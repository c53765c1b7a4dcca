"""Audit events: an append-only trace of who changed what."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import models


def record(session: Session, *, action: str, entity: str, entity_id: object = "",
           actor: str = "system", details: dict[str, Any] | None = None,
           at: dt.datetime) -> models.AuditEvent:
    """Append one audit event (flushed, not committed)."""
    event = models.AuditEvent(at=at, actor=actor, action=action, entity=entity,
                              entity_id=str(entity_id), details=dict(details or {}))
    session.add(event)
    session.flush()
    return event


def events(session: Session, *, entity: str | None = None, entity_id: object | None = None,
           limit: int = 1000) -> list[models.AuditEvent]:
    """Audit events, oldest first, optionally for one entity."""
    query = select(models.AuditEvent).order_by(models.AuditEvent.id)
    if entity is not None:
        query = query.where(models.AuditEvent.entity == entity)
    if entity_id is not None:
        query = query.where(models.AuditEvent.entity_id == str(entity_id))
    return list(session.scalars(query.limit(limit)))
