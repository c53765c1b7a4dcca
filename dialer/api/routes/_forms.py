"""Input shared by the callbacks and agent routes: a local window read strictly in a zone.

A window is typed as a date, a start and an end time in an IANA zone; it becomes aware UTC
instants with pytz ``localize(is_dst=None)``, so a local time that a DST change makes
ambiguous (the repeated hour) or non-existent (the skipped hour) is refused with a field
error instead of being guessed.  An end at or before the start means the next day.
"""

from __future__ import annotations

import datetime as dt

import pytz

from campaigns import errors, localtime


def parse_instant(text: str | None, field: str) -> dt.datetime | None:
    """An optional ISO date (midnight UTC) or instant with its offset, as aware UTC.

    >>> parse_instant("2026-11-21", "since")
    datetime.datetime(2026, 11, 21, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_instant("", "since") is None
    True
    """
    if not text:
        return None
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
        value: dt.datetime | None = dt.datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise errors.InvalidInput(f"{field} {text!r}: YYYY-MM-DD or an ISO instant with its "
                                  "offset", fields={field: "not an instant"})
    return value.astimezone(dt.UTC)


def parse_date(text: str, field: str = "date") -> dt.date:
    """``YYYY-MM-DD``.

    >>> parse_date("2026-11-24")
    datetime.date(2026, 11, 24)
    """
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise errors.InvalidInput(f"{field} {text!r} must look like 2026-11-24",
                                  fields={field: "not a date (YYYY-MM-DD)"}) from None


def parse_time(text: str, field: str) -> dt.time:
    """``HH:MM`` (seconds allowed).

    >>> parse_time("14:30", "from")
    datetime.time(14, 30)
    """
    try:
        return dt.time.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise errors.InvalidInput(f"{field} {text!r} is not a time (HH:MM)",
                                  fields={field: "not a time (HH:MM)"}) from None


def strict_local(naive: dt.datetime, tz: str, field: str) -> dt.datetime:
    """A local wall-clock time in ``tz`` as aware UTC; ambiguous or skipped times refused.

    >>> strict_local(dt.datetime(2026, 3, 8, 10, 0), "America/New_York", "from").isoformat()
    '2026-03-08T14:00:00+00:00'
    >>> strict_local(dt.datetime(2026, 3, 8, 2, 30), "America/New_York", "from")
    Traceback (most recent call last):
    ...
    campaigns.errors.InvalidInput: 02:30 on 2026-03-08 does not exist in America/New_York (the clocks go forward)
    """
    zone = localtime.zone(tz)
    when = naive.strftime("%H:%M on %Y-%m-%d")
    try:
        aware = zone.localize(naive, is_dst=None)  # type: ignore[attr-defined]
    except pytz.NonExistentTimeError:
        raise errors.InvalidInput(f"{when} does not exist in {tz} (the clocks go forward)",
                                  fields={field: "does not exist in this zone (DST)"},
                                  error_id="nonexistent-local-time") from None
    except pytz.AmbiguousTimeError:
        raise errors.InvalidInput(f"{when} happens twice in {tz} (the clocks go back): "
                                  "choose another time", fields={field: "ambiguous (DST)"},
                                  error_id="ambiguous-local-time") from None
    return aware.astimezone(dt.UTC)


def window(day: str, start: str, end: str, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """``day start-end`` in ``tz`` as aware UTC instants (end <= start: the next day).

    >>> a, b = window("2026-11-01", "00:30", "03:00", "America/Chicago")
    >>> a.isoformat(), b.isoformat()
    ('2026-11-01T05:30:00+00:00', '2026-11-01T09:00:00+00:00')
    """
    if not tz:
        raise errors.InvalidInput("give the window's time zone", fields={"tz": "empty"})
    on = parse_date(day)
    first, last = parse_time(start, "from"), parse_time(end, "to")
    end_day = on if last > first else on + dt.timedelta(days=1)
    return (strict_local(dt.datetime.combine(on, first), tz, "from"),
            strict_local(dt.datetime.combine(end_day, last), tz, "to"))
