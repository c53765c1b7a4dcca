"""``dialer list recycle``: another pass over a list's unfinished records.

It is a sub-command of ``dialer list``; this module attaches it to that group.
"""

from __future__ import annotations

import click

from campaigns import errors
from campaigns.db import utcnow
from campaigns.enums import CallOutcome
from campaigns.store import audit, recycle
from campaigns.store import campaigns as campaign_store
from campaigns.store import lists as list_store
from dialer.cli import common
from dialer.cli import lists as list_cli


@list_cli.command.command("recycle")
@click.argument("list_key", metavar="LIST")
@click.option("--campaign", "campaign_name", help="The campaign (needed when several have a "
              "list of that name).")
@click.option("--outcomes", required=True, metavar="CODES",
              help="Comma-separated outcomes or dispositions to recycle, e.g. busy,no_answer.")
@click.option("--max-passes", type=click.IntRange(min=1), default=3, show_default=True,
              help="Refuse once the list has had this many passes.")
@common.common_options
def recycle_list(list_key: str, campaign_name: str | None, outcomes: str,
                 max_passes: int) -> None:
    """Re-queue the list's unfinished records whose last call ended in OUTCOMES."""
    app = common.app()
    codes = [code.strip() for code in outcomes.split(",") if code.strip()]
    if not codes:
        raise common.usage_error("--outcomes is empty", "outcomes")
    now = utcnow()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, campaign_name) if campaign_name else None
        calling_list = list_store.get_list(session, list_key, campaign=campaign)
        known = {o.value for o in CallOutcome} | set(_dispositions(session, calling_list))
        unknown = sorted(set(codes) - known)
        if unknown:
            raise common.usage_error(f"--outcomes: unknown code(s) {', '.join(unknown)}",
                                     "outcomes")
        if not calling_list.is_active:
            raise errors.InvalidInput(f"list {calling_list.name!r} is inactive: activate it "
                                      "first", fields={"list": "inactive"}, error_id="list-inactive")
        if calling_list.expires_on is not None and calling_list.expires_on < now.date():
            raise errors.InvalidInput(f"list {calling_list.name!r} expired on "
                                      f"{calling_list.expires_on}", fields={"list": "expired"},
                                      error_id="list-expired")
        # The first pass is pass 1; recycling starts pass ``passes + 2``.
        if calling_list.passes + 2 > max_passes:
            raise errors.InvalidInput(
                f"list {calling_list.name!r} has had {calling_list.passes + 1} passes "
                f"(--max-passes {max_passes})", fields={"max_passes": "reached"},
                error_id="max-passes-reached")
        count = recycle.requeue(session, calling_list, codes, now=now)
        audit.record(session, action="list.recycle", entity="calling_list",
                     entity_id=calling_list.id, at=now,
                     details={"outcomes": codes, "requeued": count,
                              "pass": calling_list.passes + 1})
        shown = {"list": calling_list.name, "list_id": calling_list.id, "requeued": count,
                 "pass": calling_list.passes + 1, "outcomes": codes}
    app.emit(shown, f"list {shown['list']!r}: {count} records re-queued for pass {shown['pass']}")


def _dispositions(session, calling_list) -> list[str]:
    from campaigns.store import rules as rule_store

    return list(rule_store.for_campaign(session, calling_list.campaign_id))
