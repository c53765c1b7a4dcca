"""``/api/users`` and ``/api/agents``: users, their roles, passwords, shifts and campaign
memberships, and agents' current states (F7).

The same checks and audits as ``dialer users ...``.  Administrators manage users;
supervisors read them and see agents' states.  An administrator cannot demote or deactivate
the last active administrator.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns import errors as campaign_errors
from campaigns import localtime, models, passwords, shifts
from campaigns.enums import Role
from campaigns.store import audit, web_auth
from campaigns.store import users as user_store
from dialer.api import auth, errors
from dialer.api.context import EngineNotRunning
from dialer.api.routes import _admin

router = APIRouter(tags=["users"])
NAME = re.compile(r"[A-Za-z0-9_.@-]{1,200}")
MIN_PASSWORD = 8


class UserSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    phone: str | None = Field(None, max_length=255)
    tz: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=320)
    full_name: str | None = Field(None, max_length=200)
    password: str | None = Field(None, max_length=1000)


class UserCreate(UserSettings):
    name: str = Field(min_length=1, max_length=200)
    campaigns: list[int | str] = Field(default_factory=list)


class UserPatch(UserSettings):
    is_active: bool | None = None


class ShiftsIn(BaseModel):
    #: ``"mon-fri 09:00-17:00"``, in the user's zone.
    weekly: list[str] = Field(default_factory=list, max_length=100)
    #: ``"2026-12-24 off"`` or ``"2026-12-31 09:00-13:00 [reason]"``.
    exceptions: list[str] = Field(default_factory=list, max_length=500)


class MembershipIn(BaseModel):
    campaigns: list[int | str] = Field(default_factory=list)


def user_json(session: Session, user: models.User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "full_name": user.full_name,
            "role": Role(user.role).value, "phone": user.phone_address, "tz": user.tz,
            "email": user.email, "is_active": user.is_active, "created_at": user.created_at,
            "shifts": shifts.describe(user_store.weekly_shifts(user)),
            "exceptions": [{"date": e.on_date.isoformat(),
                            "hours": None if e.start is None else f"{e.start:%H:%M}-{e.end:%H:%M}",
                            "reason": e.reason} for e in user_store.shift_exceptions(user)],
            "campaigns": user_store.campaign_names(session, user),
            "campaign_ids": sorted(web_auth.member_campaign_ids(session, user.id))}


def _user(session: Session, user_id: int) -> models.User:
    user = session.get(models.User, user_id)
    if user is None:
        raise errors.NotFound("user", user_id)
    return user


def _phone(address: str) -> str:
    from dialer.cli.users import validate_phone

    return validate_phone(address) if address.strip() else ""


def _password(secret: str) -> str:
    if len(secret) < MIN_PASSWORD:
        raise campaign_errors.InvalidInput(
            f"the password must have at least {MIN_PASSWORD} characters",
            fields={"password": f"at least {MIN_PASSWORD} characters"})
    return passwords.hash_password(secret)


def _values(body: UserSettings) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if body.role is not None:
        values["role"] = body.role
    if body.phone is not None:
        values["phone_address"] = _phone(body.phone)
    if body.tz is not None:
        localtime.zone(body.tz)
        values["tz"] = body.tz
    for key in ("email", "full_name"):
        if getattr(body, key) is not None:
            values[key] = getattr(body, key).strip()
    return values


def _set_campaigns(session: Session, user: models.User, refs: list[int | str]) -> list[str]:
    """Replace ``user``'s memberships with ``refs`` (ids or names)."""
    wanted = {_admin.campaign_ref(session, ref).id for ref in refs}
    for member in session.scalars(select(models.CampaignMember)
                                  .where(models.CampaignMember.user_id == user.id)):
        if member.campaign_id not in wanted:
            session.delete(member)
        wanted.discard(member.campaign_id)
    session.flush()
    for campaign_id in sorted(wanted):
        session.add(models.CampaignMember(user_id=user.id, campaign_id=campaign_id))
    session.flush()
    return user_store.campaign_names(session, user)


@router.get("/api/users")
def list_users(session: auth.Db, user: auth.Staff, role: Role | None = None) -> dict[str, Any]:
    return {"users": [user_json(session, u) for u in user_store.all_users(session, role)]}


@router.post("/api/users", status_code=201)
def create_user(body: UserCreate, session: auth.Db, user: auth.Admin,
                ctx: auth.Ctx) -> dict[str, Any]:
    """Create a user; without a password one is generated and answered once."""
    if not NAME.fullmatch(body.name):
        raise campaign_errors.InvalidInput(f"user name {body.name!r}: use letters, digits, . _ @ -",
                                           fields={"name": "letters, digits, . _ @ -"})
    values = _values(body)
    secret = body.password if body.password else secrets.token_urlsafe(12)
    generated = not body.password
    now = ctx.now()
    created = user_store.create(session, body.name, role=values.pop("role", Role.AGENT), now=now,
                                password_hash=_password(secret), **values)
    _set_campaigns(session, created, body.campaigns)
    audit.record(session, action="user.create", entity="user", entity_id=created.id,
                 actor=user.actor, at=now,
                 details={"name": created.name, "role": Role(created.role).value})
    shown = user_json(session, created)
    if generated:
        shown["password"] = secret
    return shown


@router.get("/api/users/{user_id}")
def get_user(user_id: int, session: auth.Db, user: auth.Staff) -> dict[str, Any]:
    return user_json(session, _user(session, user_id))


