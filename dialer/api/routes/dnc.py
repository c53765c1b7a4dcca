"""``/api/dnc``: search, add, remove and import do-not-call numbers, global or per campaign (F7).

The same store calls and audits as ``dialer dnc ...``: listing a number marks the open
records that hold it ``dnc`` at once; removing one restores never-dialled records; importing a
national registry (``us-national``, ``ca-dncl``, ``uk-tps``) is noted as a registry scrub.
Administrators and supervisors manage the lists; agents have no access.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import phonenumbers
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from campaigns import dnc_files, lists, models, phones
from campaigns import errors as campaign_errors
from campaigns.store import audit
from campaigns.store import dnc as dnc_store
from dialer.api import auth
from dialer.api.routes import _admin, _forms, _uploads

router = APIRouter(tags=["dnc"])
REGISTRY_REGIONS = dnc_files.REGISTRY_REGIONS


class DncIn(BaseModel):
    numbers: list[str] = Field(min_length=1, max_length=10_000)
    #: a campaign id or name; absent: the global list.
    campaign: int | str | None = None
    source: str = Field("manual", min_length=1, max_length=64)
    #: ``YYYY-MM-DD`` (midnight UTC) or an ISO instant with its offset.
    expires: str | None = None
    region: str | None = None


def _region(value: str | None, default: str) -> str:
    region = (value or default).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise campaign_errors.InvalidInput(f"region {value!r} is unknown",
                                           fields={"region": "unknown region"})
    return region


def _e164s(values: list[str], region: str) -> list[str]:
    found = []
    for value in values:
        number = phones.normalise(value, region)
        if number is None:
            raise campaign_errors.InvalidInput(f"{value!r} is not a phone number",
                                               fields={"numbers": f"{value!r} is not a number"})
        found.append(number.e164)
    return found


def _campaign_id(session: Session, ref: int | str | None) -> int | None:
    if ref is None or ref == "" or ref == "global":
        return None
    return _admin.campaign_ref(session, ref).id


def entry_json(entry: models.DncEntry, now: dt.datetime) -> dict[str, Any]:
    return {"id": entry.id, "e164": entry.e164, "scope": entry.scope,
            "campaign_id": entry.campaign_id, "source": entry.source,
            "added_at": entry.added_at, "expires_at": entry.expires_at,
            "is_active": entry.expires_at is None or entry.expires_at > now}


@router.get("/api/dnc")
def search_dnc(session: auth.Db, user: auth.Staff, ctx: auth.Ctx, number: str = "",
               campaign: str = "", limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """Entries whose number contains ``number``'s digits, in one scope (``campaign``: an id,
    a name or ``global``) or in all."""
    query = select(models.DncEntry)
    if campaign:
        query = query.where(models.DncEntry.scope
                            == dnc_store.scope_for(_campaign_id(session, campaign)))
    digits = "".join(ch for ch in number if ch.isdigit())
    if number and not digits:
        raise campaign_errors.InvalidInput("search by the number's digits",
                                           fields={"number": "no digits"})
    if digits:
        parsed = phones.normalise(number, ctx.settings.lists.default_region)
        exact = parsed.e164 if parsed is not None and parsed.is_valid else None
        query = query.where(models.DncEntry.e164 == exact if exact
                            else models.DncEntry.e164.contains(digits))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(models.DncEntry.scope, models.DncEntry.e164)
                           .limit(limit).offset(offset))
    now = ctx.now()
    return {"total": total, "limit": limit, "offset": offset,
            "entries": [entry_json(e, now) for e in rows]}


@router.post("/api/dnc", status_code=201)
def add_dnc(body: DncIn, session: auth.Db, user: auth.Staff, ctx: auth.Ctx) -> dict[str, Any]:
    e164s = _e164s(body.numbers, _region(body.region, ctx.settings.lists.default_region))
    expires_at, now = _forms.parse_instant(body.expires, "expires"), ctx.now()
    campaign_id = _campaign_id(session, body.campaign)
    scope = dnc_store.scope_for(campaign_id)
    added = dnc_store.add(session, e164s, campaign_id=campaign_id, source=body.source, now=now,
                          expires_at=expires_at)
    marked = dnc_store.mark_records(session, added, campaign_id=campaign_id, now=now)
    for e164 in added:
        audit.record(session, action="dnc.add", entity="dnc_entry", entity_id=e164,
                     actor=user.actor, at=now,
                     details={"scope": scope, "source": body.source,
                              "expires_at": expires_at.isoformat() if expires_at else None})
    return {"scope": scope, "added": added, "already_listed": sorted(set(e164s) - set(added)),
            "records_marked": marked}


@router.delete("/api/dnc")
def remove_dnc(session: auth.Db, user: auth.Staff, ctx: auth.Ctx,
               number: Annotated[list[str], Query(min_length=1)],
               campaign: str = "", region: str = "") -> dict[str, Any]:
    """``?number=...`` (repeatable) ``&campaign=`` (default: the global list)."""
    e164s = _e164s(number, _region(region, ctx.settings.lists.default_region))
    campaign_id, now = _campaign_id(session, campaign), ctx.now()
    scope = dnc_store.scope_for(campaign_id)
    removed = dnc_store.remove(session, e164s, campaign_id=campaign_id)
    restored = dnc_store.restore_records(session, removed, campaign_id=campaign_id, now=now)
    for e164 in removed:
        audit.record(session, action="dnc.remove", entity="dnc_entry", entity_id=e164,
                     actor=user.actor, at=now, details={"scope": scope})
    return {"scope": scope, "removed": removed, "not_listed": sorted(set(e164s) - set(removed)),
            "records_restored": restored}


def _import(ctx: Any, user: auth.Principal, path: Path, fields: dict[str, str],
            filename: str) -> dict[str, Any]:
    source = (fields.get("source") or "import").strip()[:64]
    region = _region(fields.get("region") or REGISTRY_REGIONS.get(source),
                     ctx.settings.lists.default_region)
    try:
        encoding = lists.detect_encoding(path)
    except campaign_errors.CampaignError as exc:  # name the client's file, not the server's
        exc.args = tuple(str(a).replace(str(path), filename) for a in exc.args)
        raise
    with ctx.unit_of_work() as session:
        campaign_id = _campaign_id(session, fields.get("campaign"))
        return dnc_files.import_file(session, path, encoding=encoding, region=region,
                                     source=source, campaign_id=campaign_id, now=ctx.now(),
                                     label=filename, actor=user.actor)


@router.post("/api/dnc/import")
async def import_dnc(request: Request, user: auth.Staff, ctx: auth.Ctx) -> dict[str, Any]:
    """Multipart: ``file`` (one number a line), optional ``source``, ``campaign``, ``region``."""
    received = await _uploads.receive(request, ctx.upload_dir,
                                      ctx.settings.web.max_upload_mb << 20)
    try:
        return await run_in_threadpool(_import, ctx, user, received.path, received.fields,
                                       received.filename)
    finally:
        received.path.unlink(missing_ok=True)
