"""The demo's data: a campaign, an administrator and agents, demo registry extracts, two lists.

Everything goes through the same store and loader code as the command line.  The numbers are
fictional (NANP 555 numbers, Ofcom's drama range, ACMA's fiction range); the lists span the
US, the UK and Australia so that, whatever the hour, some customers may legally be called
and the others show why they wait.
"""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import (
    calling_hours,
    campaign_fields,
    dispositions,
    lists,
    models,
    passwords,
    phones,
    shifts,
)
from campaigns.enums import CampaignStatus, DialingMode, Role
from campaigns.store import audit
from campaigns.store import campaigns as campaign_store
from campaigns.store import dnc as dnc_store
from campaigns.store import lists as list_store
from campaigns.store import rules as rule_store
from campaigns.store import users as user_store
from dialer import list_loader

CONFIG = Path(__file__).resolve().parents[1] / "config"
SAMPLE_LISTS = (CONFIG / "sample-list.csv", CONFIG / "sample-list-world.csv")
REGISTRY_DIR = CONFIG / "demo-registry"
ACTOR = "dialer demo"


def build(session: Session, *, now: dt.datetime, admin_password: str, agent_password: str,
          list_files: tuple[Path, ...], region: str, reject_dir: Path,
          is_active: bool) -> dict[str, Any]:
    """Create the demo in one unit of work; returns what was made (for the summary)."""
    campaign = create_campaign(session, now)
    users = create_users(session, campaign, now, admin_password, agent_password)
    registries = import_registries(session, now)
    loads = [load_list(session, campaign, path, index, region, now, reject_dir)
             for index, path in enumerate(list_files)]
    if is_active:
        campaign_store.update(session, campaign, now=now, status=CampaignStatus.ACTIVE)
        audit.record(session, action="campaign.active", entity="campaign", entity_id=campaign.id,
                     actor=ACTOR, details={"from": "draft", "to": "active"}, at=now)
    return {"campaign": campaign, "users": users, "registries": registries, "lists": loads,
            "dialable": readiness(session, campaign, now)}


def create_campaign(session: Session, now: dt.datetime) -> models.Campaign:
    values = {**campaign_fields.defaults(), **campaign_fields.validate({
        "mode": DialingMode.PROGRESSIVE.value, "centre_tz": "UTC",
        "days": "mon-sun", "hours": "00:00-23:59", "caller_id": "+13125550100",
        "abandon_message": "This was the Demo Company. Please call us back on 312 555 0100."})}
    campaign = campaign_store.create(session, "demo", now=now, **values)
    rule_store.replace(session, campaign, dispositions.parse_rules(
        dispositions.default_rules_text(), source="default dispositions"))
    audit.record(session, action="campaign.create", entity="campaign", entity_id=campaign.id,
                 actor=ACTOR, details={"name": "demo"}, at=now)
    return campaign


def create_users(session: Session, campaign: models.Campaign, now: dt.datetime,
                 admin_password: str, agent_password: str) -> list[dict[str, Any]]:
    user_store.create(session, "admin", role=Role.ADMINISTRATOR, now=now, full_name="Demo Admin",
                      password_hash=passwords.hash_password(admin_password))
    created = [{"name": "admin", "role": "administrator"}]
    for index, tz in enumerate(("America/Chicago", "Europe/London"), start=1):
        agent = user_store.create(session, f"agent{index}", role=Role.AGENT, now=now, tz=tz,
                                  full_name=f"Demo Agent {index}",
                                  phone_address=f"sip:10{index:02d}@127.0.0.1",
                                  password_hash=passwords.hash_password(agent_password))
        user_store.join(session, agent, campaign)
        user_store.set_shifts(session, agent, shifts.parse_shift("mon-sun 00:00-23:59"), [])
        created.append({"name": agent.name, "role": "agent", "tz": tz})
    return created


def import_registries(session: Session, now: dt.datetime) -> dict[str, int]:
    """The demo's national registry extracts, imported and dated as ``dnc import`` does."""
    regions = {"us-national": "US", "uk-tps": "GB", "ca-dncl": "CA"}
    counts: dict[str, int] = {}
    for path in sorted(REGISTRY_DIR.glob("*.txt")):
        source = path.stem
        numbers = []
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                number = phones.normalise(line, regions.get(source, "US"))
                if number is not None:
                    numbers.append(number.e164)
        added = dnc_store.add(session, numbers, campaign_id=None, source=source, now=now)
        dnc_store.record_scrub(session, source, len(numbers), now)
        audit.record(session, action="dnc.import", entity="dnc_entry", entity_id="global",
                     actor=ACTOR, details={"file": path.name, "source": source,
                                           "added": len(added)}, at=now)
        counts[source] = len(numbers)
    return counts


def load_list(session: Session, campaign: models.Campaign, path: Path, index: int, region: str,
              now: dt.datetime, reject_dir: Path) -> dict[str, Any]:
    name = "sample" if index == 0 else path.stem.removeprefix("sample-list-")
    shape = lists.sniff(path)
    mapping = lists.resolve_mapping(shape.header, {}, None)
    calling_list = list_store.create_list(session, campaign, name, now=now, priority=10 - index)
    list_store.update_list(session, calling_list, column_map=mapping, source_file=str(path))
    reject_path = reject_dir / f"demo-{name}.rejects.csv"
    summary = list_loader.load_file(session, calling_list, path, shape, mapping, region, now=now,
                                    reject_path=reject_path)
    return {"name": name, **summary}


def readiness(session: Session, campaign: models.Campaign, now: dt.datetime) -> dict[str, Any]:
    """How many records the law lets us call now, and why the others wait."""
    reasons: collections.Counter[str] = collections.Counter()
    allowed = 0
    rows = session.execute(
        select(models.Record.id, models.PhoneNumber.e164, models.Record.raw_tz,
               models.Record.raw_zip, models.Record.raw_state)
        .join(models.Record, models.Record.id == models.PhoneNumber.record_id)
        .where(models.Record.campaign_id == campaign.id)
        .order_by(models.Record.id, models.PhoneNumber.position))
    seen: set[int] = set()
    for record_id, e164, tz, zip_code, state in rows:
        if record_id in seen:  # judge each record on its first number
            continue
        seen.add(record_id)
        target = calling_hours.resolve_target(e164, tz=tz, zip_code=zip_code, state=state,
                                              category=campaign.call_category.value,
                                              dialing_mode=campaign.dialing_mode.value,
                                              is_strict=False)
        decision = calling_hours.may_dial(target, now)
        if decision.is_allowed:
            allowed += 1
        else:
            reasons[decision.reasons[0].split(":")[0]] += 1
    return {"allowed_now": allowed, "waiting": dict(reasons), "at": now}