def _keeps_an_administrator(session: Session, target: models.User, values: dict[str, Any]) -> None:
    leaves = (Role(target.role) is Role.ADMINISTRATOR and target.is_active
              and (values.get("role", Role.ADMINISTRATOR) is not Role.ADMINISTRATOR
                   or values.get("is_active") is False))
    if not leaves:
        return
    others = session.scalar(select(func.count()).select_from(models.User).where(
        models.User.role == Role.ADMINISTRATOR, models.User.is_active.is_(True),
        models.User.id != target.id))
    if not others:
        raise errors.Conflict("this is the last active administrator",
                              fields={"role": "last administrator"}, error_id="last-administrator")


@router.patch("/api/users/{user_id}")
def update_user(user_id: int, body: UserPatch, session: auth.Db, user: auth.Admin,
                ctx: auth.Ctx) -> dict[str, Any]:
    """Change role, phone, zone, e-mail, name; reset the password; (de)activate."""
    target = _user(session, user_id)
    values = _values(body)
    if body.is_active is not None:
        values["is_active"] = body.is_active
    _keeps_an_administrator(session, target, values)
    changed = [key for key, value in values.items() if getattr(target, key) != value]
    for key in changed:
        setattr(target, key, values[key])
    if body.password is not None:
        target.password_hash = _password(body.password)
        changed.append("password")
    if "password" in changed or values.get("is_active") is False or "role" in changed:
        web_auth.close_user_sessions(session, target.id)
    session.flush()
    if changed:
        audit.record(session, action="user.update", entity="user", entity_id=target.id,
                     actor=user.actor, at=ctx.now(),
                     details={k: _admin.plain(values[k]) if k in values else "reset"
                              for k in changed})
    return {**user_json(session, target), "changed": sorted(changed)}


@router.get("/api/users/{user_id}/shifts")
def get_shifts(user_id: int, session: auth.Db, user: auth.Staff) -> dict[str, Any]:
    shown = user_json(session, _user(session, user_id))
    return {"user_id": user_id, "tz": shown["tz"], "weekly": shown["shifts"],
            "exceptions": shown["exceptions"]}


@router.put("/api/users/{user_id}/shifts")
def put_shifts(user_id: int, body: ShiftsIn, session: auth.Db, user: auth.Admin,
               ctx: auth.Ctx) -> dict[str, Any]:
    """Replace the weekly shifts (in the user's zone) and the exceptions."""
    target = _user(session, user_id)
    weekly = [s for spec in body.weekly if spec.strip() for s in shifts.parse_shift(spec)]
    exceptions = [shifts.parse_exception(spec) for spec in body.exceptions if spec.strip()]
    ordered = sorted(weekly, key=lambda s: (s.weekday, s.start))
    for a, b in zip(ordered, ordered[1:]):
        if a.weekday == b.weekday and b.start < a.end:
            raise campaign_errors.InvalidInput(
                f"shifts overlap on {shifts.DAYS[a.weekday]}: {a.start:%H:%M}-{a.end:%H:%M} and "
                f"{b.start:%H:%M}-{b.end:%H:%M}", fields={"weekly": "overlapping shifts"})
    if len({e.on_date for e in exceptions}) != len(exceptions):
        raise campaign_errors.InvalidInput("two exceptions for one day",
                                           fields={"exceptions": "one per day"})
    user_store.set_shifts(session, target, weekly, exceptions)
    audit.record(session, action="user.shifts", entity="user", entity_id=target.id,
                 actor=user.actor, at=ctx.now(),
                 details={"shifts": shifts.describe(weekly),
                          "exceptions": [e.on_date.isoformat() for e in exceptions]})
    return get_shifts(user_id, session, user)


@router.put("/api/users/{user_id}/campaigns")
def put_campaigns(user_id: int, body: MembershipIn, session: auth.Db, user: auth.Admin,
                  ctx: auth.Ctx) -> dict[str, Any]:
    """Replace the user's campaign memberships (ids or names)."""
    target = _user(session, user_id)
    names = _set_campaigns(session, target, body.campaigns)
    audit.record(session, action="user.campaigns", entity="user", entity_id=target.id,
                 actor=user.actor, at=ctx.now(), details={"campaigns": names})
    return {"user_id": target.id, "campaigns": names,
            "campaign_ids": sorted(web_auth.member_campaign_ids(session, target.id))}


def _states_from_history(session: Session) -> dict[int, dict[str, Any]]:
    """Each agent's last recorded state change."""
    latest = (select(func.max(models.AgentStateChange.id))
              .group_by(models.AgentStateChange.user_id).scalar_subquery())
    rows = session.scalars(select(models.AgentStateChange)
                           .where(models.AgentStateChange.id.in_(latest)))
    return {r.user_id: {"state": r.state.value, "since": r.at, "reason": r.reason,
                        "campaign_id": r.campaign_id, "call_id": None} for r in rows}


@router.get("/api/agents")
def list_agents(session: auth.Db, user: auth.Staff, ctx: auth.Ctx) -> dict[str, Any]:
    """Agents with their current state: live from the engine, else the last recorded one."""
    source, states = "history", _states_from_history(session)
    try:
        live = ctx.engine_view(lambda desk: desk.snapshot())
    except (EngineNotRunning, AttributeError):  # no engine: the recorded history answers
        live = None
    if live is not None:
        source = "engine"
        states = {row["user_id"]: {k: row.get(k) for k in ("state", "since", "reason",
                                                           "campaign_id", "call_id")}
                  for row in live}
    agents = []
    for agent in user_store.all_users(session, Role.AGENT):
        state = states.get(agent.id, {"state": "logged_out", "since": None, "reason": "",
                                      "campaign_id": None, "call_id": None})
        agents.append({"user_id": agent.id, "name": agent.name, "is_active": agent.is_active,
                       "campaigns": user_store.campaign_names(session, agent), **state})
    return {"source": source, "agents": agents}
