"""pytz's rules in one place: validate zone names, attach zones, convert instants.

Never ``datetime(..., tzinfo=pytz_zone)`` (that picks the zone's first, LMT
offset): attach with ``localize`` and fix arithmetic with ``normalize``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pytz

from campaigns import errors


@lru_cache(maxsize=1024)
def zone(name: str) -> dt.tzinfo:
    """The pytz zone named ``name`` (an IANA name).

    Raises
    ------
    campaigns.errors.InvalidInput
        When the name is not a known zone.

    >>> zone("America/Chicago").zone
    'America/Chicago'
    """
    try:
        return pytz.timezone(name)
    except (pytz.UnknownTimeZoneError, AttributeError, ValueError):
        raise errors.InvalidInput(f"unknown time zone {name!r}", fields={"tz": "unknown zone"},
                                  error_id="unknown-zone") from None


def is_zone(name: str) -> bool:
    try:
        zone(name)
    except errors.InvalidInput:
        return False
    return True


def localize(naive: dt.datetime, zone_name: str, *, is_dst: bool | None = False) -> dt.datetime:
    """Attach ``zone_name`` to a naive local time; the result is converted to UTC.

    ``is_dst=False`` resolves the ambiguous hour of a DST end to the later
    (standard-time) instant, and a non-existent time of a DST start is moved
    forward by the gap, as a wall clock would.

    >>> localize(dt.datetime(2026, 3, 8, 2, 30), "America/New_York").isoformat()
    '2026-03-08T07:30:00+00:00'
    """
    tz = zone(zone_name)
    try:
        aware = tz.localize(naive, is_dst=is_dst)  # type: ignore[attr-defined]
    except pytz.NonExistentTimeError:
        aware = tz.localize(naive, is_dst=True)  # type: ignore[attr-defined]
    return aware.astimezone(dt.UTC)


def to_local(instant: dt.datetime, zone_name: str) -> dt.datetime:
    """An aware instant as a wall-clock time in ``zone_name`` (aware)."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: instants must carry a zone")
    return instant.astimezone(zone(zone_name))
