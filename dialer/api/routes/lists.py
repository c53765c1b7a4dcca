"""``/api/campaigns/{id}/lists`` and ``/api/lists/{id}``: calling lists, their activation,
priority, expiry and recycling (F1, F6).  Uploads and background imports are in ``imports``.

The same store calls, checks and audits as ``dialer list ...`` and ``dialer list recycle``.
Administrators change lists; supervisors read them; agents read their campaigns' lists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from campaigns import errors as campaign_errors
from campaigns import models
from campaigns.enums import CallOutcome
from campaigns.store import audit, recycle
from campaigns.store import lists as list_store
from campaigns.store import rules as rule_store
from dialer.api import auth, errors
from dialer.api.routes import _admin

router = APIRouter(tags=["lists"])


class ListPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    priority: int | None = None
    #: ``YYYY-MM-DD``; "" removes the expiry.
    expires_on: str | None = None


class RecycleIn(BaseModel):
    outcomes: list[str] = Field(min_length=1)
    max_passes: int = Field(3, ge=1)


def list_json(calling_list: models.CallingList) -> dict[str, Any]:
    return {"id": calling_list.id, "campaign_id": calling_list.campaign_id,
            "name": calling_list.name, "priority": calling_list.priority,
            "is_active": calling_list.is_active, "expires_on": calling_list.expires_on,
            "rows_total": calling_list.rows_total, "rows_imported": calling_list.rows_imported,
            "rows_rejected": calling_list.rows_rejected, "passes": calling_list.passes,
            "source_file": calling_list.source_file, "column_map": calling_list.column_map,
            "created_at": calling_list.created_at}


def list_for(session: Session, user: auth.Principal, list_id: int) -> models.CallingList:
    """The list ``list_id`` when ``user`` may see its campaign."""
    calling_list = session.get(models.CallingList, list_id)
    if calling_list is None:
        raise errors.NotFound("list", list_id)
    user.check_campaign(calling_list.campaign_id)
    return calling_list


@router.get("/api/campaigns/{campaign_id}/lists")
def campaign_lists(campaign_id: int, session: auth.Db, user: auth.AnyUser) -> dict[str, Any]:
    campaign = _admin.campaign_for(session, user, campaign_id)
    return {"campaign_id": campaign.id,
            "lists": [list_json(cl) for cl in list_store.lists_of(session, campaign)]}


@router.get("/api/lists/{list_id}")
def get_list(list_id: int, session: auth.Db, user: auth.AnyUser) -> dict[str, Any]:
    calling_list = list_for(session, user, list_id)
    return {**list_json(calling_list),
            "records_by_status": list_store.status_counts(session, calling_list.id)}


def _patch_values(session: Session, calling_list: models.CallingList,
                  body: ListPatch) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if body.priority is not None:
        values["priority"] = body.priority
    if body.expires_on is not None:
        try:
            values["expires_on"] = (dt.date.fromisoformat(body.expires_on)
                                    if body.expires_on else None)
        except ValueError:
            raise campaign_errors.InvalidInput(
                f"expires_on {body.expires_on!r} is not a date (YYYY-MM-DD)",
                fields={"expires_on": "expected YYYY-MM-DD"}) from None
    if body.name is not None and body.name.strip() != calling_list.name:
        name = body.name.strip()
        if list_store.find_by_name(session, calling_list.campaign_id, name) is not None:
            raise campaign_errors.AlreadyExists("list", name)
        values["name"] = name
    return values


@router.patch("/api/lists/{list_id}")
def update_list(list_id: int, body: ListPatch, session: auth.Db, user: auth.Admin,
                ctx: auth.Ctx) -> dict[str, Any]:
    """Rename a list, change its priority or expiry date."""
    calling_list = list_for(session, user, list_id)
    changes = list_store.update_list(session, calling_list,
                                     **_patch_values(session, calling_list, body))
    if changes:
        audit.record(session, action="list.update", entity="calling_list",
                     entity_id=calling_list.id, actor=user.actor, at=ctx.now(),
                     details=_admin.changes_json(changes))
    return {**list_json(calling_list), "changed": sorted(changes)}


def _set_active(session: Session, ctx: Any, user: auth.Principal, list_id: int,
                is_active: bool) -> dict[str, Any]:
    calling_list = list_for(session, user, list_id)
    list_store.update_list(session, calling_list, is_active=is_active)
    audit.record(session, action="list.activate" if is_active else "list.deactivate",
                 entity="calling_list", entity_id=calling_list.id, actor=user.actor,
                 at=ctx.now())
    return list_json(calling_list)


@router.post("/api/lists/{list_id}/activate")
def activate_list(list_id: int, session: auth.Db, user: auth.Admin,
                  ctx: auth.Ctx) -> dict[str, Any]:
    return _set_active(session, ctx, user, list_id, True)


@router.post("/api/lists/{list_id}/deactivate")
def deactivate_list(list_id: int, session: auth.Db, user: auth.Admin,
                    ctx: auth.Ctx) -> dict[str, Any]:
    return _set_active(session, ctx, user, list_id, False)


@router.post("/api/lists/{list_id}/recycle")
def recycle_list(list_id: int, body: RecycleIn, session: auth.Db, user: auth.Admin,
                 ctx: auth.Ctx) -> dict[str, Any]:
    """Re-queue the list's unfinished records whose last call ended in ``outcomes``."""
    calling_list = list_for(session, user, list_id)
    now = ctx.now()
    codes = [code.strip() for code in body.outcomes if code.strip()]
    known = {o.value for o in CallOutcome} | set(rule_store.for_campaign(
        session, calling_list.campaign_id))
    unknown = sorted(set(codes) - known)
    if unknown or not codes:
        raise campaign_errors.InvalidInput(f"unknown outcome(s) {', '.join(unknown) or '(none)'}",
                                           fields={"outcomes": "unknown code"})
    if not calling_list.is_active:
        raise errors.Conflict(f"list {calling_list.name!r} is inactive: activate it first",
                              fields={"list": "inactive"}, error_id="list-inactive")
    if calling_list.expires_on is not None and calling_list.expires_on < now.date():
        raise errors.Conflict(f"list {calling_list.name!r} expired on {calling_list.expires_on}",
                              fields={"list": "expired"}, error_id="list-expired")
    if calling_list.passes + 2 > body.max_passes:
        raise errors.Conflict(f"list {calling_list.name!r} has had {calling_list.passes + 1} "
                              f"passes (max_passes {body.max_passes})",
                              fields={"max_passes": "reached"}, error_id="max-passes-reached")
    count = recycle.requeue(session, calling_list, codes, now=now)
    audit.record(session, action="list.recycle", entity="calling_list",
                 entity_id=calling_list.id, actor=user.actor, at=now,
                 details={"outcomes": codes, "requeued": count, "pass": calling_list.passes + 1})
    return {"list_id": calling_list.id, "list": calling_list.name, "requeued": count,
            "pass": calling_list.passes + 1, "outcomes": codes}
