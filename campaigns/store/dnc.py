"""Do-not-call entries (global or one campaign's), their effect on loaded records, registry scrubs.

An entry's ``scope`` is ``"global"`` or ``"campaign:<id>"`` (with ``campaign_id``
set), so a number is listed at most once per scope.  An entry applies while
``expires_at`` is empty or later than ``now``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from campaigns import models
from campaigns.enums import RecordStatus

GLOBAL = "global"
#: record statuses that a do-not-call entry turns into ``dnc`` (final ones are left alone).
OPEN_STATUSES = (RecordStatus.NEW, RecordStatus.RETRY, RecordStatus.CALLBACK)
#: sources whose import is recorded as a national registry scrub.
#: national registries whose imports are dated (the calling rules name them in registry_source).
REGISTRY_SOURCES = ("us-national", "ca-dncl", "uk-tps")
_CHUNK = 500


def scope_for(campaign_id: int | None) -> str:
    """The scope key of an entry.

    >>> scope_for(None), scope_for(7)
    ('global', 'campaign:7')
    """
    return GLOBAL if campaign_id is None else f"campaign:{campaign_id}"


def _applies(entry: type[models.DncEntry] | models.DncEntry, now: dt.datetime):
    return or_(entry.expires_at.is_(None), entry.expires_at > now)


def add(session: Session, numbers: Iterable[str], *, campaign_id: int | None, source: str,
        now: dt.datetime, expires_at: dt.datetime | None = None) -> list[str]:
    """List E.164 numbers in a scope; returns those that were not listed there yet.

    A number listed already keeps its entry, unless that entry had expired: then
    it is renewed with the new source and expiry.
    """
    numbers = sorted(set(numbers))
    scope = scope_for(campaign_id)
    table = models.DncEntry.__table__
    insert = (sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert)
    added: list[str] = []
    for chunk in _chunks(numbers):
        present = dict(session.execute(select(models.DncEntry.e164, models.DncEntry.expires_at)
                                       .where(models.DncEntry.scope == scope,
                                              models.DncEntry.e164.in_(chunk))).all())
        stale = [n for n, expires in present.items() if expires is not None and expires <= now]
        if stale:
            session.execute(update(models.DncEntry).where(
                models.DncEntry.scope == scope, models.DncEntry.e164.in_(stale))
                .values(source=source, added_at=now, expires_at=expires_at))
        fresh = [n for n in chunk if n not in present]
        if fresh:
            session.execute(insert(table).on_conflict_do_nothing(), [
                {"e164": n, "campaign_id": campaign_id, "scope": scope, "source": source,
                 "added_at": now, "expires_at": expires_at} for n in fresh])
        added += fresh + stale
    return added


def remove(session: Session, numbers: Iterable[str], *, campaign_id: int | None) -> list[str]:
    """Unlist E.164 numbers from a scope; returns those that were listed."""
    scope = scope_for(campaign_id)
    removed: list[str] = []
    for chunk in _chunks(sorted(set(numbers))):
        removed += session.scalars(select(models.DncEntry.e164).where(
            models.DncEntry.scope == scope, models.DncEntry.e164.in_(chunk))).all()
        session.execute(delete(models.DncEntry).where(models.DncEntry.scope == scope,
                                                      models.DncEntry.e164.in_(chunk)))
    return removed


def entries(session: Session, *, campaign_id: int | None = None, is_all: bool = False,
            limit: int | None = None) -> list[models.DncEntry]:
    """Entries of one scope (global when ``campaign_id`` is None), or of every scope."""
    query = select(models.DncEntry).order_by(models.DncEntry.scope, models.DncEntry.e164)
    if not is_all:
        query = query.where(models.DncEntry.scope == scope_for(campaign_id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def blocked_numbers(session: Session, campaign_id: int, numbers: Iterable[str],
                    now: dt.datetime) -> set[str]:
    """Those of ``numbers`` on a do-not-call list that applies to the campaign at ``now``."""
    entry = models.DncEntry
    found: set[str] = set()
    for chunk in _chunks(sorted(numbers)):
        found.update(session.scalars(select(entry.e164).where(
            entry.e164.in_(chunk), entry.scope.in_((GLOBAL, scope_for(campaign_id))),
            _applies(entry, now))))
    return found


def count_entries(session: Session, campaign_id: int, now: dt.datetime) -> int:
    """How many entries apply to the campaign at ``now``."""
    entry = models.DncEntry
    return session.scalar(select(func.count()).select_from(entry).where(
        entry.scope.in_((GLOBAL, scope_for(campaign_id))), _applies(entry, now))) or 0


def applicable_numbers(session: Session, campaign_id: int, now: dt.datetime) -> Iterator[str]:
    """Every number listed for the campaign at ``now``, streamed."""
    entry = models.DncEntry
    result = session.execute(select(entry.e164).where(
        entry.scope.in_((GLOBAL, scope_for(campaign_id))), _applies(entry, now))
        .execution_options(yield_per=10_000))
    for (e164,) in result:
        yield e164


def _dialable(phone: type[models.PhoneNumber] | models.PhoneNumber, now: dt.datetime):
    """A valid number no applicable entry lists."""
    entry = aliased(models.DncEntry)
    listed = exists().where(entry.e164 == phone.e164,
                            or_(entry.campaign_id.is_(None), entry.campaign_id == phone.campaign_id),
                            _applies(entry, now))
    return and_(phone.is_valid.is_(True), ~listed)


def mark_records(session: Session, numbers: Iterable[str], *, campaign_id: int | None,
                 now: dt.datetime) -> int:
    """Set status ``dnc`` on open records holding one of ``numbers`` and no dialable number left.

    Call after :func:`add`.  Returns the number of records changed.
    """
    phone = models.PhoneNumber
    other = aliased(models.PhoneNumber)
    changed = 0
    for chunk in _chunks(sorted(set(numbers))):
        holders = select(phone.record_id).where(phone.e164.in_(chunk))
        if campaign_id is not None:
            holders = holders.where(phone.campaign_id == campaign_id)
        statement = (update(models.Record)
                     .where(models.Record.id.in_(holders),
                            models.Record.status.in_(OPEN_STATUSES),
                            ~exists().where(other.record_id == models.Record.id,
                                            _dialable(other, now)))
                     .values(status=RecordStatus.DNC, updated_at=now)
                     .execution_options(synchronize_session=False))
        changed += session.execute(statement).rowcount
    return changed


def restore_records(session: Session, numbers: Iterable[str], *, campaign_id: int | None,
                    now: dt.datetime) -> int:
    """Give ``new`` back to never-dialled ``dnc`` records that have a dialable number again.

    Call after :func:`remove`.  Records already dialled stay ``dnc``: their
    earlier state is not known.  Returns the number of records changed.
    """
    phone = models.PhoneNumber
    other = aliased(models.PhoneNumber)
    changed = 0
    for chunk in _chunks(sorted(set(numbers))):
        holders = select(phone.record_id).where(phone.e164.in_(chunk))
        if campaign_id is not None:
            holders = holders.where(phone.campaign_id == campaign_id)
        statement = (update(models.Record)
                     .where(models.Record.id.in_(holders),
                            models.Record.status == RecordStatus.DNC,
                            models.Record.attempts_count == 0,
                            exists().where(other.record_id == models.Record.id,
                                           _dialable(other, now)))
                     .values(status=RecordStatus.NEW, updated_at=now)
                     .execution_options(synchronize_session=False))
        changed += session.execute(statement).rowcount
    return changed


def record_scrub(session: Session, source: str, numbers: int,
                 now: dt.datetime) -> models.RegistryScrub:
    """Note that a national registry was imported (flushed)."""
    scrub = models.RegistryScrub(source=source, imported_at=now, numbers=numbers)
    session.add(scrub)
    session.flush()
    return scrub


def latest_scrub(session: Session, source: str) -> models.RegistryScrub | None:
    """The newest import of a registry, if any."""
    return session.scalars(select(models.RegistryScrub)
                           .where(models.RegistryScrub.source == source)
                           .order_by(models.RegistryScrub.imported_at.desc(),
                                     models.RegistryScrub.id.desc()).limit(1)).first()


def _chunks(values: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
