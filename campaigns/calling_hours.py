"""May this callee be dialled at this instant, and if not, when?  (pure; the clock is a parameter)

The hopper, the retry queue and the callback scheduler use only this module:

* :func:`resolve_target` builds a :class:`Target` from plain values (number,
  address, campaign settings, attempt history...); the store builds one from
  the database with ``campaigns.store.compliance.load_target``;
* :func:`may_dial` -> :class:`Decision` (``is_allowed``, ``reasons``,
  ``allowed_until``);
* :func:`next_dialable_at` -> the earliest instant at or after ``after`` at
  which :func:`may_dial` is true, within a horizon, or None;
* :func:`dialable_windows` -> the legal ``[start, end)`` windows over a range,
  raising :class:`NoLegalMinute` when there is none;
* :func:`registry_block` -> why a campaign may not start (stale registry scrub).

A decision holds in every candidate zone under every jurisdiction's rules
(windows, holidays, frequency limits, redial blocks, suspensions), the
campaign's own callee-local window and its operating schedule in the call
centre's zone.  Reasons are stable strings: ``zone_unknown``, ``dnc``,
``outside_hours:<rule>``, ``holiday:<rule>``, ``campaign_window``,
``operating_schedule``, ``frequency:<rule>``, ``redial_block:<rule>``,
``suspended:<rule or jurisdiction>``, ``registry_missing:<rule>``,
``registry_stale:<rule>``.  Local time comes from :mod:`zoneinfo` only; a
naive instant is refused and nothing falls back to the server's zone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

from campaigns import calling_plan, calling_rules, errors
from campaigns import zones as zones_mod

CATEGORIES = ("telemarketing", "debt_collection", "research", "securities_solicitation",
              "informational")
MODES = ("preview", "progressive", "power", "predictive")
#: how far :func:`dialable_windows` looks for the earliest legal time it names in an error.
EARLIEST_HORIZON = dt.timedelta(days=366)
_MAX_STEPS = 20000
_MINUTE = dt.timedelta(minutes=1)


class NoLegalMinute(errors.InvalidInput):
    """No legal minute in the requested range."""

    error_id = "no-legal-minute"

    def __init__(self, message: str, *, earliest_legal_at: dt.datetime | None, rule: str) -> None:
        super().__init__(message, fields={
            "earliest_legal_at": _iso(earliest_legal_at) if earliest_legal_at else "",
            "rule": rule})
        self.earliest_legal_at = earliest_legal_at
        self.rule = rule


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """The answer of :func:`may_dial`.

    ``allowed_until`` (allowed decisions) is the first instant at which the
    answer may change by itself: the end of the current window (cut at the
    callee's local midnight), a suspension's start, a registry scrub's expiry,
    the end of a customer-requested window; None when nothing bounds it (and
    always None for blocked decisions: ask :func:`next_dialable_at`).
    Decisions are values; equal answers may be the same object.
    """

    is_allowed: bool
    reasons: tuple[str, ...]
    allowed_until: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A campaign's operating schedule, read in the call centre's zone (``tz``).

    Raises
    ------
    campaigns.errors.InvalidInput
        When the zone is unknown or the end is not after the start.
    """

    tz: str
    #: weekdays, 0 = Monday.
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    start: dt.time = dt.time(0)
    end: dt.time = dt.time(0)
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    def __post_init__(self) -> None:
        zones_mod.zone(self.tz)
        _check_window("operating schedule", self.start, self.end)


@dataclasses.dataclass(frozen=True)
class Suspension:
    """An operator's switch: no calls into ``jurisdiction`` in ``[from_at, to_at)``."""

    jurisdiction: str
    from_at: dt.datetime
    to_at: dt.datetime
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Target:
    """A resolved callee: everything :func:`may_dial` needs, as plain values.

    Attempt instants are those inside the longest frequency or redial window
    (the store loads no more).  ``registry_scrubs`` maps a registry source
    (``us-national``, ``uk-tps``...) to the instant of its last import; None
    means registries are not checked for this target (e.g. ``dialer hours
    check`` without a campaign).
    """

    e164: str
    zones: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    category: str = "telemarketing"
    #: the campaign dials automatically (mode is not preview) or plays a prerecorded message.
    is_autodialed: bool = False
    #: the campaign's own window in the callee's local time (start, end).
    window: tuple[dt.time, dt.time] | None = None
    schedule: Schedule | None = None
    #: counted attempts to this callee (the number, or any number of the record) in this campaign.
    attempts_at: tuple[dt.datetime, ...] = ()
    #: counted attempts to this number from other campaigns (rules not limited to one subject).
    other_attempts_at: tuple[dt.datetime, ...] = ()
    abandoned_at: tuple[dt.datetime, ...] = ()
    refused_at: tuple[dt.datetime, ...] = ()
    is_dnc: bool = False
    registry_scrubs: tuple[tuple[str, dt.datetime], ...] | None = None
    suspensions: tuple[Suspension, ...] = ()
    #: exemptions recorded for this call (e.g. "established_business_relationship").
    exemptions: frozenset[str] = frozenset()
    #: the customer asked for a call at this time (B10); with the campaign's permission
    #: it lifts the rules whose file entry records the exemption, inside requested_window.
    is_customer_requested: bool = False
    requested_window: tuple[dt.datetime, dt.datetime] | None = None
    can_call_outside_hours_on_request: bool = False
    rules: calling_rules.RuleSet = dataclasses.field(
        default_factory=calling_rules.default_rules, compare=False, repr=False)
    _plan: calling_plan.Plan = dataclasses.field(init=False, compare=False, repr=False)
    _requested: calling_plan.Plan | None = dataclasses.field(init=False, compare=False, repr=False)
    _static: tuple[str, ...] = dataclasses.field(init=False, compare=False, repr=False)
    _scrubs: dict[str, dt.datetime] | None = dataclasses.field(init=False, compare=False,
                                                                repr=False)
    _has_extras: bool = dataclasses.field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise errors.InvalidInput(f"call category {self.category!r} is not one of "
                                      f"{', '.join(CATEGORIES)}", fields={"category": "unknown"})
        if self.window is not None:
            _check_window("campaign window", *self.window)
        shape = (self.rules, tuple(self.zones), tuple(self.jurisdictions), self.category,
                 self.is_autodialed)
        plan = calling_plan.plan(*shape, frozenset(self.exemptions), self.window, self.schedule)
        requested = None
        if self.is_customer_requested and self.can_call_outside_hours_on_request:
            requested = calling_plan.plan(
                *shape, frozenset(self.exemptions) | calling_rules.CUSTOMER_REQUEST_EXEMPTIONS,
                self.window, self.schedule)
        static = ("zone_unknown",) if not self.zones else ()
        static += ("dnc",) if self.is_dnc else ()
        object.__setattr__(self, "_plan", plan)
        object.__setattr__(self, "_requested", requested)
        object.__setattr__(self, "_static", static)
        object.__setattr__(self, "_scrubs", None if self.registry_scrubs is None
                           else dict(self.registry_scrubs))
        object.__setattr__(self, "_has_extras", bool(
            self.attempts_at or self.other_attempts_at or self.abandoned_at or self.refused_at
            or self.suspensions or (self.registry_scrubs is not None and plan.registry)))


def _check_window(what: str, start: dt.time, end: dt.time) -> None:
    if end != dt.time(0) and end <= start:
        raise errors.InvalidInput(f"{what} ends ({end.isoformat()}) before it starts "
                                  f"({start.isoformat()})", fields={what: "end before start"},
                                  error_id="window-end-before-start")


def resolve_target(number: str, *, tz: str = "", zip_code: str = "", state: str = "",
                   default_region: str = "US", category: str = "telemarketing",
                   dialing_mode: str = "preview", is_prerecorded: bool = False,
                   window: tuple[dt.time, dt.time] | None = None, schedule: Schedule | None = None,
                   attempts_at: Iterable[dt.datetime] = (),
                   other_attempts_at: Iterable[dt.datetime] = (),
                   abandoned_at: Iterable[dt.datetime] = (), refused_at: Iterable[dt.datetime] = (),
                   is_dnc: bool = False, registry_scrubs: Mapping[str, dt.datetime] | None = None,
                   suspensions: Iterable[Suspension] = (), exemptions: Iterable[str] = (),
                   is_customer_requested: bool = False,
                   requested_window: tuple[dt.datetime, dt.datetime] | None = None,
                   can_call_outside_hours_on_request: bool = False,
                   rules: calling_rules.RuleSet | None = None, is_strict: bool = True) -> Target:
    """Build a :class:`Target` from plain values (zones and jurisdictions via :mod:`campaigns.zones`).

    ``is_strict`` treats the address as input (an unknown zone, state or ZIP is
    an error); a stored record passes False (see :func:`campaigns.zones.locate`).

    Raises
    ------
    campaigns.errors.InvalidInput
        For an unparsable number, unknown zone/state/ZIP (strict), unknown
        category or mode, or a window ending before it starts.

    >>> t = resolve_target("+13055550123")
    >>> t.zones, t.jurisdictions
    (('America/New_York',), ('US', 'US-FL'))
    """
    if dialing_mode not in MODES:
        raise errors.InvalidInput(f"dialing mode {dialing_mode!r} is not one of {', '.join(MODES)}",
                                  fields={"dialing_mode": "unknown"})
    where = zones_mod.locate(number, tz=tz, zip_code=zip_code, state=state,
                             default_region=default_region, is_strict=is_strict)
    return Target(
        where.e164, where.zones, where.jurisdictions, category,
        dialing_mode != "preview" or is_prerecorded, window, schedule,
        tuple(sorted(attempts_at)), tuple(sorted(other_attempts_at)), tuple(sorted(abandoned_at)),
        tuple(sorted(refused_at)), is_dnc,
        None if registry_scrubs is None else tuple(sorted(registry_scrubs.items())),
        tuple(suspensions), frozenset(exemptions), is_customer_requested, requested_window,
        can_call_outside_hours_on_request, rules or calling_rules.default_rules())


# --------------------------------------------------------------------------- decisions


def may_dial(target: Target, at: dt.datetime) -> Decision:
    """Is a call to ``target`` allowed at the aware instant ``at``?

    Raises
    ------
    campaigns.errors.InvalidInput
        When ``at`` is naive.

    >>> t = resolve_target("+13055550123")
    >>> may_dial(t, dt.datetime(2026, 7, 1, 23, 59, tzinfo=dt.timezone.utc))  # 19:59 EDT
    Decision(is_allowed=True, reasons=(), allowed_until=datetime.datetime(2026, 7, 2, 0, 0, tzinfo=datetime.timezone.utc))
    >>> may_dial(t, dt.datetime(2026, 7, 2, 0, 0, tzinfo=dt.timezone.utc)).reasons
    ('outside_hours:US-FL-hours',)
    """
    if at.tzinfo is None or target._static:
        if at.tzinfo is None or at.utcoffset() is None:
            raise errors.InvalidInput(f"instant {at.isoformat()} has no zone or offset",
                                      fields={"at": "naive"})
        return _blocked(target._static)
    plan, until = _plan_at(target, at)
    reasons: tuple[str, ...] = ()
    for zone, table, weekly, closed, is_special, transitions in plan.fast:
        local = at.astimezone(zone)
        minute = local.hour * 60 + local.minute
        weekday = local.weekday()
        if is_special and (not table.is_date_simple
                           or not table.first_ordinal <= local.toordinal() <= table.last_ordinal
                           or local.toordinal() in table.holiday_ordinals):
            is_open, found, end = _check_special(table, local, minute, weekday)
            if not is_open:
                reasons = found if not reasons else tuple(dict.fromkeys(reasons + found))
                continue
        else:
            today = weekly[weekday]
            if not today.is_open[minute]:
                found = (closed[weekday] or calling_plan.closed_reasons(table, weekday))[minute]
                if reasons is not found:
                    reasons = found if not reasons else tuple(dict.fromkeys(reasons + found))
                continue
            end = today.edge[minute]
        if reasons:
            continue
        if local.toordinal() in transitions[local.year]:
            cand = _after(at, local, zone, end - minute)
        else:
            # zone offsets are whole minutes: the start of the local minute `end` is
            # `end - minute` minutes after the start of the current one
            delta = _MINUTES[end - minute] - _SECONDS[local.second]
            if local.microsecond:
                delta -= dt.timedelta(microseconds=local.microsecond)
            cand = at + delta
        if until is None or cand < until:
            until = cand
    if target._has_extras:
        found_list = list(reasons)
        until, _lift, _never = _extras(target, plan, at, found_list, until, at)
        reasons = tuple(found_list)
    if reasons:
        decision = _BLOCKED.get(reasons)
        return decision if decision is not None else _blocked(reasons)
    found = _ALLOWED.get(until)
    if found is None:
        if len(_ALLOWED) > 100_000:
            _ALLOWED.clear()
        found = _ALLOWED[until] = Decision(True, (), until)
    return found


_MINUTES = [dt.timedelta(minutes=n) for n in range(1441)]
_SECONDS = [dt.timedelta(seconds=n) for n in range(61)]
#: decisions are values: the same answer is shared (bounded memo).
_BLOCKED: dict[tuple[str, ...], Decision] = {}
_ALLOWED: dict[dt.datetime | None, Decision] = {}


def _blocked(reasons: tuple[str, ...]) -> Decision:
    found = _BLOCKED.get(reasons)
    if found is None:
        found = Decision(False, reasons, None)
        if len(_BLOCKED) < 10000:
            _BLOCKED[reasons] = found
    return found


def _check_special(table: calling_plan.Table, local: dt.datetime, minute: int,
                   weekday: int) -> tuple[bool, tuple[str, ...], int]:
    """(is open, reasons, end minute of the open stretch) for a table with date-dependent parts."""
    today = table.weekly[weekday]
    is_open = today.is_open[minute]
    end = today.edge[minute]
    ordinal = local.toordinal()
    if is_open:
        for part in table.special:
            found = part.day_for(ordinal, weekday)[0]
            if found is not None:
                if not found.is_open[minute]:
                    is_open = False
                    break
                end = min(end, found.edge[minute])
    if is_open:
        return True, (), end
    reasons = []
    for part, _edge, is_holiday in table.blockers(ordinal, weekday, minute):
        reason = part.reason.replace("outside_hours:", "holiday:") if is_holiday else part.reason
        if reason not in reasons:
            reasons.append(reason)
    return False, tuple(reasons), end


def _plan_at(target: Target, at: dt.datetime
             ) -> tuple[calling_plan.Plan, dt.datetime | None]:
    """The plan in force at ``at`` and, inside a customer's requested window, its end."""
    requested = target._requested
    if requested is None:
        return target._plan, None
    window = target.requested_window
    if window is None:
        return requested, None
    if window[0] <= at < window[1]:
        return requested, window[1]
    return target._plan, None


def _judge(target: Target, at: dt.datetime, want_lift: bool
           ) -> tuple[bool, tuple[str, ...], dt.datetime | None, dt.datetime | None]:
    """(allowed, reasons, allowed_until, earliest instant the block may lift or None)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise errors.InvalidInput(f"instant {at.isoformat()} has no zone or offset",
                                  fields={"at": "naive"})
    if target._static:
        return False, target._static, None, None
    plan, until = _plan_at(target, at)
    reasons: list[str] = []
    lift = at
    is_never = False
    for zone, table, _transitions in plan.checks:
        local = at.astimezone(zone)
        minute = local.hour * 60 + local.minute
        weekday = local.weekday()
        today = table.weekly[weekday]
        is_open = today.is_open[minute]
        end = today.edge[minute]
        if is_open and table.special:
            ordinal = local.toordinal()
            for part in table.special:
                found = part.day_for(ordinal, weekday)[0]
                if found is not None:
                    if not found.is_open[minute]:
                        is_open = False
                        break
                    end = min(end, found.edge[minute])
        if is_open:
            cand = _after(at, local, zone, end - minute)
            if until is None or cand < until:
                until = cand
            continue
        edge = minute
        ordinal = local.toordinal()
        for part, part_edge, is_holiday in table.blockers(ordinal, weekday, minute):
            reason = part.reason.replace("outside_hours:", "holiday:") if is_holiday \
                else part.reason
            if reason not in reasons:
                reasons.append(reason)
            edge = max(edge, part_edge)
            if part.is_gate_closing and part.gate is not None and ordinal > part.gate[1]:
                is_never = True  # the campaign's end date has passed
        if want_lift:
            lift = max(lift, _after(at, local, zone, max(edge - minute, 1)))
    if target._has_extras:
        until, lift, never = _extras(target, plan, at, reasons, until, lift)
        is_never = is_never or never
    if reasons:
        return False, tuple(reasons), None, None if is_never or not want_lift else lift
    return True, (), until, None


def _after(at: dt.datetime, local: dt.datetime, zone: object, minutes: int) -> dt.datetime:
    """``at`` moved to the start of the local minute ``minutes`` ahead (a lower bound across DST)."""
    cand = at + dt.timedelta(seconds=minutes * 60 - local.second, microseconds=-local.microsecond)
    shift = cand.astimezone(zone).utcoffset() - local.utcoffset()  # type: ignore[arg-type,operator]
    if shift:
        # A spring-forward inside the stretch ends it earlier in real time; never before
        # the end of the current minute (transitions happen on minute boundaries).
        floor = at + dt.timedelta(seconds=60 - local.second, microseconds=-local.microsecond)
        cand = max(floor, cand - max(shift, dt.timedelta(0)))
    return cand


def _extras(target: Target, plan: calling_plan.Plan, at: dt.datetime, reasons: list[str],
            until: dt.datetime | None, lift: dt.datetime
            ) -> tuple[dt.datetime | None, dt.datetime, bool]:
    """Frequency limits, redial blocks, suspensions and registry age (appends to ``reasons``)."""
    is_never = False
    if target.attempts_at or target.other_attempts_at or target.abandoned_at or target.refused_at:
        lift, is_never = _history(target, plan, at, reasons, lift, is_never)
    if target.suspensions:
        until, lift = _suspensions(target, plan, at, reasons, until, lift)
    if target._scrubs is not None and plan.registry:
        until, is_never = _registry(target, plan, at, reasons, until, is_never)
    return until, lift, is_never


def _history(target: Target, plan: calling_plan.Plan, at: dt.datetime, reasons: list[str],
             lift: dt.datetime, is_never: bool) -> tuple[dt.datetime, bool]:
    for rule in plan.frequency:
        span = dt.timedelta(hours=rule.per_hours)  # type: ignore[arg-type]
        instants = target.attempts_at if rule.is_same_subject_only \
            else target.attempts_at + target.other_attempts_at
        counted = sorted(a for a in instants if at - span < a <= at)
        if len(counted) >= rule.max_calls:  # type: ignore[operator]
            reasons.append(f"frequency:{rule.id}")
            lift = max(lift, counted[len(counted) - rule.max_calls] + span)  # type: ignore
    for rule in plan.redial:
        span = dt.timedelta(hours=rule.block_hours)  # type: ignore[arg-type]
        triggers = target.abandoned_at if rule.after == "abandoned" else target.refused_at
        ends = [t + span for t in triggers if t <= at < t + span]
        if ends:
            reasons.append(f"redial_block:{rule.id}")
            lift = max(lift, max(ends))
    return lift, is_never


def _suspensions(target: Target, plan: calling_plan.Plan, at: dt.datetime, reasons: list[str],
                 until: dt.datetime | None, lift: dt.datetime
                 ) -> tuple[dt.datetime | None, dt.datetime]:
    for item in target.suspensions:
        if item.jurisdiction not in plan.suspension_rules:
            continue
        rules = plan.suspension_rules[item.jurisdiction]
        in_scope = [r for r in rules if r.is_in_scope(target.category, target.is_autodialed)]
        if rules and not in_scope:
            continue
        if item.from_at <= at < item.to_at:
            reason = f"suspended:{in_scope[0].id}" if in_scope else f"suspended:{item.jurisdiction}"
            if reason not in reasons:
                reasons.append(reason)
            lift = max(lift, item.to_at)
        elif at < item.from_at and (until is None or item.from_at < until):
            until = item.from_at
    return until, lift


def _registry(target: Target, plan: calling_plan.Plan, at: dt.datetime, reasons: list[str],
              until: dt.datetime | None, is_never: bool) -> tuple[dt.datetime | None, bool]:
    scrubs = target._scrubs or {}
    for rule in plan.registry:
        imported = scrubs.get(rule.registry_source)
        if imported is None:
            reasons.append(f"registry_missing:{rule.id}")
            is_never = True
            continue
        expiry = imported + dt.timedelta(days=rule.registry_max_age_days)  # type: ignore[arg-type]
        if at >= expiry:
            reasons.append(f"registry_stale:{rule.id}")
            is_never = True
        elif until is None or expiry < until:
            until = expiry
    return until, is_never


def next_dialable_at(target: Target, after: dt.datetime,
                     horizon: dt.timedelta) -> dt.datetime | None:
    """The earliest instant ``>= after`` (and ``<= after + horizon``) at which a call is allowed.

    Returns ``after`` itself when allowed then, None when nothing in the horizon
    is (or the block does not lift with time: DNC, zone unknown, stale registry).

    >>> t = resolve_target("+13055550123")
    >>> next_dialable_at(t, dt.datetime(2026, 7, 2, 3, 0, tzinfo=dt.timezone.utc), dt.timedelta(days=2))
    datetime.datetime(2026, 7, 2, 12, 0, tzinfo=datetime.timezone.utc)
    """
    limit = after + horizon
    moment = after
    for _ in range(_MAX_STEPS):
        if moment > limit:
            return None
        is_allowed, _reasons, _until, lift = _judge(target, moment, True)
        if is_allowed:
            return moment
        if lift is None or lift <= moment:
            return None
        moment = lift
    return None


def dialable_windows(target: Target, start: dt.datetime,
                     end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The legal ``[start, end)`` windows of ``target`` inside ``[start, end)``, in order.

    Raises
    ------
    NoLegalMinute
        When there is none: names the earliest legal time (within a year of
        ``start``) and the rule that blocks at ``start``.
    campaigns.errors.InvalidInput
        When ``end`` is not after ``start``.

    >>> t = resolve_target("+13055550123")
    >>> day = dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc)
    >>> [(a.hour, b.hour) for a, b in dialable_windows(t, day, day + dt.timedelta(days=1))]
    [(12, 0)]
    """
    if end <= start:
        raise errors.InvalidInput(f"window end {_iso(end)} is not after its start {_iso(start)}",
                                  fields={"to": "end before start"},
                                  error_id="window-end-before-start")
    windows: list[tuple[dt.datetime, dt.datetime]] = []
    moment = start
    while moment < end:
        first = next_dialable_at(target, moment, end - moment)
        if first is None or first >= end:
            break
        last = first
        for _ in range(_MAX_STEPS):
            is_allowed, _reasons, until, _lift = _judge(target, last, False)
            if not is_allowed:
                break
            if until is None or until >= end:
                last = end
                break
            last = until
        windows.append((first, last))
        moment = last
    if not windows:
        decision = may_dial(target, start)
        earliest = next_dialable_at(target, start, EARLIEST_HORIZON)
        rule = decision.reasons[0] if decision.reasons else ""
        when = f"the earliest legal time is {_iso(earliest)}" if earliest \
            else "no legal time within a year"
        raise NoLegalMinute(f"no legal minute between {_iso(start)} and {_iso(end)}: {when} "
                            f"(blocked by {rule})", earliest_legal_at=earliest, rule=rule)
    return windows


def registry_block(category: str, scrubs: Mapping[str, dt.datetime],
                   rules: calling_rules.RuleSet, now: dt.datetime,
                   countries: Iterable[str] | None = None) -> str | None:
    """Why a campaign of ``category`` may not start or dial now because of registry age, or None.

    Parameters
    ----------
    scrubs
        Registry source -> instant of its latest import (``store.compliance.latest_scrubs``).
    countries
        The countries the campaign calls (None: every country with a registry rule).

    Returns
    -------
    str or None
        ``registry_missing:<rule>`` or ``registry_stale:<rule>`` (older than the
        rule's ``registry_max_age_days``), None when every registry is fresh.

    >>> now = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
    >>> rules = calling_rules.default_rules()
    >>> registry_block("telemarketing", {"us-national": now - dt.timedelta(days=40)}, rules, now, ["US"])
    'registry_stale:US-national-DNC'
    >>> registry_block("research", {}, rules, now, ["US"]) is None
    True
    """
    wanted = None if countries is None else set(countries)
    for rule in rules.rules:
        if rule.kind != "dnc" or not rule.registry_max_age_days or not rule.is_applicable_status:
            continue
        if not rule.is_in_scope(category, False):
            continue
        if wanted is not None and rule.jurisdiction.split("-")[0] not in wanted:
            continue
        imported = scrubs.get(rule.registry_source)
        if imported is None:
            return f"registry_missing:{rule.id}"
        if now - imported >= dt.timedelta(days=rule.registry_max_age_days):
            return f"registry_stale:{rule.id}"
    return None


#: how a customer may ask for a call at a chosen time.
CONSENT_CHANNELS = ("call", "sms", "email", "web", "chat", "in_person")


def consent_evidence(*, asked_by: str, asked_at: dt.datetime, window_start: dt.datetime,
                     window_end: dt.datetime, channel: str) -> dict[str, str]:
    """The consent record stored with a customer-requested callback (B10), validated.

    Raises
    ------
    campaigns.errors.InvalidInput
        When a part is missing, an instant is naive, the window ends before it
        starts or the channel is unknown.

    >>> at = dt.datetime(2026, 7, 1, 15, tzinfo=dt.timezone.utc)
    >>> consent_evidence(asked_by="customer", asked_at=at, window_start=at,
    ...                  window_end=at + dt.timedelta(hours=1), channel="call")["window_end"]
    '2026-07-01T16:00:00Z'
    """
    if not asked_by.strip():
        raise errors.InvalidInput("consent evidence needs who asked", fields={"asked_by": "empty"})
    for name, value in (("asked_at", asked_at), ("window_start", window_start),
                        ("window_end", window_end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise errors.InvalidInput(f"{name} {value.isoformat()} has no zone or offset",
                                      fields={name: "naive"})
    if window_end <= window_start:
        raise errors.InvalidInput(f"requested window ends ({_iso(window_end)}) before it starts "
                                  f"({_iso(window_start)})", fields={"window_end": "before start"},
                                  error_id="window-end-before-start")
    if channel not in CONSENT_CHANNELS:
        raise errors.InvalidInput(f"channel {channel!r} is not one of {', '.join(CONSENT_CHANNELS)}",
                                  fields={"channel": "unknown"})
    return {"asked_by": asked_by.strip(), "asked_at": _iso(asked_at),
            "window_start": _iso(window_start), "window_end": _iso(window_end),
            "channel": channel}


def _iso(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
