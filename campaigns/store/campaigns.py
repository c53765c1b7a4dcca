"""Campaigns: create, look up, update, delete."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaigns import errors, models


def get_by_name(session: Session, name: str, *, for_update: bool = False) -> models.Campaign:
    """The campaign named ``name``.

    Raises
    ------
    campaigns.errors.NotFound
        When there is none (error id ``no-such-campaign``).
    """
    query = select(models.Campaign).where(models.Campaign.name == name)
    if for_update:
        query = query.with_for_update()
    campaign = session.scalars(query).one_or_none()
    if campaign is None:
        raise errors.NotFound("campaign", name)
    return campaign


def get(session: Session, campaign_id: int) -> models.Campaign:
    campaign = session.get(models.Campaign, campaign_id)
    if campaign is None:
        raise errors.NotFound("campaign", campaign_id)
    return campaign


def all_campaigns(session: Session) -> list[models.Campaign]:
    return list(session.scalars(select(models.Campaign).order_by(models.Campaign.name)))


def create(session: Session, name: str, *, now: dt.datetime, **values: Any) -> models.Campaign:
    """Insert a campaign (flushed); ``values`` are column values.

    Raises
    ------
    campaigns.errors.AlreadyExists
        When the name is taken.
    """
    if session.scalars(select(models.Campaign.id).where(models.Campaign.name == name)).first():
        raise errors.AlreadyExists("campaign", name)
    campaign = models.Campaign(name=name, created_at=now, updated_at=now, **values)
    session.add(campaign)
    try:
        session.flush()
    except IntegrityError as exc:
        raise errors.AlreadyExists("campaign", name) from exc
    return campaign


def update(session: Session, campaign: models.Campaign, *, now: dt.datetime,
           **values: Any) -> dict[str, tuple[Any, Any]]:
    """Set column values; returns ``{column: (before, after)}`` of what changed."""
    changes: dict[str, tuple[Any, Any]] = {}
    for key, value in values.items():
        before = getattr(campaign, key)
        if before != value:
            setattr(campaign, key, value)
            changes[key] = (before, value)
    if changes:
        campaign.updated_at = now
        session.flush()
    return changes


def delete(session: Session, campaign: models.Campaign) -> None:
    session.delete(campaign)
    session.flush()
