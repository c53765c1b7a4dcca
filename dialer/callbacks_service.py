"""The callback lifecycle as units of work: what the CLI, the API and the engine call.

Each operation takes an open session (the caller commits once), the
``[callbacks]`` settings, ``now`` and the actor; it checks the transition
(:mod:`campaigns.callbacks`), writes the change, its audit event, its webhook
deliveries and its notifications in that same transaction.  Windows are checked
against the compliance engine (:mod:`campaigns.calling_hours`) and clipped.
The customer self-service functions live in :mod:`dialer.callbacks_portal`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from campaigns import callbacks, calling_hours, errors, localtime, models, notifications, phones
from campaigns.enums import CallbackStatus as S
from campaigns.enums import RecordStatus
from campaigns.store import callbacks as store
from campaigns.store import compliance, outbox, outcomes, users, webhooks
from dialer import callbacks_messages, callbacks_slots
from dialer.callbacks_config import CallbacksSettings

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- shared steps


def show(session: Session, callback: models.Callback) -> dict[str, Any]:
    """The callback's JSON shape (E4) with its history and internal notes."""
    return callbacks.as_dict(callback, owner=store.owner_name(session, callback),
                             history=store.history(session, callback.id),
                             notes=store.notes(session, callback.id))


def resolve_number(record: models.Record, number: str, default_region: str = "US") -> tuple[str, int | None]:
    """The record's number (first valid when empty) or a new one, validated and normalised."""
    if not number.strip():
        valid = [p for p in record.phones if p.is_valid]
        if not valid:
            raise errors.InvalidInput(f"record {record.id} has no valid number",
                                      fields={"number": "none"}, error_id="no-valid-number")
        return valid[0].e164, valid[0].id
    parsed = phones.normalise(number, default_region)
    if parsed is None or not parsed.is_valid:
        raise errors.InvalidInput(f"{number!r} is not a valid phone number",
                                  fields={"number": "invalid"}, error_id="invalid-number")
    phone = next((p for p in record.phones if p.e164 == parsed.e164), None)
    return parsed.e164, phone.id if phone is not None else None


def zone_of(session: Session, campaign: models.Campaign, record: models.Record,
             number: str, now: dt.datetime) -> str:
    """The customer's zone: the record's, else the number's only candidate zone."""
    if record.raw_tz and localtime.is_zone(record.raw_tz):
        return record.raw_tz
    phone = next((p for p in record.phones if p.e164 == number), None)
    target = (compliance.load_target(session, campaign, now, phone=phone,
                                     is_registry_checked=False) if phone is not None
              else compliance.load_target(session, campaign, now, number=number,
                                          is_registry_checked=False))
    if len(set(target.zones)) != 1:
        raise errors.InvalidInput("the customer's time zone is not known: give --tz",
                                  fields={"tz": "unknown"}, error_id="zone-unknown")
    return target.zones[0]


def _owner_id(session: Session, owner: str | int | None) -> int | None:
    """A user id from a name (or an id as it is); None for anyone in the campaign."""
    if owner in (None, "", "campaign", "anyone"):
        return None
    if isinstance(owner, int):
        return owner
    return users.get_by_name(session, owner).id


def change(session: Session, callback: models.Callback, new: S, *, action: str, actor: str,
            now: dt.datetime, why: str = "", details: dict[str, Any] | None = None,
            verb: str = "") -> None:
    """Move to ``new`` (checked), audit it, post the webhook; an ending revokes the links."""
    before = S(callback.status)
    callbacks.check_transition(before, new, action=verb or action)
    callback.status = new
    callback.updated_at = now
    callback.claimed_by = callback.claimed_until = None
    if new in callbacks.ENDED:
        callback.link_version += 1
        outbox.withdraw_pending(session, callback_id=callback.id, reason=action,
                                events=callbacks_messages.REMINDERS)
    session.flush()
    store.record_change(session, callback, action=action, actor=actor, at=now, before=before,
                        why=why, details=details)
    webhooks.enqueue_event(session, campaign_id=callback.campaign_id, event=f"callback.{action}",
                           data={"callback": callbacks.as_dict(
                               callback, owner=store.owner_name(session, callback)),
                               "actor": actor, "from": before.value, "why": why}, now=now)


