"""``dialer retention run``: delete what is older than its ``[retention]`` period (F4)."""

from __future__ import annotations

import click

from campaigns.db import utcnow
from campaigns.store import retention
from dialer.cli import common


@click.group("retention")
def command() -> None:
    """Retention periods: delete data older than its period."""


@command.command("run")
@click.option("--dry-run", "is_dry_run", is_flag=True, help="Count only; delete nothing.")
@common.common_options
def run(is_dry_run: bool) -> None:
    """Delete attempts, notifications, webhook deliveries, reject files and audit events
    older than their periods (``[retention]``; 0 days keeps a kind forever)."""
    app = common.app()
    with app.session() as session:
        result = retention.run(session, app.settings.retention, now=utcnow(),
                               is_dry_run=is_dry_run, actor="cli")
    verb = "would delete" if is_dry_run else "deleted"
    app.emit(result, lambda: "\n".join(
        f"{kind}: {verb} {n}" + ("" if result["cutoffs"][kind] else " (kept forever)")
        for kind, n in result["deleted"].items()))
