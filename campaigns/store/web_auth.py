"""Browser sessions and API tokens: rows hold only SHA-256 hashes of the secrets."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from campaigns import models


def digest(secret: str) -> str:
    """The hex SHA-256 stored in place of a secret.

    >>> len(digest("x"))
    64
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(session: Session, user_id: int, *, now: dt.datetime,
                 idle: dt.timedelta) -> tuple[str, models.WebSession]:
    """A new browser session; returns the cookie token (shown once) and the row."""
    token = secrets.token_urlsafe(32)
    row = models.WebSession(token_hash=digest(token), user_id=user_id,
                            csrf_token=secrets.token_urlsafe(24), created_at=now,
                            expires_at=now + idle, last_seen_at=now)
    session.add(row)
    session.flush()
    return token, row


def find_session(session: Session, token: str, *, now: dt.datetime,
                 idle: dt.timedelta) -> tuple[models.WebSession, models.User] | None:
    """The live session of ``token`` (its expiry slides forward), or None."""
    found = session.execute(
        select(models.WebSession, models.User)
        .join(models.User, models.User.id == models.WebSession.user_id)
        .where(models.WebSession.token_hash == digest(token))).first()
    if found is None:
        return None
    row, user = found
    if row.expires_at <= now or not user.is_active:
        session.delete(row)
        return None
    if (now - row.last_seen_at) > dt.timedelta(seconds=60):  # write at most once a minute
        row.last_seen_at, row.expires_at = now, now + idle
    return row, user


def close_session(session: Session, token: str) -> None:
    session.execute(delete(models.WebSession).where(models.WebSession.token_hash == digest(token)))


def close_user_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(models.WebSession).where(models.WebSession.user_id == user_id))


def create_token(session: Session, user_id: int, name: str, *,
                 now: dt.datetime) -> tuple[str, models.ApiToken]:
    """A new API token; returns the secret (shown once) and the row."""
    secret = "dlr_" + secrets.token_urlsafe(32)
    row = models.ApiToken(user_id=user_id, name=name, token_hash=digest(secret), created_at=now)
    session.add(row)
    session.flush()
    return secret, row


def find_token(session: Session, secret: str, *,
               now: dt.datetime) -> tuple[models.ApiToken, models.User] | None:
    found = session.execute(
        select(models.ApiToken, models.User)
        .join(models.User, models.User.id == models.ApiToken.user_id)
        .where(models.ApiToken.token_hash == digest(secret))).first()
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or not user.is_active:
        return None
    if row.last_used_at is None or (now - row.last_used_at) > dt.timedelta(seconds=60):
        row.last_used_at = now
    return row, user


def tokens(session: Session, user_id: int | None = None) -> list[models.ApiToken]:
    query = select(models.ApiToken).order_by(models.ApiToken.id)
    if user_id is not None:
        query = query.where(models.ApiToken.user_id == user_id)
    return list(session.scalars(query))


def revoke_token(session: Session, token_id: int, *, now: dt.datetime) -> models.ApiToken | None:
    row = session.get(models.ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
    return row


def member_campaign_ids(session: Session, user_id: int) -> frozenset[int]:
    """The campaigns a user is a member of."""
    return frozenset(session.scalars(select(models.CampaignMember.campaign_id)
                                     .where(models.CampaignMember.user_id == user_id)))
