"""The engine's side of callbacks: misses and the escalation ladder, the dial-time check.

* :func:`on_missed` - the engine (or ``dialer callbacks miss``: "this call did
  not happen") marks a callback missed; the ladder then runs (E9);
* :func:`sweep` - what a periodic job calls: callbacks whose window ended
  without a call become missed, and ladder steps whose time has come apply;
* :func:`dial_check` - just before dialling a claimed callback: the callback's
  own number, DNC and calling hours re-checked now (E17); :func:`cancel_for_dnc`
  when the number is on a do-not-call list now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from campaigns import callbacks, calling_hours, models, notifications
from campaigns.callbacks import Step
from campaigns.enums import CallbackStatus as S
from campaigns.enums import RecordStatus
from campaigns.store import callbacks as store
from campaigns.store import dnc as dnc_store
from campaigns.store import hopper
from dialer import callbacks_messages, callbacks_slots
from dialer import callbacks_service as service
from dialer.callbacks_config import CallbacksSettings


def on_missed(session: Session, cfg: CallbacksSettings, callback_id: int, *, now: dt.datetime,
              actor: str = "engine", why: str = "not completed in its window") -> models.Callback:
    """Mark a callback missed and apply the ladder steps already due (E9)."""
    callback = store.get(session, callback_id, for_update=True)
    _miss(session, cfg, callback, now=now, actor=actor, why=why)
    return callback


def _miss(session: Session, cfg: CallbacksSettings, callback: models.Callback, *,
          now: dt.datetime, actor: str, why: str) -> list[Step]:
    callback.missed_at = now
    service.change(session, callback, S.MISSED, action="missed", actor=actor, now=now, why=why,
                    verb="mark missed")
    return advance(session, cfg, callback, now)


def advance(session: Session, cfg: CallbacksSettings, callback: models.Callback,
            now: dt.datetime) -> list[Step]:
    """Apply every ladder step of ``callback`` whose time has come; returns those applied."""
    applied: list[Step] = []
    ladder = callbacks_slots.policy(session, cfg, callback.campaign_id).ladder
    while S(callback.status) is S.MISSED or (
            S(callback.status) is S.REQUESTED and callback.ladder_step == Step.NOTIFY):
        planned = callbacks.next_step(
            done=callback.ladder_step, missed_at=callback.missed_at or now,
            window_start_at=callback.window_start_at, window_end_at=callback.window_end_at,
            has_owner=callback.owner_id is not None, ladder=ladder)
        if planned is None or planned.at > now:
            break
        _apply(session, cfg, callback, planned.step, now)
        applied.append(planned.step)
        if planned.step in (Step.RETRY, Step.HANDOFF, Step.NEXT_DAY, Step.CLOSE):
            break
    return applied


def _apply(session: Session, cfg: CallbacksSettings, callback: models.Callback, step: Step,
           now: dt.datetime) -> None:
    callback.ladder_step = int(step)
    details = {"ladder_step": step.name.lower()}
    if step is Step.RETRY:
        service.change(session, callback, S.DUE, action="ladder_retry", actor="ladder", now=now,
                        details=details)
    elif step is Step.HANDOFF:
        details["previous_owner"] = store.owner_name(session, callback)
        callback.owner_id = None
        service.change(session, callback, S.DUE, action="ladder_handoff", actor="ladder",
                        now=now, details=details)
    elif step is Step.NEXT_DAY:
        _next_day(session, cfg, callback, now, details)
    elif step is Step.NOTIFY:
        service.change(session, callback, S.REQUESTED, action="ladder_notify", actor="ladder",
                        now=now, details=details)
        callbacks_messages.notify(session, cfg, callback, notifications.Event.CALLBACK_MISSED, now)
    else:
        service.change(session, callback, S.MISSED, action="ladder_closed", actor="ladder",
                        now=now, details=details)
        callback.link_version += 1


def _next_day(session: Session, cfg: CallbacksSettings, callback: models.Callback,
              now: dt.datetime, details: dict[str, object]) -> None:
    start, end = callbacks.next_day(callback.window_start_at, callback.window_end_at,
                                    callback.tz)
    step = callback.ladder_step
    try:
        service.place(session, callback, start_at=start, end_at=end, tz=callback.tz, now=now)
    except calling_hours.NoLegalMinute:
        # No legal minute tomorrow at that time: go straight to telling the customer.
        callback.ladder_step = int(Step.NOTIFY)
        service.change(session, callback, S.REQUESTED, action="ladder_notify", actor="ladder",
                        now=now, details={"ladder_step": "notify", "skipped": "next_day"})
        callbacks_messages.notify(session, cfg, callback, notifications.Event.CALLBACK_MISSED, now)
        return
    callback.ladder_step = step
    callback.missed_at = now
    details["window"] = [callbacks.iso_utc(callback.window_start_at),
                         callbacks.iso_utc(callback.window_end_at)]
    service.change(session, callback, S.SCHEDULED, action="ladder_next_day", actor="ladder",
                    now=now, details=details)
    callbacks_messages.plan_reminders(session, cfg, callback, now)


def sweep(session: Session, cfg: CallbacksSettings, now: dt.datetime) -> dict[str, int]:
    """Mark overdue callbacks missed and run due ladder steps; returns counts.

    Safe to call periodically, from several engines at once: each candidate is
    locked and read again (``FOR UPDATE`` on PostgreSQL) before it changes, so
    a callback another sweep already handled is skipped; when nothing is due
    it reads two short lists and writes nothing.
    """
    missed = steps = 0
    for callback in store.overdue(session, now):
        if not _still(session, callback, lambda c: _is_overdue(c, now)):
            continue
        steps += len(_miss(session, cfg, callback, now=now, actor="engine",
                           why="not completed in its window"))
        missed += 1
    for callback in store.on_ladder(session):
        if _next_step_at(session, cfg, callback, now) is None:
            continue  # nothing due yet: no lock, no write
        if _still(session, callback, lambda c: _next_step_at(session, cfg, c, now) is not None):
            steps += len(advance(session, cfg, callback, now))
    return {"missed": missed, "ladder_steps": steps}


def _still(session: Session, callback: models.Callback, condition) -> bool:
    """Lock ``callback``, read it again, and tell whether ``condition`` still holds."""
    session.refresh(callback, with_for_update=session.get_bind().dialect.name == "postgresql")
    return bool(condition(callback))


def _is_overdue(callback: models.Callback, now: dt.datetime) -> bool:
    status = S(callback.status)
    if callback.window_end_at > now:
        return False
    if status is S.IN_PROGRESS:
        return callback.claimed_until is None or callback.claimed_until < now
    return status in (S.SCHEDULED, S.DUE, S.REOPENED)


def _next_step_at(session: Session, cfg: CallbacksSettings, callback: models.Callback,
                  now: dt.datetime) -> dt.datetime | None:
    """When the callback's next ladder step is due, if it is due by ``now``."""
    if not (S(callback.status) is S.MISSED or (
            S(callback.status) is S.REQUESTED and callback.ladder_step == Step.NOTIFY)):
        return None
    ladder = callbacks_slots.policy(session, cfg, callback.campaign_id).ladder
    planned = callbacks.next_step(
        done=callback.ladder_step, missed_at=callback.missed_at or now,
        window_start_at=callback.window_start_at, window_end_at=callback.window_end_at,
        has_owner=callback.owner_id is not None, ladder=ladder)
    return planned.at if planned is not None and planned.at <= now else None


