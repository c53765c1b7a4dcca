"""``dialer users create|list|show|shifts|join``: administrators, supervisors and agents."""

from __future__ import annotations

import re
import secrets
from typing import Any

import click

from campaigns import errors, localtime, passwords, shifts
from campaigns.db import utcnow
from campaigns.enums import Role
from campaigns.store import audit
from campaigns.store import campaigns as campaign_store
from campaigns.store import users as user_store
from dialer.cli import common

# A SIP URI, or an Asterisk channel such as PJSIP/1001, SIP/agent-7, Local/100@agents.
_SIP_URI = re.compile(r"^sips?:[^@\s]+@[^\s]+$|^sips?:[^\s@]+$")
_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9]*/[^\s]+$")


def validate_phone(address: str) -> str:
    """A SIP URI or an Asterisk channel.

    >>> validate_phone("sip:1001@10.0.0.5")
    'sip:1001@10.0.0.5'
    >>> validate_phone("PJSIP/1001")
    'PJSIP/1001'
    """
    address = address.strip()
    if _SIP_URI.match(address) or _CHANNEL.match(address):
        return address
    raise errors.InvalidInput(f"phone {address!r} is neither a SIP URI (sip:1001@host) nor an "
                              "Asterisk channel (PJSIP/1001)", fields={"phone": "invalid address"})


def _as_dict(session: Any, user: Any) -> dict[str, Any]:
    return {
        "id": user.id, "name": user.name, "role": user.role.value, "phone": user.phone_address,
        "tz": user.tz, "is_active": user.is_active, "email": user.email,
        "shifts": shifts.describe(user_store.weekly_shifts(user)),
        "exceptions": [{"date": e.on_date.isoformat(),
                        "hours": None if e.start is None else f"{e.start:%H:%M}-{e.end:%H:%M}",
                        "reason": e.reason} for e in user_store.shift_exceptions(user)],
        "campaigns": user_store.campaign_names(session, user),
    }


@click.group("users")
def command() -> None:
    """Users: administrators, supervisors and agents."""


@command.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), help="Role (default agent).")
@click.option("--admin", is_flag=True, help="Make an administrator (the first one, typically).")
@click.option("--phone", help="The agent's phone: a SIP URI or an Asterisk channel.")
@click.option("--tz", default="UTC", show_default=True, help="The user's IANA zone.")
@click.option("--password", help="Password (default: a generated one, printed once).")
@click.option("--email", default="", help="E-mail address (notifications).")
@click.option("--campaign", "campaign_names", multiple=True, help="Campaign to join (repeatable).")
@common.common_options
def create(name: str, role: str | None, admin: bool, phone: str | None, tz: str,
           password: str | None, email: str, campaign_names: tuple[str, ...]) -> None:
    """Create a user."""
    app = common.app()
    if admin and role and role != Role.ADMINISTRATOR.value:
        raise common.usage_error("--admin and --role disagree", "role")
    chosen = Role.ADMINISTRATOR if admin else Role(role or Role.AGENT.value)
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,200}", name):
        raise common.usage_error(f"user name {name!r}: use letters, digits, . _ @ -", "name")
    localtime.zone(tz)
    address = validate_phone(phone) if phone else ""
    generated = password is None
    secret = password if password is not None else secrets.token_urlsafe(12)
    if len(secret) < 8:
        raise common.usage_error("the password must have at least 8 characters", "password")
    now = utcnow()
    with app.session() as session:
        user = user_store.create(session, name, role=chosen, now=now, phone_address=address,
                                 tz=tz, email=email, password_hash=passwords.hash_password(secret))
        for campaign_name in campaign_names:
            user_store.join(session, user, campaign_store.get_by_name(session, campaign_name))
        audit.record(session, action="user.create", entity="user", entity_id=user.id,
                     details={"name": name, "role": chosen.value}, at=now)
        shown = _as_dict(session, user)
    if generated:
        shown["password"] = secret
    text = f"{chosen.value} {name!r} created (id {shown['id']})"
    if generated:
        text += f"; password: {secret}"
    app.emit(shown, text)


@command.command("list")
@click.option("--role", type=click.Choice([r.value for r in Role]))
@common.common_options
def list_(role: str | None) -> None:
    """List users."""
    app = common.app()
    with app.session() as session:
        rows = [_as_dict(session, u) for u in user_store.all_users(session, Role(role) if role else None)]
    app.emit({"users": rows}, lambda: common.echo_table(rows, ["id", "name", "role", "phone", "tz"]))


@command.command("show")
@click.argument("name")
@common.common_options
def show(name: str) -> None:
    """Show a user with shifts and campaigns."""
    app = common.app()
    with app.session() as session:
        shown = _as_dict(session, user_store.get_by_name(session, name))
    app.emit(shown)


@command.command("shifts")
@click.argument("name")
@click.option("--add", "weekly", multiple=True, metavar="'DAYS HH:MM-HH:MM'",
              help="A weekly shift, e.g. 'mon-fri 09:00-17:00' (repeatable).")
@click.option("--except", "exceptions", multiple=True, metavar="'DATE off|HH:MM-HH:MM [reason]'",
              help="An exception, e.g. '2026-12-24 off' (repeatable).")
@click.option("--clear", is_flag=True, help="Remove every shift and exception first.")
@common.common_options
def shifts_(name: str, weekly: tuple[str, ...], exceptions: tuple[str, ...], clear: bool) -> None:
    """Set an agent's weekly work shifts (in the agent's zone) and exceptions."""
    app = common.app()
    new_weekly = [s for spec in weekly for s in shifts.parse_shift(spec)]
    new_exceptions = [shifts.parse_exception(spec) for spec in exceptions]
    now = utcnow()
    with app.session() as session:
        user = user_store.get_by_name(session, name)
        if not clear:
            new_weekly = user_store.weekly_shifts(user) + new_weekly
            dates = {e.on_date for e in new_exceptions}
            new_exceptions = [e for e in user_store.shift_exceptions(user)
                              if e.on_date not in dates] + new_exceptions
        _refuse_overlaps(new_weekly)
        user_store.set_shifts(session, user, new_weekly, new_exceptions)
        audit.record(session, action="user.shifts", entity="user", entity_id=user.id, at=now,
                     details={"shifts": shifts.describe(new_weekly),
                              "exceptions": [e.on_date.isoformat() for e in new_exceptions]})
        shown = _as_dict(session, user)
    app.emit(shown, lambda: f"{name}: " + ("; ".join(shown["shifts"]) or "no shifts"))


def _refuse_overlaps(weekly: list[shifts.Shift]) -> None:
    ordered = sorted(weekly, key=lambda s: (s.weekday, s.start))
    for a, b in zip(ordered, ordered[1:]):
        if a.weekday == b.weekday and b.start < a.end:
            day = shifts.DAYS[a.weekday]
            raise common.usage_error(f"shifts overlap on {day}: {a.start:%H:%M}-{a.end:%H:%M} and "
                                     f"{b.start:%H:%M}-{b.end:%H:%M}", "shift")


@command.command("join")
@click.argument("name")
@click.option("--campaign", "campaign_name", required=True)
@common.common_options
def join(name: str, campaign_name: str) -> None:
    """Add a user to a campaign."""
    app = common.app()
    with app.session() as session:
        user = user_store.get_by_name(session, name)
        user_store.join(session, user, campaign_store.get_by_name(session, campaign_name))
        audit.record(session, action="user.join", entity="user", entity_id=user.id,
                     details={"campaign": campaign_name}, at=utcnow())
        shown = _as_dict(session, user)
    app.emit(shown, f"{name} joined {campaign_name}")
