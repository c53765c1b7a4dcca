"""What the agent desktop shows about a customer and checks before wrap-up (F11, F12).

- :func:`screen_pop`: the record's fields and numbers, previous attempts with their
  dispositions and notes, the callback history, the customer's zone(s) and local time, and
  the minutes left in today's legal window (calling hours of the record's resolved target,
  :func:`campaigns.store.compliance.load_target`, through
  :func:`campaigns.calling_hours.dialable_windows`), beside the agent's own time.
- :func:`check_next_call`: the Next call window as the callbacks workflow will judge it
  (:func:`dialer.callbacks_slots.legal_windows` and :func:`campaigns.callbacks.clip`, the
  same calls as ``callbacks_service.wrap_up_request``), explained in words.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import callbacks, calling_hours, errors, localtime, models
from campaigns.enums import RuleAction
from campaigns.store import callbacks as callback_store
from campaigns.store import compliance
from campaigns.store import rules as rule_store
from dialer import callbacks_service as service
from dialer import callbacks_slots

#: previous attempts shown in the screen-pop.
ATTEMPTS_SHOWN = 20


def _iso(value: dt.datetime | None) -> str | None:
    return callbacks.iso_utc(value)


def _phone(record: models.Record, number: str) -> models.PhoneNumber | None:
    phone = next((p for p in record.phones if p.e164 == number), None)
    return phone or next((p for p in record.phones if p.is_valid), None)


def hours_target(session: Session, campaign: models.Campaign, record: models.Record,
                 number: str, now: dt.datetime) -> calling_hours.Target:
    """The record's calling-hours target: its zones and rules, without the call history (the
    call in progress must not make the legal window look closed)."""
    phone = _phone(record, number)
    target = (compliance.load_target(session, campaign, now, phone=phone,
                                     is_registry_checked=False) if phone is not None
              else compliance.load_target(session, campaign, now, number=number,
                                          is_registry_checked=False))
    return dataclasses.replace(target, attempts_at=(), other_attempts_at=(), abandoned_at=(),
                               refused_at=(), is_dnc=False)


def customer_zone(record: models.Record, zones: tuple[str, ...]) -> str:
    """The zone the desktop defaults to: the record's own, else its only candidate zone."""
    if record.raw_tz and localtime.is_zone(record.raw_tz):
        return record.raw_tz
    return zones[0] if zones else ""