def place(session: Session, callback: models.Callback, *, start_at: dt.datetime,
           end_at: dt.datetime, tz: str, now: dt.datetime,
           is_customer_requested: bool = False) -> None:
    """Validate ``[start_at, end_at)``, clip it to legal hours and set it on the callback."""
    callbacks.check_window(start_at, end_at, now)
    localtime.zone(tz)
    campaign = session.get(models.Campaign, callback.campaign_id)
    record = session.get(models.Record, callback.record_id)
    legal = callbacks_slots.legal_windows(session, callback, campaign=campaign, record=record,
                          number=callback.number_e164, start_at=max(start_at, now),
                          end_at=end_at, tz=tz, now=now,
                          is_customer_requested=is_customer_requested or bool(callback.consent))
    clipped = callbacks.clip(max(start_at, now), end_at, legal)
    is_clipped = clipped.is_clipped and not (start_at < now and clipped.start_at == now
                                             and clipped.end_at == end_at)
    callback.window_start_at, callback.window_end_at = clipped.start_at, clipped.end_at
    callback.tz = tz
    callback.is_clipped = is_clipped
    callback.earliest_legal_at = clipped.earliest_legal_at
    callback.ladder_step = 0
    callback.missed_at = None
    record.status = RecordStatus.CALLBACK
    record.next_attempt_at = clipped.start_at
    record.updated_at = now
    session.flush()


# --------------------------------------------------------------------------- staff operations


def schedule(session: Session, cfg: CallbacksSettings, *, record_id: int, actor: str,
             now: dt.datetime, start_at: dt.datetime, end_at: dt.datetime, tz: str = "",
             number: str = "", owner: str | None = None, note: str = "",
             is_customer_requested: bool = False, consent_channel: str = "call",
             how: callbacks_messages.Notify | None = None) -> models.Callback:
    """Create a scheduled callback (E1, E2): validated, clipped, audited, notified, reminded.

    Raises
    ------
    campaigns.calling_hours.NoLegalMinute
        The window has no legal minute (``no-legal-minute``).
    campaigns.errors.InvalidInput
        Bad window, number, zone or owner.
    """
    record = session.get(models.Record, record_id)
    if record is None:
        raise errors.NotFound("record", record_id)
    campaign = session.get(models.Campaign, record.campaign_id)
    e164, phone_id = resolve_number(record, number)
    tz = tz or zone_of(session, campaign, record, e164, now)
    consent = calling_hours.consent_evidence(
        asked_by=actor, asked_at=now, window_start=start_at, window_end=end_at,
        channel=consent_channel) if is_customer_requested else {}
    callback = store.add(session, campaign_id=campaign.id, record_id=record.id,
                         phone_number_id=phone_id, number_e164=e164, window_start_at=start_at,
                         window_end_at=end_at, tz=tz, owner_id=_owner_id(session, owner),
                         status=S.SCHEDULED, notes=note, consent=consent, created_by=actor,
                         created_at=now, updated_at=now)
    place(session, callback, start_at=start_at, end_at=end_at, tz=tz, now=now,
           is_customer_requested=is_customer_requested)
    store.record_change(session, callback, action="scheduled", actor=actor, at=now, before=None,
                        why=note, details={"is_clipped": callback.is_clipped})
    webhooks.enqueue_event(session, campaign_id=campaign.id, event="callback.scheduled",
                           data={"callback": callbacks.as_dict(
                               callback, owner=store.owner_name(session, callback)),
                               "actor": actor}, now=now)
    callbacks_messages.notify(session, cfg, callback, notifications.Event.CALLBACK_SCHEDULED, now, how)
    callbacks_messages.plan_reminders(session, cfg, callback, now)
    return callback


def wrap_up_request(session: Session, *, record_id: int, now: dt.datetime,
                    start_at: dt.datetime, end_at: dt.datetime, tz: str = "", number: str = "",
                    owner: str | int | None = None, note: str = "") -> outcomes.CallbackRequest:
    """Validate and clip the callback an agent asks for in wrap-up (E1, E2), before
    ``outcomes.apply_disposition`` stores it; then call :func:`adopt`.

    Raises
    ------
    campaigns.calling_hours.NoLegalMinute
        The window has no legal minute.
    """
    record = session.get(models.Record, record_id)
    if record is None:
        raise errors.NotFound("record", record_id)
    campaign = session.get(models.Campaign, record.campaign_id)
    e164, _ = resolve_number(record, number)
    tz = tz or zone_of(session, campaign, record, e164, now)
    callbacks.check_window(start_at, end_at, now)
    legal = callbacks_slots.legal_windows(session, None, campaign=campaign, record=record, number=e164,
                          start_at=max(start_at, now), end_at=end_at, tz=tz, now=now)
    clipped = callbacks.clip(max(start_at, now), end_at, legal)
    return outcomes.CallbackRequest(clipped.start_at, clipped.end_at, tz, e164,
                                    _owner_id(session, owner), note)


