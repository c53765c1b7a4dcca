"""Callbacks as appointments: statuses, transitions, windows, slots, the missed ladder, links (pure).

Nothing here reads the clock or the database: ``now`` and the legal windows
(from :mod:`campaigns.calling_hours`) are parameters, and the store and the
service (``dialer.callbacks_service``) act on the decisions returned.

* :func:`check_transition` - which status may follow which (E3);
* :func:`local_window` / :func:`check_window` / :func:`clip` - a window asked in a
  named zone, validated, and clipped to the legal windows (E2);
* :func:`slots` - fixed-length slots inside the legal windows, each with its
  capacity = scheduled agents x per-agent capacity - already booked (E7, E8);
* :func:`next_step` - the escalation ladder of a missed callback (E9);
* :func:`sign_link` / :func:`read_link` - HMAC-signed customer links (E12);
* :func:`as_dict` - the JSON shape shared by the CLI and the API (E4).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from campaigns import errors, localtime
from campaigns.enums import CallbackStatus as S

#: a customer may be offered at most this many slots at once (E7).
MAX_SLOTS = 30
#: a callback window may not be longer than this.
MAX_WINDOW = dt.timedelta(days=14)

#: statuses in which the callback still waits for a call or an answer.
OPEN = frozenset({S.REQUESTED, S.PROPOSED, S.SCHEDULED, S.DUE, S.IN_PROGRESS, S.MISSED,
                  S.REOPENED})
#: statuses that end the callback (its customer links are revoked).
ENDED = frozenset({S.COMPLETED, S.NO_SHOW, S.CANCELLED})
#: statuses that hold a booking in a slot (count against capacity).
BOOKED = frozenset({S.SCHEDULED, S.DUE, S.IN_PROGRESS, S.REOPENED})

_ALL = frozenset(S)
#: current status -> the statuses it may move to.
TRANSITIONS: dict[S, frozenset[S]] = {
    S.REQUESTED: frozenset({S.REQUESTED, S.PROPOSED, S.SCHEDULED, S.CANCELLED, S.MISSED}),
    S.PROPOSED: frozenset({S.PROPOSED, S.REQUESTED, S.SCHEDULED, S.CANCELLED}),
    S.SCHEDULED: _ALL - {S.REOPENED},
    S.DUE: _ALL - {S.REOPENED},
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.NO_SHOW, S.MISSED, S.DUE, S.SCHEDULED,
                              S.CANCELLED, S.REQUESTED, S.PROPOSED}),
    S.MISSED: frozenset({S.MISSED, S.DUE, S.SCHEDULED, S.REQUESTED, S.PROPOSED, S.CANCELLED,
                         S.COMPLETED, S.NO_SHOW}),
    S.COMPLETED: frozenset({S.REOPENED}),
    S.NO_SHOW: frozenset({S.REOPENED}),
    S.CANCELLED: frozenset({S.REOPENED}),
    S.REOPENED: _ALL - {S.REOPENED},
}


class InvalidTransition(errors.InvalidInput):
    """This change is not allowed from the callback's status."""

    error_id = "invalid-transition"


class LinkError(errors.InvalidInput):
    """The customer link cannot be used."""

    error_id = "link-invalid"


class LinkExpired(LinkError):
    """The customer link has expired or was revoked."""

    error_id = "link-expired"


def check_transition(current: S, new: S, *, action: str = "") -> None:
    """Refuse a status change the lifecycle does not allow.

    Raises
    ------
    InvalidTransition
        Naming both statuses (error id ``invalid-transition``).

    >>> check_transition(S.SCHEDULED, S.COMPLETED)
    >>> check_transition(S.CANCELLED, S.SCHEDULED, action="schedule")
    Traceback (most recent call last):
    ...
    campaigns.callbacks.InvalidTransition: cannot schedule a cancelled callback
    """
    if new not in TRANSITIONS[S(current)]:
        what = f"{action} a {S(current).value} callback" if action \
            else f"move a {S(current).value} callback to {S(new).value}"
        raise InvalidTransition(f"cannot {what}",
                                fields={"status": S(current).value})


# --------------------------------------------------------------------------- windows


@dataclasses.dataclass(frozen=True)
class Clipped:
    """A window after clipping to legal hours (E2)."""

    start_at: dt.datetime
    end_at: dt.datetime
    is_clipped: bool
    #: the first legal instant of the requested window.
    earliest_legal_at: dt.datetime


