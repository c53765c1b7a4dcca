"""``dialer list load|list|show|activate|deactivate|update``: calling lists of a campaign.

``load`` streams a CSV file into a list in one transaction through
:func:`dialer.list_loader.load_file`.  A file that cannot be used stores nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import click
import phonenumbers
from sqlalchemy.orm import Session

from campaigns import errors, lists, models
from campaigns.db import utcnow
from campaigns.store import audit, campaigns as campaign_store
from campaigns.store import lists as list_store
from dialer import list_loader
from dialer.cli import common

#: files smaller than this are parsed in-process (starting workers costs more).
PARALLEL_MIN_BYTES = 16 << 20


@click.group("list")
def command() -> None:
    """Calling lists: load files, priorities, activation, expiry."""


def parse_date(value: str | None, option: str) -> dt.date | None:
    """``YYYY-MM-DD`` -> date (None stays None); bad input is a usage error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise common.usage_error(f"{option} {value!r}: expected YYYY-MM-DD", option) from None


def _region(value: str | None, default: str) -> str:
    region = (value or default).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise common.usage_error(f"--default-region {value!r}: not a region phonenumbers knows "
                                 "(e.g. US, CA, GB)", "default_region")
    return region


@command.command("load")
@click.argument("file", type=click.Path(dir_okay=True))
@click.option("--campaign", "campaign_name", required=True, help="The campaign's name.")
@click.option("--name", "list_name", help="List name (default: the file's name without suffix); "
              "loading into an existing list appends to it and reuses its saved mapping.")
@click.option("--priority", type=int, help="List priority (higher is dialled first).")
@click.option("--expires", help="Last day the list is dialled (YYYY-MM-DD).")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
              help="Take FIELD from COLUMN (repeatable; alt_phone may repeat). Fields: "
              + ", ".join(lists.FIELDS) + ".")
@click.option("--default-region", help="Region of numbers without a country code "
              "(default [lists] default_region).")
@click.option("--reject-file", type=click.Path(dir_okay=False),
              help="Where rejected rows go (default FILE.rejects.csv).")
@common.common_options
def load(file: str, campaign_name: str, list_name: str | None, priority: int | None,
         expires: str | None, maps: tuple[str, ...], default_region: str | None,
         reject_file: str | None) -> None:
    """Load a CSV FILE into a list of a campaign."""
    app = common.app()
    section = app.settings.lists
    region = _region(default_region, section.default_region)
    expires_on = parse_date(expires, "--expires")
    overrides = lists.parse_map_options(maps)
    path = Path(file)
    if path.is_dir():
        raise errors.ListFileError(f"{path}: a directory, not a file", fields={"file": "directory"})
    shape = lists.sniff(path)
    name = list_name or path.stem
    now = utcnow()
    with app.session() as session:
        list_store.suspend_foreign_keys(session)
        campaign = campaign_store.get_by_name(session, campaign_name)
        calling_list = list_store.find_by_name(session, campaign.id, name)
        mapping = lists.resolve_mapping(shape.header, overrides,
                                        calling_list.column_map if calling_list else None)
        if calling_list is None:
            calling_list = list_store.create_list(session, campaign, name, now=now,
                                                  priority=priority or 0, expires_on=expires_on)
        changes: dict[str, Any] = {"column_map": mapping, "source_file": str(path)}
        if priority is not None:
            changes["priority"] = priority
        if expires_on is not None:
            changes["expires_on"] = expires_on
        list_store.update_list(session, calling_list, **changes)
        # By default one core inserts (this process) and the others parse.
        workers = section.workers or max(1, (os.cpu_count() or 2) - 1)
        if path.stat().st_size < PARALLEL_MIN_BYTES:
            workers = 0
        with list_loader.cyclic_gc_paused(), list_loader.quick_thread_switches():
            summary = list_loader.load_file(
                session, calling_list, path, shape, mapping, region, now=now,
                reject_path=Path(reject_file) if reject_file else None,
                batch_size=section.batch_size, workers=workers,
                show_progress=sys.stderr.isatty() and not app.is_json)
        audit.record(session, action="list.load", entity="calling_list",
                     entity_id=calling_list.id, at=now,
                     details={k: summary[k] for k in ("rows", "imported", "rejected", "file")})
    app.emit(summary, lambda: _load_text(summary))


def _load_text(summary: dict[str, Any]) -> str:
    reasons = ", ".join(f"{n} {reason}" for reason, n in summary["rejected"].items() if n)
    return (f"list {summary['list']!r} (id {summary['list_id']}): {summary['rows']} rows, "
            f"{summary['imported']} imported, {summary['rows'] - summary['imported']} rejected"
            + (f" ({reasons}) -> {summary['reject_file']}" if reasons else ""))


