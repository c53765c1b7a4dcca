"""What a callback change tells people: customer links, notifications, reminders (E12-E14).

Messages are outbox rows queued in the caller's transaction
(:mod:`campaigns.store.outbox`); the dispatcher sends them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from campaigns import callbacks, models, notifications
from campaigns.enums import Channel
from campaigns.store import outbox
from dialer import callbacks_slots
from dialer.callbacks_config import CallbacksSettings

#: the reminder events (withdrawn when a callback moves or ends).
REMINDERS = (notifications.Event.CALLBACK_REMINDER.value,
             notifications.Event.CALLBACK_REMINDER_AGENT.value)


@dataclass(frozen=True)
class Notify:
    """How the customer is told about a change: ``channels`` None = every known contact."""

    is_enabled: bool = True
    channels: Sequence[str] | None = None
    #: recipients typed by hand for this message (channel -> address).
    addresses: dict[str, str] | None = None
    message: str = ""


def link_url(cfg: CallbacksSettings, callback: models.Callback, now: dt.datetime) -> str:
    """The customer's self-service URL of ``callback`` ("" when no link secret is set)."""
    if not cfg.link_secret:
        return ""
    expires_at = callbacks.link_expiry(callback.window_end_at, now,
                                       grace=dt.timedelta(seconds=cfg.link_grace_s),
                                       max_age=dt.timedelta(days=cfg.link_max_age_days))
    token = callbacks.sign_link(callback.id, callback.link_version, expires_at, cfg.link_secret)
    return f"{cfg.public_base_url}/c/{token}"


def context(session: Session, cfg: CallbacksSettings, callback: models.Callback,
             now: dt.datetime, **values: Any) -> notifications.MessageContext:
    record = session.get(models.Record, callback.record_id)
    campaign = session.get(models.Campaign, callback.campaign_id)
    owner = session.get(models.User, callback.owner_id) if callback.owner_id else None
    name = f"{record.first_name} {record.last_name}".strip()
    return notifications.MessageContext(
        customer_name=name, campaign_name=campaign.name, company_name=campaign.name,
        agent_name=(owner.full_name or owner.name) if owner else "", tz=callback.tz,
        window_start_at=callback.window_start_at, window_end_at=callback.window_end_at,
        manage_url=link_url(cfg, callback, now), **values)


def notify(session: Session, cfg: CallbacksSettings, callback: models.Callback,
            event: notifications.Event, now: dt.datetime, how: Notify | None = None,
            **values: Any) -> list[models.OutboxMessage]:
    """Queue ``event`` to the customer on the chosen channels (same transaction)."""
    how = how or Notify()
    if not how.is_enabled:
        return []
    record = session.get(models.Record, callback.record_id)
    routes = notifications.channels_for(outbox.contacts_of(record), how.channels,
                                        addresses=how.addresses)
    said = context(session, cfg, callback, now, message=how.message, **values)
    return outbox.enqueue_notification(session, event=event, routes=routes,
                                       language=record.language, context=said, now=now,
                                       campaign_id=callback.campaign_id, callback_id=callback.id)


def plan_reminders(session: Session, cfg: CallbacksSettings, callback: models.Callback,
                   now: dt.datetime) -> list[models.OutboxMessage]:
    """Replace the callback's pending reminders: one per offset still ahead (E13), to the
    customer and to the owning agent, each due at ``window_start - offset``."""
    cfg = callbacks_slots.policy(session, cfg, callback.campaign_id)
    outbox.withdraw_pending(session, callback_id=callback.id, reason="rescheduled",
                            events=REMINDERS)
    record = session.get(models.Record, callback.record_id)
    owner = session.get(models.User, callback.owner_id) if callback.owner_id else None
    queued: list[models.OutboxMessage] = []
    for offset in cfg.reminder_offsets:
        send_at = callback.window_start_at - offset
        if send_at <= now:
            continue
        routes = notifications.channels_for(outbox.contacts_of(record))
        queued += outbox.enqueue_notification(
            session, event=notifications.Event.CALLBACK_REMINDER, routes=routes,
            language=record.language, context=context(session, cfg, callback, now), now=now,
            campaign_id=callback.campaign_id, callback_id=callback.id, send_at=send_at)
        if cfg.remind_agents and owner is not None and owner.email:
            said = context(session, cfg, callback, now)
            agent_context = notifications.MessageContext(**{
                **said.__dict__, "tz": owner.tz or "UTC", "manage_url": ""})
            queued += outbox.enqueue_notification(
                session, event=notifications.Event.CALLBACK_REMINDER_AGENT,
                routes=[notifications.Route(Channel.EMAIL, owner.email)], language="en",
                context=agent_context, now=now, campaign_id=callback.campaign_id,
                callback_id=callback.id, send_at=send_at)
    return queued
