"""Calling-hours targets of many stored numbers at once: a handful of set-based queries.

:func:`campaigns.store.compliance.load_target` answers for one record with
about seventeen queries; the timer's release pass (:mod:`campaigns.store.retry_queue`)
judges thousands of due rows at a time.  :func:`load_targets` gives, for a
batch of :class:`Subject` values, the very targets ``load_target`` would
(tested over zones, DNC, frequency limits, holidays and suspensions on both
databases), with one query each for attempts, DNC entries, registry scrubs and
suspensions, whatever the batch size.

Three things keep it fast without changing any answer:

- a number's zones and jurisdictions depend only on its region, line type,
  phonenumbers' zones (stored at list load), NANP area code and the record's
  address; numbers that share those share one :func:`campaigns.zones.locate`
  call (the rest is the same :class:`~campaigns.zones.Location` with its own
  E.164);
- targets that differ only by their number share everything
  ``Target.__post_init__`` derives (the plan, static reasons), so one is built
  per shape and copied; :func:`judge` decides once per shape too
  (:func:`campaigns.calling_hours.may_dial` never reads the number);
- :func:`load_row_shapes` takes the rows as read (no :class:`Subject` each) and
  gives a number nobody has called recently or listed as DNC the target of its
  campaign and place, built once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from campaigns import calling_hours, calling_rules, models, zones
from campaigns.store import compliance

#: values per IN list (as one bound JSON array or array value: the size only bounds memory).
_CHUNK = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class Subject:
    """One stored number to judge: what ``load_target`` reads from the phone and its record."""

    campaign_id: int
    e164: str
    record_id: int | None = None
    raw_state: str = ""
    raw_zip: str = ""
    raw_tz: str = ""
    #: phonenumbers' answers stored at list load ("" when unknown: the number is parsed);
    #: ``zones`` as stored (its JSON text: only compared, never read).
    region: str = ""
    line_type: str = ""
    zones: str = ""
    is_valid: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """What the calling-hours engine says about one target at one instant."""

    decision: calling_hours.Decision
    #: the next legal instant within the horizon when asked for (None: none, or not asked).
    opening: dt.datetime | None = None
    #: how long the call stays allowed from ``opening`` (a lapsed window's new end).
    opening_until: dt.datetime | None = None


def subjects_for_phones(session: Session, phone_ids: Iterable[int]) -> dict[int, Subject]:
    """Phone id -> :class:`Subject`, from one query per chunk of ids."""
    ids = sorted(set(phone_ids))
    out: dict[int, Subject] = {}
    phone, record = models.PhoneNumber, models.Record
    for first in range(0, len(ids), _CHUNK):
        query = (select(phone.id, phone.campaign_id, phone.e164, phone.record_id, record.raw_state,
                        record.raw_zip, record.raw_tz, phone.region, phone.line_type,
                        cast(phone.zones, String), phone.is_valid)
                 .join(record, record.id == phone.record_id)
                 .where(phone.id.in_(ids[first:first + _CHUNK])))
        for row in session.execute(query):
            out[row[0]] = subject_of_row(*row[1:])
    return out


def subject_of_row(campaign_id: int, e164: str, record_id: int | None, raw_state: str | None,
                   raw_zip: str | None, raw_tz: str | None, region: str | None,
                   line_type: str | None, stored_zones: str | None,
                   is_valid: bool | None) -> Subject:
    """A :class:`Subject` from the columns of a phone and its record (zones cast to text)."""
    return Subject(campaign_id, e164, record_id, raw_state or "", raw_zip or "", raw_tz or "",
                   region or "", line_type or "", stored_zones or "", bool(is_valid))


def load_targets(session: Session, campaigns: Mapping[int, models.Campaign],
                 subjects: Sequence[Subject], now: dt.datetime, *,
                 rules: calling_rules.RuleSet | None = None) -> list[calling_hours.Target]:
    """The target of every subject, as ``compliance.load_target(..., phone=...)`` builds it.

    Raises
    ------
    campaigns.errors.InvalidInput
        When a stored number cannot be parsed (as ``load_target`` does).
    """
    shapes = load_shapes(session, campaigns, subjects, now, rules=rules)
    return [_with_number(shape, e164) for shape, e164 in shapes]


def load_shapes(session: Session, campaigns: Mapping[int, models.Campaign],
                subjects: Sequence[Subject], now: dt.datetime, *,
                rules: calling_rules.RuleSet | None = None
                ) -> list[tuple[calling_hours.Target, str]]:
    """(shared target, number) of every subject: the target may name another number.

    Subjects whose targets differ only by their number share one target
    object, which :func:`judge` decides once.  ``load_targets`` is this with
    each target given its own number.
    """
    rows = [tuple(getattr(subject, name) for name in _FIELDS) for subject in subjects]
    return list(zip(*load_row_shapes(session, campaigns, rows, now, rules=rules), strict=True))


#: a stored number as :func:`load_row_shapes` takes it: :class:`Subject`'s fields in order.
_FIELDS = tuple(f.name for f in dataclasses.fields(Subject))


def load_row_shapes(session: Session, campaigns: Mapping[int, models.Campaign],
                    rows: Sequence[Sequence[Any]], now: dt.datetime, *,
                    rules: calling_rules.RuleSet | None = None
                    ) -> tuple[list[calling_hours.Target], list[str]]:
    """The shared targets and the numbers of :func:`load_shapes`, of rows as stored.

    A row's first ten columns are :class:`Subject`'s fields in order (more may
    follow).  The release pass reads thousands of due rows at a time and most
    share their target with many others: a place is located once, and a number
    nobody has called recently or put on a DNC list takes the target of the first
    such row of its campaign and place.  Nothing kept per row is a new container
    (the garbage collector would walk them all).
    """
    rules = rules or calling_rules.default_rules()
    index_of: dict[tuple[Any, ...], int] = {}
    located: list[zones.Location] = []
    is_alone: list[bool] = []
    places, numbers_of = [], []
    for row in rows:
        key = _place_key(row)
        index = index_of.get(key)
        if index is None:
            index = index_of[key] = len(located)
            located.append(_locate(key, row))
            is_alone.append(key[0] == "number")
        places.append(index)
        numbers_of.append(located[index].e164 if is_alone[index] else row[1])
    numbers = sorted(set(numbers_of))
    records = sorted({row[2] for row in rows if row[2] is not None})
    connection = session.connection()
    history = _History(_attempts(connection, numbers, records,
                                 now - compliance.history_span(rules)))
    dnc = _dnc(connection, numbers, {row[0] for row in rows}, now)
    called = history.by_number.keys() | {number for number, _scope in dnc}
    scrubs = tuple(sorted(compliance.latest_scrubs(session).items()))
    pauses = compliance.suspensions(session, now)
    per_campaign = {cid: _campaign_fields(c) for cid, c in campaigns.items()}
    per_place: dict[tuple[str, ...], tuple[Any, ...]] = {}
    shapes: dict[tuple[Any, ...], calling_hours.Target] = {}
    plain: dict[tuple[int, int], calling_hours.Target] = {}
    out = []
    for row, index, e164 in zip(rows, places, numbers_of, strict=True):
        cid, record_id = row[0], row[2]
        is_plain = e164 not in called and record_id not in history.by_record
        if is_plain:
            shape = plain.get((cid, index))
            if shape is not None:
                out.append(shape)
                continue
        place_zones, jurisdictions = located[index].zones, located[index].jurisdictions
        paused = per_place.get(jurisdictions)
        if paused is None:
            paused = per_place[jurisdictions] = tuple(
                p for p in pauses if p.jurisdiction in jurisdictions)
        fields = (place_zones, jurisdictions, per_campaign[cid],
                  history.of(e164, record_id, cid),
                  (e164, "global") in dnc or (e164, f"campaign:{cid}") in dnc, scrubs, paused)
        shape = shapes.get(fields)
        if shape is None:
            shape = shapes[fields] = _target(e164, fields, rules)
        if is_plain:
            plain[cid, index] = shape
        out.append(shape)
    return out, numbers_of


def judge(targets: Sequence[calling_hours.Target], now: dt.datetime, *,
          horizon: dt.timedelta | None = None,
          is_opening_wanted: Sequence[bool] | None = None) -> list[Verdict]:
    """``may_dial`` of each target at ``now``, decided once per shape of target.

    Where the call is refused, or where ``is_opening_wanted`` says so, the
    verdict also carries ``next_dialable_at`` within ``horizon`` and how long the
    call stays allowed from there.
    """
    horizon = horizon or dt.timedelta(days=14)
    decided: dict[tuple[Any, ...], Verdict] = {}
    opened: dict[tuple[Any, ...], Verdict] = {}
    # Shared targets (load_shapes) are looked up by identity: their key is built once.
    keys: dict[int, tuple[Any, ...]] = {}
    decided_by_id: dict[int, Verdict] = {}
    opened_by_id: dict[int, Verdict] = {}
    out = []
    for index, target in enumerate(targets):
        ident = id(target)
        verdict = decided_by_id.get(ident)
        if verdict is None:
            key = keys[ident] = _shape(target)
            verdict = decided.get(key)
            if verdict is None:
                verdict = decided[key] = Verdict(calling_hours.may_dial(target, now))
            decided_by_id[ident] = verdict
        if not verdict.decision.is_allowed or (
                is_opening_wanted is not None and is_opening_wanted[index]):
            full = opened_by_id.get(ident)
            if full is None:
                key = keys[ident]
                full = opened.get(key)
                if full is None:
                    full = opened[key] = _verdict(target, verdict.decision, now, horizon)
                opened_by_id[ident] = full
            verdict = full
        out.append(verdict)
    return out


def _verdict(target: calling_hours.Target, decision: calling_hours.Decision, now: dt.datetime,
             horizon: dt.timedelta) -> Verdict:
    opening = calling_hours.next_dialable_at(target, now, horizon)
    until = calling_hours.may_dial(target, opening).allowed_until if opening is not None else None
    return Verdict(decision, opening, until)


def _shape(target: calling_hours.Target) -> tuple[Any, ...]:
    return (target.zones, target.jurisdictions, target.category, target.is_autodialed,
            target.window, target.schedule, target.attempts_at, target.other_attempts_at,
            target.abandoned_at, target.refused_at, target.is_dnc, target.registry_scrubs,
            target.suspensions, target.exemptions, target.is_customer_requested,
            target.requested_window, target.can_call_outside_hours_on_request, id(target.rules))


# -------------------------------------------------------------------------- locations


_PLACES: dict[tuple[Any, ...], zones.Location] = {}
_EMPTY = ((), (), (), ())
_PLACES_MAX = 100_000


def _place_key(row: Sequence[Any]) -> tuple[Any, ...]:
    """What ``zones.locate`` reads of a row in :class:`Subject`'s order.

    Numbers share a ``locate`` call when they share their region, line type,
    stored zones, NANP area code and the record's address; a number without
    phonenumbers' stored answers is located alone (its E.164 is then the one
    ``locate`` normalises).
    """
    e164, region, line_type = row[1], row[6], row[7]
    if row[9] and line_type and region:
        return (region, line_type, row[8], e164[2:5] if e164.startswith("+1") else "",
                row[5], row[4], row[3])
    return ("number", e164, row[5], row[4], row[3])


def _locate(key: tuple[Any, ...], row: Sequence[Any]) -> zones.Location:
    """``zones.locate`` of the row, shared by the rows of the same :func:`_place_key`."""
    place = _PLACES.get(key)
    if place is None:
        if len(_PLACES) >= _PLACES_MAX:
            _PLACES.clear()
        place = _PLACES[key] = zones.locate(row[1], tz=row[5] or "", zip_code=row[4] or "",
                                            state=row[3] or "", is_strict=False)
    return place


# -------------------------------------------------------------------------- queries


def _attempts(connection: Connection, numbers: list[str], records: list[int],
              since: dt.datetime) -> list[tuple[Any, ...]]:
    """Attempts since ``since`` to any of ``numbers`` or of ``records``, once each."""
    attempt = models.Attempt
    columns = (attempt.id, attempt.campaign_id, attempt.number_e164, attempt.record_id,
               attempt.started_at, attempt.counts_as_attempt, attempt.is_abandoned,
               attempt.disposition)
    seen: dict[int, tuple[Any, ...]] = {}
    for chunk_numbers, chunk_records in _pairs(numbers, records):
        query = select(*columns).where(
            or_(_member(connection, attempt.number_e164, chunk_numbers),
                _member(connection, attempt.record_id, chunk_records)),
            attempt.started_at >= since, attempt.is_test.is_(False))
        for row in connection.execute(query):
            seen[row[0]] = tuple(row)
    return list(seen.values())


def _member(connection: Connection, column: Any, values: list[Any]) -> Any:
    """``column IN values`` with one bound value: a JSON array on SQLite, an array on PostgreSQL."""
    if connection.dialect.name == "sqlite":
        return column.in_(select(literal_column("value")).select_from(
            func.json_each(bindparam(None, json.dumps(values), type_=String))))
    item = String if values and isinstance(values[0], str) else Integer
    return column == func.any(bindparam(None, list(values), type_=ARRAY(item)))


def _pairs(numbers: list[str], records: list[int]) -> Iterable[tuple[list[str], list[int]]]:
    half = _CHUNK // 2
    for first in range(0, max(len(numbers), len(records), 1), half):
        yield numbers[first:first + half], records[first:first + half]


def _dnc(connection: Connection, numbers: list[str], campaign_ids: set[int],
         now: dt.datetime) -> set[tuple[str, str]]:
    """(number, scope) of the unexpired entries that concern the batch."""
    scopes = ["global"] + [f"campaign:{c}" for c in sorted(campaign_ids)]
    entry = models.DncEntry
    found: set[tuple[str, str]] = set()
    for first in range(0, len(numbers), _CHUNK):
        query = select(entry.e164, entry.scope).where(
            _member(connection, entry.e164, numbers[first:first + _CHUNK]), entry.scope.in_(scopes),
            or_(entry.expires_at.is_(None), entry.expires_at > now))
        found.update((e164, scope) for e164, scope in connection.execute(query))
    return found


class _History:
    """The batch's attempts, by number and by record, split as ``load_target`` splits them."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.by_number: defaultdict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.by_record: defaultdict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            self.by_number[row[2]].append(row)
            if row[3] is not None:
                self.by_record[row[3]].append(row)

    def of(self, e164: str, record_id: int | None,
           campaign_id: int) -> tuple[tuple[dt.datetime, ...], ...]:
        by_number = self.by_number.get(e164)
        by_record = self.by_record.get(record_id) if record_id is not None else None
        if not by_number and not by_record:
            return _EMPTY
        rows = {row[0]: row for row in by_number or ()}
        rows.update((row[0], row) for row in by_record or ())
        own, other, abandoned, refused = [], [], [], []
        for _id, campaign, number, _record, started_at, counts, is_abandoned, code in rows.values():
            started_at = compliance._aware(started_at)
            if counts and campaign == campaign_id:
                own.append(started_at)
            if counts and campaign != campaign_id and number == e164:
                other.append(started_at)
            if is_abandoned and number == e164:
                abandoned.append(started_at)
            if code in compliance.REFUSAL_DISPOSITIONS and campaign == campaign_id:
                refused.append(started_at)
        return tuple(sorted(own)), tuple(sorted(other)), tuple(sorted(abandoned)), \
            tuple(sorted(refused))