def adopt(session: Session, cfg: CallbacksSettings, callback_id: int, *, actor: str,
          now: dt.datetime, is_clipped: bool = False,
          how: callbacks_messages.Notify | None = None) -> models.Callback:
    """Finish a callback that wrap-up created (``outcomes.apply_disposition``): audit,
    webhook, confirmation and reminders.  ``is_clipped``: :func:`wrap_up_request` clipped
    the window the agent asked for (``CallbackRequest`` cannot carry it)."""
    callback = store.get(session, callback_id)
    campaign = session.get(models.Campaign, callback.campaign_id)
    record = session.get(models.Record, callback.record_id)
    legal = callbacks_slots.legal_windows(session, callback, campaign=campaign, record=record,
                          number=callback.number_e164, start_at=callback.window_start_at,
                          end_at=callback.window_end_at, tz=callback.tz, now=now)
    callback.earliest_legal_at = legal[0][0]
    callback.is_clipped = is_clipped
    store.record_change(session, callback, action="scheduled", actor=actor, at=now, before=None,
                        why=callback.notes, details={"is_clipped": is_clipped})
    webhooks.enqueue_event(session, campaign_id=callback.campaign_id, event="callback.scheduled",
                           data={"callback": callbacks.as_dict(
                               callback, owner=store.owner_name(session, callback)),
                               "actor": actor}, now=now)
    callbacks_messages.notify(session, cfg, callback, notifications.Event.CALLBACK_SCHEDULED, now, how)
    callbacks_messages.plan_reminders(session, cfg, callback, now)
    return callback


def reschedule(session: Session, cfg: CallbacksSettings, callback_id: int, *, actor: str,
               now: dt.datetime, start_at: dt.datetime, end_at: dt.datetime, tz: str = "",
               how: callbacks_messages.Notify | None = None, why: str = "") -> models.Callback:
    """Move a callback to a new window (E5); the customer gets links to cancel or reschedule."""
    callback = store.get(session, callback_id, for_update=True)
    callbacks.check_transition(S(callback.status), S.SCHEDULED, action="reschedule")
    previous = (callback.window_start_at, callback.window_end_at)
    place(session, callback, start_at=start_at, end_at=end_at, tz=tz or callback.tz, now=now)
    callback.reschedule_count += 1
    callback.suggested_start_at = callback.suggested_end_at = None
    callback.proposed_slots = []
    change(session, callback, S.SCHEDULED, action="rescheduled", actor=actor, now=now,
            why=why or (how.message if how else ""), verb="reschedule",
            details={"previous_window": [callbacks.iso_utc(previous[0]), callbacks.iso_utc(previous[1])],
                     "is_clipped": callback.is_clipped})
    callbacks_messages.notify(session, cfg, callback, notifications.Event.CALLBACK_RESCHEDULED, now, how,
            previous_window_start_at=previous[0], previous_window_end_at=previous[1])
    callbacks_messages.plan_reminders(session, cfg, callback, now)
    return callback


def request_reschedule(session: Session, cfg: CallbacksSettings, callback_id: int, *,
                       actor: str, now: dt.datetime, how: callbacks_messages.Notify | None = None) -> models.Callback:
    """Ask the customer to pick a new time (E6): status requested, e-mail/SMS with a link."""
    callback = store.get(session, callback_id, for_update=True)
    change(session, callback, S.REQUESTED, action="requested", actor=actor, now=now,
            why=how.message if how else "", verb="request a new time for")
    outbox.withdraw_pending(session, callback_id=callback.id, reason="requested",
                            events=callbacks_messages.REMINDERS)
    callbacks_messages.notify(session, cfg, callback, notifications.Event.RESCHEDULE_REQUESTED, now, how)
    return callback


