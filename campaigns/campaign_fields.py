"""Campaign settings: validate what an administrator gives, and show a campaign (pure).

Used by the command line and the API alike, so both refuse the same values
with the same messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from campaigns import errors, localtime, shifts
from campaigns.enums import CallCategory, CampaignStatus, DialingMode

#: the shortest ring timeout a campaign may use (regulators ask for at least 15 s).
MIN_RING_TIMEOUT_S = 15
DEFAULT_RING_TIMEOUT_S = 20
DEFAULT_ABANDON_CAP = 0.03


def validate(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn user-facing values (strings and numbers) into column values.

    Keys (all optional): ``mode``, ``category``, ``caller_id``, ``ring_timeout_s``,
    ``max_attempts``, ``centre_tz``, ``days``, ``hours``, ``start_date``, ``end_date``,
    ``window``, ``abandon_cap``, ``abandon_message``, ``amd``, ``status``,
    ``amd_false_positive_rate``, ``allow_requested_callbacks_outside_hours``.
    A value of ``None`` means "not given"; ``window = ""`` removes the campaign window.

    Raises
    ------
    campaigns.errors.InvalidInput
        Naming the field.

    >>> validate({"ring_timeout_s": 25, "hours": "09:00-20:00"})["schedule_end"]
    datetime.time(20, 0)
    """
    out: dict[str, Any] = {}
    given = {k: v for k, v in raw.items() if v is not None}
    if "mode" in given:
        out["dialing_mode"] = _enum(DialingMode, given["mode"], "mode")
    if "category" in given:
        out["call_category"] = _enum(CallCategory, given["category"], "category")
    if "status" in given:
        out["status"] = _enum(CampaignStatus, given["status"], "status")
    if "caller_id" in given:
        out["caller_id"] = str(given["caller_id"]).strip()
    if "ring_timeout_s" in given:
        value = _number(given["ring_timeout_s"], "ring_timeout_s", int)
        if value < MIN_RING_TIMEOUT_S or value > 120:
            raise errors.InvalidInput(
                f"ring_timeout_s {value} must be from {MIN_RING_TIMEOUT_S} to 120 seconds",
                fields={"ring_timeout_s": f"at least {MIN_RING_TIMEOUT_S}"})
        out["ring_timeout_s"] = value
    if "max_attempts" in given:
        value = _number(given["max_attempts"], "max_attempts", int)
        if not 1 <= value <= 1000:
            raise errors.InvalidInput(f"max_attempts {value} must be from 1 to 1000",
                                      fields={"max_attempts": "out of range"})
        out["max_attempts"] = value
    if "centre_tz" in given:
        localtime.zone(given["centre_tz"])
        out["centre_tz"] = given["centre_tz"]
    if "days" in given:
        out["schedule_days"] = [shifts.DAYS[d] for d in shifts.parse_days(given["days"])]
    if "hours" in given:
        out["schedule_start"], out["schedule_end"] = shifts.parse_time_range(given["hours"],
                                                                             field="hours")
    for key in ("start_date", "end_date"):
        if key in given:
            out[key] = _date(given[key], key)
    start, end = out.get("start_date"), out.get("end_date")
    if start and end and end < start:
        raise errors.InvalidInput(f"end_date {end} is before start_date {start}",
                                  fields={"end_date": "before start_date"})
    if "window" in given:
        if given["window"] == "":
            out["window_start"] = out["window_end"] = None
        else:
            out["window_start"], out["window_end"] = shifts.parse_time_range(given["window"],
                                                                             field="window")
    for key in ("abandon_cap", "amd_false_positive_rate"):
        if key in given:
            value = _number(given[key], key, float)
            if not 0 <= value <= 1 or (key == "abandon_cap" and value == 0):
                raise errors.InvalidInput(f"{key} {value} must be a fraction in (0, 1]",
                                          fields={key: "a fraction, e.g. 0.03"})
            out[key] = value
    if "abandon_message" in given:
        out["abandon_message"] = str(given["abandon_message"])
    for key in ("amd", "allow_requested_callbacks_outside_hours"):
        if key in given:
            out[key] = bool(given[key])
    return out


def defaults() -> dict[str, Any]:
    """Column values of a campaign created with no options."""
    return {
        "dialing_mode": DialingMode.PREVIEW,
        "call_category": CallCategory.TELEMARKETING,
        "ring_timeout_s": DEFAULT_RING_TIMEOUT_S,
        "max_attempts": 5,
        "centre_tz": "UTC",
        "schedule_days": ["mon", "tue", "wed", "thu", "fri", "sat"],
        "schedule_start": dt.time(8, 0),
        "schedule_end": dt.time(21, 0),
        "abandon_cap": DEFAULT_ABANDON_CAP,
        "abandon_message": "",
        "status": CampaignStatus.DRAFT,
    }


def as_dict(campaign: Any) -> dict[str, Any]:
    """A campaign as JSON-ready values."""
    return {
        "id": campaign.id,
        "name": campaign.name,
        "mode": campaign.dialing_mode.value,
        "category": campaign.call_category.value,
        "status": campaign.status.value,
        "caller_id": campaign.caller_id,
        "ring_timeout_s": campaign.ring_timeout_s,
        "max_attempts": campaign.max_attempts,
        "centre_tz": campaign.centre_tz,
        "schedule": {
            "days": list(campaign.schedule_days),
            "start": f"{campaign.schedule_start:%H:%M}",
            "end": f"{campaign.schedule_end:%H:%M}",
            "start_date": campaign.start_date.isoformat() if campaign.start_date else None,
            "end_date": campaign.end_date.isoformat() if campaign.end_date else None,
        },
        "window": (f"{campaign.window_start:%H:%M}-{campaign.window_end:%H:%M}"
                   if campaign.window_start and campaign.window_end else None),
        "abandon_cap": campaign.abandon_cap,
        "abandon_message": campaign.abandon_message,
        "amd": campaign.amd,
        "amd_false_positive_rate": campaign.amd_false_positive_rate,
        "allow_requested_callbacks_outside_hours": campaign.allow_requested_callbacks_outside_hours,
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
    }


def _enum(cls: Any, value: Any, field: str) -> Any:
    try:
        return cls(str(value).lower())
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise errors.InvalidInput(f"{field} {value!r} is not one of {allowed}",
                                  fields={field: f"one of {allowed}"}) from None


def _number(value: Any, field: str, kind: type) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise errors.InvalidInput(f"{field} {value!r} is not a number",
                                  fields={field: "not a number"}) from None
    return number


def _date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise errors.InvalidInput(f"{field} {value!r} is not a date (YYYY-MM-DD)",
                                  fields={field: "expected YYYY-MM-DD"}) from None