def local_window(day: dt.date, start: dt.time, end: dt.time, tz: str) -> tuple[dt.datetime,
                                                                                 dt.datetime]:
    """``day start-end`` read in ``tz`` -> aware UTC instants (an end at or before the start
    means the next day).

    >>> a, b = local_window(dt.date(2026, 3, 8), dt.time(1, 0), dt.time(4, 0), "America/New_York")
    >>> a.isoformat(), b.isoformat(), (b - a).seconds // 3600
    ('2026-03-08T06:00:00+00:00', '2026-03-08T08:00:00+00:00', 2)
    """
    start_at = localtime.localize(dt.datetime.combine(day, start), tz)
    end_day = day if end > start else day + dt.timedelta(days=1)
    end_at = localtime.localize(dt.datetime.combine(end_day, end), tz)
    return start_at, end_at


def check_window(start_at: dt.datetime, end_at: dt.datetime, now: dt.datetime) -> None:
    """Refuse a naive, empty, over-long or past window.

    Raises
    ------
    campaigns.errors.InvalidInput
        ``window-end-before-start``, ``window-in-past``, ``window-too-long`` or ``naive-time``.
    """
    for name, value in (("window_start_at", start_at), ("window_end_at", end_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise errors.InvalidInput(f"{name} has no zone", fields={name: "naive"},
                                      error_id="naive-time")
    if end_at <= start_at:
        raise errors.InvalidInput(f"the window ends ({iso_utc(end_at)}) before it starts "
                                  f"({iso_utc(start_at)})", fields={"window_end_at": "before start"},
                                  error_id="window-end-before-start")
    if end_at <= now:
        raise errors.InvalidInput(f"the window ended already ({iso_utc(end_at)})",
                                  fields={"window_end_at": "in the past"}, error_id="window-in-past")
    if end_at - start_at > MAX_WINDOW:
        raise errors.InvalidInput("a callback window lasts at most 14 days",
                                  fields={"window_end_at": "too long"}, error_id="window-too-long")


def clip(start_at: dt.datetime, end_at: dt.datetime,
         legal: Sequence[tuple[dt.datetime, dt.datetime]]) -> Clipped:
    """Keep the first legal stretch of ``[start_at, end_at)`` (``legal`` as
    :func:`campaigns.calling_hours.dialable_windows` returns it, never empty).

    >>> u = lambda h: dt.datetime(2026, 7, 1, h, tzinfo=dt.timezone.utc)
    >>> c = clip(u(10), u(16), [(u(12), u(16))])
    >>> c.start_at.hour, c.end_at.hour, c.is_clipped, c.earliest_legal_at.hour
    (12, 16, True, 12)
    """
    first_start, first_end = legal[0]
    start, end = max(start_at, first_start), min(end_at, first_end)
    return Clipped(start, end, (start, end) != (start_at, end_at), first_start)


# --------------------------------------------------------------------------- slots


@dataclasses.dataclass(frozen=True)
class Slot:
    """A bookable ``[start_at, end_at)`` with the callbacks it can still take."""

    start_at: dt.datetime
    end_at: dt.datetime
    capacity: int


def slot_capacity(scheduled_agents: int, per_agent: int, booked: int) -> int:
    """Callbacks a slot can still take (never negative).

    >>> slot_capacity(3, 2, 4), slot_capacity(1, 1, 3)
    (2, 0)
    """
    return max(0, scheduled_agents * per_agent - booked)


def slots(legal: Iterable[tuple[dt.datetime, dt.datetime]], length: dt.timedelta,
          capacity_of: Callable[[dt.datetime, dt.datetime], int], *,
          not_before: dt.datetime, limit: int = 200) -> list[Slot]:
    """Whole slots of ``length`` aligned on the hour, inside the legal windows, that still
    have capacity (``capacity_of(start, end)``), from ``not_before`` on.

    >>> u = lambda h, m=0: dt.datetime(2026, 7, 1, h, m, tzinfo=dt.timezone.utc)
    >>> got = slots([(u(12, 10), u(13, 30))], dt.timedelta(minutes=30), lambda a, b: 1,
    ...             not_before=u(0))
    >>> [(s.start_at.hour, s.start_at.minute) for s in got]
    [(12, 30), (13, 0)]
    """
    step = int(length.total_seconds())
    out: list[Slot] = []
    for start, end in legal:
        first = max(start, not_before)
        epoch = int(first.timestamp())
        moment = dt.datetime.fromtimestamp(-(-epoch // step) * step, dt.UTC)
        while moment + length <= end and len(out) < limit:
            capacity = capacity_of(moment, moment + length)
            if capacity > 0:
                out.append(Slot(moment, moment + length, capacity))
            moment += length
    return out


def check_slots(windows: Sequence[tuple[dt.datetime, dt.datetime]]) -> None:
    """Refuse an empty list, more than :data:`MAX_SLOTS` slots, or an empty slot.

    Raises
    ------
    campaigns.errors.InvalidInput
        ``too-many-slots``, ``no-slots`` or ``window-end-before-start``.
    """
    if not windows:
        raise errors.InvalidInput("propose at least one slot", fields={"slots": "empty"},
                                  error_id="no-slots")
    if len(windows) > MAX_SLOTS:
        raise errors.InvalidInput(f"{len(windows)} slots proposed: at most {MAX_SLOTS} "
                                  "(5 to 10 recommended)", fields={"slots": "too many"},
                                  error_id="too-many-slots")
    for start, end in windows:
        if end <= start:
            raise errors.InvalidInput(f"slot {iso_utc(start)} ends before it starts",
                                      fields={"slots": "end before start"},
                                      error_id="window-end-before-start")


# --------------------------------------------------------------------------- ladder


class Step(int, enum.Enum):
    """The steps of the missed-callback ladder, in order (E9)."""

    #: call again inside the same window.
    RETRY = 1
    #: an owner-only callback is offered to anyone.
    HANDOFF = 2
    #: the same window on the next day.
    NEXT_DAY = 3
    #: tell the customer "we missed you, pick a new time".
    NOTIFY = 4
    #: give up: the callback stays missed for good.
    CLOSE = 5


@dataclasses.dataclass(frozen=True)
class Ladder:
    """The timing of each step, counted from the miss (or the window)."""

    #: retry this long after the miss, if the window is still open then.
    retry_after: dt.timedelta = dt.timedelta(minutes=10)
    #: hand an owner-only callback to anyone this long after the window opened.
    handoff_after: dt.timedelta = dt.timedelta(minutes=15)
    #: close this long after the customer was notified, when no new time came.
    close_after: dt.timedelta = dt.timedelta(days=7)


@dataclasses.dataclass(frozen=True)
class Planned:
    step: Step
    at: dt.datetime


def next_step(*, done: int, missed_at: dt.datetime, window_start_at: dt.datetime,
              window_end_at: dt.datetime, has_owner: bool, ladder: Ladder) -> Planned | None:
    """The next ladder step after step ``done`` (0 = none yet), and when it applies.

    Steps that cannot apply are skipped: no retry when the window closes before
    it, no hand-off without an owner.

    >>> u = lambda h, m=0: dt.datetime(2026, 7, 1, h, m, tzinfo=dt.timezone.utc)
    >>> next_step(done=0, missed_at=u(12, 5), window_start_at=u(12), window_end_at=u(13),
    ...           has_owner=True, ladder=Ladder())
    Planned(step=<Step.RETRY: 1>, at=datetime.datetime(2026, 7, 1, 12, 15, tzinfo=datetime.timezone.utc))
    >>> next_step(done=1, missed_at=u(12, 30), window_start_at=u(12), window_end_at=u(13),
    ...           has_owner=False, ladder=Ladder()).step.name
    'NEXT_DAY'
    """
    if done < Step.RETRY and missed_at + ladder.retry_after < window_end_at:
        return Planned(Step.RETRY, missed_at + ladder.retry_after)
    handoff_at = max(missed_at, window_start_at + ladder.handoff_after)
    if done < Step.HANDOFF and has_owner and handoff_at < window_end_at:
        return Planned(Step.HANDOFF, handoff_at)
    if done < Step.NEXT_DAY:
        return Planned(Step.NEXT_DAY, max(missed_at, window_end_at))
    if done < Step.NOTIFY:
        return Planned(Step.NOTIFY, max(missed_at, window_end_at))
    if done < Step.CLOSE:
        return Planned(Step.CLOSE, missed_at + ladder.close_after)
    return None


def next_day(start_at: dt.datetime, end_at: dt.datetime, tz: str) -> tuple[dt.datetime,
                                                                           dt.datetime]:
    """The same local window one day later (DST-aware: same wall-clock times).

    >>> a = dt.datetime(2026, 3, 7, 15, tzinfo=dt.timezone.utc)   # 10:00 EST
    >>> s, e = next_day(a, a + dt.timedelta(hours=1), "America/New_York")
    >>> s.hour, e.hour                                           # 10:00 EDT
    (14, 15)
    """
    local_start = localtime.to_local(start_at, tz).replace(tzinfo=None)
    local_end = localtime.to_local(end_at, tz).replace(tzinfo=None)
    day = dt.timedelta(days=1)
    return localtime.localize(local_start + day, tz), localtime.localize(local_end + day, tz)


# --------------------------------------------------------------------------- links


@dataclasses.dataclass(frozen=True)
class LinkClaim:
    """What a valid link says: this callback, at this link version."""

    callback_id: int
    version: int
    expires_at: dt.datetime


def link_expiry(window_end_at: dt.datetime, issued_at: dt.datetime, *,
                grace: dt.timedelta = dt.timedelta(hours=24),
                max_age: dt.timedelta = dt.timedelta(days=14)) -> dt.datetime:
    """A link expires at the window's end + ``grace``, and at most ``max_age`` after issue.

    >>> u = dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc)
    >>> link_expiry(u + dt.timedelta(days=2), u).day, link_expiry(u + dt.timedelta(days=30), u).day
    (4, 15)
    """
    return min(window_end_at + grace, issued_at + max_age)


def sign_link(callback_id: int, version: int, expires_at: dt.datetime, secret: str) -> str:
    """A URL-safe token naming one callback and link version, signed with HMAC-SHA256.

    >>> u = dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc)
    >>> token = sign_link(7, 1, u, "k" * 32)
    >>> read_link(token, "k" * 32, u - dt.timedelta(seconds=1)).callback_id
    7
    """
    payload = f"{callback_id}.{version}.{int(expires_at.timestamp())}"
    return f"{payload}.{_mac(payload, secret)}"


def read_link(token: str, secret: str, now: dt.datetime) -> LinkClaim:
    """Check a token's signature and expiry.

    Raises
    ------
    LinkError
        A malformed or tampered token (``link-invalid``).
    LinkExpired
        A token past its expiry (``link-expired``).
    """
    parts = token.strip().split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        raise LinkError("this link is not valid")
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _mac(payload, secret)):
        raise LinkError("this link is not valid")
    callback_id, version, expires = (int(p) for p in parts[:3])
    expires_at = dt.datetime.fromtimestamp(expires, dt.UTC)
    if now >= expires_at:
        raise LinkExpired("this link has expired")
    return LinkClaim(callback_id, version, expires_at)


def _mac(payload: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"callback-link:{payload}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


# --------------------------------------------------------------------------- JSON


def as_dict(callback: Any, *, owner: str | None, history: Sequence[dict[str, Any]] = (),
            notes: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The JSON shape of a callback (CLI and API, E4); ``callback`` is any object with
    the columns of ``campaigns.models.Callback``."""
    return {
        "id": callback.id, "status": S(callback.status).value,
        "campaign_id": callback.campaign_id, "record_id": callback.record_id,
        "number": callback.number_e164,
        "window_start_at": iso_utc(callback.window_start_at),
        "window_end_at": iso_utc(callback.window_end_at), "tz": callback.tz,
        "owner": owner, "is_clipped": bool(callback.is_clipped),
        "earliest_legal_at": iso_utc(callback.earliest_legal_at),
        "notes": callback.notes,
        "proposed_slots": [list(pair) for pair in callback.proposed_slots or []],
        "suggested_start_at": iso_utc(callback.suggested_start_at),
        "suggested_end_at": iso_utc(callback.suggested_end_at),
        "customer_answer": callback.customer_answer, "cancel_reason": callback.cancel_reason,
        "outcome": callback.outcome, "completion_reason": callback.completion_reason,
        "time_taken_s": callback.time_taken_s, "completed_at": iso_utc(callback.completed_at),
        "ladder_step": callback.ladder_step, "missed_at": iso_utc(callback.missed_at),
        "created_by": callback.created_by, "created_at": iso_utc(callback.created_at),
        "updated_at": iso_utc(callback.updated_at),
        "internal_notes": list(notes), "history": list(history),
    }


def iso_utc(value: dt.datetime | None) -> str | None:
    """An instant as ``YYYY-MM-DDTHH:MM:SSZ`` (None stays None), as the JSON shape writes it."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
