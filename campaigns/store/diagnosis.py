"""The queries behind "why is it not dialing?" and list penetration."""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from campaigns import calling_hours, calling_rules, diagnosis, models
from campaigns.enums import (
    AgentState,
    CallbackStatus,
    CampaignStatus,
    PhoneKind,
    RecordStatus,
    RetryStatus,
)
from campaigns.store import compliance
from campaigns.store import rules as rule_store

_OPEN_CALLBACK = (CallbackStatus.SCHEDULED, CallbackStatus.DUE, CallbackStatus.REOPENED)


def ready_agents(session: Session, campaign_id: int) -> set[int]:
    """Members of the campaign whose latest state is ``ready``."""
    latest = (select(models.AgentStateChange.user_id, func.max(models.AgentStateChange.id).label("id"))
              .join(models.CampaignMember,
                    models.CampaignMember.user_id == models.AgentStateChange.user_id)
              .where(models.CampaignMember.campaign_id == campaign_id)
              .group_by(models.AgentStateChange.user_id).subquery())
    rows = session.execute(select(models.AgentStateChange.user_id, models.AgentStateChange.state)
                           .join(latest, latest.c.id == models.AgentStateChange.id))
    return {user_id for user_id, state in rows if state is AgentState.READY}


def diagnose(session: Session, campaign: models.Campaign, now: dt.datetime, *,
             rules: calling_rules.RuleSet | None = None,
             handoff_after: dt.timedelta = dt.timedelta(minutes=5)) -> dict[str, Any]:
    """Count the campaign's records by what blocks them now, and give list penetration."""
    rules = rules or calling_rules.default_rules()
    ready = ready_agents(session, campaign.id)
    is_active = campaign.status is CampaignStatus.ACTIVE
    counts: collections.Counter[str] = collections.Counter({c: 0 for c in diagnosis.CATEGORIES})
    next_opening: dt.datetime | None = None
    records = session.scalars(select(models.Record).where(models.Record.campaign_id == campaign.id)
                              .options(selectinload(models.Record.phones))
                              .order_by(models.Record.id)).all()
    lists = {row.id: row for row in session.scalars(
        select(models.CallingList).where(models.CallingList.campaign_id == campaign.id))}
    retries = _pending_retries(session, campaign.id)
    callbacks = _open_callbacks(session, campaign.id)
    for record in records:
        state, phone = _state(record, lists, retries, callbacks, ready, now, handoff_after)
        reasons = None
        if phone is not None and _needs_law(state, campaign, now):
            target = compliance.load_target(session, campaign, now, phone=phone, rules=rules)
            decision = calling_hours.may_dial(target, now)
            reasons = decision.reasons
            if diagnosis.compliance_category(reasons) == "outside_calling_hours":
                opening = calling_hours.next_dialable_at(target, now, dt.timedelta(days=14))
                if opening is not None and (next_opening is None or opening < next_opening):
                    next_opening = opening
        counts[diagnosis.category(state, now=now, max_attempts=campaign.max_attempts,
                                  compliance_reasons=reasons, is_campaign_active=is_active,
                                  has_ready_agent=bool(ready))] += 1
    return {"campaign": campaign.name, "at": now, "records": len(records),
            "blocked": dict(counts), "next_opening_at": next_opening,
            "ready_agents": len(ready), "penetration": penetration(session, campaign.id)}


def _needs_law(state: diagnosis.RecordState, campaign: models.Campaign, now: dt.datetime) -> bool:
    """Only a record nothing else blocks is judged by the law (the costly part)."""
    return diagnosis.category(state, now=now, max_attempts=campaign.max_attempts,
                              compliance_reasons=(), is_campaign_active=True,
                              has_ready_agent=True) == "dialable"


def _state(record: models.Record, lists: dict[int, models.CallingList],
           retries: dict[int, tuple[dt.datetime, int | None]],
           callbacks: dict[int, models.Callback], ready: set[int], now: dt.datetime,
           handoff_after: dt.timedelta) -> tuple[diagnosis.RecordState, models.PhoneNumber | None]:
    calling_list = lists[record.list_id]
    is_open = calling_list.is_active and (calling_list.expires_on is None
                                          or calling_list.expires_on >= now.date())
    phone = _first_valid(record)
    retry_due_at = None
    if record.id in retries:
        retry_due_at, phone_id = retries[record.id]
        phone = next((p for p in record.phones if p.id == phone_id), phone)
    window = None
    is_owner_waiting = False
    callback = callbacks.get(record.id)
    if callback is not None:
        window = (callback.window_start_at, callback.window_end_at)
        phone = next((p for p in record.phones if p.e164 == callback.number_e164), phone)
        is_owner_waiting = (callback.owner_id is not None and callback.owner_id not in ready
                            and now < callback.window_start_at + handoff_after)
    return diagnosis.RecordState(record.status, record.attempts_count, is_open, retry_due_at,
                                 window, is_owner_waiting), phone


def _first_valid(record: models.Record) -> models.PhoneNumber | None:
    phones = sorted((p for p in record.phones if p.is_valid),
                    key=lambda p: (p.kind is not PhoneKind.PRIMARY, p.position))
    return phones[0] if phones else None


def _pending_retries(session: Session, campaign_id: int) -> dict[int, tuple[dt.datetime, int | None]]:
    rows = session.execute(select(models.Retry.record_id, models.Retry.earliest_at,
                                  models.Retry.phone_number_id)
                           .where(models.Retry.campaign_id == campaign_id,
                                  models.Retry.status == RetryStatus.PENDING)
                           .order_by(models.Retry.earliest_at))
    found: dict[int, tuple[dt.datetime, int | None]] = {}
    for record_id, earliest_at, phone_id in rows:
        found.setdefault(record_id, (earliest_at, phone_id))
    return found


def _open_callbacks(session: Session, campaign_id: int) -> dict[int, models.Callback]:
    rows = session.scalars(select(models.Callback)
                           .where(models.Callback.campaign_id == campaign_id,
                                  models.Callback.status.in_(_OPEN_CALLBACK))
                           .order_by(models.Callback.window_start_at))
    found: dict[int, models.Callback] = {}
    for callback in rows:
        found.setdefault(callback.record_id, callback)
    return found


def penetration(session: Session, campaign_id: int) -> dict[str, float]:
    """Dialled, contacted and final records as fractions of the campaign's records."""
    total = session.scalar(select(func.count()).select_from(models.Record)
                           .where(models.Record.campaign_id == campaign_id)) or 0
    dialed = session.scalar(select(func.count(func.distinct(models.Attempt.record_id)))
                            .where(models.Attempt.campaign_id == campaign_id,
                                   models.Attempt.is_test.is_(False))) or 0
    contact_codes = [code for code, rule in rule_store.for_campaign(session, campaign_id).items()
                     if rule.is_contact]
    contacted = session.scalar(select(func.count(func.distinct(models.Attempt.record_id)))
                               .where(models.Attempt.campaign_id == campaign_id,
                                      models.Attempt.disposition.in_(contact_codes))) or 0
    final = session.scalar(select(func.count()).select_from(models.Record).where(
        models.Record.campaign_id == campaign_id,
        models.Record.status.in_([RecordStatus.DONE_SUCCESS, RecordStatus.DONE_FAILURE,
                                  RecordStatus.EXHAUSTED, RecordStatus.DNC]))) or 0
    return {"dialed": diagnosis.fraction(dialed, total),
            "contacted": diagnosis.fraction(contacted, total),
            "final": diagnosis.fraction(final, total)}
