"""Abandoned-call accounting (B15): US and UK rates as fractions 0-1, and their periods (pure).

* US (FCC 64.1200(a)(7), TSR safe harbour): abandoned live calls divided by all
  live answers (connected + abandoned), per campaign per 30-day period (also
  shown per day).
* UK (Ofcom): (abandoned + estimated AMD false positives) divided by (live
  answers + estimated AMD false positives), per campaign per day, midnight to
  midnight in the campaign's zone.  The estimate is the campaign's AMD
  false-positive rate times the calls AMD classed as machines.

The store (``campaigns.store.compliance``) counts; this module only divides.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

#: the US measurement period.
US_PERIOD = dt.timedelta(days=30)


@dataclasses.dataclass(frozen=True)
class Counts:
    """Calls of one campaign over one period."""

    #: answered by a person and connected to an agent.
    connected: int = 0
    #: answered by a person, no agent within the limit.
    abandoned: int = 0
    #: classed as a machine by AMD.
    machine: int = 0

    @property
    def live_answers(self) -> int:
        return self.connected + self.abandoned


def us_rate(counts: Counts) -> float:
    """Abandoned / (connected + abandoned); 0.0 with no live answer.

    >>> us_rate(Counts(connected=97, abandoned=3))
    0.03
    >>> us_rate(Counts())
    0.0
    """
    live = counts.live_answers
    return counts.abandoned / live if live else 0.0


def uk_rate(counts: Counts, amd_false_positive_rate: float) -> float:
    """(abandoned + estimated AMD false positives) / (live answers + the same estimate).

    >>> round(uk_rate(Counts(connected=90, abandoned=2, machine=50), 0.02), 4)
    0.0323
    """
    if not 0.0 <= amd_false_positive_rate <= 1.0:
        raise ValueError(f"amd_false_positive_rate {amd_false_positive_rate} is not in [0, 1]")
    false_positives = amd_false_positive_rate * counts.machine
    denominator = counts.live_answers + false_positives
    return (counts.abandoned + false_positives) / denominator if denominator else 0.0


def day_bounds(day: dt.date, zone: str) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight to the next local midnight of ``day`` in ``zone``, as UTC instants.

    >>> start, end = day_bounds(dt.date(2026, 3, 8), "America/New_York")
    >>> start.isoformat(), (end - start).total_seconds() / 3600
    ('2026-03-08T05:00:00+00:00', 23.0)
    """
    tz = ZoneInfo(zone)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def local_day(now: dt.datetime, zone: str) -> dt.date:
    """The date of ``now`` in ``zone``.

    >>> local_day(dt.datetime(2026, 7, 2, 3, tzinfo=dt.timezone.utc), "America/Los_Angeles")
    datetime.date(2026, 7, 1)
    """
    return now.astimezone(ZoneInfo(zone)).date()


def report(day: Counts, period: Counts, amd_false_positive_rate: float,
           cap: float) -> dict[str, object]:
    """The JSON-ready rates of one campaign (fractions 0-1) and whether the cap is exceeded.

    >>> report(Counts(10, 1), Counts(97, 3), 0.0, 0.03)["us_rate_30d"]
    0.03
    """
    us_30 = us_rate(period)
    uk_day = uk_rate(day, amd_false_positive_rate)
    return {
        "us_rate_day": us_rate(day),
        "us_rate_30d": us_30,
        "uk_rate_day": uk_day,
        "cap": cap,
        "is_over_cap": us_30 > cap or uk_day > cap,
        "day": dataclasses.asdict(day),
        "period_30d": dataclasses.asdict(period),
    }
