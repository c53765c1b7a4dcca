"""The customer self-service page's logic: what a signed link shows and lets the customer do (E12).

The page (a later issue) calls these functions with the token from the URL;
each resolves the token to exactly one callback or raises
:class:`campaigns.callbacks.LinkError` (``link-invalid``: malformed, tampered,
unknown callback) or :class:`campaigns.callbacks.LinkExpired` (``link-expired``:
past its expiry, or revoked because the callback ended or the link version
moved on).  Nothing about any other callback or customer is ever returned.
Times are shown in the callback's zone (the customer's).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from campaigns import callbacks, calling_hours, errors, localtime, models, notifications
from campaigns.enums import CallbackStatus as S
from dialer import callbacks_messages, callbacks_slots
from dialer import callbacks_service as service
from dialer.callbacks_config import CallbacksSettings

ACTOR = "customer"


def resolve(session: Session, cfg: CallbacksSettings, token: str,
            now: dt.datetime) -> models.Callback:
    """The one callback a token serves.

    Raises
    ------
    campaigns.callbacks.LinkError
        ``link-invalid`` (bad signature, unknown callback, no secret configured).
    campaigns.callbacks.LinkExpired
        ``link-expired`` (expired, or revoked).
    """
    if not cfg.link_secret:
        raise callbacks.LinkError("customer links are not configured")
    claim = callbacks.read_link(token, cfg.link_secret, now)
    callback = session.get(models.Callback, claim.callback_id)
    if callback is None:
        raise callbacks.LinkError("this link is not valid")
    if claim.version != callback.link_version or S(callback.status) in callbacks.ENDED \
            or (S(callback.status) is S.MISSED and callback.ladder_step >= callbacks.Step.CLOSE):
        raise callbacks.LinkExpired("this link is no longer valid: the call was changed or ended")
    return callback


def _local(instant: dt.datetime | None, tz: str) -> str | None:
    return localtime.to_local(instant, tz).isoformat() if instant is not None else None


def _offered(session: Session, cfg: CallbacksSettings, callback: models.Callback,
             now: dt.datetime) -> list[callbacks.Slot]:
    if S(callback.status) is S.PROPOSED and callback.proposed_slots:
        out = []
        for start_text, end_text in callback.proposed_slots:
            start, end = _parse(start_text), _parse(end_text)
            if start > now and callbacks_slots.slot_is_open(session, cfg, callback, start, end, now):
                out.append(callbacks.Slot(start, end, 1))
        return out
    return callbacks_slots.open_slots(session, cfg, callback, now)


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def customer_view(session: Session, cfg: CallbacksSettings, token: str,
                  now: dt.datetime) -> dict[str, Any]:
    """What the page shows: the callback in the customer's zone and the slots to pick from."""
    callback = resolve(session, cfg, token, now)
    campaign = session.get(models.Campaign, callback.campaign_id)
    tz = callback.tz
    return {
        "callback": {
            "id": callback.id, "status": S(callback.status).value, "company": campaign.name,
            "tz": tz, "window_start": _local(callback.window_start_at, tz),
            "window_end": _local(callback.window_end_at, tz),
            "number_last_digits": callback.number_e164[-4:],
            "suggested_start": _local(callback.suggested_start_at, tz),
            "suggested_end": _local(callback.suggested_end_at, tz),
        },
        "slots": [{"start": _local(s.start_at, tz), "end": _local(s.end_at, tz),
                   "start_at": callbacks.iso_utc(s.start_at)}
                  for s in _offered(session, cfg, callback, now)],
        "can_pick": True, "can_suggest": True, "can_cancel": True,
    }


