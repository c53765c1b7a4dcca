"""The calling rules: the shipped reference file, administrator overrides, validation.

The package ships ``campaigns/data/calling-rules.toml`` (a copy of the shared
compliance reference, with its sources and dates, schema at its top).  The
``[compliance]`` configuration section may name a TOML file of extra
``[[rule]]``, ``[[jurisdiction]]`` and ``[[holiday_set]]`` entries (an entry
whose ``id``/``code`` exists replaces the shipped one, a new one is added) and
list rule ids to disable.  Everything is validated here; an error names the
file, the entry and the field.

Two fields are added by the dialer to the shipped copy (consumers may ignore
unknown fields): ``registry_source`` on ``dnc`` rules (the ``dialer dnc import
--source`` name whose age ``registry_max_age_days`` limits) and ``after`` on
``redial_block`` rules (``"abandoned"``, the default, or ``"refusal"``).

This module is pure apart from reading the rule files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaigns import errors

KINDS = frozenset({"window", "frequency", "abandonment", "redial_block", "dnc", "caller_id",
                   "consent", "suspension"})
STATUSES = frozenset({"in_force", "superseded", "pending", "disputed"})
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: the scope that reaches every autodialed campaign and every prerecorded call.
AUTODIALED = "autodialed_or_prerecorded"
#: exemptions a recorded customer request for a call at a chosen time amounts to.
CUSTOMER_REQUEST_EXEMPTIONS = frozenset({"express_request_of_called_party",
                                         "prior_express_invitation_or_permission",
                                         "prior_express_consent"})
_JURISDICTION_CODE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class RulesError(errors.InvalidInput):
    """The calling-rules file is not valid."""

    error_id = "calling-rules-invalid"


@dataclasses.dataclass(frozen=True)
class Jurisdiction:
    """A place with rules: ``US``, ``US-FL``, ``CA``, ``GB``..."""

    code: str
    name: str = ""
    parent: str = ""
    holiday_set: str = ""
    notes: str = ""


@dataclasses.dataclass(frozen=True)
class HolidaySet:
    """Named holidays of a jurisdiction; :meth:`dates` computes them for a year."""

    id: str
    jurisdiction: str
    observance: str
    #: (name, rule) pairs, e.g. ("Labor Day", "1st Monday of September").
    holidays: tuple[tuple[str, str], ...]
    source: str = ""
    as_of: str = ""

    def dates(self, year: int) -> frozenset[dt.date]:
        """The closed dates of ``year`` (a weekend holiday closes its observed day too).

        >>> sorted(d.isoformat() for d in HolidaySet("X", "X", "", (("NY", "Jan 1"),)).dates(2026))
        ['2026-01-01']
        """
        return _holiday_dates(self, year)


@dataclasses.dataclass(frozen=True)
class Rule:
    """One atomic rule of the file (fields by kind, as its schema says)."""

    id: str
    jurisdiction: str
    kind: str
    status: str
    scope: frozenset[str]
    exemptions: frozenset[str] = frozenset()
    #: None = the called party's local time, else an IANA zone.
    time_basis: str | None = None
    #: weekday (0 = Monday) -> allowed ranges in minutes [start, end); a missing day is open.
    days: Mapping[int, tuple[tuple[int, int], ...]] = dataclasses.field(default_factory=dict)
    #: None (not restricted), "closed", or the ranges that apply on holidays.
    holidays: str | tuple[tuple[int, int], ...] | None = None
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    max_calls: int | None = None
    per_hours: float | None = None
    is_same_subject_only: bool = False
    block_hours: float | None = None
    after: str = "abandoned"
    registry_max_age_days: int | None = None
    registry_source: str = ""
    source: str = ""
    source_url: str = ""
    as_of: str = ""
    retrieved: str = ""
    confidence: str = ""
    conflicts: str = ""
    notes: str = ""
    #: "shipped" or the configuration file that added or replaced it.
    origin: str = "shipped"
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def is_applicable_status(self) -> bool:
        """in_force, disputed (the stricter reading: it applies) and pending apply."""
        return self.status != "superseded"

    def is_active_on(self, day: dt.date) -> bool:
        """Does the rule apply on the callee's local date ``day``?

        ``pending`` rules apply from ``effective_from``; any rule stops after
        ``effective_until``; ``superseded`` never applies.
        """
        if self.status == "superseded":
            return False
        if self.status == "pending" and (self.effective_from is None or day < self.effective_from):
            return False
        return self.effective_until is None or day <= self.effective_until

    def is_in_scope(self, category: str, is_autodialed: bool) -> bool:
        """Does the rule reach a call of ``category`` (autodialed or prerecorded or not)?

        >>> r = Rule("x", "US", "window", "in_force", frozenset({"autodialed_or_prerecorded"}))
        >>> r.is_in_scope("debt_collection", True), r.is_in_scope("telemarketing", False)
        (True, False)
        """
        return category in self.scope or (is_autodialed and AUTODIALED in self.scope)

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON-ready values (the raw file entry plus where it came from)."""
        out = dict(self.raw)
        out["origin"] = self.origin
        return out


