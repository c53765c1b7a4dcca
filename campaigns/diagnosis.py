""""Why is it not dialing?": what blocks each record now, as one category (pure).

Record-level blockers come first (final, list, caps, schedule of retries and
callbacks, the law), then campaign-level ones (paused, no ready agent); a
record that nothing blocks is ``dialable``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from campaigns.enums import RecordStatus

#: every category, in the order they are checked.
CATEGORIES = (
    "final", "dnc", "list_inactive_or_expired", "attempt_cap", "retry_not_due",
    "callback_not_due", "owner_callback_waiting", "zone_unknown", "outside_calling_hours",
    "outside_operating_schedule", "frequency_limit", "suspended", "registry_scrub",
    "paused", "no_ready_agent", "dialable",
)

_FINAL = {RecordStatus.DONE_SUCCESS, RecordStatus.DONE_FAILURE, RecordStatus.EXHAUSTED}


@dataclass(frozen=True)
class RecordState:
    """What the store knows about one record, as plain values."""

    status: RecordStatus
    attempts: int
    is_list_open: bool
    #: pending retry due at (None = no pending retry).
    retry_due_at: dt.datetime | None = None
    #: open callback window (None = no open callback).
    callback_window: tuple[dt.datetime, dt.datetime] | None = None
    #: the callback is personal and its owner is not ready, inside the hand-off delay.
    is_owner_waiting: bool = False


def category(state: RecordState, *, now: dt.datetime, max_attempts: int,
             compliance_reasons: tuple[str, ...] | None, is_campaign_active: bool,
             has_ready_agent: bool) -> str:
    """The one category that blocks a record now.

    ``compliance_reasons`` are :func:`campaigns.calling_hours.may_dial` reasons
    for the number that would be dialled (None when the record never gets that far).

    >>> s = RecordState(RecordStatus.NEW, 0, True)
    >>> now = dt.datetime(2026, 1, 5, 15, tzinfo=dt.timezone.utc)
    >>> category(s, now=now, max_attempts=3, compliance_reasons=("outside_hours:US-FL-hours",),
    ...          is_campaign_active=True, has_ready_agent=True)
    'outside_calling_hours'
    """
    if state.status in _FINAL:
        return "final"
    if state.status is RecordStatus.DNC:
        return "dnc"
    if not state.is_list_open:
        return "list_inactive_or_expired"
    if state.attempts >= max_attempts:
        return "attempt_cap"
    if state.status is RecordStatus.RETRY and state.retry_due_at is not None \
            and state.retry_due_at > now:
        return "retry_not_due"
    if state.status is RecordStatus.CALLBACK:
        window = state.callback_window
        if window is None or window[0] > now:
            return "callback_not_due"
        if state.is_owner_waiting:
            return "owner_callback_waiting"
    found = compliance_category(compliance_reasons or ())
    if found is not None:
        return found
    if not is_campaign_active:
        return "paused"
    if not has_ready_agent:
        return "no_ready_agent"
    return "dialable"


def compliance_category(reasons: tuple[str, ...]) -> str | None:
    """The diagnosis category of the first compliance reason (None: nothing blocks).

    >>> compliance_category(("frequency:US-FL-freq",)), compliance_category(())
    ('frequency_limit', None)
    """
    for reason in reasons:
        kind = reason.split(":", 1)[0]
        if kind == "dnc":
            return "dnc"
        if kind == "zone_unknown":
            return "zone_unknown"
        if kind in ("outside_hours", "holiday", "campaign_window"):
            return "outside_calling_hours"
        if kind == "operating_schedule":
            return "outside_operating_schedule"
        if kind in ("frequency", "redial_block"):
            return "frequency_limit"
        if kind == "suspended":
            return "suspended"
        if kind.startswith("registry"):
            return "registry_scrub"
    return None


def fraction(part: int, whole: int) -> float:
    """``part / whole`` as a fraction, 0 for an empty whole.

    >>> fraction(1, 4), fraction(3, 0)
    (0.25, 0.0)
    """
    return part / whole if whole else 0.0
