"""``dialer rules load|show``: a campaign's disposition rules."""

from __future__ import annotations

from pathlib import Path

import click

from campaigns import dispositions
from campaigns.db import utcnow
from campaigns.store import audit
from campaigns.store import campaigns as campaign_store
from campaigns.store import rules as rule_store
from dialer.cli import common


@click.group("rules")
def command() -> None:
    """Disposition rules: what each outcome and disposition leads to."""


@command.command("load")
@click.option("--campaign", "campaign_name", required=True, help="Campaign name.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@common.common_options
def load(campaign_name: str, file: Path) -> None:
    """Validate FILE and make it the campaign's rules (all or nothing)."""
    app = common.app()
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise common.usage_error(f"cannot read rules file {file}: {exc}", "file") from exc
    rules = dispositions.parse_rules(text, source=str(file))
    now = utcnow()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, campaign_name)
        count = rule_store.replace(session, campaign, rules)
        audit.record(session, action="rules.load", entity="campaign", entity_id=campaign.id,
                     details={"file": str(file), "rules": count}, at=now)
    app.emit({"campaign": campaign_name, "rules": count, "codes": [r.code for r in rules]},
             f"{count} rules loaded into campaign {campaign_name!r}")


@command.command("show")
@click.option("--campaign", "campaign_name", required=True, help="Campaign name.")
@common.common_options
def show(campaign_name: str) -> None:
    """Show the campaign's rules."""
    app = common.app()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, campaign_name)
        rules = rule_store.for_campaign(session, campaign.id)
    rows = [{"code": r.code, "source": r.source.value, "action": r.action.value,
             "delay_s": r.delay_s, "backoff": r.backoff, "max_delay_s": r.max_delay_s,
             "max_per_record": r.max_per_record, "on_cap": r.on_cap.value,
             "counts_as_attempt": r.counts_as_attempt, "is_contact": r.is_contact,
             "label": r.label} for r in rules.values()]
    app.emit({"campaign": campaign_name, "rules": rows},
             lambda: common.echo_table(rows, ["code", "source", "action", "delay_s", "backoff",
                                              "max_per_record", "on_cap"]))
