"""``dialer campaign create|list|show|update|delete``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.orm import object_session

from campaigns import campaign_fields, dispositions
from campaigns.db import utcnow
from campaigns.enums import CallCategory, CampaignStatus, DialingMode
from campaigns.store import audit
from campaigns.store import campaigns as campaign_store
from campaigns.store import rules as rule_store
from dialer.cli import common


def _campaign_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--mode", type=click.Choice([m.value for m in DialingMode]),
                     help="Dialing mode (default preview)."),
        click.option("--category", type=click.Choice([c.value for c in CallCategory]),
                     help="Call category; selects the compliance rules (default telemarketing)."),
        click.option("--caller-id", help="Caller ID presented to the callee."),
        click.option("--ring-timeout-s", type=int, help="Ring timeout, at least 15 (default 20)."),
        click.option("--max-attempts", type=int, help="Attempts per record (default 5)."),
        click.option("--centre-tz", help="The call centre's IANA zone (operating schedule)."),
        click.option("--days", help="Operating days, e.g. mon-fri or mon,wed,fri."),
        click.option("--hours", help="Operating hours in the centre's zone, e.g. 08:00-21:00."),
        click.option("--start-date", help="First day of the campaign (YYYY-MM-DD)."),
        click.option("--end-date", help="Last day of the campaign (YYYY-MM-DD)."),
        click.option("--window", help="Calling window in the callee's local time, e.g. "
                     "09:00-20:00 ('' removes it); it only narrows the legal one."),
        click.option("--abandon-cap", type=float, help="Abandon-rate cap (fraction, default 0.03)."),
        click.option("--abandon-message", help="Message played on an abandoned call."),
        click.option("--amd/--no-amd", default=None, help="Answering-machine detection."),
        click.option("--amd-false-positive-rate", type=float,
                     help="Estimated share of live answers AMD takes for machines."),
        click.option("--allow-requested-callbacks-outside-hours/--no-allow-requested-callbacks-"
                     "outside-hours", "allow_requested_callbacks_outside_hours", default=None,
                     help="Customer-requested callbacks may fall outside default hours where "
                     "the law allows it (off by default)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group("campaign")
def command() -> None:
    """Campaigns: who is called, how and when."""


@command.command("create")
@click.argument("name")
@_campaign_options
@click.option("--status", type=click.Choice([s.value for s in CampaignStatus]),
              help="Initial status (default draft).")
@common.common_options
def create(name: str, **options: Any) -> None:
    """Create a campaign (defaults alone are enough) with the default disposition rules."""
    app = common.app()
    if not name.strip():
        raise common.usage_error("the campaign name is empty", "name")
    values = {**campaign_fields.defaults(), **campaign_fields.validate(options)}
    now = utcnow()
    with app.session() as session:
        campaign = campaign_store.create(session, name.strip(), now=now, **values)
        rule_store.replace(session, campaign,
                           dispositions.parse_rules(dispositions.default_rules_text(),
                                                    source="default dispositions"))
        audit.record(session, action="campaign.create", entity="campaign",
                     entity_id=campaign.id, details={"name": campaign.name}, at=now)
        shown = campaign_fields.as_dict(campaign)
    app.emit(shown, f"campaign {shown['name']!r} created (id {shown['id']}, {shown['mode']}, "
                    f"{shown['status']})")


@command.command("list")
@common.common_options
def list_(**_: Any) -> None:
    """List campaigns."""
    app = common.app()
    with app.session() as session:
        rows = [campaign_fields.as_dict(c) for c in campaign_store.all_campaigns(session)]
    app.emit({"campaigns": rows},
             lambda: common.echo_table(rows, ["id", "name", "mode", "category", "status"]))


@command.command("show")
@click.argument("name")
@common.common_options
def show(name: str) -> None:
    """Show one campaign."""
    app = common.app()
    with app.session() as session:
        shown = campaign_fields.as_dict(campaign_store.get_by_name(session, name))
    app.emit(shown)


@command.command("update")
@click.argument("name")
@_campaign_options
@click.option("--status", type=click.Choice([s.value for s in CampaignStatus]))
@click.option("--rename", help="A new name.")
@common.common_options
def update(name: str, rename: str | None, **options: Any) -> None:
    """Change a campaign's settings (only the options given)."""
    app = common.app()
    values = campaign_fields.validate(options)
    if rename:
        values["name"] = rename.strip()
    if not values:
        raise common.usage_error("nothing to update: give at least one option")
    now = utcnow()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, name)
        if rename and rename != name:
            try:
                campaign_store.get_by_name(session, rename)
            except LookupError:
                pass
            else:
                raise common.usage_error(f"campaign {rename!r} exists already", "rename")
        changes = campaign_store.update(session, campaign, now=now, **values)
        audit.record(session, action="campaign.update", entity="campaign",
                     entity_id=campaign.id, at=now,
                     details={k: [_plain(a), _plain(b)] for k, (a, b) in changes.items()})
        shown = campaign_fields.as_dict(campaign)
    app.emit(shown, f"campaign {shown['name']!r} updated: {', '.join(changes) or 'no change'}")


@command.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@common.common_options
def delete(name: str, yes: bool) -> None:
    """Delete a campaign with its lists, records and history."""
    app = common.app()
    now = utcnow()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, name)
        if campaign.status is CampaignStatus.ACTIVE:
            raise common.usage_error(f"campaign {name!r} is active: stop it first", "status")
        if not yes and not app.is_json:
            click.confirm(f"Delete campaign {name!r} and all its records?", abort=True)
        campaign_id = campaign.id
        campaign_store.delete(session, campaign)
        audit.record(session, action="campaign.delete", entity="campaign",
                     entity_id=campaign_id, details={"name": name}, at=now)
    app.emit({"deleted": name, "id": campaign_id}, f"campaign {name!r} deleted")


