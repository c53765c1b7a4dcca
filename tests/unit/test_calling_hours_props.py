"""Property tests (B17): may_dial agrees with a plain reading of the rules; next_dialable_at
finds the first allowed minute."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns import calling_hours as ch
from campaigns import calling_rules

UTC = dt.UTC
RULES = calling_rules.default_rules()
NUMBERS = ["+12125550100", "+13055550100", "+18505550100", "+18015550100", "+15045550100",
           "+12155550100", "+14015550100", "+12145550100", "+16015550100", "+14155550100",
           "+17025550100", "+14165550100", "+16045550100", "+442079460000", "+33142685300",
           "+61212345678", "+4930123456", "+18005550100", "+19155550100", "+12085550100",
           "+16055550100", "+17015550100", "+14235550100", "+12705550100", "+13125550100",
           "+15035550100", "+12055550100", "+15025550100", "+18085550100", "+16025550100"]
STATES = ["", "", "FL", "TX", "NY", "CA", "UT", "LA", "ON", "AZ", "HI", "PA", "KY"]
ZONES = ["", "", "", "America/Phoenix", "Pacific/Honolulu", "Europe/London", "America/Chicago"]

instants = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2032, 12, 31),
                        timezones=st.just(UTC))
targets = st.builds(
    lambda number, state, zone, category, mode: ch.resolve_target(
        number, state=state, tz=zone, category=category, dialing_mode=mode),
    st.sampled_from(NUMBERS), st.sampled_from(STATES), st.sampled_from(ZONES),
    st.sampled_from(ch.CATEGORIES), st.sampled_from(["preview", "predictive"]))


def is_open_by_the_book(target: ch.Target, at: dt.datetime) -> bool:
    """Every applicable window rule open in every candidate zone, read straight from the rules."""
    if not target.zones:
        return False
    for rule in RULES.rules:
        if rule.kind != "window" or rule.jurisdiction not in target.jurisdictions:
            continue
        if rule.status == "superseded" or not rule.is_in_scope(target.category,
                                                               target.is_autodialed):
            continue
        for zone in [rule.time_basis] if rule.time_basis else target.zones:
            wall = at.astimezone(ZoneInfo(zone))
            day = wall.date()
            if not rule.is_active_on(day):
                continue
            holidays = set().union(*(RULES.holiday_dates(rule.jurisdiction, y)
                                     for y in (day.year - 1, day.year, day.year + 1)))
            if rule.holidays is not None and day in holidays:
                ranges = () if rule.holidays == "closed" else rule.holidays
            elif day.weekday() in rule.days:
                ranges = rule.days[day.weekday()]
            else:
                continue
            minute = wall.hour * 60 + wall.minute
            if not any(start <= minute < end for start, end in ranges):  # type: ignore
                return False
    return True


@pytest.mark.req("B17")
@given(target=targets, at=instants)
def test_may_dial_is_true_exactly_when_every_zone_and_jurisdiction_allows(
        target: ch.Target, at: dt.datetime) -> None:
    assert ch.may_dial(target, at).is_allowed == is_open_by_the_book(target, at)


@pytest.mark.req("B17")
@given(target=targets, at=instants)
def test_allowed_until_is_still_allowed_a_minute_before(target: ch.Target,
                                                        at: dt.datetime) -> None:
    decision = ch.may_dial(target, at)
    if decision.is_allowed and decision.allowed_until is not None:
        assert decision.allowed_until > at
        last = max(at, decision.allowed_until - dt.timedelta(minutes=1))
        assert ch.may_dial(target, last).is_allowed


times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
windows = st.none() | st.tuples(times, times).filter(lambda w: w[0] < w[1])
dates = st.none() | st.dates(min_value=dt.date(2023, 12, 1), max_value=dt.date(2033, 1, 31))
schedules = st.none() | st.builds(
    lambda zone, days, w, first, last: ch.Schedule(zone, tuple(sorted(days)), w[0], w[1],
                                                   first, last),
    st.sampled_from(["Europe/London", "America/New_York", "Asia/Kolkata", "UTC"]),
    st.sets(st.integers(0, 6), min_size=1), st.tuples(times, times).filter(lambda w: w[0] < w[1]),
    dates, dates)


@pytest.mark.req("B17", "B8", "B11")
@given(target=targets, after=instants, window=windows, schedule=schedules,
       history=st.lists(st.integers(min_value=1, max_value=30 * 60), max_size=4),
       suspension=st.none() | st.integers(min_value=-600, max_value=600))
def test_next_dialable_at_is_allowed_and_no_earlier_minute_is(
        target: ch.Target, after: dt.datetime, window: tuple[dt.time, dt.time] | None,
        schedule: ch.Schedule | None, history: list[int], suspension: int | None) -> None:
    import dataclasses

    stops = () if suspension is None else tuple(
        ch.Suspension(code, after + dt.timedelta(minutes=suspension),
                      after + dt.timedelta(minutes=suspension + 300))
        for code in target.jurisdictions[:1])
    target = dataclasses.replace(target, window=window, schedule=schedule, suspensions=stops,
                                 attempts_at=tuple(sorted(after - dt.timedelta(minutes=m)
                                                          for m in history)))
    horizon = dt.timedelta(hours=36)
    found = ch.next_dialable_at(target, after, horizon)
    end = found if found is not None else after + horizon
    if found is not None:
        assert after <= found <= after + horizon
        assert ch.may_dial(target, found).is_allowed
    if end > after:
        assert not ch.may_dial(target, after).is_allowed
    minute = after.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    while minute < end:
        assert not ch.may_dial(target, minute).is_allowed, minute
        minute += dt.timedelta(minutes=1)
