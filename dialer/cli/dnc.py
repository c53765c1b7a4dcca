"""``dialer dnc add|import|list|remove``: do-not-call numbers, global or per campaign.

Listing a number takes effect at once on loaded records: an open record whose
numbers are all listed (or invalid) gets status ``dnc``.  Importing a national
registry (``--source us-national``, ``ca-dncl`` or ``uk-tps``) is also noted as a registry
scrub.  Every change writes an audit event.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import click
from sqlalchemy.orm import Session

from campaigns import dnc_files, lists, phones
from campaigns.db import utcnow
from campaigns.store import audit
from campaigns.store import campaigns as campaign_store
from campaigns.store import dnc as dnc_store
from dialer.cli import common

logger = logging.getLogger(__name__)

REGISTRY_REGIONS = dnc_files.REGISTRY_REGIONS


@click.group("dnc")
def command() -> None:
    """Do-not-call lists: global, or one campaign's."""


_campaign_option = click.option("--campaign", "campaign_name",
                                 help="The campaign's own list (default: the global list).")
_region_option = click.option("--default-region",
                              help="Region of numbers without a country code "
                              "(default [lists] default_region).")


def _campaign_id(session: Session, name: str | None) -> int | None:
    return campaign_store.get_by_name(session, name).id if name else None


def _parse_expiry(value: str | None) -> dt.datetime | None:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO instant with an offset."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise common.usage_error(f"--expires {value!r}: expected YYYY-MM-DD or an ISO instant",
                                 "expires") from None
    if instant.tzinfo is None:
        raise common.usage_error(f"--expires {value!r}: give the offset (e.g. Z)", "expires")
    return instant.astimezone(dt.UTC)


def _to_e164(values: tuple[str, ...], region: str) -> list[str]:
    found = []
    for value in values:
        number = phones.normalise(value, region)
        if number is None:
            raise common.usage_error(f"{value!r} is not a phone number", "numbers")
        found.append(number.e164)
    return found


def _region(value: str | None, default: str) -> str:
    import phonenumbers

    region = (value or default).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise common.usage_error(f"--default-region {value!r}: unknown region", "default_region")
    return region


@command.command("add")
@click.argument("numbers", nargs=-1, required=True)
@_campaign_option
@click.option("--source", default="manual", show_default=True, help="Where the request came from.")
@click.option("--expires", help="When the entry lapses (YYYY-MM-DD or ISO instant).")
@_region_option
@common.common_options
def add(numbers: tuple[str, ...], campaign_name: str | None, source: str, expires: str | None,
        default_region: str | None) -> None:
    """List NUMBERS (any format) as not to be called."""
    app = common.app()
    e164s = _to_e164(numbers, _region(default_region, app.settings.lists.default_region))
    expires_at = _parse_expiry(expires)
    now = utcnow()
    with app.session() as session:
        campaign_id = _campaign_id(session, campaign_name)
        added = dnc_store.add(session, e164s, campaign_id=campaign_id, source=source, now=now,
                              expires_at=expires_at)
        marked = dnc_store.mark_records(session, added, campaign_id=campaign_id, now=now)
        for e164 in added:
            audit.record(session, action="dnc.add", entity="dnc_entry", entity_id=e164, at=now,
                         details={"scope": dnc_store.scope_for(campaign_id), "source": source,
                                  "expires_at": expires_at.isoformat() if expires_at else None})
    scope = dnc_store.scope_for(campaign_id)
    payload = {"scope": scope, "added": added,
               "already_listed": sorted(set(e164s) - set(added)), "records_marked": marked}
    app.emit(payload, f"{len(added)} number(s) added to the {scope} list "
                      f"({marked} record(s) set to dnc)")


@command.command("remove")
@click.argument("numbers", nargs=-1, required=True)
@_campaign_option
@_region_option
@common.common_options
def remove(numbers: tuple[str, ...], campaign_name: str | None,
           default_region: str | None) -> None:
    """Unlist NUMBERS; never-dialled records they held become new again."""
    app = common.app()
    e164s = _to_e164(numbers, _region(default_region, app.settings.lists.default_region))
    now = utcnow()
    with app.session() as session:
        campaign_id = _campaign_id(session, campaign_name)
        removed = dnc_store.remove(session, e164s, campaign_id=campaign_id)
        restored = dnc_store.restore_records(session, removed, campaign_id=campaign_id, now=now)
        for e164 in removed:
            audit.record(session, action="dnc.remove", entity="dnc_entry", entity_id=e164, at=now,
                         details={"scope": dnc_store.scope_for(campaign_id)})
    scope = dnc_store.scope_for(campaign_id)
    payload = {"scope": scope, "removed": removed,
               "not_listed": sorted(set(e164s) - set(removed)), "records_restored": restored}
    app.emit(payload, f"{len(removed)} number(s) removed from the {scope} list")


@command.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--source", default="import", show_default=True,
              help="Name of the list; us-national, ca-dncl and uk-tps are recorded as registry scrubs.")
@_campaign_option
@_region_option
@common.common_options
def import_(file: str, source: str, campaign_name: str | None,
            default_region: str | None) -> None:
    """Import FILE: one number a line, any format (blank lines and # comments skipped)."""
    app = common.app()
    region = _region(default_region or REGISTRY_REGIONS.get(source),
                     app.settings.lists.default_region)
    encoding = lists.detect_encoding(file)
    with app.session() as session:
        campaign_id = _campaign_id(session, campaign_name)
        payload = dnc_files.import_file(session, Path(file), encoding=encoding, region=region,
                                        source=source, campaign_id=campaign_id, now=utcnow(),
                                        label=file)
    app.emit(payload, "{added} number(s) added to the {scope} list from {file} ({already_listed} "
                      "already listed, {unreadable} unreadable line(s), {records_marked} "
                      "record(s) set to dnc)".format(file=file, **payload))


@command.command("list")
@_campaign_option
@click.option("--all", "is_all", is_flag=True, help="Every scope.")
@click.option("--limit", type=int, help="At most this many entries.")
@common.common_options
def list_(campaign_name: str | None, is_all: bool, limit: int | None) -> None:
    """List the entries of the global list, or of a campaign's."""
    app = common.app()
    now = utcnow()
    with app.session() as session:
        campaign_id = _campaign_id(session, campaign_name)
        shown = [{"e164": e.e164, "scope": e.scope, "source": e.source, "added_at": e.added_at,
                  "expires_at": e.expires_at,
                  "is_active": e.expires_at is None or e.expires_at > now}
                 for e in dnc_store.entries(session, campaign_id=campaign_id, is_all=is_all,
                                            limit=limit)]
    app.emit({"entries": shown}, lambda: common.echo_table(
        shown, ["e164", "scope", "source", "added_at", "expires_at", "is_active"]))
