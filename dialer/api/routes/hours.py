"""``/api/hours``: the calling-hours rules in force (read only) and may-I-call-now checks (F1).

The same computation as ``dialer hours rules`` and ``dialer hours check``: without a campaign
a number is judged for a telemarketing campaign in preview mode with no window of its own;
with one, with the campaign's settings, its attempts and its registry scrubs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter

from campaigns import calling_hours, calling_rules
from campaigns import errors as campaign_errors
from campaigns.store import compliance as compliance_store
from dialer.api import auth
from dialer.api.routes import _admin

router = APIRouter(tags=["hours"])
NEXT_HORIZON = dt.timedelta(days=90)


def _rules(ctx: Any) -> calling_rules.RuleSet:
    return ctx.service("calling-rules", lambda: calling_rules.load(ctx.settings.compliance))


@router.get("/api/hours/rules")
def hours_rules(user: auth.Staff, ctx: auth.Ctx, jurisdiction: str = "") -> dict[str, Any]:
    """The effective calling rules (the shipped file with ``[compliance]`` overrides)."""
    rules = _rules(ctx)
    selected = list(rules.rules)
    if jurisdiction:
        code = jurisdiction.strip().upper()
        if not rules.is_known_jurisdiction(code):
            raise campaign_errors.NotFound("jurisdiction", jurisdiction)
        wanted = set(rules.lineage(code))
        selected = [r for r in selected if r.jurisdiction in wanted]
    return {"rules": [r.to_dict() for r in selected], "disabled": sorted(rules.disabled),
            "compiled": str(rules.meta.get("compiled", ""))}


def _instant(text: str, now: dt.datetime) -> dt.datetime:
    if not text:
        return now
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise campaign_errors.InvalidInput(f"at {text!r} must be an ISO 8601 instant with Z or "
                                           "an offset", fields={"at": "ISO instant with offset"})
    return value.astimezone(dt.UTC)


@router.get("/api/hours/check")
def hours_check(session: auth.Db, user: auth.AnyUser, ctx: auth.Ctx, number: str,
                zip: str = "", state: str = "", tz: str = "", campaign: str = "",
                at: str = "") -> dict[str, Any]:
    """May ``number`` be dialled ``at`` (default now)? With the reasons and the next opening."""
    when = _instant(at, ctx.now())
    rules = _rules(ctx)
    if campaign:
        found = _admin.campaign_ref(session, campaign)
        user.check_campaign(found.id)
        target = compliance_store.load_target(session, found, when, number=number, state=state,
                                              zip_code=zip, tz=tz, rules=rules)
    else:
        target = calling_hours.resolve_target(
            number, tz=tz, zip_code=zip, state=state, rules=rules,
            default_region=ctx.settings.lists.default_region)
    decision = calling_hours.may_dial(target, when)
    following = when if decision.is_allowed else calling_hours.next_dialable_at(
        target, when, NEXT_HORIZON)
    return {"number": target.e164, "at": when, "allowed": decision.is_allowed,
            "zones": list(target.zones), "jurisdictions": list(target.jurisdictions),
            "reasons": list(decision.reasons), "next_allowed_at": following}