def _as_dict(calling_list: models.CallingList, campaign_name: str) -> dict[str, Any]:
    return {"id": calling_list.id, "campaign": campaign_name, "name": calling_list.name,
            "priority": calling_list.priority, "is_active": calling_list.is_active,
            "expires_on": calling_list.expires_on, "rows_total": calling_list.rows_total,
            "rows_imported": calling_list.rows_imported,
            "rows_rejected": calling_list.rows_rejected, "source_file": calling_list.source_file,
            "created_at": calling_list.created_at}


def _find(session: Session, key: str, campaign_name: str | None) -> models.CallingList:
    campaign = (campaign_store.get_by_name(session, campaign_name) if campaign_name else None)
    return list_store.get_list(session, key, campaign=campaign)


_campaign_option = click.option("--campaign", "campaign_name",
                                help="The campaign (needed when several have a list of that name).")


@command.command("list")
@click.option("--campaign", "campaign_name", help="Only this campaign's lists.")
@common.common_options
def list_(campaign_name: str | None) -> None:
    """List calling lists (by campaign, highest priority first)."""
    app = common.app()
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, campaign_name) if campaign_name else None
        names = {c.id: c.name for c in campaign_store.all_campaigns(session)}
        shown = [_as_dict(cl, names[cl.campaign_id]) for cl in list_store.lists_of(session, campaign)]
    app.emit({"lists": shown}, lambda: common.echo_table(
        shown, ["id", "campaign", "name", "priority", "is_active", "expires_on", "rows_imported"]))


@command.command("show")
@click.argument("list_key", metavar="LIST")
@_campaign_option
@common.common_options
def show(list_key: str, campaign_name: str | None) -> None:
    """Show a list (by name or id): mapping, counts, records by status."""
    app = common.app()
    with app.session() as session:
        calling_list = _find(session, list_key, campaign_name)
        shown = _as_dict(calling_list, calling_list.campaign.name)
        shown["column_map"] = calling_list.column_map
        shown["records_by_status"] = list_store.status_counts(session, calling_list.id)
    app.emit(shown, lambda: "\n".join(f"{key}: {common._cell(value)}"
                                      for key, value in shown.items()))


def _set_active(list_key: str, campaign_name: str | None, is_active: bool) -> None:
    app = common.app()
    now = utcnow()
    with app.session() as session:
        calling_list = _find(session, list_key, campaign_name)
        list_store.update_list(session, calling_list, is_active=is_active)
        audit.record(session, action="list.activate" if is_active else "list.deactivate",
                     entity="calling_list", entity_id=calling_list.id, at=now)
        shown = _as_dict(calling_list, calling_list.campaign.name)
    app.emit(shown, f"list {shown['name']!r} {'activated' if is_active else 'deactivated'}")


@command.command("activate")
@click.argument("list_key", metavar="LIST")
@_campaign_option
@common.common_options
def activate(list_key: str, campaign_name: str | None) -> None:
    """Dial this list again."""
    _set_active(list_key, campaign_name, True)


@command.command("deactivate")
@click.argument("list_key", metavar="LIST")
@_campaign_option
@common.common_options
def deactivate(list_key: str, campaign_name: str | None) -> None:
    """Stop dialling this list (its records stay)."""
    _set_active(list_key, campaign_name, False)


@command.command("update")
@click.argument("list_key", metavar="LIST")
@_campaign_option
@click.option("--priority", type=int, help="New priority (higher is dialled first).")
@click.option("--expires", help="Last day the list is dialled (YYYY-MM-DD, '' removes it).")
@click.option("--rename", help="New name.")
@common.common_options
def update(list_key: str, campaign_name: str | None, priority: int | None, expires: str | None,
           rename: str | None) -> None:
    """Change a list's priority, expiry date or name."""
    app = common.app()
    values: dict[str, Any] = {}
    if priority is not None:
        values["priority"] = priority
    if expires is not None:
        values["expires_on"] = parse_date(expires, "--expires") if expires else None
    if rename is not None:
        if not rename.strip():
            raise common.usage_error("--rename: the name is empty", "rename")
        values["name"] = rename.strip()
    if not values:
        raise common.usage_error("nothing to change (--priority, --expires or --rename)")
    now = utcnow()
    with app.session() as session:
        calling_list = _find(session, list_key, campaign_name)
        if "name" in values and list_store.find_by_name(session, calling_list.campaign_id,
                                                        values["name"]) not in (None, calling_list):
            raise errors.AlreadyExists("list", values["name"])
        changes = list_store.update_list(session, calling_list, **values)
        audit.record(session, action="list.update", entity="calling_list",
                     entity_id=calling_list.id, at=now,
                     details={k: [str(b), str(a)] for k, (b, a) in changes.items()})
        shown = _as_dict(calling_list, calling_list.campaign.name)
    app.emit(shown, f"list {shown['name']!r} updated: " + (", ".join(changes) or "no change"))
