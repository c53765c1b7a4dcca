"""``/api/records``: a campaign's customers, searched and paged, and one record's history —
numbers, attempts, retries, callbacks and their notes (F1).

Staff see every campaign; agents only the campaigns they are members of.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from campaigns import errors as campaign_errors
from campaigns import models
from campaigns.enums import RecordStatus
from dialer.api import auth, errors
from dialer.api.routes import _admin
from dialer.api.routes.attempts import attempt_json

router = APIRouter(tags=["records"])


def record_json(r: models.Record) -> dict[str, Any]:
    return {"id": r.id, "campaign_id": r.campaign_id, "list_id": r.list_id,
            "source_row": r.source_row, "first_name": r.first_name, "last_name": r.last_name,
            "email": r.email, "language": r.language, "state": r.raw_state, "zip": r.raw_zip,
            "tz": r.raw_tz, "status": r.status.value, "priority": r.priority,
            "attempts_count": r.attempts_count, "next_attempt_at": r.next_attempt_at,
            "fields": r.fields, "custom_fields": r.custom_fields,
            "numbers": [{"id": p.id, "e164": p.e164, "kind": p.kind.value, "position": p.position,
                         "line_type": p.line_type, "region": p.region, "zones": p.zones,
                         "is_valid": p.is_valid} for p in r.phones],
            "created_at": r.created_at, "updated_at": r.updated_at}


def _search(query: Any, q: str) -> Any:
    digits = "".join(ch for ch in q if ch.isdigit())
    if digits and len(digits) >= 3:
        has_number = select(models.PhoneNumber.record_id).where(
            models.PhoneNumber.e164.contains(digits))
        return query.where(models.Record.id.in_(has_number))
    pattern = f"%{q.strip().lower()}%"
    return query.where(or_(func.lower(models.Record.first_name).like(pattern),
                           func.lower(models.Record.last_name).like(pattern),
                           func.lower(models.Record.email).like(pattern)))


@router.get("/api/records")
def list_records(session: auth.Db, user: auth.AnyUser, campaign_id: int | None = None,
                 status: str = "", q: str = "", list_id: int | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """Records by campaign, status, list and a search (name, e-mail, or 3+ digits of a number)."""
    query = select(models.Record)
    if campaign_id is not None:
        _admin.campaign_for(session, user, campaign_id)
        query = query.where(models.Record.campaign_id == campaign_id)
    elif not user.is_staff:
        query = query.where(models.Record.campaign_id.in_(sorted(user.campaign_ids)))
    if status:
        try:
            query = query.where(models.Record.status == RecordStatus(status))
        except ValueError:
            allowed = ", ".join(s.value for s in RecordStatus)
            raise campaign_errors.InvalidInput(f"status {status!r} is not one of {allowed}",
                                               fields={"status": f"one of {allowed}"}) from None
    if list_id is not None:
        query = query.where(models.Record.list_id == list_id)
    if q.strip():
        query = _search(query, q)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.options(selectinload(models.Record.phones))
                           .order_by(models.Record.id).limit(limit).offset(offset))
    return {"total": total, "limit": limit, "offset": offset,
            "records": [record_json(r) for r in rows]}


def _history(session: Session, record_id: int) -> dict[str, Any]:
    attempts = session.scalars(select(models.Attempt).where(models.Attempt.record_id == record_id)
                               .order_by(models.Attempt.id))
    retries = session.scalars(select(models.Retry).where(models.Retry.record_id == record_id)
                              .order_by(models.Retry.id))
    callbacks = list(session.scalars(select(models.Callback)
                                     .where(models.Callback.record_id == record_id)
                                     .order_by(models.Callback.id)))
    notes = session.scalars(select(models.CallbackNote).where(
        models.CallbackNote.callback_id.in_([c.id for c in callbacks]))
        .order_by(models.CallbackNote.id)) if callbacks else []
    by_callback: dict[int, list[dict[str, Any]]] = {}
    for note in notes:
        by_callback.setdefault(note.callback_id, []).append(
            {"id": note.id, "author": note.author, "body": note.body,
             "created_at": note.created_at, "updated_at": note.updated_at})
    return {
        "attempts": [attempt_json(a) for a in attempts],
        "retries": [{"id": r.id, "earliest_at": r.earliest_at, "window_end_at": r.window_end_at,
                     "reason": r.reason, "status": r.status.value, "created_at": r.created_at}
                    for r in retries],
        "callbacks": [{"id": c.id, "number": c.number_e164, "window_start_at": c.window_start_at,
                       "window_end_at": c.window_end_at, "tz": c.tz, "owner_id": c.owner_id,
                       "status": c.status.value, "notes": c.notes, "created_by": c.created_by,
                       "outcome": c.outcome, "internal_notes": by_callback.get(c.id, [])}
                      for c in callbacks]}


@router.get("/api/records/{record_id}")
def get_record(record_id: int, session: auth.Db, user: auth.AnyUser) -> dict[str, Any]:
    """One record with its numbers, attempts, retries, callbacks and notes."""
    record = session.get(models.Record, record_id)
    if record is None:
        raise errors.NotFound("record", record_id)
    user.check_campaign(record.campaign_id)
    return {**record_json(record), **_history(session, record.id)}