@dataclasses.dataclass(frozen=True)
class RuleSet:
    """The effective rules: validated, indexed by jurisdiction."""

    rules: tuple[Rule, ...]
    jurisdictions: Mapping[str, Jurisdiction]
    holiday_sets: Mapping[str, HolidaySet]
    disabled: frozenset[str] = frozenset()
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def for_jurisdictions(self, codes: Iterable[str], kind: str | None = None) -> list[Rule]:
        """Rules of any of ``codes`` (and of ``kind``), in file order, superseded ones left out."""
        wanted = set(codes)
        return [r for r in self.rules if r.jurisdiction in wanted and r.is_applicable_status
                and (kind is None or r.kind == kind)]

    def lineage(self, code: str) -> list[str]:
        """``code`` and its parents, e.g. ``["US-FL", "US"]``."""
        out = [code]
        while True:
            parent = self.jurisdictions.get(out[-1], Jurisdiction(out[-1])).parent
            if not parent or parent in out:
                return out
            out.append(parent)

    def holiday_dates(self, jurisdiction: str, year: int) -> frozenset[dt.date]:
        """The closed dates of ``jurisdiction``'s holiday set in ``year`` (empty without one)."""
        return _set_dates(self, jurisdiction, year)

    def is_known_jurisdiction(self, code: str) -> bool:
        return code in self.jurisdictions


@functools.lru_cache(maxsize=4096)
def _set_dates(rules: RuleSet, jurisdiction: str, year: int) -> frozenset[dt.date]:
    info = rules.jurisdictions.get(jurisdiction)
    if info is None or not info.holiday_set:
        return frozenset()
    return rules.holiday_sets[info.holiday_set].dates(year)


# --------------------------------------------------------------------------- loading


def shipped_text() -> str:
    """The text of the rule file shipped in the package."""
    return resources.files("campaigns").joinpath("data/calling-rules.toml").read_text("utf-8")


@functools.cache
def default_rules() -> RuleSet:
    """The shipped rules, without configuration (cached)."""
    return parse(shipped_text(), "calling-rules.toml")


def load(settings: Any | None = None) -> RuleSet:
    """The effective rules: the shipped file, then ``[compliance]`` overrides.

    Parameters
    ----------
    settings
        A :class:`campaigns.compliance_config.ComplianceSettings` (or None for
        the shipped rules alone).

    Raises
    ------
    RulesError
        When the configured rules file is missing or invalid, or a disabled id
        names no rule.
    """
    rules_file = getattr(settings, "rules_file", "") if settings is not None else ""
    disabled = tuple(getattr(settings, "disabled_rules", []) if settings is not None else [])
    if not rules_file and not disabled:
        return default_rules()
    try:
        stamp = Path(rules_file).stat().st_mtime_ns if rules_file else 0
    except OSError:
        stamp = -1
    # Cached by file and modification time: the same configuration gives the same
    # RuleSet object, so the calling-hours tables compiled for it are reused.
    return _load(rules_file, stamp, disabled)


@functools.lru_cache(maxsize=16)
def _load(rules_file: str, _stamp: int, disabled: tuple[str, ...]) -> RuleSet:
    extra: dict[str, Any] = {}
    if rules_file:
        path = Path(rules_file)
        try:
            extra = tomllib.loads(path.read_text("utf-8"))
        except OSError as exc:
            raise RulesError(f"{rules_file}: cannot read the rules file ({exc.strerror})",
                             fields={"compliance.rules_file": "cannot be read"}) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RulesError(f"{rules_file}: not valid TOML ({exc})",
                             fields={"compliance.rules_file": "not valid TOML"}) from exc
    base = tomllib.loads(shipped_text())
    merged = _merge(base, extra, origin=rules_file or "config")
    return parse_data(merged, rules_file or "calling-rules.toml", disabled=disabled)


