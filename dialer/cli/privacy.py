"""``dialer privacy export|erase``: everything about one person, exported or erased (F4).

A person is named by a phone number (any format; every record holding it) or
``--record ID``.  ``export`` prints (or writes ``--out FILE``) one JSON
document; ``erase`` needs ``--yes``, removes the personal data, keeps the
attempt rows without it and a keyed hash of each number so a list load rejects
it (``erased``).  Both are audited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from campaigns.db import utcnow
from campaigns.store import privacy
from dialer.cli import common


@click.group("privacy")
def command() -> None:
    """Data protection: export or erase everything about a person."""


def _subject(phone: str | None, record_id: int | None, region: str) -> dict[str, Any]:
    if (phone is None) == (record_id is None):
        raise common.usage_error("give a phone number or --record ID (one of them)", "phone")
    return privacy.subject(phone, record_id, region)


_subject_options = [
    click.argument("phone", required=False),
    click.option("--record", "record_id", type=int, help="The record's id (instead of PHONE)."),
]


def _with_subject(func):
    for decorator in reversed(_subject_options):
        func = decorator(func)
    return func


@command.command("export")
@_with_subject
@click.option("--out", type=click.Path(dir_okay=False), help="Write the document to FILE.")
@common.common_options
def export(phone: str | None, record_id: int | None, out: str | None) -> None:
    """Everything stored about a person (records, numbers, attempts, callbacks, notes,
    notifications, webhook deliveries, audit lines), as one JSON document."""
    app = common.app()
    subject = _subject(phone, record_id, app.settings.lists.default_region)
    now = utcnow()
    with app.session() as session:
        document = privacy.export(session, now=now, **subject)
        privacy.record_export(session, document, actor="cli", out=out or "stdout", now=now)
    if out is None:
        click.echo(json.dumps(document, ensure_ascii=False, indent=None if app.is_json else 2))
        return
    Path(out).write_text(json.dumps(document, ensure_ascii=False, indent=2), "utf-8")
    app.emit({"out": out, "records": len(document["records"])},
             f"{len(document['records'])} record(s) exported to {out}")


@command.command("erase")
@_with_subject
@click.option("--yes", "is_confirmed", is_flag=True, help="Erase without asking (required).")
@common.common_options
def erase(phone: str | None, record_id: int | None, is_confirmed: bool) -> None:
    """Erase a person's personal data; their numbers are never re-imported (F4)."""
    app = common.app()
    subject = _subject(phone, record_id, app.settings.lists.default_region)
    if not is_confirmed:
        raise common.usage_error("erasing cannot be undone: add --yes", "yes")
    with app.session() as session:
        erased = privacy.erase(session, actor="cli", now=utcnow(), **subject)
    app.emit(erased, f"erased record(s) {', '.join(map(str, erased['records']))}: "
                     f"{erased['numbers']} number(s) suppressed, {erased['callbacks']} "
                     f"callback(s) and {erased['notifications']} message(s) deleted, "
                     f"{erased['attempts_kept']} attempt(s) kept without personal data")
