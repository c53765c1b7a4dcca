"""Audit events: an append-only trace of who changed what, exported or logged in (F4).

Rows are only ever added.  The ORM refuses to change or delete one (a flush
that would, and any bulk ``update``/``delete`` statement on the table, raise
:class:`AppendOnly`); on PostgreSQL a trigger of the migrations refuses it too.
The one exception is retention (:func:`purge_before`), which deletes events
older than the configured period, and says so in a new event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, event, select, text
from sqlalchemy.orm import ORMExecuteState, Session

from campaigns import errors, models

#: ``session.info`` key that lets :func:`purge_before` delete (and nothing else).
_PURGE = "audit_purge"


class AppendOnly(errors.CampaignError):
    """Audit events are append-only: they are never changed or deleted."""

    error_id = "audit-append-only"


def record(session: Session, *, action: str, entity: str, entity_id: object = "",
           actor: str = "system", details: dict[str, Any] | None = None,
           at: dt.datetime) -> models.AuditEvent:
    """Append one audit event (flushed, not committed)."""
    event_row = models.AuditEvent(at=at, actor=actor, action=action, entity=entity,
                                  entity_id=str(entity_id), details=dict(details or {}))
    session.add(event_row)
    session.flush()
    return event_row


def events(session: Session, *, entity: str | None = None, entity_id: object | None = None,
           limit: int = 1000) -> list[models.AuditEvent]:
    """Audit events, oldest first, optionally for one entity."""
    query = select(models.AuditEvent).order_by(models.AuditEvent.id)
    if entity is not None:
        query = query.where(models.AuditEvent.entity == entity)
    if entity_id is not None:
        query = query.where(models.AuditEvent.entity_id == str(entity_id))
    return list(session.scalars(query.limit(limit)))


def search(session: Session, *, since: dt.datetime | None = None, actor: str | None = None,
           action: str | None = None, limit: int = 1000) -> list[models.AuditEvent]:
    """Events at or after ``since``, by ``actor``, whose action is ``action`` or starts
    with ``action.`` (``callback`` matches ``callback.cancelled``); oldest first."""
    ev = models.AuditEvent
    query = select(ev).order_by(ev.at, ev.id)
    if since is not None:
        query = query.where(ev.at >= since)
    if actor:
        query = query.where(ev.actor == actor)
    if action:
        query = query.where((ev.action == action) | ev.action.startswith(f"{action}."))
    return list(session.scalars(query.limit(limit)))


def as_dict(event_row: models.AuditEvent) -> dict[str, Any]:
    """An event's JSON shape."""
    at = event_row.at if event_row.at.tzinfo else event_row.at.replace(tzinfo=dt.UTC)
    return {"id": event_row.id, "at": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "actor": event_row.actor, "action": event_row.action, "entity": event_row.entity,
            "entity_id": event_row.entity_id, "details": event_row.details}


def purge_before(session: Session, cutoff: dt.datetime, *, is_dry_run: bool = False) -> int:
    """Delete events older than ``cutoff`` (retention only); how many (would be) deleted."""
    ev = models.AuditEvent
    if is_dry_run:
        return len(session.scalars(select(ev.id).where(ev.at < cutoff)).all())
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT set_config('dialer.audit_purge', 'on', true)"))
    session.info[_PURGE] = True
    try:
        result = session.execute(delete(ev).where(ev.at < cutoff)
                                 .execution_options(synchronize_session=False))
    finally:
        session.info.pop(_PURGE, None)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT set_config('dialer.audit_purge', 'off', true)"))
    return result.rowcount or 0


# --------------------------------------------------------------------------- append-only guard


def _refuse_change(mapper: Any, connection: Any, target: models.AuditEvent) -> None:
    raise AppendOnly(f"audit event {target.id} cannot be changed or deleted",
                     fields={"audit_event": str(target.id)})


def _refuse_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is None or getattr(table, "name", None) != models.AuditEvent.__tablename__:
        return
    if state.is_delete and state.session.info.get(_PURGE):
        return
    raise AppendOnly("audit events cannot be changed or deleted", fields={"audit_event": "*"})


event.listen(models.AuditEvent, "before_update", _refuse_change)
event.listen(models.AuditEvent, "before_delete", _refuse_change)
event.listen(Session, "do_orm_execute", _refuse_bulk)
