"""``/api/campaigns/{id}/rules``: a campaign's disposition rules as TOML (F7).

``GET`` answers the rules in force as a rules file (the shape of
``campaigns/data/dispositions.toml``) and as rows; ``PUT`` takes a whole rules file (JSON
``{"text": ...}`` or a ``text/plain``/``application/toml`` body), validates it all or nothing
like ``dialer rules load`` and replaces the set.  A bad file is refused with the line:
``fields = {"line": "12", "reason": "..."}``.  Staff read; administrators replace.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from campaigns import dispositions
from campaigns import errors as campaign_errors
from campaigns.store import audit
from campaigns.store import rules as rule_store
from dialer.api import auth
from dialer.api.routes import _admin

router = APIRouter(tags=["rules"])
MAX_RULES_BYTES = 1 << 20
_ORDER = ("code", "label", "source", "action", "delay_s", "backoff", "max_delay_s",
          "max_per_record", "on_cap", "counts_as_attempt", "is_contact")
_DEFAULTS = {"label": "", "delay_s": 0, "backoff": 1.0, "max_delay_s": None,
             "max_per_record": None, "on_cap": "final_failure", "counts_as_attempt": True,
             "is_contact": False}


def rule_row(rule: dispositions.Rule) -> dict[str, Any]:
    return {"code": rule.code, "label": rule.label, "source": rule.source.value,
            "action": rule.action.value, "delay_s": rule.delay_s, "backoff": rule.backoff,
            "max_delay_s": rule.max_delay_s, "max_per_record": rule.max_per_record,
            "on_cap": rule.on_cap.value, "counts_as_attempt": rule.counts_as_attempt,
            "is_contact": rule.is_contact}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def to_toml(rules: list[dispositions.Rule]) -> str:
    """Rules as a rules file that :func:`campaigns.dispositions.parse_rules` reads back.

    >>> text = to_toml(dispositions.parse_rules(dispositions.default_rules_text()))
    >>> [r.code for r in dispositions.parse_rules(text)][:2]
    ['answered', 'machine']
    """
    blocks = []
    for rule in rules:
        row = rule_row(rule)
        lines = ["[[disposition]]"]
        for key in _ORDER:
            value = row[key]
            if value is None or (key in _DEFAULTS and key not in ("code", "source", "action")
                                 and value == _DEFAULTS[key]):
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


@router.get("/api/campaigns/{campaign_id}/rules")
def get_rules(campaign_id: int, session: auth.Db, user: auth.Staff) -> dict[str, Any]:
    campaign = _admin.campaign_for(session, user, campaign_id)
    rules = list(rule_store.for_campaign(session, campaign.id).values())
    # A campaign without rules (made outside the API) is offered the default file to start.
    return {"campaign_id": campaign.id, "campaign": campaign.name,
            "text": to_toml(rules) if rules else dispositions.default_rules_text(),
            "rules": [rule_row(r) for r in rules], "has_rules": bool(rules)}


async def _text_of(request: Request) -> str:
    body = await request.body()
    if len(body) > MAX_RULES_BYTES:
        raise campaign_errors.InvalidInput("the rules file is larger than 1 MB",
                                           fields={"text": "too large"})
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            raise campaign_errors.InvalidInput('send {"text": "<the rules file>"}',
                                               fields={"text": "missing"})
        return payload["text"]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise campaign_errors.InvalidInput("the rules file is not UTF-8",
                                           fields={"text": "not UTF-8"}) from None


@router.put("/api/campaigns/{campaign_id}/rules")
async def put_rules(campaign_id: int, request: Request, user: auth.Admin,
                    ctx: auth.Ctx) -> dict[str, Any]:
    """Validate a whole rules file and make it the campaign's rules (all or nothing)."""
    text = await _text_of(request)
    rules = dispositions.parse_rules(text, source="rules")

    def replace(session: Any) -> dict[str, Any]:
        campaign = _admin.campaign_for(session, user, campaign_id, for_update=True)
        count = rule_store.replace(session, campaign, rules)
        audit.record(session, action="rules.load", entity="campaign", entity_id=campaign.id,
                     actor=user.actor, at=ctx.now(),
                     details={"rules": count, "codes": [r.code for r in rules]})
        return {"campaign_id": campaign.id, "campaign": campaign.name, "rules": count,
                "codes": [r.code for r in rules], "text": to_toml(rules)}

    return await ctx.run(replace)
