"""Table tests (B16): every window rule of the shipped file, DST days, holidays, Sundays,
split area codes.  A rule added to the file adds its own cases."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from campaigns import calling_hours as ch
from campaigns import calling_rules, zones

UTC = dt.UTC
RULES = calling_rules.default_rules()
#: every window rule of the shipped file, superseded ones included (they must never block).
WINDOW_RULES = [r for r in RULES.rules if r.kind == "window"]
_COUNTRY_ZONES = {"US": "America/New_York", "CA": "America/Toronto", "GB": "Europe/London",
                  "AU": "Australia/Sydney", "FR": "Europe/Paris", "DE": "Europe/Berlin"}
#: a week with no holiday and no DST change in any zone used.
WEEK = dt.date(2026, 3, 16)


def local(zone: str, day: dt.date, minute: int) -> dt.datetime:
    wall = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=ZoneInfo(zone))
    return wall.astimezone(UTC)


def target_for(rule: calling_rules.Rule) -> ch.Target:
    """A callee that the rule reaches: its jurisdiction (and parents), a category in scope."""
    code = rule.jurisdiction
    zone = _COUNTRY_ZONES[code] if "-" not in code else zones.subdivision_zones(code)[0]
    categories = [c for c in ch.CATEGORIES if c in rule.scope]
    return ch.Target("+10000000000", (zone,), tuple(sorted(RULES.lineage(code))),
                     categories[0] if categories else "telemarketing",
                     is_autodialed=not categories)


def window_cases(rule: calling_rules.Rule) -> list[tuple[dt.date, int, bool]]:
    """(local date, minute, does this rule block) around every range edge of the rule."""
    first = WEEK
    if rule.status == "pending" and rule.effective_from and rule.effective_from > WEEK:
        first = rule.effective_from + dt.timedelta(days=(7 - rule.effective_from.weekday()) % 7)
    cases = []
    for weekday, ranges in rule.days.items():
        day = first + dt.timedelta(days=weekday)
        inside = {m for start, end in ranges for m in (start, end - 1)}
        cases += [(day, m, False) for m in sorted(inside)]
        for start, end in ranges:
            for edge in (start - 1, end):
                if 0 <= edge < 1440 and not any(s <= edge < e for s, e in ranges):
                    cases.append((day, edge, True))
        if not ranges:
            cases.append((day, 12 * 60, True))
    return cases


@pytest.mark.req("B16", "B4", "B5")
@pytest.mark.parametrize("rule", WINDOW_RULES, ids=lambda r: r.id)
def test_every_window_rule_blocks_exactly_outside_its_ranges(rule: calling_rules.Rule) -> None:
    target = target_for(rule)
    reason = f"outside_hours:{rule.id}"
    zone = rule.time_basis or target.zones[0]
    cases = window_cases(rule)
    assert cases, f"{rule.id} produced no case"
    for day, minute, is_blocked in cases:
        decision = ch.may_dial(target, local(zone, day, minute))
        expected = is_blocked and rule.status != "superseded"
        assert (reason in decision.reasons) == expected, (rule.id, day, minute, decision)


DST_DAYS = [(z, d) for z in ("America/New_York", "America/Chicago", "America/Denver",
                             "America/Los_Angeles", "America/Phoenix", "Pacific/Honolulu")
            for d in (dt.date(2026, 3, 8), dt.date(2026, 11, 1))] + \
    [(z, d) for z in ("Europe/London", "Europe/Paris")
     for d in (dt.date(2026, 3, 29), dt.date(2026, 10, 25))] + \
    [("Australia/Sydney", dt.date(2026, 4, 5)), ("Australia/Sydney", dt.date(2026, 10, 4))]


@pytest.mark.req("B16", "B11")
@pytest.mark.parametrize("zone, day", DST_DAYS, ids=lambda v: str(v))
def test_local_window_on_dst_days(zone: str, day: dt.date) -> None:
    target = ch.Target("+10000000000", (zone,), (), "informational",
                       window=(dt.time(8), dt.time(21)))
    assert not ch.may_dial(target, local(zone, day, 7 * 60 + 59)).is_allowed
    opening = ch.may_dial(target, local(zone, day, 8 * 60))
    assert opening.is_allowed and opening.allowed_until == local(zone, day, 21 * 60)
    assert ch.may_dial(target, local(zone, day, 20 * 60 + 59)).is_allowed
    assert not ch.may_dial(target, local(zone, day, 21 * 60)).is_allowed
    midnight = local(zone, day, 0)
    assert ch.next_dialable_at(target, midnight, dt.timedelta(days=1)) == local(zone, day, 8 * 60)
    assert ch.dialable_windows(target, midnight, midnight + dt.timedelta(days=1)) == [
        (local(zone, day, 8 * 60), local(zone, day, 21 * 60))]


@pytest.mark.req("B16")
@pytest.mark.parametrize("day, real_hours", [(dt.date(2026, 3, 8), 3), (dt.date(2026, 11, 1), 5)])
def test_window_across_the_dst_change_itself(day: dt.date, real_hours: int) -> None:
    zone = "America/New_York"
    target = ch.Target("+10000000000", (zone,), (), "informational",
                       window=(dt.time(1), dt.time(5)))
    midnight = local(zone, day, 0)
    (start, end), = ch.dialable_windows(target, midnight, midnight + dt.timedelta(days=1))
    assert start == local(zone, day, 60)
    assert end - start == dt.timedelta(hours=real_hours)
    assert not ch.may_dial(target, end).is_allowed


@pytest.mark.req("B16", "B6")
@pytest.mark.parametrize("number, zone, day, reason", [
    ("+18015550100", "America/Denver", dt.date(2026, 7, 24), "holiday:US-UT-hours"),
    ("+12055550100", "America/Chicago", dt.date(2026, 6, 1), "holiday:US-AL-hours"),
    ("+15045550100", "America/Chicago", dt.date(2026, 2, 17), "holiday:US-LA-hours"),
    ("+12155550100", "America/New_York", dt.date(2026, 10, 12), "holiday:US-PA-hours-2026"),
    ("+14015550100", "America/New_York", dt.date(2026, 8, 10), "holiday:US-RI-hours"),
    ("+33142685300", "Europe/Paris", dt.date(2026, 5, 14), "holiday:FR-hours"),
    ("+61212345678", "Australia/Sydney", dt.date(2026, 4, 27), None),
    ("+61212345678", "Australia/Sydney", dt.date(2026, 1, 26), "holiday:AU-telemarketing-hours"),
    ("+13055550100", "America/New_York", dt.date(2026, 12, 25), None),
    ("+12125550100", "America/New_York", dt.date(2026, 11, 26), None),
    ("+16015550100", "America/Chicago", dt.date(2026, 12, 25), None),
])
def test_holidays(number: str, zone: str, day: dt.date, reason: str | None) -> None:
    decision = ch.may_dial(ch.resolve_target(number), local(zone, day, 12 * 60))
    assert decision.reasons == ((reason,) if reason else ())


@pytest.mark.req("B16")
@pytest.mark.parametrize("number, category, zone, minute, reason", [
    ("+12055550100", "telemarketing", "America/Chicago", 12 * 60, "outside_hours:US-AL-hours"),
    ("+15045550100", "telemarketing", "America/Chicago", 12 * 60, "outside_hours:US-LA-hours"),
    ("+16015550100", "telemarketing", "America/Chicago", 12 * 60, "outside_hours:US-MS-hours"),
    ("+18015550100", "telemarketing", "America/Denver", 12 * 60, "outside_hours:US-UT-hours"),
    ("+14015550100", "telemarketing", "America/New_York", 12 * 60, "outside_hours:US-RI-hours"),
    ("+12155550100", "telemarketing", "America/New_York", 12 * 60,
     "outside_hours:US-PA-hours-2026"),
    ("+12145550100", "telemarketing", "America/Chicago", 11 * 60 + 59,
     "outside_hours:US-TX-hours"),
    ("+12145550100", "telemarketing", "America/Chicago", 12 * 60, None),
    ("+61212345678", "telemarketing", "Australia/Sydney", 12 * 60,
     "outside_hours:AU-telemarketing-hours"),
    ("+61212345678", "research", "Australia/Sydney", 12 * 60, None),
    ("+33142685300", "telemarketing", "Europe/Paris", 11 * 60, "outside_hours:FR-hours"),
    ("+14025550100", "telemarketing", "America/Chicago", 9 * 60, None),
])
def test_sunday_rules(number: str, category: str, zone: str, minute: int,
                      reason: str | None) -> None:
    sunday = dt.date(2026, 3, 22)
    target = ch.resolve_target(number, category=category)
    assert ch.may_dial(target, local(zone, sunday, minute)).reasons == ((reason,) if reason else ())


@pytest.mark.req("B16")
def test_nebraska_prerecorded_sunday_afternoon_only() -> None:
    target = ch.resolve_target("+14025550100", is_prerecorded=True)
    sunday = dt.date(2026, 3, 22)
    assert ch.may_dial(target, local("America/Chicago", sunday, 12 * 60 + 59)).reasons == (
        "outside_hours:US-NE-prerecorded-sun-holiday",)
    assert ch.may_dial(target, local("America/Chicago", sunday, 13 * 60)).is_allowed


@pytest.mark.req("B16", "B1")
@pytest.mark.parametrize("npa", ["850", "423", "270", "208", "605", "701", "915"])
def test_split_area_code_dials_only_when_every_zone_is_open(npa: str) -> None:
    target = ch.resolve_target(f"+1{npa}5550100")
    assert len(target.zones) >= 2
    after = dt.datetime(2026, 3, 17, 4, 0, tzinfo=UTC)
    horizon = dt.timedelta(days=2)
    singles = [ch.next_dialable_at(dataclasses.replace(target, zones=(z,)), after, horizon)
               for z in target.zones]
    both = ch.next_dialable_at(target, after, horizon)
    assert both == max(singles)
    assert len(set(singles)) > 1
    earlier = both - dt.timedelta(minutes=1)
    assert not ch.may_dial(target, earlier).is_allowed
    ends = [ch.may_dial(dataclasses.replace(target, zones=(z,)), both).allowed_until
            for z in target.zones]
    assert ch.may_dial(target, both).allowed_until == min(ends)
