"""A campaign's caller-ID pool and its use today."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from campaigns import caller_ids, models


def pool(session: Session, campaign_id: int) -> list[caller_ids.PoolNumber]:
    rows = session.scalars(select(models.CallerIdNumber).where(
        models.CallerIdNumber.campaign_id == campaign_id,
        models.CallerIdNumber.is_active.is_(True)).order_by(models.CallerIdNumber.e164))
    return [caller_ids.PoolNumber(r.e164, r.area_code, r.state, r.daily_cap) for r in rows]


def add(session: Session, campaign_id: int, number: caller_ids.PoolNumber) -> None:
    """Add or replace one pool number."""
    session.execute(delete(models.CallerIdNumber).where(
        models.CallerIdNumber.campaign_id == campaign_id,
        models.CallerIdNumber.e164 == number.e164))
    session.add(models.CallerIdNumber(campaign_id=campaign_id, e164=number.e164,
                                      area_code=number.area_code, state=number.state,
                                      daily_cap=number.daily_cap))
    session.flush()


def remove(session: Session, campaign_id: int, e164: str) -> int:
    result = session.execute(delete(models.CallerIdNumber).where(
        models.CallerIdNumber.campaign_id == campaign_id, models.CallerIdNumber.e164 == e164))
    session.flush()
    return result.rowcount or 0


def used_since(session: Session, campaign_id: int, since: dt.datetime) -> dict[str, int]:
    """Calls per caller ID placed by the campaign since ``since`` (the start of today)."""
    rows = session.execute(select(models.Attempt.caller_id, func.count()).where(
        models.Attempt.campaign_id == campaign_id, models.Attempt.started_at >= since,
        models.Attempt.caller_id != "").group_by(models.Attempt.caller_id))
    return {caller_id: count for caller_id, count in rows}