def customer_pick(session: Session, cfg: CallbacksSettings, token: str, slot_start: dt.datetime,
                  now: dt.datetime) -> models.Callback:
    """Book one of the offered slots: scheduled there, confirmed, reminders planned.

    Raises
    ------
    campaigns.errors.InvalidInput
        ``slot-unavailable`` when the slot is not (or no longer) offered.
    """
    callback = resolve(session, cfg, token, now)
    slot = next((s for s in _offered(session, cfg, callback, now) if s.start_at == slot_start),
                None)
    if slot is None:
        raise errors.InvalidInput("this time is no longer available: please pick another",
                                  fields={"slot": "unavailable"}, error_id="slot-unavailable")
    previous = S(callback.status)
    callbacks.check_transition(previous, S.SCHEDULED, action="book a time for")
    callback.consent = calling_hours.consent_evidence(
        asked_by=ACTOR, asked_at=now, window_start=slot.start_at, window_end=slot.end_at,
        channel="web")
    service.place(session, callback, start_at=slot.start_at, end_at=slot.end_at,
                   tz=callback.tz, now=now, is_customer_requested=True)
    callback.proposed_slots = []
    callback.suggested_start_at = callback.suggested_end_at = None
    callback.customer_answer = "picked"
    callback.reschedule_count += 1
    service.change(session, callback, S.SCHEDULED, action="picked", actor=ACTOR, now=now,
                    details={"slot": callbacks.iso_utc(slot.start_at)})
    callbacks_messages.notify(session, cfg, callback, notifications.Event.CALLBACK_SCHEDULED, now)
    callbacks_messages.plan_reminders(session, cfg, callback, now)
    return callback


def customer_suggest(session: Session, cfg: CallbacksSettings, token: str, *,
                     start_at: dt.datetime, end_at: dt.datetime, now: dt.datetime,
                     message: str = "") -> models.Callback:
    """Suggest another time; it waits (status requested) for an agent to accept it.

    Raises
    ------
    campaigns.calling_hours.NoLegalMinute
        The suggested time has no legal minute (``no-legal-minute``).
    """
    callback = resolve(session, cfg, token, now)
    callbacks.check_window(start_at, end_at, now)
    campaign = session.get(models.Campaign, callback.campaign_id)
    record = session.get(models.Record, callback.record_id)
    callbacks_slots.legal_windows(session, callback, campaign=campaign, record=record,
                          number=callback.number_e164, start_at=max(start_at, now),
                          end_at=end_at, tz=callback.tz, now=now, is_customer_requested=True)
    callback.suggested_start_at, callback.suggested_end_at = start_at, end_at
    callback.customer_answer = message.strip() or "suggested a time"
    callback.consent = calling_hours.consent_evidence(
        asked_by=ACTOR, asked_at=now, window_start=start_at, window_end=end_at, channel="web")
    service.change(session, callback, S.REQUESTED, action="suggested", actor=ACTOR, now=now,
                    why=message, details={"suggested": [callbacks.iso_utc(start_at),
                                                        callbacks.iso_utc(end_at)]})
    return callback


def customer_decline(session: Session, cfg: CallbacksSettings, token: str, *, now: dt.datetime,
                     message: str = "") -> models.Callback:
    """"None of these times work": back to requested, with the answer recorded (E7)."""
    callback = resolve(session, cfg, token, now)
    callback.proposed_slots = []
    callback.customer_answer = "none_of_these" + (f": {message.strip()}" if message.strip()
                                                  else "")
    service.change(session, callback, S.REQUESTED, action="declined_slots", actor=ACTOR,
                    now=now, why=callback.customer_answer)
    return callback


def customer_cancel(session: Session, cfg: CallbacksSettings, token: str, *, now: dt.datetime,
                    reason: str = "") -> models.Callback:
    """The customer cancels; the link is revoked with it."""
    callback = resolve(session, cfg, token, now)
    callback.cancel_reason = reason.strip() or "cancelled by the customer"
    service.change(session, callback, S.CANCELLED, action="cancelled", actor=ACTOR, now=now,
                    why=callback.cancel_reason)
    callbacks_messages.notify(session, cfg, callback, notifications.Event.CALLBACK_CANCELLED, now,
                    reason=callback.cancel_reason)
    return callback