def _plain(value: Any) -> Any:
    if hasattr(value, "value"):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _transition(name: str, status: CampaignStatus, check: Callable[[Any, Any], None] | None = None,
                ) -> None:
    app = common.app()
    now = utcnow()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, name, for_update=True)
        if check is not None:
            check(app, campaign)
        before = campaign.status
        campaign_store.update(session, campaign, now=now, status=status)
        audit.record(session, action=f"campaign.{status.value}", entity="campaign",
                     entity_id=campaign.id, details={"from": before.value, "to": status.value},
                     at=now)
        shown = campaign_fields.as_dict(campaign)
    app.emit(shown, f"campaign {name!r}: {before.value} -> {status.value}")


def _startable(app: common.App, campaign: Any) -> None:
    from dialer import startup_checks

    startup_checks.refuse_unstartable(campaign, app.settings, session=object_session(campaign),
                                      now=utcnow())


@command.command("start")
@click.argument("name")
@common.common_options
def start(name: str) -> None:
    """Make a campaign active (the engine dials it inside its operating schedule)."""
    _transition(name, CampaignStatus.ACTIVE, _startable)


@command.command("pause")
@click.argument("name")
@common.common_options
def pause(name: str) -> None:
    """Place no new call; calls in progress finish."""
    _transition(name, CampaignStatus.PAUSED)


@command.command("stop")
@click.argument("name")
@common.common_options
def stop(name: str) -> None:
    """Stop dialing and end the campaign's agent sessions."""
    _transition(name, CampaignStatus.STOPPED)


@command.group("callerid")
def callerid() -> None:
    """The campaign's caller-ID pool (local presence, daily caps)."""


@callerid.command("add")
@click.argument("name")
@click.argument("numbers", nargs=-1, required=True)
@click.option("--daily-cap", type=click.IntRange(min=1), help="Calls a day per number at most.")
@click.option("--state", help="Subdivision it presents locally (e.g. US-FL); default from the "
              "area code.")
@common.common_options
def callerid_add(name: str, numbers: tuple[str, ...], daily_cap: int | None,
                 state: str | None) -> None:
    """Add numbers to the pool."""
    from campaigns import caller_ids, phones, zones
    from campaigns.store import caller_ids as pool_store

    app = common.app()
    parsed = []
    for raw in numbers:
        number = phones.normalise(raw, app.settings.lists.default_region)
        if number is None or not number.is_valid:
            raise common.usage_error(f"caller ID {raw!r} is not a valid phone number", "numbers")
        area = caller_ids.nanp_area_code(number.e164)
        subdivisions = zones.area_codes().get(area, ("", ()))[1] if area else ()
        chosen_state = (state or (subdivisions[0] if len(subdivisions) == 1 else "")).upper()
        parsed.append(caller_ids.PoolNumber(number.e164, area, chosen_state, daily_cap))
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, name)
        for number in parsed:
            pool_store.add(session, campaign.id, number)
        audit.record(session, action="campaign.callerid.add", entity="campaign",
                     entity_id=campaign.id, details={"numbers": [n.e164 for n in parsed]},
                     at=utcnow())
        rows = [vars(n) for n in pool_store.pool(session, campaign.id)]
    app.emit({"campaign": name, "pool": rows},
             lambda: common.echo_table(rows, ["e164", "area_code", "state", "daily_cap"]))


@callerid.command("list")
@click.argument("name")
@common.common_options
def callerid_list(name: str) -> None:
    """Show the pool."""
    from campaigns.store import caller_ids as pool_store

    app = common.app()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, name)
        rows = [vars(n) for n in pool_store.pool(session, campaign.id)]
    app.emit({"campaign": name, "pool": rows},
             lambda: common.echo_table(rows, ["e164", "area_code", "state", "daily_cap"]))


@callerid.command("remove")
@click.argument("name")
@click.argument("numbers", nargs=-1, required=True)
@common.common_options
def callerid_remove(name: str, numbers: tuple[str, ...]) -> None:
    """Remove numbers from the pool."""
    from campaigns import phones
    from campaigns.store import caller_ids as pool_store

    app = common.app()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, name)
        removed = 0
        for raw in numbers:
            number = phones.normalise(raw, app.settings.lists.default_region)
            removed += pool_store.remove(session, campaign.id, number.e164 if number else raw)
        audit.record(session, action="campaign.callerid.remove", entity="campaign",
                     entity_id=campaign.id, details={"numbers": list(numbers)}, at=utcnow())
    app.emit({"campaign": name, "removed": removed}, f"{removed} removed")


@command.command("diagnose")
@click.argument("name")
@common.common_options
def diagnose(name: str) -> None:
    """Why is it not dialing? Records by what blocks them now, and list penetration."""
    from campaigns import calling_rules
    from campaigns.store import diagnosis as diagnosis_store

    app = common.app()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, name)
        report = diagnosis_store.diagnose(session, campaign, utcnow(),
                                          rules=calling_rules.load(app.settings.compliance))
    app.emit(report, lambda: _diagnosis_text(report))


def _diagnosis_text(report: dict[str, Any]) -> str:
    lines = [f"campaign {report['campaign']!r}: {report['records']} records, "
             f"{report['ready_agents']} agents ready"]
    lines += [f"  {category:28} {count}" for category, count in report["blocked"].items() if count]
    if report["next_opening_at"] is not None:
        lines.append(f"  next calling-hours opening: {report['next_opening_at']:%Y-%m-%d %H:%M} UTC")
    pen = report["penetration"]
    lines.append(f"  penetration: dialed {pen['dialed']:.1%}, contacted {pen['contacted']:.1%}, "
                 f"final {pen['final']:.1%}")
    return "\n".join(lines)
