"""Data protection (F4): everything about one person, exported or erased.

A person is found by a phone number (every record holding it, in any
campaign) or by a record id.  :func:`export` gathers the records' fields,
numbers, attempts, callbacks and their notes, notifications, webhook
deliveries and the audit events that mention them, as one JSON-ready dict.
:func:`erase` removes that personal data: record fields blanked, numbers,
callbacks, notifications and webhook deliveries deleted, attempt rows kept
for compliance counting (abandonment, attempt caps) without number, notes or
caller's details; each erased number leaves only a keyed hash
(HMAC-SHA256 under the database's random key, :class:`models.PrivacyKey`), which
:func:`is_suppressed` checks (and :func:`suppression_check`, once per chunk of a
list load) so a list load rejects it (reason ``erased``).

The audit is append-only: its events stay, and the erase adds one that names
record ids and counts only.  DNC entries stay too (a person who asked not to be
called must stay uncallable).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hmac
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from campaigns import errors, models, phones
from campaigns.enums import RecordStatus
from campaigns.store import audit

#: up to this many erased numbers, a list load keeps their hashes in memory (32 bytes each).
SUPPRESSION_IN_MEMORY_MAX = 200_000
#: hashes asked about in one ``IN (...)`` (well under SQLite's bound-parameter limit).
_IN_CHUNK = 10_000
_BLANK_RECORD = {"first_name": "", "last_name": "", "email": "", "raw_state": "", "raw_zip": "",
                 "raw_tz": "", "fields": {}, "custom_fields": {}}


# --------------------------------------------------------------------------- suppression


def _key(session: Session, *, create: bool) -> bytes | None:
    row = session.scalars(select(models.PrivacyKey).order_by(models.PrivacyKey.id)).first()
    if row is None and create:
        row = models.PrivacyKey(key_hex=secrets.token_hex(32),
                                created_at=dt.datetime.now(dt.UTC))
        session.add(row)
        session.flush()
    return bytes.fromhex(row.key_hex) if row is not None else None


def number_hash(key: bytes, e164: str) -> str:
    """The hex HMAC-SHA256 of an E.164 number.

    >>> number_hash(b"k" * 32, "+12125550100")[:16]
    'ad603086a7e4c223'
    """
    return hmac.digest(key, e164.encode("ascii"), "sha256").hex()


def suppression_key(session: Session) -> bytes | None:
    """The key of the suppression hashes; None when no number was ever erased."""
    if session.scalars(select(models.ErasureSuppression.id).limit(1)).first() is None:
        return None
    return _key(session, create=False)


def suppression_check(session: Session, *, in_memory_max: int = SUPPRESSION_IN_MEMORY_MAX
                      ) -> Callable[[Iterable[str]], set[str]] | None:
    """What a list load asks about each chunk: which of these numbers were erased.

    None when no number was ever erased (the load skips the check).  Up to
    ``in_memory_max`` entries, their hashes are read once and each number costs
    one HMAC; past that, each call is one query (:func:`is_suppressed`).
    """
    key = suppression_key(session)
    if key is None:
        return None
    entry = models.ErasureSuppression
    count = session.scalar(select(func.count()).select_from(entry)) or 0
    if count > in_memory_max:
        return functools.partial(is_suppressed, session, key=key)
    hashes = frozenset(bytes.fromhex(h) for h in session.scalars(select(entry.number_hash)))

    def among(e164s: Iterable[str]) -> set[str]:
        return {n for n in e164s if hmac.digest(key, n.encode("ascii"), "sha256") in hashes}

    return among


def is_suppressed(session: Session, e164s: Iterable[str], *, key: bytes | None = None
                  ) -> set[str]:
    """Those of ``e164s`` that were erased (the list loader rejects them: ``erased``).

    Parameters
    ----------
    key:
        From :func:`suppression_key`, when the caller asks many times; by default it is
        read here.
    """
    numbers = set(e164s)
    if not numbers:
        return set()
    key = key or _key(session, create=False)
    if key is None:  # nothing was ever erased
        return set()
    by_hash = {hmac.digest(key, n.encode("ascii"), "sha256").hex(): n for n in numbers}
    found: set[str] = set()
    hashes = sorted(by_hash)
    for start in range(0, len(hashes), _IN_CHUNK):
        found.update(by_hash[h] for h in session.scalars(
            select(models.ErasureSuppression.number_hash)
            .where(models.ErasureSuppression.number_hash.in_(hashes[start:start + _IN_CHUNK]))))
    return found


def _suppress(session: Session, numbers: set[str], now: dt.datetime) -> int:
    key = _key(session, create=True)
    assert key is not None
    hashes = {number_hash(key, n) for n in numbers}
    known = set(session.scalars(select(models.ErasureSuppression.number_hash)
                                .where(models.ErasureSuppression.number_hash.in_(hashes))))
    session.add_all(models.ErasureSuppression(number_hash=h, erased_at=now)
                    for h in sorted(hashes - known))
    session.flush()
    return len(hashes - known)


# --------------------------------------------------------------------------- finding a person


def subject(phone: str | None, record_id: int | None, region: str) -> dict[str, Any]:
    """Who an export or erase is about: ``{"phone": e164}`` or ``{"record_id": id}``.

    ``phone`` may be written in any format (``region`` for numbers without a country code).

    Raises
    ------
    campaigns.errors.InvalidInput
        Neither or both given (field ``phone``), or ``phone`` is not a valid number.

    >>> subject("(212) 555-0100", None, "US"), subject(None, 7, "US")
    ({'phone': '+12125550100'}, {'record_id': 7})
    """
    if (phone is None) == (record_id is None):
        raise errors.InvalidInput("give a phone number or a record id (one of them)",
                                  fields={"phone": "give a phone number or a record id"})
    if phone is None:
        return {"record_id": record_id}
    number = phones.normalise(phone, region)
    if number is None or not number.is_valid:
        raise errors.InvalidInput(f"{phone!r} is not a valid phone number",
                                  fields={"phone": "not a valid phone number"})
    return {"phone": number.e164}


def find_records(session: Session, *, phone: str | None = None,
                 record_id: int | None = None) -> list[models.Record]:
    """The records of a person: those holding ``phone`` (E.164), or record ``record_id``.

    Raises
    ------
    campaigns.errors.NotFound
        No record holds that number, or no such record.
    """
    if record_id is not None:
        record = session.get(models.Record, record_id)
        if record is None:
            raise errors.NotFound("record", record_id)
        return [record]
    ids = set(session.scalars(select(models.PhoneNumber.record_id)
                              .where(models.PhoneNumber.e164 == phone)))
    ids |= set(session.scalars(select(models.Callback.record_id)
                               .where(models.Callback.number_e164 == phone)))
    if not ids:
        raise errors.NotFound("person", phone)
    return list(session.scalars(select(models.Record).where(models.Record.id.in_(ids))
                                .order_by(models.Record.id)))


def _numbers(session: Session, records: list[models.Record], phone: str | None) -> set[str]:
    ids = [r.id for r in records]
    found = set(session.scalars(select(models.PhoneNumber.e164)
                                .where(models.PhoneNumber.record_id.in_(ids))))
    found |= set(session.scalars(select(models.Callback.number_e164)
                                 .where(models.Callback.record_id.in_(ids))))
    return found | ({phone} if phone else set())


def _callback_ids(session: Session, record_ids: list[int]) -> list[int]:
    return list(session.scalars(select(models.Callback.id)
                                .where(models.Callback.record_id.in_(record_ids))))


def _messages(callback_ids: list[int], contacts: set[str]):
    """Outbox messages about the callbacks, or sent to one of the contacts."""
    msg = models.OutboxMessage
    return select(msg).where(or_(msg.callback_id.in_(callback_ids), msg.recipient.in_(contacts)))


def _deliveries(record_ids: list[int], numbers: set[str]):
    """Webhook deliveries whose (compact, sorted-key JSON) body names a number or record."""
    body = models.WebhookDelivery.body
    matches = [body.contains(n) for n in sorted(numbers)]
    for record_id in record_ids:
        matches += [body.contains(f'"record_id":{record_id},'),
                    body.contains(f'"record_id":{record_id}}}')]
    return select(models.WebhookDelivery).where(or_(*matches)) if matches else None


def _audit_lines(session: Session, record_ids: list[int], callback_ids: list[int],
                 needles: set[str]) -> list[models.AuditEvent]:
    ev = models.AuditEvent
    text_details = cast(ev.details, String)
    query = select(ev).where(or_(
        (ev.entity == "record") & ev.entity_id.in_([str(i) for i in record_ids]),
        (ev.entity == "callback") & ev.entity_id.in_([str(i) for i in callback_ids]),
        ev.entity_id.in_(sorted(needles)),  # e.g. a DNC entry's number
        *(text_details.contains(n) for n in sorted(needles) if n))).order_by(ev.id)
    return list(session.scalars(query))


# --------------------------------------------------------------------------- export


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row's columns as JSON-ready values."""
    out: dict[str, Any] = {}
    for column in obj.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        if isinstance(value, dt.datetime):
            value = _iso(value)
        elif isinstance(value, (dt.date, dt.time)):
            value = value.isoformat()
        elif isinstance(value, enum.Enum):
            value = value.value
        out[column.key] = value
    return out