def propose(session: Session, cfg: CallbacksSettings, callback_id: int, *, actor: str,
            now: dt.datetime, slots: Sequence[tuple[dt.datetime, dt.datetime]],
            how: callbacks_messages.Notify | None = None) -> models.Callback:
    """Offer up to 30 slots (E7), each legal for the callee and within capacity.

    Raises
    ------
    campaigns.errors.InvalidInput
        ``too-many-slots``, ``slot-unavailable`` (not legal or full), ``window-in-past``.
    """
    callbacks.check_slots(slots)
    callback = store.get(session, callback_id, for_update=True)
    for start, end in slots:
        callbacks.check_window(start, end, now)
        if not callbacks_slots.slot_is_open(session, cfg, callback, start, end, now):
            raise errors.InvalidInput(f"slot {callbacks.iso_utc(start)} is outside legal hours or "
                                      "full", fields={"slots": callbacks.iso_utc(start) or ""},
                                      error_id="slot-unavailable")
    callback.proposed_slots = [[callbacks.iso_utc(a), callbacks.iso_utc(b)] for a, b in sorted(slots)]
    change(session, callback, S.PROPOSED, action="proposed", actor=actor, now=now,
            why=how.message if how else "", verb="propose slots for",
            details={"slots": callback.proposed_slots})
    outbox.withdraw_pending(session, callback_id=callback.id, reason="proposed",
                            events=callbacks_messages.REMINDERS)
    callbacks_messages.notify(session, cfg, callback, notifications.Event.SLOTS_PROPOSED, now, how,
            slots=tuple(sorted(slots)))
    return callback


def accept(session: Session, cfg: CallbacksSettings, callback_id: int, *, actor: str,
           now: dt.datetime, how: callbacks_messages.Notify | None = None) -> models.Callback:
    """Accept the customer's suggested time (E6): scheduled at that time, customer told.

    Raises
    ------
    campaigns.errors.InvalidInput
        No suggestion waits (``no-suggestion``), or it has no legal minute.
    """
    callback = store.get(session, callback_id, for_update=True)
    if callback.suggested_start_at is None or callback.suggested_end_at is None:
        raise errors.InvalidInput(f"callback {callback.id} has no suggested time to accept",
                                  fields={"id": "no suggestion"}, error_id="no-suggestion")
    callbacks.check_transition(S(callback.status), S.SCHEDULED, action="accept a time for")
    place(session, callback, start_at=callback.suggested_start_at,
           end_at=callback.suggested_end_at, tz=callback.tz, now=now, is_customer_requested=True)
    callback.suggested_start_at = callback.suggested_end_at = None
    callback.reschedule_count += 1
    change(session, callback, S.SCHEDULED, action="accepted", actor=actor, now=now,
            details={"is_clipped": callback.is_clipped})
    callbacks_messages.notify(session, cfg, callback, notifications.Event.SUGGESTION_ACCEPTED, now, how)
    callbacks_messages.plan_reminders(session, cfg, callback, now)
    return callback


def cancel(session: Session, cfg: CallbacksSettings, callback_id: int, *, actor: str,
           now: dt.datetime, reason: str, how: callbacks_messages.Notify | None = None,
           is_system: bool = False) -> models.Callback:
    """Cancel with a reason (from the configured list when there is one) and a message (E11).

    ``is_system``: the dialer itself cancels (``dnc`` at dial time): the reason is
    not checked against ``cancel_reasons`` and the customer is not contacted.
    """
    reason = reason.strip()
    callback = store.get(session, callback_id, for_update=True)
    cfg = callbacks_slots.policy(session, cfg, callback.campaign_id)
    if not reason:
        raise errors.InvalidInput("a cancellation needs a reason", fields={"reason": "empty"},
                                  error_id="reason-missing")
    if not is_system and cfg.cancel_reasons and reason not in cfg.cancel_reasons:
        raise errors.InvalidInput(f"reason {reason!r} is not one of: "
                                  f"{', '.join(cfg.cancel_reasons)}", fields={"reason": "unknown"},
                                  error_id="unknown-cancel-reason")
    callback.cancel_reason = reason
    change(session, callback, S.CANCELLED, action="cancelled", actor=actor, now=now, why=reason,
            verb="cancel", details={"message": how.message if how else ""})
    if not is_system:
        callbacks_messages.notify(session, cfg, callback, notifications.Event.CALLBACK_CANCELLED,
                                  now, how, reason=reason)
    record = session.get(models.Record, callback.record_id)
    record.next_attempt_at = None
    return callback