def legal_today(target: calling_hours.Target, tz: str, now: dt.datetime) -> dict[str, Any]:
    """Minutes left now in the legal window, and today's legal windows (customer's day)."""
    local = localtime.to_local(now, tz)
    midnight = localtime.localize(dt.datetime.combine(local.date() + dt.timedelta(days=1),
                                                      dt.time()), tz)
    try:
        windows = calling_hours.dialable_windows(target, now, midnight)
    except calling_hours.NoLegalMinute as exc:
        return {"is_legal_now": False, "minutes_left": 0, "windows_today": [],
                "next_legal_at": _iso(exc.earliest_legal_at)}
    first_start, first_end = windows[0]
    is_now = first_start <= now
    return {"is_legal_now": is_now,
            "minutes_left": int((first_end - now).total_seconds() // 60) if is_now else 0,
            "windows_today": [[_iso(a), _iso(b)] for a, b in windows],
            "next_legal_at": _iso(now if is_now else first_start)}


def _attempts(session: Session, record_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(models.Attempt).where(models.Attempt.record_id == record_id)
                           .order_by(models.Attempt.started_at.desc(), models.Attempt.id.desc())
                           .limit(ATTEMPTS_SHOWN))
    names = callback_store.user_names(session)
    return [{"id": a.id, "started_at": _iso(a.started_at), "number": a.number_e164,
             "outcome": a.outcome.value if a.outcome else None, "disposition": a.disposition,
             "notes": a.notes, "agent": names.get(a.agent_id) if a.agent_id else None}
            for a in rows]


def screen_pop(session: Session, record_id: int, *, number: str, now: dt.datetime,
               agent_tz: str) -> dict[str, Any]:
    """Everything the desktop shows about the customer of ``record_id``."""
    record = session.get(models.Record, record_id)
    if record is None:
        raise errors.NotFound("record", record_id)
    campaign = session.get(models.Campaign, record.campaign_id)
    phone = _phone(record, number)
    target = hours_target(session, campaign, record, phone.e164 if phone else number, now)
    tz = customer_zone(record, target.zones)
    owners = callback_store.user_names(session)
    return {
        "record": {"id": record.id, "campaign_id": record.campaign_id,
                   "name": f"{record.first_name} {record.last_name}".strip(),
                   "first_name": record.first_name, "last_name": record.last_name,
                   "email": record.email, "language": record.language,
                   "state": record.raw_state, "zip": record.raw_zip, "tz": record.raw_tz,
                   "status": record.status.value, "attempts_count": record.attempts_count,
                   "fields": dict(record.fields or {}),
                   "custom_fields": dict(record.custom_fields or {})},
        "numbers": [{"id": p.id, "e164": p.e164, "kind": p.kind.value, "line_type": p.line_type,
                     "is_valid": p.is_valid} for p in record.phones],
        "number": phone.e164 if phone else number,
        "attempts": _attempts(session, record.id),
        "callbacks": [callbacks.as_dict(c, owner=owners.get(c.owner_id) if c.owner_id else None,
                                        history=callback_store.history(session, c.id))
                      for c in callback_store.list_callbacks(session, record_id=record.id)],
        "zones": list(target.zones), "customer_tz": tz,
        "customer_local_time": localtime.to_local(now, tz).isoformat() if tz else None,
        "agent_tz": agent_tz, "agent_local_time": localtime.to_local(now, agent_tz).isoformat(),
        **(legal_today(target, tz, now) if tz else {"is_legal_now": False, "minutes_left": 0,
                                                     "windows_today": [], "next_legal_at": None}),
    }


def agent_dispositions(session: Session, campaign_id: int) -> list[dict[str, Any]]:
    """The campaign's agent dispositions; ``next_call``: it makes a callback (Next call)."""
    rules = rule_store.for_campaign(session, campaign_id).values()
    return [{"code": r.code, "label": r.label or r.code, "action": r.action.value,
             "next_call": r.action is RuleAction.CALLBACK,
             "implies_attempt": r.action in (RuleAction.CALLBACK, RuleAction.RETRY,
                                             RuleAction.NEXT_NUMBER)}
            for r in rules if r.source.value == "agent"]


def _hhmm(instant: dt.datetime, tz: str, day: dt.date | None = None) -> str:
    local = localtime.to_local(instant, tz)
    text = local.strftime("%H:%M")
    return text if day is None or local.date() == day else f"{local:%Y-%m-%d} {text}"


def _both(start: dt.datetime, end: dt.datetime, tz: str, agent_tz: str) -> dict[str, str]:
    day = localtime.to_local(start, tz).date()
    mine = localtime.to_local(start, agent_tz).date()
    return {"customer": f"{_hhmm(start, tz)}–{_hhmm(end, tz, day)} {tz} ({day})",
            "agent": f"{_hhmm(start, agent_tz)}–{_hhmm(end, agent_tz, mine)} {agent_tz} ({mine})"}


def check_next_call(session: Session, record_id: int, *, start_at: dt.datetime,
                    end_at: dt.datetime, tz: str, number: str, now: dt.datetime,
                    agent_tz: str) -> dict[str, Any]:
    """Is the Next call window legal?  ``ok`` with the clipped window, or why not and the
    earliest legal time, in words; both zones' times of the window."""
    record = session.get(models.Record, record_id)
    if record is None:
        raise errors.NotFound("record", record_id)
    campaign = session.get(models.Campaign, record.campaign_id)
    e164, _ = service.resolve_number(record, number)
    callbacks.check_window(start_at, end_at, now)
    out: dict[str, Any] = {"tz": tz, "agent_tz": agent_tz, "number": e164,
                           "both_zones": _both(start_at, end_at, tz, agent_tz)}
    try:
        legal = callbacks_slots.legal_windows(
            session, None, campaign=campaign, record=record, number=e164,
            start_at=max(start_at, now), end_at=end_at, tz=tz, now=now)
    except calling_hours.NoLegalMinute as exc:
        earliest = exc.earliest_legal_at
        when = f"{_hhmm(earliest, tz, localtime.to_local(start_at, tz).date())} {tz}" \
            if earliest else "none within a year"
        return {**out, "ok": False, "earliest": when, "earliest_at": _iso(earliest),
                "windows": [], "clipped_to": None,
                "message": f"no legal minute in that window; earliest {when}"}
    clipped = callbacks.clip(max(start_at, now), end_at, legal)
    shown = _both(clipped.start_at, clipped.end_at, tz, agent_tz)
    message = f"OK: {shown['customer']}, {shown['agent']} for you"
    if clipped.is_clipped:
        message = (f"OK, clipped to the legal hours: {shown['customer']}, "
                   f"{shown['agent']} for you")
    return {**out, "ok": True, "message": message, "is_clipped": clipped.is_clipped,
            "earliest": f"{_hhmm(clipped.earliest_legal_at, tz)} {tz}",
            "earliest_at": _iso(clipped.earliest_legal_at),
            "clipped_to": {"start_at": _iso(clipped.start_at), "end_at": _iso(clipped.end_at),
                           **shown},
            "windows": [[_iso(a), _iso(b)] for a, b in legal]}
