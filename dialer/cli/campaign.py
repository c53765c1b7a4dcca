"""``dialer campaign create|list|show|update|delete``."""

from __future__ import annotations

from typing import Any, Callable

import click

from campaigns import campaign_fields, dispositions
from campaigns.db import utcnow
from campaigns.enums import CallCategory, CampaignStatus, DialingMode
from campaigns.store import audit, campaigns as campaign_store, rules as rule_store
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