def _person(session: Session, phone: str | None, record_id: int | None
            ) -> tuple[list[models.Record], list[int], list[int], set[str], set[str]]:
    """A person's records, their ids, their callbacks' ids, numbers and contacts (numbers
    and e-mail addresses): what export and erase both start from."""
    records = find_records(session, phone=phone, record_id=record_id)
    record_ids = [r.id for r in records]
    numbers = _numbers(session, records, phone)
    return (records, record_ids, _callback_ids(session, record_ids), numbers,
            numbers | {r.email for r in records if r.email})


def export(session: Session, *, phone: str | None = None, record_id: int | None = None,
           now: dt.datetime) -> dict[str, Any]:
    """Everything stored about a person, as one JSON-ready document.

    Raises
    ------
    campaigns.errors.NotFound
        As :func:`find_records`.
    """
    records, record_ids, callback_ids, numbers, contacts = _person(session, phone, record_id)
    deliveries = _deliveries(record_ids, numbers)
    return {
        "subject": {"phone": phone, "record_id": record_id},
        "exported_at": _iso(now),
        "records": [_export_record(session, r) for r in records],
        "notifications": [_row(m) for m in session.scalars(
            _messages(callback_ids, contacts).order_by(models.OutboxMessage.id))],
        "webhook_deliveries": [] if deliveries is None else [
            _row(d) for d in session.scalars(deliveries.order_by(models.WebhookDelivery.id))],
        "audit": [audit.as_dict(e) for e in _audit_lines(session, record_ids, callback_ids,
                                                          contacts)],
    }


