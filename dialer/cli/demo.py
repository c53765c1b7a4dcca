"""``dialer demo``: the main job on embedded defaults, from nothing.

A fresh SQLite database, a sample campaign with the default disposition rules,
an administrator and two agents with shifts, the sample list shipped in
``config/`` loaded through the list loader, and a summary of what is ready to
dial and when the law lets each record be called.
"""

from __future__ import annotations

import collections
import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import click

from campaigns import calling_hours, campaign_fields, dispositions, lists, passwords, shifts
from campaigns.db import utcnow
from campaigns.enums import DialingMode, Role
from campaigns.store import audit, campaigns as campaign_store, lists as list_store
from campaigns.store import rules as rule_store, users as user_store
from dialer.cli import common
from dialer import list_loader

SAMPLE_LIST = Path(__file__).resolve().parents[2] / "config" / "sample-list.csv"
DEMO_DB = "dialer-demo.db"


@click.command("demo")
@click.option("--list", "list_file", type=click.Path(dir_okay=False, path_type=Path),
              default=SAMPLE_LIST, show_default=True, help="The calling list to load.")
@click.option("--keep", is_flag=True, help="Keep an existing demo database (default: start fresh).")
@common.common_options
def command(list_file: Path, keep: bool) -> None:
    """Create a fresh demo: campaign, agents, sample list; print the summary."""
    app = common.app()
    if not app.options.get("db"):
        if not keep:
            for suffix in ("", "-wal", "-shm"):
                Path(DEMO_DB + suffix).unlink(missing_ok=True)
        app.options["db"] = f"sqlite:///{DEMO_DB}"
    if not list_file.is_file():
        raise common.usage_error(f"sample list {list_file} is missing", "list")
    now = utcnow()
    admin_password = secrets.token_urlsafe(9)
    agent_password = secrets.token_urlsafe(9)
    with app.session() as session:
        campaign = _campaign(session, now)
        users = _users(session, campaign, now, admin_password, agent_password)
        summary = _load(app, session, campaign, list_file, now)
        readiness = _readiness(session, campaign, now)
    payload = {"database": app.settings.database.url, "campaign": campaign_fields.as_dict(campaign),
               "users": users, "list": summary, "dialable": readiness,
               "admin": f"admin:{admin_password}", "agent": f"agent1:{agent_password}"}
    app.emit(payload, lambda: _text(payload))


def _campaign(session: Any, now: dt.datetime) -> Any:
    values = {**campaign_fields.defaults(), **campaign_fields.validate({
        "mode": DialingMode.PROGRESSIVE.value, "centre_tz": "America/Chicago",
        "days": "mon-sat", "hours": "08:00-21:00", "caller_id": "+13125550100",
        "abandon_message": "This was the Demo Company. Please call us back on 312 555 0100."})}
    campaign = campaign_store.create(session, "demo", now=now, **values)
    rule_store.replace(session, campaign, dispositions.parse_rules(
        dispositions.default_rules_text(), source="default dispositions"))
    audit.record(session, action="campaign.create", entity="campaign", entity_id=campaign.id,
                 details={"name": "demo", "by": "dialer demo"}, at=now)
    return campaign


def _users(session: Any, campaign: Any, now: dt.datetime, admin_password: str,
           agent_password: str) -> list[dict[str, Any]]:
    created = []
    user_store.create(session, "admin", role=Role.ADMINISTRATOR, now=now,
                      password_hash=passwords.hash_password(admin_password))
    created.append({"name": "admin", "role": "administrator"})
    for index, tz in enumerate(("America/Chicago", "America/New_York"), start=1):
        agent = user_store.create(session, f"agent{index}", role=Role.AGENT, now=now, tz=tz,
                                  phone_address=f"sip:10{index:02d}@127.0.0.1",
                                  password_hash=passwords.hash_password(agent_password))
        user_store.join(session, agent, campaign)
        user_store.set_shifts(session, agent, shifts.parse_shift("mon-fri 09:00-17:00"), [])
        created.append({"name": agent.name, "role": "agent", "tz": tz})
    return created


def _load(app: common.App, session: Any, campaign: Any, path: Path,
          now: dt.datetime) -> dict[str, Any]:
    shape = lists.sniff(path)
    mapping = lists.resolve_mapping(shape.header, {}, None)
    calling_list = list_store.create_list(session, campaign, "sample", now=now, priority=1)
    list_store.update_list(session, calling_list, column_map=mapping, source_file=str(path))
    reject_path = Path(DEMO_DB).with_suffix(".rejects.csv")
    return list_loader.load_file(session, calling_list, path, shape, mapping,
                              app.settings.lists.default_region, now=now,
                              reject_path=reject_path)


def _readiness(session: Any, campaign: Any, now: dt.datetime) -> dict[str, Any]:
    """How many records the law lets us call now, and why the others wait."""
    from sqlalchemy import select

    from campaigns import models

    reasons: collections.Counter[str] = collections.Counter()
    allowed = 0
    rows = session.execute(
        select(models.PhoneNumber.e164, models.Record.raw_tz, models.Record.raw_zip,
               models.Record.raw_state)
        .join(models.Record, models.Record.id == models.PhoneNumber.record_id)
        .where(models.Record.campaign_id == campaign.id, models.PhoneNumber.position == 0))
    for e164, tz, zip_code, state in rows:
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


def _text(payload: dict[str, Any]) -> str:
    summary = payload["list"]
    ready = payload["dialable"]
    waiting = ", ".join(f"{n} {reason}" for reason, n in sorted(ready["waiting"].items()))
    lines = [
        f"demo database: {payload['database']}",
        f"campaign 'demo' ({payload['campaign']['mode']}, {payload['campaign']['category']}), "
        f"operating {payload['campaign']['schedule']['start']}-"
        f"{payload['campaign']['schedule']['end']} {payload['campaign']['centre_tz']}",
        f"list 'sample': {summary['rows']} rows, {summary['imported']} imported, "
        f"{summary['rows'] - summary['imported']} rejected -> {summary['reject_file']}",
        f"dialable now: {ready['allowed_now']}" + (f"; waiting: {waiting}" if waiting else ""),
        f"DEMO admin={payload['admin']} agent={payload['agent']}",
    ]
    return "\n".join(lines)
