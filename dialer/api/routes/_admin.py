"""Helpers shared by the administrative API routes (campaigns, lists, users, DNC, ...).

Not a router: no ``router`` attribute, so the app factory does not mount it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from campaigns import models
from campaigns.store import campaigns as campaign_store
from dialer.api import auth, errors


def plain(value: Any) -> Any:
    """A column value as JSON (enums by value, dates and times in ISO form).

    >>> import datetime as dt
    >>> plain(dt.date(2026, 11, 21)), plain(3)
    ('2026-11-21', 3)
    """
    if hasattr(value, "value"):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def changes_json(changes: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    """``{column: (before, after)}`` as the audit stores it."""
    return {key: [plain(a), plain(b)] for key, (a, b) in changes.items()}


def campaign_for(session: Session, user: auth.Principal, campaign_id: int, *,
                 for_update: bool = False) -> models.Campaign:
    """The campaign ``campaign_id`` when ``user`` may see it (agents: members only)."""
    user.check_campaign(campaign_id)
    if for_update:
        from sqlalchemy import select

        found = session.scalars(select(models.Campaign).where(models.Campaign.id == campaign_id)
                                .with_for_update()).one_or_none()
        if found is None:
            raise errors.NotFound("campaign", campaign_id)
        return found
    try:
        return campaign_store.get(session, campaign_id)
    except LookupError:
        raise errors.NotFound("campaign", campaign_id) from None


def campaign_ref(session: Session, ref: int | str) -> models.Campaign:
    """A campaign by id or by name."""
    if isinstance(ref, int) or str(ref).isdigit():
        try:
            return campaign_store.get(session, int(ref))
        except LookupError:
            pass
    try:
        return campaign_store.get_by_name(session, str(ref))
    except LookupError:
        raise errors.NotFound("campaign", ref) from None


def visible_campaign_ids(session: Session, user: auth.Principal) -> list[int] | None:
    """None for staff (every campaign), else the agent's campaigns."""
    return None if user.is_staff else sorted(user.campaign_ids)