# -------------------------------------------------------------------------- targets


def _campaign_fields(campaign: models.Campaign) -> tuple[Any, ...]:
    window = (campaign.window_start, campaign.window_end) \
        if campaign.window_start is not None and campaign.window_end is not None else None
    return (compliance._value(campaign.call_category),
            compliance._value(campaign.dialing_mode) != "preview", window,
            compliance.schedule(campaign), bool(campaign.allow_requested_callbacks_outside_hours))


def _target(e164: str, fields: tuple[Any, ...],
            rules: calling_rules.RuleSet) -> calling_hours.Target:
    place_zones, jurisdictions, per_campaign, history, is_dnc, scrubs, pauses = fields
    category, is_autodialed, window, schedule, may_lift = per_campaign
    own, other, abandoned, refused = history
    return calling_hours.Target(
        e164, place_zones, jurisdictions, category, is_autodialed, window, schedule, own, other,
        abandoned, refused, is_dnc, scrubs, pauses, frozenset(), False, None, may_lift, rules)


def _with_number(proto: calling_hours.Target, e164: str) -> calling_hours.Target:
    """``proto`` for another number: nothing ``__post_init__`` derives depends on the number."""
    if proto.e164 == e164:
        return proto
    clone = object.__new__(calling_hours.Target)
    clone.__dict__.update(proto.__dict__)
    object.__setattr__(clone, "e164", e164)
    return clone