def record_export(session: Session, document: dict[str, Any], *, actor: str, out: str,
                  now: dt.datetime) -> models.AuditEvent:
    """Audit an export (``out``: where the document went, e.g. a file, ``stdout``, ``api``)."""
    record_ids = [r["id"] for r in document["records"]]
    return audit.record(session, action="privacy.export", entity="record", actor=actor,
                        entity_id=",".join(map(str, record_ids)), at=now,
                        details={"records": record_ids, "out": out})


def _export_record(session: Session, record: models.Record) -> dict[str, Any]:
    callbacks = list(session.scalars(select(models.Callback).where(
        models.Callback.record_id == record.id).order_by(models.Callback.id)))
    notes = {c.id: [_row(n) for n in session.scalars(
        select(models.CallbackNote).where(models.CallbackNote.callback_id == c.id)
        .order_by(models.CallbackNote.id))] for c in callbacks}
    attempts = session.scalars(select(models.Attempt).where(
        models.Attempt.record_id == record.id).order_by(models.Attempt.id))
    return {**_row(record, skip=("claimed_by", "claimed_until")),
            "numbers": [_row(p) for p in sorted(record.phones, key=lambda p: p.position)],
            "attempts": [_row(a) for a in attempts],
            "callbacks": [{**_row(c, skip=("claimed_by", "claimed_until")),
                           "notes_added": notes[c.id]} for c in callbacks]}


# --------------------------------------------------------------------------- erase


def erase(session: Session, *, phone: str | None = None, record_id: int | None = None,
          actor: str, now: dt.datetime) -> dict[str, Any]:
    """Erase a person's personal data (see the module docstring); what was erased.

    Raises
    ------
    campaigns.errors.NotFound
        As :func:`find_records`.
    """
    records, record_ids, callback_ids, numbers, contacts = _person(session, phone, record_id)
    counts = {"records": len(records), "numbers": len(numbers)}
    counts["notifications"] = _delete(session, _messages(callback_ids, contacts))
    deliveries = _deliveries(record_ids, numbers)
    counts["webhook_deliveries"] = 0 if deliveries is None else _delete(session, deliveries)
    counts["callbacks"] = _delete(session, select(models.Callback).where(
        models.Callback.id.in_(callback_ids)))
    counts["attempts_kept"] = _blank_attempts(session, record_ids, numbers)
    counts["retries"] = _delete(session, select(models.Retry).where(
        models.Retry.record_id.in_(record_ids)))
    session.execute(delete(models.PhoneNumber).where(models.PhoneNumber.record_id.in_(record_ids))
                    .execution_options(synchronize_session=False))
    for record in records:
        session.expire(record, ["phones"])
        for name, value in _BLANK_RECORD.items():
            setattr(record, name, value)
        record.status = RecordStatus.DNC  # never dialled again
        record.next_attempt_at = record.claimed_by = record.claimed_until = None
        record.updated_at = now
    counts["suppressed"] = _suppress(session, numbers, now)
    session.flush()
    audit.record(session, action="privacy.erase", entity="record",
                 entity_id=",".join(str(i) for i in record_ids), actor=actor, at=now,
                 details={"records": record_ids, **{k: v for k, v in counts.items()
                                                    if k != "records"}})
    return {"records": record_ids, **{k: v for k, v in counts.items() if k != "records"}}


def _delete(session: Session, query) -> int:
    rows = list(session.scalars(query))
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def _blank_attempts(session: Session, record_ids: list[int], numbers: set[str]) -> int:
    """Keep the attempts (compliance counts) without the number, notes or phone link."""
    attempt = models.Attempt
    rows = list(session.scalars(select(attempt).where(or_(
        attempt.record_id.in_(record_ids), attempt.number_e164.in_(numbers)))))
    for row in rows:
        row.number_e164 = ""
        row.notes = ""
        row.phone_number_id = None
    session.flush()
    return len(rows)
