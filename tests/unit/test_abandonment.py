"""Abandoned-call rates (B15): US and UK definitions, fractions 0-1, local days."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import abandonment
from campaigns.abandonment import Counts


@pytest.mark.req("B15")
@pytest.mark.parametrize("counts, expected", [
    (Counts(connected=97, abandoned=3), 0.03),
    (Counts(connected=0, abandoned=5), 1.0),
    (Counts(connected=10, abandoned=0, machine=40), 0.0),
    (Counts(), 0.0),
])
def test_us_rate_is_abandoned_over_live_answers(counts: Counts, expected: float) -> None:
    assert abandonment.us_rate(counts) == pytest.approx(expected)


@pytest.mark.req("B15")
def test_uk_rate_adds_estimated_amd_false_positives_to_both_sides() -> None:
    counts = Counts(connected=95, abandoned=3, machine=100)
    assert abandonment.uk_rate(counts, 0.0) == pytest.approx(3 / 98)
    assert abandonment.uk_rate(counts, 0.05) == pytest.approx((3 + 5) / (98 + 5))
    assert abandonment.uk_rate(Counts(), 0.5) == 0.0
    with pytest.raises(ValueError):
        abandonment.uk_rate(counts, 1.5)


@pytest.mark.req("B15")
@pytest.mark.parametrize("day, zone, hours", [
    (dt.date(2026, 3, 8), "America/New_York", 23),
    (dt.date(2026, 11, 1), "America/New_York", 25),
    (dt.date(2026, 10, 25), "Europe/London", 25),
    (dt.date(2026, 7, 1), "Asia/Kolkata", 24),
])
def test_uk_day_runs_midnight_to_midnight_in_the_campaign_zone(day: dt.date, zone: str,
                                                               hours: int) -> None:
    start, end = abandonment.day_bounds(day, zone)
    assert end - start == dt.timedelta(hours=hours)
    assert abandonment.local_day(start, zone) == day
    assert abandonment.local_day(end - dt.timedelta(microseconds=1), zone) == day


@pytest.mark.req("B15")
def test_report_is_fractions_and_flags_the_cap() -> None:
    report = abandonment.report(Counts(50, 1), Counts(960, 40), 0.0, 0.03)
    assert report["us_rate_30d"] == pytest.approx(0.04) and report["is_over_cap"] is True
    assert all(0.0 <= report[k] <= 1.0 for k in ("us_rate_day", "us_rate_30d", "uk_rate_day"))
