"""Users (administrators, supervisors, agents), their shifts and campaign memberships."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from campaigns import errors, models, shifts
from campaigns.enums import Role


def get_by_name(session: Session, name: str) -> models.User:
    user = session.scalars(select(models.User).where(models.User.name == name)).one_or_none()
    if user is None:
        raise errors.NotFound("user", name)
    return user


def all_users(session: Session, role: Role | None = None) -> list[models.User]:
    query = select(models.User).order_by(models.User.name)
    if role is not None:
        query = query.where(models.User.role == role)
    return list(session.scalars(query))


def has_administrator(session: Session) -> bool:
    return session.scalars(select(models.User.id)
                           .where(models.User.role == Role.ADMINISTRATOR).limit(1)).first() is not None


def create(session: Session, name: str, *, role: Role, now: dt.datetime, password_hash: str = "",
           phone_address: str = "", tz: str = "UTC", full_name: str = "",
           email: str = "") -> models.User:
    if session.scalars(select(models.User.id).where(models.User.name == name)).first():
        raise errors.AlreadyExists("user", name)
    user = models.User(name=name, role=role, password_hash=password_hash,
                       phone_address=phone_address, tz=tz, full_name=full_name, email=email,
                       created_at=now)
    session.add(user)
    session.flush()
    return user


def set_shifts(session: Session, user: models.User, weekly: list[shifts.Shift],
               exceptions: list[shifts.Exception_]) -> None:
    """Replace the user's weekly shifts and exceptions."""
    session.execute(delete(models.WorkShift).where(models.WorkShift.user_id == user.id))
    session.execute(delete(models.ShiftException).where(models.ShiftException.user_id == user.id))
    session.flush()
    session.expire(user, ["shifts", "exceptions"])
    for shift in weekly:
        session.add(models.WorkShift(user_id=user.id, weekday=shift.weekday, start=shift.start,
                                     end=shift.end))
    for exc in exceptions:
        session.add(models.ShiftException(user_id=user.id, on_date=exc.on_date, start=exc.start,
                                          end=exc.end, reason=exc.reason))
    session.flush()
    session.expire(user, ["shifts", "exceptions"])


def weekly_shifts(user: models.User) -> list[shifts.Shift]:
    return [shifts.Shift(s.weekday, s.start, s.end) for s in user.shifts]


def shift_exceptions(user: models.User) -> list[shifts.Exception_]:
    return [shifts.Exception_(e.on_date, e.start, e.end, e.reason) for e in user.exceptions]


def join(session: Session, user: models.User, campaign: models.Campaign) -> None:
    """Make ``user`` a member of ``campaign`` (idempotent)."""
    exists = session.scalars(select(models.CampaignMember.id).where(
        models.CampaignMember.user_id == user.id,
        models.CampaignMember.campaign_id == campaign.id)).first()
    if not exists:
        session.add(models.CampaignMember(user_id=user.id, campaign_id=campaign.id))
        session.flush()


def campaign_names(session: Session, user: models.User) -> list[str]:
    return list(session.scalars(
        select(models.Campaign.name).join(models.CampaignMember,
                                          models.CampaignMember.campaign_id == models.Campaign.id)
        .where(models.CampaignMember.user_id == user.id).order_by(models.Campaign.name)))