def complete(session: Session, cfg: CallbacksSettings, callback_id: int, *, actor: str,
             now: dt.datetime, outcome: str, reason: str = "",
             time_taken_s: int | None = None) -> models.Callback:
    """Complete with the time taken, a reason and an outcome remark (E11)."""
    if time_taken_s is not None and time_taken_s < 0:
        raise errors.InvalidInput("time taken cannot be negative",
                                  fields={"time_taken_s": "negative"})
    callback = store.get(session, callback_id, for_update=True)
    callback.outcome, callback.completion_reason = outcome, reason
    callback.time_taken_s, callback.completed_at = time_taken_s, now
    change(session, callback, S.COMPLETED, action="completed", actor=actor, now=now,
            why=reason, verb="complete",
            details={"outcome": outcome, "time_taken_s": time_taken_s})
    return callback


def no_show(session: Session, cfg: CallbacksSettings, callback_id: int, *, actor: str,
            now: dt.datetime, why: str = "") -> models.Callback:
    """The customer did not show up (answered nobody / was not there) (E11)."""
    callback = store.get(session, callback_id, for_update=True)
    change(session, callback, S.NO_SHOW, action="no_show", actor=actor, now=now, why=why,
            verb="mark no-show")
    return callback


def reopen(session: Session, cfg: CallbacksSettings, callback_id: int, *, actor: str,
           now: dt.datetime, why: str = "") -> models.Callback:
    """Reopen a completed (or cancelled, no-show) callback (E11); a new link version."""
    callback = store.get(session, callback_id, for_update=True)
    change(session, callback, S.REOPENED, action="reopened", actor=actor, now=now, why=why,
            verb="reopen")
    callback.completed_at = None
    return callback


def reassign(session: Session, cfg: CallbacksSettings, callback_id: int, *, to: str, actor: str,
             now: dt.datetime, how: callbacks_messages.Notify | None = None) -> models.Callback:
    """Give the callback to a colleague scheduled and free at its time (E10).

    Raises
    ------
    campaigns.errors.InvalidInput
        ``agent-unavailable``, naming the agents who are.
    """
    callback = store.get(session, callback_id, for_update=True)
    cfg = callbacks_slots.policy(session, cfg, callback.campaign_id)
    free = callbacks_slots.available_agents(session, cfg, callback)
    chosen = next((a for a in free if a.name == to), None)
    if chosen is None:
        names = ", ".join(a.name for a in free) or "nobody"
        raise errors.InvalidInput(f"{to} is not scheduled and free at "
                                  f"{callbacks.iso_utc(callback.window_start_at)}; available: {names}",
                                  fields={"to": "unavailable"}, error_id="agent-unavailable")
    previous = store.owner_name(session, callback)
    callback.owner_id = chosen.id
    change(session, callback, S(callback.status), action="reassigned", actor=actor, now=now,
            verb="reassign", details={"previous_owner": previous, "owner": chosen.name})
    if cfg.notify_on_reassign:
        callbacks_messages.notify(session, cfg, callback, notifications.Event.CALLBACK_REASSIGNED, now, how)
    callbacks_messages.plan_reminders(session, cfg, callback, now)
    return callback


def add_note(session: Session, callback_id: int, *, body: str, actor: str,
             now: dt.datetime) -> models.CallbackNote:
    callback = store.get(session, callback_id)
    note = store.add_note(session, callback.id, author=actor, body=body, now=now)
    store.record_change(session, callback, action="note_added", actor=actor, at=now,
                        before=S(callback.status), details={"note_id": note.id})
    return note


def edit_note(session: Session, note_id: int, *, body: str, actor: str,
              now: dt.datetime) -> models.CallbackNote:
    if not body.strip():
        raise errors.InvalidInput("a note needs some text", fields={"body": "empty"})
    note = store.get_note(session, note_id)
    callback = store.get(session, note.callback_id)
    previous = note.body
    note.body, note.updated_at = body.strip(), now
    store.record_change(session, callback, action="note_edited", actor=actor, at=now,
                        before=S(callback.status),
                        details={"note_id": note.id, "previous": previous})
    return note


# --------------------------------------------------------------------------- capacity
