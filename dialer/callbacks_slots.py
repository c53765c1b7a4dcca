"""Where a callback may go: legal windows for the callee, slots and their capacity, free agents.

Legal windows come from the compliance engine (:mod:`campaigns.calling_hours`);
capacity from agents' shifts (E8): a slot takes scheduled agents x
``callbacks_per_agent_slot`` - callbacks already booked in it.  :func:`policy`
applies a campaign's own overrides of the ``[callbacks]`` settings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from campaigns import callbacks, calling_hours, models
from campaigns.store import callbacks as store
from campaigns.store import compliance
from dialer import callbacks_config
from dialer.callbacks_config import CallbacksSettings


def policy(session: Session, cfg: CallbacksSettings, campaign_id: int) -> CallbacksSettings:
    """The settings as the campaign's ``callback_policy`` overrides them."""
    campaign = session.get(models.Campaign, campaign_id)
    return callbacks_config.for_campaign(cfg, campaign.callback_policy if campaign else None)


def legal_windows(session: Session, callback: models.Callback | None, *, campaign: models.Campaign,
                  record: models.Record, number: str, start_at: dt.datetime, end_at: dt.datetime,
                  tz: str, now: dt.datetime, is_customer_requested: bool = False,
                  ) -> list[tuple[dt.datetime, dt.datetime]]:
    """Legal windows for calling ``number`` in ``[start_at, end_at)``.

    Raises
    ------
    campaigns.calling_hours.NoLegalMinute
        No legal minute (``no-legal-minute``, with the earliest legal time).
    """
    callee = target(session, campaign, record, number, tz, now,
                    is_customer_requested=is_customer_requested,
                    requested_window=(start_at, end_at), is_registry_checked=False)
    return calling_hours.dialable_windows(callee, start_at, end_at)


def target(session: Session, campaign: models.Campaign, record: models.Record, number: str,
           tz: str, now: dt.datetime, **options: Any) -> calling_hours.Target:
    """The compliance target of calling ``number`` (one of the record's, or a new one read
    in the callback's zone ``tz``)."""
    phone = next((p for p in record.phones if p.e164 == number), None)
    if phone is not None:
        return compliance.load_target(session, campaign, now, phone=phone, **options)
    return compliance.load_target(session, campaign, now, number=number, tz=tz, **options)


def slot_capacity(session: Session, cfg: CallbacksSettings, campaign_id: int,
                  start: dt.datetime, end: dt.datetime, *, exclude_id: int | None = None) -> int:
    """Scheduled agents x callbacks_per_agent_slot - booked (E8)."""
    cfg = policy(session, cfg, campaign_id)
    on_shift = sum(1 for agent in store.agents(session, campaign_id)
                   if store.is_on_shift(agent, start))
    return callbacks.slot_capacity(on_shift, cfg.callbacks_per_agent_slot,
                                   store.booked(session, campaign_id, start, end,
                                                exclude_id=exclude_id))


def slot_is_open(session: Session, cfg: CallbacksSettings, callback: models.Callback,
                 start: dt.datetime, end: dt.datetime, now: dt.datetime) -> bool:
    """Is ``[start, end)`` wholly legal for the callee and within capacity?"""
    campaign = session.get(models.Campaign, callback.campaign_id)
    record = session.get(models.Record, callback.record_id)
    try:
        legal = legal_windows(session, callback, campaign=campaign, record=record,
                              number=callback.number_e164, start_at=start, end_at=end,
                              tz=callback.tz, now=now)
    except calling_hours.NoLegalMinute:
        return False
    if legal != [(start, end)]:
        return False
    return slot_capacity(session, cfg, callback.campaign_id, start, end,
                         exclude_id=callback.id) > 0


def open_slots(session: Session, cfg: CallbacksSettings, callback: models.Callback,
               now: dt.datetime, *, days: int | None = None) -> list[callbacks.Slot]:
    """Legal slots with capacity over the next ``days`` (default: the slot horizon)."""
    cfg = policy(session, cfg, callback.campaign_id)
    campaign = session.get(models.Campaign, callback.campaign_id)
    record = session.get(models.Record, callback.record_id)
    end = now + dt.timedelta(days=days or cfg.slot_horizon_days)
    try:
        legal = legal_windows(session, callback, campaign=campaign, record=record,
                              number=callback.number_e164, start_at=now, end_at=end,
                              tz=callback.tz, now=now)
    except calling_hours.NoLegalMinute:
        return []
    return callbacks.slots(legal, cfg.slot_length,
                           lambda a, b: slot_capacity(session, cfg, callback.campaign_id, a, b,
                                                      exclude_id=callback.id),
                           not_before=now)


def available_agents(session: Session, cfg: CallbacksSettings,
                     callback: models.Callback) -> list[models.User]:
    """Campaign agents on shift when the window opens and with room in that slot (E10)."""
    cfg = policy(session, cfg, callback.campaign_id)
    start = callback.window_start_at
    end = start + cfg.slot_length
    return [agent for agent in store.agents(session, callback.campaign_id)
            if store.is_on_shift(agent, start)
            and store.booked(session, callback.campaign_id, start, end, owner_id=agent.id,
                             exclude_id=callback.id) < cfg.callbacks_per_agent_slot]
