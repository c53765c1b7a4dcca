"""Precomputed calling-window tables: what :mod:`campaigns.calling_hours` evaluates fast.

A :class:`Plan` is compiled once per distinct target shape (zones, jurisdictions,
category, autodialing, exemptions, campaign window and schedule) and cached.  It
holds, per time basis (the callee's zones, or a rule's fixed zone, or the call
centre's zone), a :class:`Table`: the weekly minute masks of every always-active
rule ANDed together, plus the few "special" parts that depend on the date
(holiday closures, holiday windows, rules gated by ``effective_from`` /
``effective_until``).  Holiday dates are precomputed as ordinals for 1990-2100.

A :class:`Day` is a minute mask of one local day with, for every minute, the
edge: for an open minute the first closed minute after it (or 1440), for a
closed one the first open minute after it (or 1440).  Windows are therefore
judged to the minute, half-open ``[start, end)`` as the rule file says.

Pure: no I/O beyond the zone database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from campaigns import calling_rules
from campaigns import zones as zones_mod

#: years for which holiday dates are precomputed.
HOLIDAY_YEARS = range(1990, 2101)


class Day:
    """One local day as a minute mask with edges (see the module docstring)."""

    __slots__ = ("edge", "is_open", "ranges")

    def __init__(self, ranges: Sequence[tuple[int, int]]) -> None:
        mask = bytearray(1440)
        for start, end in ranges:
            mask[start:end] = b"\x01" * (end - start)
        self.is_open = bytes(mask)
        self.ranges = tuple(_ranges_of(self.is_open))
        edge = [1440] * 1440
        for minute in range(1438, -1, -1):
            edge[minute] = minute + 1 if mask[minute] != mask[minute + 1] else edge[minute + 1]
        self.edge = edge

    def __and__(self, other: Day) -> Day:
        return day(tuple(_ranges_of(bytes(a & b for a, b in zip(self.is_open, other.is_open)))))


def _ranges_of(mask: bytes) -> Iterable[tuple[int, int]]:
    start = None
    for minute, value in enumerate(mask):
        if value and start is None:
            start = minute
        elif not value and start is not None:
            yield start, minute
            start = None
    if start is not None:
        yield start, 1440


@functools.lru_cache(maxsize=4096)
def day(ranges: tuple[tuple[int, int], ...]) -> Day:
    """The interned :class:`Day` of ``ranges`` (minutes, half-open).

    >>> d = day(((480, 1260),))
    >>> d.is_open[479], d.is_open[480], d.is_open[1259], d.is_open[1260], d.edge[480], d.edge[100]
    (0, 1, 1, 0, 1260, 480)
    """
    return Day(ranges)


OPEN = day(((0, 1440),))
CLOSED = day(())


@dataclasses.dataclass(frozen=True, eq=False)
class Part:
    """One rule (or the campaign window, or the operating schedule) inside a table."""

    #: the reason given when this part blocks: "outside_hours:<rule id>", "campaign_window"...
    reason: str
    #: per weekday (0 = Monday) the allowed day; None = that day is not restricted.
    weekly: tuple[Day | None, ...]
    #: None, "closed" or the Day that applies on holidays.
    holiday: Day | str | None = None
    holiday_ordinals: frozenset[int] = frozenset()
    #: (first, last) ordinal of the days the part applies (None = always).
    gate: tuple[int, int] | None = None
    #: outside the gate the part closes the day instead of not applying (schedule dates).
    is_gate_closing: bool = False

    @property
    def is_special(self) -> bool:
        return self.gate is not None or self.holiday is not None

    def day_for(self, ordinal: int, weekday: int) -> tuple[Day | None, bool]:
        """(the Day that applies, is it a holiday), or (None, False) when unrestricted."""
        if self.gate is not None and not self.gate[0] <= ordinal <= self.gate[1]:
            return (CLOSED, False) if self.is_gate_closing else (None, False)
        if self.holiday is not None and ordinal in self.holiday_ordinals:
            return (CLOSED if self.holiday == "closed" else self.holiday), True  # type: ignore
        return self.weekly[weekday], False


@dataclasses.dataclass(frozen=True, eq=False)
class Table:
    """The parts evaluated in one time basis, and their AND over always-active parts."""

    parts: tuple[Part, ...]
    weekly: tuple[Day, ...]
    special: tuple[Part, ...]
    #: the special parts only close whole dates (holidays closed, dates outside an operating
    #: schedule): then only those dates need them, every other date uses ``weekly``.
    is_date_simple: bool = False
    holiday_ordinals: frozenset[int] = frozenset()
    first_ordinal: int = 1
    last_ordinal: int = dt.date.max.toordinal()
    #: per weekday, filled on first use by :func:`closed_reasons`.
    closed: list[list[tuple[str, ...] | None] | None] = dataclasses.field(
        default_factory=lambda: [None] * 7)

    def blockers(self, ordinal: int, weekday: int, minute: int) -> list[tuple[Part, int, bool]]:
        """The parts closed at that local minute: (part, next open minute today, is_holiday)."""
        out = []
        for part in self.parts:
            found, is_holiday = part.day_for(ordinal, weekday)
            if found is not None and not found.is_open[minute]:
                out.append((part, found.edge[minute], is_holiday))
        return out


def table(parts: Sequence[Part]) -> Table:
    """Combine ``parts`` into a :class:`Table` (interned: the same parts give the same table)."""
    return _table(tuple(parts))


@functools.lru_cache(maxsize=4096)
def _table(parts: tuple[Part, ...]) -> Table:
    weekly = []
    steady = [p for p in parts if (p.gate is None or p.is_gate_closing)
              and not isinstance(p.holiday, Day)]
    for weekday in range(7):
        combined = OPEN
        for part in steady:
            found = part.weekly[weekday]
            if found is not None:
                combined = combined & found
        weekly.append(combined)
    special = tuple(p for p in parts if p.is_special)
    is_date_simple = all((p.gate is None and p.holiday == "closed")
                         or (p.is_gate_closing and p.holiday is None) for p in special)
    ordinals = frozenset().union(*(p.holiday_ordinals for p in special)) if is_date_simple \
        else frozenset()
    gates = [p.gate for p in special if p.is_gate_closing and p.gate is not None]
    return Table(tuple(parts), tuple(weekly), special, is_date_simple, ordinals,
                 max((g[0] for g in gates), default=1),
                 min((g[1] for g in gates), default=dt.date.max.toordinal()))


_PARTS: dict[tuple[int, str], tuple[calling_rules.RuleSet, Part]] = {}


def rule_part(rule: calling_rules.Rule, rules: calling_rules.RuleSet) -> Part:
    """The :class:`Part` of a window rule (interned per rule set and rule id)."""
    key = (id(rules), rule.id)
    found = _PARTS.get(key)
    if found is None or found[0] is not rules:
        found = _PARTS[key] = (rules, _rule_part(rule, rules))
    return found[1]


def _rule_part(rule: calling_rules.Rule, rules: calling_rules.RuleSet) -> Part:
    weekly = tuple(day(rule.days[d]) if d in rule.days else None for d in range(7))
    holiday = None
    ordinals: frozenset[int] = frozenset()
    if rule.holidays is not None:
        ordinals = holiday_ordinals(rules, rule.jurisdiction)
        holiday = "closed" if rule.holidays == "closed" else day(rule.holidays)  # type: ignore
        if not ordinals:
            holiday = None
    gate = None
    if rule.status == "pending" or rule.effective_until is not None:
        first = rule.effective_from if rule.status == "pending" else None
        gate = ((first or dt.date.min).toordinal(), (rule.effective_until or dt.date.max).toordinal())
    return Part(f"outside_hours:{rule.id}", weekly, holiday, ordinals, gate)


@functools.lru_cache(maxsize=256)
def holiday_ordinals(rules: calling_rules.RuleSet, jurisdiction: str) -> frozenset[int]:
    """Ordinals of the closed holidays of ``jurisdiction`` over :data:`HOLIDAY_YEARS`."""
    out: set[int] = set()
    for year in HOLIDAY_YEARS:
        out.update(d.toordinal() for d in rules.holiday_dates(jurisdiction, year))
    return frozenset(out)


def window_part(reason: str, start: dt.time, end: dt.time, days: Iterable[int] = range(7),
                dates: tuple[dt.date | None, dt.date | None] | None = None) -> Part:
    """A campaign window or operating schedule as a :class:`Part` (seconds round inward)."""
    return _window_part(reason, start, end, tuple(days), dates)


@functools.lru_cache(maxsize=4096)
def _window_part(reason: str, start: dt.time, end: dt.time, days: tuple[int, ...],
                 dates: tuple[dt.date | None, dt.date | None] | None) -> Part:
    first = start.hour * 60 + start.minute + (1 if start.second or start.microsecond else 0)
    last = 1440 if end == dt.time(0) else end.hour * 60 + end.minute
    allowed = day(((first, last),) if last > first else ())
    wanted = set(days)
    weekly = tuple(allowed if d in wanted else CLOSED for d in range(7))
    gate = None
    if dates is not None and (dates[0] or dates[1]):
        gate = ((dates[0] or dt.date.min).toordinal(), (dates[1] or dt.date.max).toordinal())
    return Part(reason, weekly, gate=gate, is_gate_closing=True)


@dataclasses.dataclass(frozen=True, eq=False)
class Plan:
    """Everything of a target that does not change with the instant, precomputed."""

    #: (zone, table, {year: transition day ordinals}) triples that must all be open.
    checks: tuple[tuple[ZoneInfo, Table, dict[int, frozenset[int]]], ...]
    #: the same as (zone, table, weekly days, closed reasons, is special, transitions),
    #: unpacked once for :func:`campaigns.calling_hours.may_dial`.
    fast: tuple[tuple[ZoneInfo, Table, tuple[Day, ...], list, bool,  # type: ignore[type-arg]
                      dict[int, frozenset[int]]], ...]
    frequency: tuple[calling_rules.Rule, ...]
    redial: tuple[calling_rules.Rule, ...]
    registry: tuple[calling_rules.Rule, ...]
    #: jurisdictions -> suspension rules of it in scope (empty tuple: none in the file).
    suspension_rules: dict[str, tuple[calling_rules.Rule, ...]]


@functools.lru_cache(maxsize=8192)
def plan(rules: calling_rules.RuleSet, zone_names: tuple[str, ...], jurisdictions: tuple[str, ...],
         category: str, is_autodialed: bool, exemptions: frozenset[str],
         window: tuple[dt.time, dt.time] | None, schedule: object | None) -> Plan:
    """Compile (and cache) the :class:`Plan` of one target shape."""
    local: list[Part] = []
    fixed: dict[str, list[Part]] = {}

    def applies(rule: calling_rules.Rule) -> bool:
        return rule.is_in_scope(category, is_autodialed) and not (rule.exemptions & exemptions)

    for rule in rules.for_jurisdictions(jurisdictions, "window"):
        if applies(rule):
            target = local if rule.time_basis is None else fixed.setdefault(rule.time_basis, [])
            target.append(rule_part(rule, rules))
    if window is not None:
        local.append(window_part("campaign_window", *window))
    checks: list[tuple[ZoneInfo, Table, dict[int, frozenset[int]]]] = []
    if local:
        compiled = table(local)
        checks += [(zones_mod.zone(name), compiled, transitions(name)) for name in zone_names]
    for basis, parts in sorted(fixed.items()):
        checks.append((zones_mod.zone(basis), table(parts), transitions(basis)))
    if schedule is not None:
        part = window_part("operating_schedule", schedule.start, schedule.end,  # type: ignore
                           schedule.days, (schedule.start_date, schedule.end_date))  # type: ignore
        checks.append((zones_mod.zone(schedule.tz), table([part]),  # type: ignore
                       transitions(schedule.tz)))  # type: ignore
    suspension_rules = {code: tuple(r for r in rules.for_jurisdictions([code], "suspension"))
                        for code in jurisdictions}
    fast = tuple((zone, tab, tab.weekly, tab.closed, bool(tab.special), trans)
                 for zone, tab, trans in checks)
    return Plan(tuple(checks), fast,
                tuple(r for r in rules.for_jurisdictions(jurisdictions, "frequency") if applies(r)),
                tuple(r for r in rules.for_jurisdictions(jurisdictions, "redial_block")
                      if applies(r)),
                tuple(r for r in rules.for_jurisdictions(jurisdictions, "dnc")
                      if applies(r) and r.registry_max_age_days),
                suspension_rules)


def closed_reasons(table: Table, weekday: int) -> list[tuple[str, ...] | None]:
    """Per minute of ``weekday``: the reasons the steady parts of ``table`` block, or None.

    Only for tables without special parts (cached on the table).
    """
    found = table.closed[weekday]
    if found is None:
        found = [None] * 1440
        days = [p.weekly[weekday] for p in table.parts]
        cuts = sorted({0, 1440, *(edge for d in days if d is not None
                                  for r in d.ranges for edge in r)})
        interned: dict[tuple[str, ...], tuple[str, ...]] = {}
        for start, end in itertools.pairwise(cuts):
            names = tuple(p.reason for p, d in zip(table.parts, days)
                          if d is not None and not d.is_open[start])
            if names:
                found[start:end] = [interned.setdefault(names, names)] * (end - start)
        table.closed[weekday] = found
    return found


class _Transitions(dict):  # type: ignore[type-arg]
    """year -> :func:`transition_days` of one zone, filled on first use."""

    def __init__(self, zone_name: str) -> None:
        super().__init__()
        self.zone_name = zone_name

    def __missing__(self, year: int) -> frozenset[int]:
        found = self[year] = transition_days(self.zone_name, year)
        return found


@functools.cache
def transitions(zone_name: str) -> dict[int, frozenset[int]]:
    """The per-zone, per-year cache of :func:`transition_days`."""
    return _Transitions(zone_name)


@functools.lru_cache(maxsize=4096)
def transition_days(zone_name: str, year: int) -> frozenset[int]:
    """Local date ordinals of ``year`` on (or next to) which ``zone_name`` changes its offset.

    >>> import datetime as dt
    >>> dt.date(2026, 3, 8).toordinal() in transition_days("America/New_York", 2026)
    True
    >>> transition_days("America/Phoenix", 2026)
    frozenset()
    """
    zone = zones_mod.zone(zone_name)
    first = dt.date(year, 1, 1).toordinal() - 1
    last = dt.date(year, 12, 31).toordinal() + 1
    out: set[int] = set()
    previous = zone.utcoffset(dt.datetime.fromordinal(first))
    for ordinal in range(first + 1, last + 2):
        offset = zone.utcoffset(dt.datetime.fromordinal(ordinal))
        if offset != previous:
            out.update((ordinal - 2, ordinal - 1, ordinal))
        previous = offset
    return frozenset(out)