def _merge(base: dict[str, Any], extra: dict[str, Any], origin: str) -> dict[str, Any]:
    out = dict(base)
    for table, key in (("jurisdiction", "code"), ("rule", "id"), ("holiday_set", "id")):
        entries = {e.get(key): dict(e) for e in base.get(table, [])}
        for entry in extra.get(table, []) or []:
            if not isinstance(entry, dict):
                raise RulesError(f"{origin}: [[{table}]] entries must be tables")
            item = dict(entry)
            item["_origin"] = origin
            entries[item.get(key)] = item
        out[table] = list(entries.values())
    unknown = set(extra) - {"jurisdiction", "rule", "holiday_set", "meta"}
    if unknown:
        raise RulesError(f"{origin}: unknown table(s) {', '.join(sorted(unknown))}")
    return out


def parse(text: str, name: str = "<rules>") -> RuleSet:
    """Parse and validate a rules file's text.

    Raises
    ------
    RulesError
        Naming the file, the entry and the field at fault.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{name}: not valid TOML ({exc})") from exc
    return parse_data(data, name)


def parse_data(data: Mapping[str, Any], name: str, *, disabled: Iterable[str] = ()) -> RuleSet:
    """Validate already-decoded rule data (see :func:`parse`)."""
    jurisdictions = {}
    for entry in data.get("jurisdiction", []):
        j = _jurisdiction(entry, name)
        jurisdictions[j.code] = j
    holiday_sets = {}
    for entry in data.get("holiday_set", []):
        hs = _holiday_set(entry, name)
        holiday_sets[hs.id] = hs
    for j in jurisdictions.values():
        if j.holiday_set and j.holiday_set not in holiday_sets:
            raise RulesError(f"{name}: jurisdiction {j.code}: holiday_set {j.holiday_set!r} "
                             "is not defined", fields={j.code: "unknown holiday_set"})
    rules: list[Rule] = []
    seen: set[str] = set()
    for entry in data.get("rule", []):
        rule = _rule(entry, name)
        if rule.id in seen:
            raise RulesError(f"{name}: rule {rule.id}: the id is used twice",
                             fields={rule.id: "duplicate id"})
        seen.add(rule.id)
        if rule.jurisdiction not in jurisdictions:
            jurisdictions[rule.jurisdiction] = Jurisdiction(
                rule.jurisdiction, parent=rule.jurisdiction.split("-")[0]
                if "-" in rule.jurisdiction else "")
        rules.append(rule)
    off = frozenset(disabled)
    missing = off - seen
    if missing:
        raise RulesError(f"compliance.disabled_rules: no rule named {min(missing)!r}",
                         fields={"compliance.disabled_rules": "unknown rule id"})
    kept = tuple(r for r in rules if r.id not in off)
    return RuleSet(kept, jurisdictions, holiday_sets, off, dict(data.get("meta", {})))


def _jurisdiction(entry: Mapping[str, Any], name: str) -> Jurisdiction:
    code = entry.get("code")
    if not isinstance(code, str) or not _JURISDICTION_CODE.match(code):
        raise RulesError(f"{name}: [[jurisdiction]] code {code!r} is not a jurisdiction code")
    return Jurisdiction(code, str(entry.get("name", "")), str(entry.get("parent", "")),
                        str(entry.get("holiday_set", "")), str(entry.get("notes", "")))


def _holiday_set(entry: Mapping[str, Any], name: str) -> HolidaySet:
    set_id = entry.get("id")
    if not isinstance(set_id, str) or not set_id:
        raise RulesError(f"{name}: a [[holiday_set]] has no id")
    pairs = []
    for item in entry.get("holidays", []):
        label, _, rule = str(item).partition("|")
        pair = (label.strip(), rule.strip())
        if _holiday_date(pair, 2026) is None:
            raise RulesError(f"{name}: holiday_set {set_id}: cannot read holiday {item!r}",
                             fields={set_id: f"bad holiday {item!r}"})
        pairs.append(pair)
    return HolidaySet(set_id, str(entry.get("jurisdiction", "")), str(entry.get("observance", "")),
                      tuple(pairs), str(entry.get("source", "")), str(entry.get("as_of", "")))


def _rule(entry: Mapping[str, Any], name: str) -> Rule:
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise RulesError(f"{name}: a [[rule]] has no id")

    def bad(field: str, why: str) -> RulesError:
        return RulesError(f"{name}: rule {rule_id}: {field} {why}", fields={rule_id: f"{field} {why}"})

    kind, status = entry.get("kind"), entry.get("status")
    if kind not in KINDS:
        raise bad("kind", f"{kind!r} is not one of {', '.join(sorted(KINDS))}")
    if status not in STATUSES:
        raise bad("status", f"{status!r} is not one of {', '.join(sorted(STATUSES))}")
    jurisdiction = entry.get("jurisdiction")
    if not isinstance(jurisdiction, str) or not _JURISDICTION_CODE.match(jurisdiction):
        raise bad("jurisdiction", f"{jurisdiction!r} is not a jurisdiction code")
    scope = entry.get("scope", [])
    if not isinstance(scope, list) or not scope:
        raise bad("scope", "must be a non-empty array")
    basis = entry.get("time_basis", "called_party_local")
    if basis != "called_party_local":
        try:
            ZoneInfo(str(basis))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise bad("time_basis", f"{basis!r} is not an IANA zone") from exc
    days = {}
    for index, day in enumerate(DAYS):
        if day in entry:
            days[index] = _ranges(entry[day], bad, day)
    holidays = entry.get("holidays")
    if holidays is not None and holidays != "closed":
        holidays = _ranges(holidays, bad, "holidays")
    if kind == "window" and not days and holidays is None:
        raise bad("window", "names no day")
    values: dict[str, Any] = {}
    for field in ("effective_from", "effective_until"):
        if field in entry:
            values[field] = _date(entry[field], bad, field)
    if values.get("effective_from") and values.get("effective_until") \
            and values["effective_until"] < values["effective_from"]:
        raise bad("effective_until", "is before effective_from")
    if status == "pending" and "effective_from" not in values:
        raise bad("effective_from", "is required for a pending rule")
    if kind == "frequency":
        values["max_calls"] = _number(entry, "max_calls", bad, int)
        values["per_hours"] = _number(entry, "per_hours", bad, float)
        values["is_same_subject_only"] = bool(entry.get("same_subject_only", False))
    if kind == "redial_block":
        if "block_hours" in entry:
            values["block_hours"] = _number(entry, "block_hours", bad, float)
        else:
            values["block_hours"] = _number(entry, "block_days", bad, float) * 24
        values["after"] = str(entry.get("after", "abandoned"))
        if values["after"] not in ("abandoned", "refusal"):
            raise bad("after", "must be 'abandoned' or 'refusal'")
    if kind == "dnc" and "registry_max_age_days" in entry:
        values["registry_max_age_days"] = _number(entry, "registry_max_age_days", bad, int)
        values["registry_source"] = str(entry.get("registry_source")
                                        or _DEFAULT_REGISTRY.get(jurisdiction, jurisdiction.lower()))
    text = {k: str(entry.get(k, "")) for k in ("source", "source_url", "as_of", "retrieved",
                                                "confidence", "conflicts", "notes")}
    raw = {k: v for k, v in entry.items() if not k.startswith("_")}
    return Rule(rule_id, jurisdiction, kind, status, frozenset(map(str, scope)),
                frozenset(map(str, entry.get("exemptions", []))),
                None if basis == "called_party_local" else str(basis), days, holidays,
                origin=str(entry.get("_origin", "shipped")), raw=raw, **values, **text)


_DEFAULT_REGISTRY = {"US": "us-national", "GB": "uk-tps", "CA": "ca-dncl"}


def _ranges(value: Any, bad: Any, field: str) -> tuple[tuple[int, int], ...]:
    """``"08:00-12:00,13:00-21:00"`` -> ((480, 720), (780, 1260)); ``""`` -> ().

    >>> _ranges("10:00-13:00,14:00-20:00", None, "mon")
    ((600, 780), (840, 1200))
    """
    if not isinstance(value, str):
        raise bad(field, "must be a string of HH:MM-HH:MM ranges")
    out = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        match = _RANGE.match(part)
        if not match:
            raise bad(field, f"range {part!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = map(int, match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 1440:
            raise bad(field, f"range {part!r} is not a time of day")
        if end <= start:
            raise bad(field, f"range {part!r} ends before it starts")
        out.append((start, end))
    return tuple(out)


def _date(value: Any, bad: Any, field: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise bad(field, f"{value!r} is not a YYYY-MM-DD date") from exc


def _number(entry: Mapping[str, Any], field: str, bad: Any, kind: type) -> Any:
    value = entry.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise bad(field, "must be a positive number")
    return kind(value)


# --------------------------------------------------------------------------- holidays

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_WEEKDAYS = {d: i for i, d in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
_ORDINALS = {"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "first": 1, "second": 2,
             "third": 3, "fourth": 4, "last": -1}


def easter(year: int) -> dt.date:
    """Western Easter Sunday (anonymous Gregorian algorithm).

    >>> easter(2026)
    datetime.date(2026, 4, 5)
    """
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th (``-1`` = last) ``weekday`` of a month.

    >>> nth_weekday(2026, 11, 3, 4)
    datetime.date(2026, 11, 26)
    """
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _holiday_date(pair: tuple[str, str], year: int) -> tuple[dt.date, bool] | None:
    """(date, is_fixed_date) of one holiday in ``year``, or None when unreadable."""
    label, rule = pair
    text = rule.lower()
    # "day designated by the Governor (4th Thursday of November)": the bracket holds the date.
    bracket = re.search(r"\(([^)]*)\)", text)
    for candidate in (text.split("(")[0].strip(), bracket.group(1) if bracket else "",
                      label.lower()):
        found = _read_date(candidate, year)
        if found is not None:
            return found
    return None


