"""``/api/campaigns``: create, edit, delete, start, pause, stop, diagnose, caller-ID pool (F5).

The same validation (``campaigns.campaign_fields``) and audit as ``dialer campaign``.
Administrators change campaigns; supervisors read them and start, pause and stop them;
agents read only the campaigns they are members of.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from campaigns import campaign_fields, dispositions
from campaigns import errors as campaign_errors
from campaigns.enums import CampaignStatus
from campaigns.store import audit
from campaigns.store import campaigns as campaign_store
from campaigns.store import rules as rule_store
from dialer.api import auth, errors
from dialer.api.context import WebContext
from dialer.api.routes import _admin

router = APIRouter(tags=["campaigns"])


class CampaignSettings(BaseModel):
    """Every setting of F5; ``None`` (or absent) leaves a setting as it is."""

    model_config = ConfigDict(extra="forbid")

    mode: str | None = None
    category: str | None = None
    caller_id: str | None = Field(None, max_length=32)
    ring_timeout_s: int | None = None
    max_attempts: int | None = None
    centre_tz: str | None = None
    days: str | None = None
    hours: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    window: str | None = None
    abandon_cap: float | None = None
    abandon_message: str | None = None
    amd: bool | None = None
    amd_false_positive_rate: float | None = None
    allow_requested_callbacks_outside_hours: bool | None = None


class CampaignCreate(CampaignSettings):
    name: str = Field(min_length=1, max_length=200)


class CampaignPatch(CampaignSettings):
    name: str | None = Field(None, min_length=1, max_length=200)


class CallerIdsIn(BaseModel):
    numbers: list[str] = Field(min_length=1, max_length=500)
    daily_cap: int | None = Field(None, ge=1)
    state: str | None = Field(None, max_length=8)


def _values(body: CampaignSettings) -> dict[str, Any]:
    raw = body.model_dump(exclude={"name"})
    for key in ("start_date", "end_date"):
        if raw.get(key) == "":
            raw[key] = None
    return campaign_fields.validate(raw)


@router.get("/api/campaigns")
def list_campaigns(session: auth.Db, user: auth.AnyUser) -> dict[str, Any]:
    rows = [campaign_fields.as_dict(c) for c in campaign_store.all_campaigns(session)
            if user.can_see_campaign(c.id)]
    return {"campaigns": rows}


@router.post("/api/campaigns", status_code=201)
def create_campaign(body: CampaignCreate, session: auth.Db, user: auth.Admin,
                    ctx: auth.Ctx) -> dict[str, Any]:
    name = body.name.strip()
    if not name:
        raise campaign_errors.InvalidInput("the campaign name is empty", fields={"name": "empty"})
    values = {**campaign_fields.defaults(), **_values(body)}
    now = ctx.now()
    campaign = campaign_store.create(session, name, now=now, **values)
    rule_store.replace(session, campaign,
                       dispositions.parse_rules(dispositions.default_rules_text(),
                                                source="default dispositions"))
    audit.record(session, action="campaign.create", entity="campaign", entity_id=campaign.id,
                 actor=user.actor, details={"name": campaign.name}, at=now)
    return campaign_fields.as_dict(campaign)


@router.get("/api/campaigns/{campaign_id}")
def get_campaign(campaign_id: int, session: auth.Db, user: auth.AnyUser) -> dict[str, Any]:
    return campaign_fields.as_dict(_admin.campaign_for(session, user, campaign_id))


@router.patch("/api/campaigns/{campaign_id}")
def update_campaign(campaign_id: int, body: CampaignPatch, session: auth.Db, user: auth.Admin,
                    ctx: auth.Ctx) -> dict[str, Any]:
    campaign = _admin.campaign_for(session, user, campaign_id, for_update=True)
    values = _values(body)
    if body.name is not None and body.name.strip() != campaign.name:
        rename = body.name.strip()
        try:
            campaign_store.get_by_name(session, rename)
        except LookupError:
            values["name"] = rename
        else:
            raise campaign_errors.AlreadyExists("campaign", rename)
    now = ctx.now()
    changes = campaign_store.update(session, campaign, now=now, **values)
    if changes:
        audit.record(session, action="campaign.update", entity="campaign",
                     entity_id=campaign.id, actor=user.actor, at=now,
                     details=_admin.changes_json(changes))
    return {**campaign_fields.as_dict(campaign), "changed": sorted(changes)}


@router.delete("/api/campaigns/{campaign_id}")
def delete_campaign(campaign_id: int, session: auth.Db, user: auth.Admin,
                    ctx: auth.Ctx) -> dict[str, Any]:
    campaign = _admin.campaign_for(session, user, campaign_id, for_update=True)
    if campaign.status is CampaignStatus.ACTIVE:
        raise errors.Conflict(f"campaign {campaign.name!r} is active: stop it first",
                              fields={"status": "active"}, error_id="campaign-active")
    name = campaign.name
    campaign_store.delete(session, campaign)
    audit.record(session, action="campaign.delete", entity="campaign", entity_id=campaign_id,
                 actor=user.actor, details={"name": name}, at=ctx.now())
    return {"deleted": name, "id": campaign_id}


def transition(session: Session, ctx: WebContext, user: auth.Principal, campaign_id: int,
               status: CampaignStatus) -> dict[str, Any]:
    """Move a campaign to ``status`` (starting it only when it can start), audited."""
    campaign = _admin.campaign_for(session, user, campaign_id, for_update=True)
    now = ctx.now()
    if status is CampaignStatus.ACTIVE:
        from dialer import startup_checks

        startup_checks.refuse_unstartable(campaign, ctx.settings, session=session, now=now)
    before = campaign.status
    campaign_store.update(session, campaign, now=now, status=status)
    audit.record(session, action=f"campaign.{status.value}", entity="campaign",
                 entity_id=campaign.id, actor=user.actor, at=now,
                 details={"from": before.value, "to": status.value})
    return {**campaign_fields.as_dict(campaign), "previous_status": before.value}


@router.post("/api/campaigns/{campaign_id}/start")
def start_campaign(campaign_id: int, session: auth.Db, user: auth.Staff,
                   ctx: auth.Ctx) -> dict[str, Any]:
    return transition(session, ctx, user, campaign_id, CampaignStatus.ACTIVE)


@router.post("/api/campaigns/{campaign_id}/pause")
def pause_campaign(campaign_id: int, session: auth.Db, user: auth.Staff,
                   ctx: auth.Ctx) -> dict[str, Any]:
    return transition(session, ctx, user, campaign_id, CampaignStatus.PAUSED)


@router.post("/api/campaigns/{campaign_id}/stop")
def stop_campaign(campaign_id: int, session: auth.Db, user: auth.Staff,
                  ctx: auth.Ctx) -> dict[str, Any]:
    return transition(session, ctx, user, campaign_id, CampaignStatus.STOPPED)


@router.get("/api/campaigns/{campaign_id}/diagnose")
def diagnose_campaign(campaign_id: int, session: auth.Db, user: auth.Staff,
                      ctx: auth.Ctx) -> dict[str, Any]:
    """Why is it not dialing? Records by what blocks them now, and list penetration."""
    from campaigns import calling_rules
    from campaigns.store import diagnosis

    campaign = _admin.campaign_for(session, user, campaign_id)
    return diagnosis.diagnose(session, campaign, ctx.now(),
                              rules=calling_rules.load(ctx.settings.compliance))


@router.get("/api/campaigns/{campaign_id}/caller-ids")
def caller_ids(campaign_id: int, session: auth.Db, user: auth.Staff) -> dict[str, Any]:
    from campaigns.store import caller_ids as pool_store

    campaign = _admin.campaign_for(session, user, campaign_id)
    return {"campaign_id": campaign.id,
            "pool": [vars(n) for n in pool_store.pool(session, campaign.id)]}


def _pool_number(raw: str, region: str, daily_cap: int | None, state: str | None) -> Any:
    from campaigns import caller_ids as pool
    from campaigns import phones, zones

    number = phones.normalise(raw, region)
    if number is None or not number.is_valid:
        raise campaign_errors.InvalidInput(f"caller ID {raw!r} is not a valid phone number",
                                           fields={"numbers": f"{raw!r} is not valid"})
    area = pool.nanp_area_code(number.e164)
    subdivisions = zones.area_codes().get(area, ("", ()))[1] if area else ()
    chosen = (state or (subdivisions[0] if len(subdivisions) == 1 else "")).upper()
    return pool.PoolNumber(number.e164, area, chosen, daily_cap)


@router.post("/api/campaigns/{campaign_id}/caller-ids")
def add_caller_ids(campaign_id: int, body: CallerIdsIn, session: auth.Db, user: auth.Admin,
                   ctx: auth.Ctx) -> dict[str, Any]:
    from campaigns.store import caller_ids as pool_store

    campaign = _admin.campaign_for(session, user, campaign_id)
    region = ctx.settings.lists.default_region
    parsed = [_pool_number(raw, region, body.daily_cap, body.state) for raw in body.numbers]
    for number in parsed:
        pool_store.add(session, campaign.id, number)
    audit.record(session, action="campaign.callerid.add", entity="campaign",
                 entity_id=campaign.id, actor=user.actor, at=ctx.now(),
                 details={"numbers": [n.e164 for n in parsed]})
    return {"campaign_id": campaign.id,
            "pool": [vars(n) for n in pool_store.pool(session, campaign.id)]}


@router.delete("/api/campaigns/{campaign_id}/caller-ids")
def remove_caller_ids(campaign_id: int, number: Annotated[list[str], Query(min_length=1)], session: auth.Db,
                      user: auth.Admin, ctx: auth.Ctx) -> dict[str, Any]:
    """``?number=...`` (repeatable): remove numbers from the pool."""
    from campaigns import phones
    from campaigns.store import caller_ids as pool_store

    campaign = _admin.campaign_for(session, user, campaign_id)
    removed = 0
    for raw in number:
        parsed = phones.normalise(raw, ctx.settings.lists.default_region)
        removed += pool_store.remove(session, campaign.id, parsed.e164 if parsed else raw)
    audit.record(session, action="campaign.callerid.remove", entity="campaign",
                 entity_id=campaign.id, actor=user.actor, at=ctx.now(),
                 details={"numbers": list(number)})
    return {"campaign_id": campaign.id, "removed": removed}
