"""Who is asking: browser sessions with CSRF, API tokens, roles and campaign membership (F2).

- A browser logs in with a name and an Argon2-hashed password and gets an HttpOnly
  ``dialer_session`` cookie; every unsafe request made with that cookie must echo the
  session's CSRF token in ``X-CSRF-Token`` (htmx and the pages' scripts send it from the
  page's ``<meta name="csrf-token">``) or, for plain forms, in a ``csrf_token`` field.
- Integrations send ``Authorization: Bearer <token>``; tokens need no CSRF token.
- Failed logins are limited per user name and client address (``[web] login_attempts`` in
  ``login_window_s``).
- Routes declare their roles with :func:`require` (``Admin``, ``Staff``, ``AnyUser``); an agent
  reaches only the campaigns it is a member of (:meth:`Principal.check_campaign`).
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from campaigns.enums import Role
from campaigns.store import web_auth
from dialer.api import errors
from dialer.api.context import WebContext

SESSION_COOKIE = "dialer_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The authenticated user of one request."""

    user_id: int
    name: str
    role: Role
    #: "session" (browser) or "token" (integration).
    via: str
    #: campaigns the user is a member of.
    campaign_ids: frozenset[int]
    csrf_token: str = ""
    tz: str = "UTC"

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMINISTRATOR, Role.SUPERVISOR)

    @property
    def actor(self) -> str:
        """How the audit names this user."""
        return f"{self.role.value}:{self.name}"

    def can_see_campaign(self, campaign_id: int) -> bool:
        return self.is_staff or campaign_id in self.campaign_ids

    def check_campaign(self, campaign_id: int) -> None:
        """Refuse an agent that is not a member of ``campaign_id``."""
        if not self.can_see_campaign(campaign_id):
            raise errors.Forbidden("you are not a member of this campaign",
                                   fields={"campaign": "not a member"}, error_id="not-a-member")


class LoginLimiter:
    """Failed logins per (user name, client address) in a sliding window."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._failures: dict[tuple[str, str], collections.deque[float]] = {}

    def _recent(self, key: tuple[str, str], now: float) -> collections.deque[float]:
        failures = self._failures.setdefault(key, collections.deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def check(self, name: str, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._recent((name.lower(), client), now)) >= self.attempts:
            raise errors.TooManyLogins(fields={"username": "too many failed logins"})

    def failed(self, name: str, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._recent((name.lower(), client), now).append(now)

    def succeeded(self, name: str, client: str) -> None:
        self._failures.pop((name.lower(), client), None)


def ctx_of(request: Request) -> WebContext:
    return request.app.state.ctx


def db(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the route succeeds."""
    with ctx_of(request).unit_of_work() as session:
        yield session


def limiter(ctx: WebContext) -> LoginLimiter:
    section = ctx.settings.web
    return ctx.service("login-limiter",
                       lambda: LoginLimiter(section.login_attempts, section.login_window_s))


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _lookup(session: Session, ctx: WebContext, *, bearer: str | None,
            cookie: str | None) -> Principal | None:
    now = ctx.now()
    if bearer:
        found_token = web_auth.find_token(session, bearer, now=now)
        if found_token is None:
            return None
        user = found_token[1]
        via, csrf = "token", ""
    elif cookie:
        idle = dt.timedelta(seconds=ctx.settings.web.session_idle_s)
        found_session = web_auth.find_session(session, cookie, now=now, idle=idle)
        if found_session is None:
            return None
        row, user = found_session
        via, csrf = "session", row.csrf_token
    else:
        return None
    return Principal(user.id, user.name, Role(user.role), via,
                     web_auth.member_campaign_ids(session, user.id), csrf, user.tz)


async def _check_csrf(request: Request, principal: Principal) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not sent and content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        sent = str(form.get(CSRF_FIELD, ""))
    if not sent or sent != principal.csrf_token:
        raise errors.CsrfFailed(fields={CSRF_FIELD: "missing or wrong"})


async def principal(request: Request) -> Principal:
    """The request's user, or ``not-authenticated`` (401)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    ctx = ctx_of(request)
    header = request.headers.get("authorization", "")
    bearer = header[7:].strip() if header.lower().startswith("bearer ") else None
    cookie = request.cookies.get(SESSION_COOKIE)
    found = await ctx.run(lambda s: _lookup(s, ctx, bearer=bearer, cookie=cookie))
    if found is None:
        raise errors.NotAuthenticated()
    if found.via == "session" and request.method not in _SAFE:
        await _check_csrf(request, found)
    request.state.principal = found
    return found


def require(*roles: Role) -> Any:
    """A dependency that admits only ``roles`` (all roles when none is given)."""
    async def dependency(request: Request) -> Principal:
        user = await principal(request)
        if roles and user.role not in roles:
            raise errors.Forbidden(f"needs the role {' or '.join(r.value for r in roles)}",
                                   fields={"role": user.role.value})
        return user

    return Depends(dependency)


#: route parameter annotations.
Admin = Annotated[Principal, require(Role.ADMINISTRATOR)]
Staff = Annotated[Principal, require(Role.ADMINISTRATOR, Role.SUPERVISOR)]
AnyUser = Annotated[Principal, require()]
AgentUser = Annotated[Principal, require(Role.AGENT, Role.SUPERVISOR, Role.ADMINISTRATOR)]
Db = Annotated[Session, Depends(db)]
Ctx = Annotated[WebContext, Depends(ctx_of)]
