"""Agents' weekly work shifts and their exceptions: parse them, ask who works when (pure).

A shift is written ``mon-fri 09:00-17:00`` or ``sat 10:00-14:00`` in the agent's
zone; an exception ``2026-12-24 off`` or ``2026-12-31 09:00-13:00``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from campaigns import errors, localtime

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Shift:
    #: 0 = Monday.
    weekday: int
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class Exception_:
    """A day off (no times) or a day with other hours."""

    on_date: dt.date
    start: dt.time | None = None
    end: dt.time | None = None
    reason: str = ""


def parse_time_range(text: str, *, field: str = "hours") -> tuple[dt.time, dt.time]:
    """``"09:00-17:30"`` -> (09:00, 17:30); the end must come after the start.

    >>> parse_time_range("09:00-17:30")
    (datetime.time(9, 0), datetime.time(17, 30))
    """
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise errors.InvalidInput(f"{field} {text!r} must look like 09:00-17:00",
                                  fields={field: "expected HH:MM-HH:MM"})
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise errors.InvalidInput(f"{field} {text!r} is not a valid time range",
                                  fields={field: "invalid time"})
    start = dt.time(h1, m1)
    end = dt.time.max.replace(microsecond=0) if h2 == 24 else dt.time(h2, m2)
    if end <= start:
        raise errors.InvalidInput(f"{field} {text!r}: the end is not after the start",
                                  fields={field: "end before start"})
    return start, end


def parse_days(text: str, *, field: str = "days") -> list[int]:
    """``"mon-fri"``, ``"sat,sun"`` or ``"mon,wed-fri"`` -> weekday numbers.

    >>> parse_days("mon,wed-fri")
    [0, 2, 3, 4]
    """
    days: list[int] = []
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise errors.InvalidInput(f"{field} {text!r}: unknown day {part!r}",
                                      fields={field: "expected mon..sun"})
        a, b = DAYS.index(first), DAYS.index(last or first)
        if b < a:
            raise errors.InvalidInput(f"{field} {text!r}: {part!r} runs backwards",
                                      fields={field: "range runs backwards"})
        days.extend(d for d in range(a, b + 1) if d not in days)
    if not days:
        raise errors.InvalidInput(f"{field} is empty", fields={field: "empty"})
    return sorted(days)


def parse_shift(text: str) -> list[Shift]:
    """``"mon-fri 09:00-17:00"`` -> one Shift per day."""
    parts = text.split()
    if len(parts) != 2:
        raise errors.InvalidInput(f"shift {text!r} must look like 'mon-fri 09:00-17:00'",
                                  fields={"shift": "expected DAYS HH:MM-HH:MM"})
    start, end = parse_time_range(parts[1], field="shift")
    return [Shift(day, start, end) for day in parse_days(parts[0], field="shift")]


def parse_exception(text: str) -> Exception_:
    """``"2026-12-24 off"`` or ``"2026-12-31 09:00-13:00 [reason]"``."""
    parts = text.split(maxsplit=2)
    if len(parts) < 2:
        raise errors.InvalidInput(f"exception {text!r} must look like '2026-12-24 off'",
                                  fields={"exception": "expected DATE off|HH:MM-HH:MM"})
    try:
        on_date = dt.date.fromisoformat(parts[0])
    except ValueError:
        raise errors.InvalidInput(f"exception {text!r}: {parts[0]!r} is not a date",
                                  fields={"exception": "expected YYYY-MM-DD"}) from None
    reason = parts[2] if len(parts) > 2 else ""
    if parts[1].lower() == "off":
        return Exception_(on_date, None, None, reason)
    start, end = parse_time_range(parts[1], field="exception")
    return Exception_(on_date, start, end, reason)


def is_working(weekly: list[Shift], exceptions: list[Exception_], tz: str,
               at: dt.datetime) -> bool:
    """Is the agent scheduled at instant ``at`` (their shifts read in zone ``tz``)?"""
    local = localtime.to_local(at, tz)
    day, clock = local.date(), local.time().replace(tzinfo=None)
    for exc in exceptions:
        if exc.on_date == day:
            return exc.start is not None and exc.end is not None and exc.start <= clock < exc.end
    return any(s.weekday == day.weekday() and s.start <= clock < s.end for s in weekly)


def describe(weekly: list[Shift]) -> list[str]:
    """Shifts as ``"mon 09:00-17:00"`` strings."""
    return [f"{DAYS[s.weekday]} {s.start:%H:%M}-{s.end:%H:%M}" for s in weekly]