def _read_date(text: str, year: int) -> tuple[dt.date, bool] | None:
    text = text.strip()
    match = re.match(r"^([a-z]{3})[a-z]*\.? (\d{1,2})\b", text)
    if match and match.group(1) in _MONTHS:
        return dt.date(year, _MONTHS[match.group(1)], int(match.group(2))), True
    match = re.match(r"^(tuesday) after (1st|first) monday of (\w+)", text)
    if match:
        return nth_weekday(year, _MONTHS[match.group(3)[:3]], 0, 1) + dt.timedelta(days=1), False
    match = re.match(r"^(\w+) (monday|tuesday|wednesday|thursday|friday|saturday|sunday) of (\w+)",
                     text)
    if match and match.group(1) in _ORDINALS and match.group(3)[:3] in _MONTHS:
        return nth_weekday(year, _MONTHS[match.group(3)[:3]], _WEEKDAYS[match.group(2)],
                           _ORDINALS[match.group(1)]), False
    match = re.match(r"^easter \+ (\d+) days", text)
    if match:
        return easter(year) + dt.timedelta(days=int(match.group(1))), False
    easter_days = {"shrove tuesday": -47, "mardi gras": -47, "friday before easter": -2,
                   "good friday": -2, "monday after easter": 1, "easter monday": 1}
    for key, offset in easter_days.items():
        if text.startswith(key):
            return easter(year) + dt.timedelta(days=offset), False
    if text.startswith("general election day"):
        return nth_weekday(year, 11, 0, 1) + dt.timedelta(days=1), False
    if text.startswith("day after thanksgiving"):
        return nth_weekday(year, 11, 3, 4) + dt.timedelta(days=1), False
    return None


def _shifts(observance: str) -> tuple[int | None, int | None]:
    """Days a fixed-date holiday on (Saturday, Sunday) is also observed, from the text."""
    text = observance.lower()
    if "monday when" in text and "weekend" in text:
        return 2, 1
    if ("monday/friday" in text or "preceding friday" in text) and "weekend" in text \
            or ("following monday" in text and "preceding friday" in text):
        return -1, 1
    return None, None


@functools.lru_cache(maxsize=2048)
def _holiday_dates(holiday_set: HolidaySet, year: int) -> frozenset[dt.date]:
    saturday, sunday = _shifts(holiday_set.observance)
    out: set[dt.date] = set()
    for pair in holiday_set.holidays:
        found = _holiday_date(pair, year)
        if found is None:
            continue
        day, is_fixed = found
        out.add(day)
        if is_fixed and day.weekday() == 5 and saturday is not None:
            out.add(day + dt.timedelta(days=saturday))
        if is_fixed and day.weekday() == 6 and sunday is not None:
            out.add(day + dt.timedelta(days=sunday))
    return frozenset(out)
