"""``dialer audit list``: the append-only audit of administrative changes, exports and logins."""

from __future__ import annotations

import datetime as dt

import click

from campaigns.store import audit
from dialer.cli import common


@click.group("audit")
def command() -> None:
    """The audit trail (append-only)."""


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise common.usage_error(f"--since {value!r}: expected YYYY-MM-DD or an ISO instant",
                                 "since") from None
    if instant.tzinfo is None:
        raise common.usage_error(f"--since {value!r}: give the offset (e.g. Z)", "since")
    return instant.astimezone(dt.UTC)


@command.command("list")
@click.option("--since", help="Events at or after this day (YYYY-MM-DD, UTC) or ISO instant.")
@click.option("--actor", help="Only this actor's events.")
@click.option("--action", help="Only this action, or a family (callback = callback.*).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@common.common_options
def list_(since: str | None, actor: str | None, action: str | None, limit: int) -> None:
    """Audit events, oldest first."""
    app = common.app()
    since_at = _since(since)
    with app.session() as session:
        events = [audit.as_dict(e) for e in audit.search(session, since=since_at, actor=actor,
                                                          action=action, limit=limit)]
    app.emit({"events": events}, lambda: common.echo_table(
        events, ["at", "actor", "action", "entity", "entity_id"]))