def cancel_for_dnc(session: Session, cfg: CallbacksSettings, callback_id: int, *,
                   now: dt.datetime, actor: str = "engine") -> models.Callback:
    """The claimed callback's number is on a do-not-call list now: cancel it (reason
    ``dnc``, audited, the customer not contacted); the record becomes ``dnc`` when
    none of its valid numbers is left to dial."""
    callback = store.get(session, callback_id, for_update=True)
    if S(callback.status) not in callbacks.ENDED:
        service.cancel(session, cfg, callback.id, actor=actor, now=now, reason="dnc",
                       is_system=True)
    record = session.get(models.Record, callback.record_id)
    numbers = {p.e164 for p in record.phones if p.is_valid} | {callback.number_e164}
    if numbers <= dnc_store.blocked_numbers(session, callback.campaign_id, numbers, now):
        record.status = RecordStatus.DNC
        record.next_attempt_at = None
        record.updated_at = now
    record.claimed_by = record.claimed_until = None
    return callback


def on_call_finished(session: Session, cfg: CallbacksSettings, callback_id: int, *,
                     now: dt.datetime, is_contact: bool, disposition: str = "",
                     time_taken_s: int | None = None, actor: str = "engine") -> models.Callback:
    """After the call of a claimed callback: completed when the customer was reached
    (with the disposition as its outcome), otherwise missed (the ladder goes on)."""
    callback = store.get(session, callback_id, for_update=True)
    if is_contact:
        return service.complete(session, cfg, callback.id, actor=actor, now=now,
                                outcome=disposition, reason="call connected",
                                time_taken_s=time_taken_s)
    _miss(session, cfg, callback, now=now, actor=actor,
          why=f"call not connected ({disposition or 'no contact'})")
    return callback


@dataclass(frozen=True)
class DialCheck:
    """May the claimed callback be dialled now, and on which number."""

    is_allowed: bool
    number_e164: str
    phone_number_id: int | None
    reasons: tuple[str, ...]


def dial_check(session: Session, work: hopper.Work, now: dt.datetime) -> DialCheck:
    """Re-check a claimed callback just before dialling (E17).

    The number is the callback's own (never the record's primary in its
    place); DNC, calling hours, frequency and registry rules are judged now,
    and the callback's window must be open.  A refused claim is released by
    the caller (``hopper.release``).
    """
    callback = store.get(session, work.callback_id)
    campaign = session.get(models.Campaign, callback.campaign_id)
    record = session.get(models.Record, callback.record_id)
    target = callbacks_slots.target(session, campaign, record, callback.number_e164, callback.tz, now,
                             is_customer_requested=bool(callback.consent),
                             requested_window=(callback.window_start_at,
                                               callback.window_end_at))
    decision = calling_hours.may_dial(target, now)
    reasons = tuple(decision.reasons)
    if not callback.window_start_at <= now < callback.window_end_at:
        reasons += ("outside_callback_window",)
    return DialCheck(decision.is_allowed and not reasons, callback.number_e164,
                     callback.phone_number_id, reasons)
