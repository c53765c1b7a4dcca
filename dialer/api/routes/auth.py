"""``/api/auth``: log in and out, who am I; ``/api/tokens``: API tokens for integrations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from campaigns import errors as campaign_errors
from campaigns import passwords
from campaigns.enums import Role
from campaigns.store import audit, users, web_auth
from dialer.api import auth, errors
from dialer.api.context import WebContext

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    #: the user the token acts as (administrators only; default: yourself).
    user: str | None = None


def user_json(user: Any, campaign_ids: frozenset[int] | set[int] = frozenset()) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "full_name": user.full_name,
            "role": Role(user.role).value, "tz": user.tz, "campaign_ids": sorted(campaign_ids)}


def check_password(session: Session, ctx: WebContext, name: str, password: str,
                   client: str) -> tuple[Any, str, str] | None:
    """Verify a login; on success open a session. Audits success and failure.

    Returns the user, the cookie token and the CSRF token; None when the login failed (the
    failure is audited in this same unit of work, so it is committed).
    """
    now = ctx.now()
    try:
        user = users.get_by_name(session, name)
    except campaign_errors.NotFound:
        user = None
    if user is None or not user.is_active or not passwords.verify_password(user.password_hash,
                                                                          password):
        audit.record(session, action="login_failed", entity="user", entity_id=name,
                     actor=f"web:{client}", at=now)
        return None
    idle = dt.timedelta(seconds=ctx.settings.web.session_idle_s)
    token, row = web_auth.open_session(session, user.id, now=now, idle=idle)
    audit.record(session, action="login", entity="user", entity_id=user.id,
                 actor=f"{Role(user.role).value}:{user.name}", details={"from": client}, at=now)
    return user, token, row.csrf_token


def set_session_cookie(response: Response, ctx: WebContext, token: str) -> None:
    web = ctx.settings.web
    response.set_cookie(auth.SESSION_COOKIE, token, max_age=web.session_idle_s, httponly=True,
                        samesite="lax", secure=web.cookie_secure, path="/")


async def login(request: Request, ctx: WebContext, name: str, password: str) -> tuple[Any, str, str]:
    """Rate-limited login (shared by the API and the login page)."""
    client = auth.client_address(request)
    limiter = auth.limiter(ctx)
    limiter.check(name, client)
    found = await ctx.run(lambda s: check_password(s, ctx, name, password, client))
    if found is None:
        limiter.failed(name, client)
        raise errors.NotAuthenticated("wrong user name or password",
                                      fields={"password": "wrong user name or password"},
                                      error_id="login-failed")
    limiter.succeeded(name, client)
    return found


@router.post("/api/auth/login")
async def api_login(body: LoginIn, request: Request, response: Response,
                    ctx: auth.Ctx) -> dict[str, Any]:
    """Log in; sets the session cookie and returns the CSRF token to echo on unsafe requests."""
    user, token, csrf = await login(request, ctx, body.username, body.password)
    set_session_cookie(response, ctx, token)
    return {"user": user_json(user), "csrf_token": csrf}


@router.post("/api/auth/logout")
async def api_logout(request: Request, response: Response, user: auth.AnyUser,
                     ctx: auth.Ctx) -> dict[str, Any]:
    """End this browser session (API tokens are revoked with DELETE /api/tokens/{id})."""
    cookie = request.cookies.get(auth.SESSION_COOKIE)

    def close(session: Session) -> None:
        if cookie:
            web_auth.close_session(session, cookie)
        audit.record(session, action="logout", entity="user", entity_id=user.user_id,
                     actor=user.actor, at=ctx.now())

    await ctx.run(close)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return {"logged_out": True}


@router.get("/api/auth/me")
async def me(user: auth.AnyUser) -> dict[str, Any]:
    """The logged-in user, the campaigns it belongs to, and its CSRF token."""
    return {"id": user.user_id, "name": user.name, "role": user.role.value, "tz": user.tz,
            "via": user.via, "campaign_ids": sorted(user.campaign_ids),
            "csrf_token": user.csrf_token}


def _token_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "user_id": row.user_id, "created_at": row.created_at,
            "last_used_at": row.last_used_at, "revoked_at": row.revoked_at}


@router.get("/api/tokens")
def list_tokens(user: auth.AnyUser, session: auth.Db) -> dict[str, Any]:
    """Your API tokens (administrators: everyone's)."""
    owner = None if user.role is Role.ADMINISTRATOR else user.user_id
    return {"tokens": [_token_json(t) for t in web_auth.tokens(session, owner)]}


@router.post("/api/tokens", status_code=201)
def create_token(body: TokenIn, user: auth.Staff, session: auth.Db,
                 ctx: auth.Ctx) -> dict[str, Any]:
    """A new API token; its secret is shown only in this response."""
    owner_id = user.user_id
    if body.user and body.user != user.name:
        if user.role is not Role.ADMINISTRATOR:
            raise errors.Forbidden("only administrators make tokens for others",
                                   fields={"user": "not yourself"})
        owner_id = users.get_by_name(session, body.user).id
    secret, row = web_auth.create_token(session, owner_id, body.name, now=ctx.now())
    audit.record(session, action="token_created", entity="api_token", entity_id=row.id,
                 actor=user.actor, details={"name": body.name, "user_id": owner_id}, at=ctx.now())
    return {**_token_json(row), "token": secret}


@router.delete("/api/tokens/{token_id}")
def revoke_token(token_id: int, user: auth.AnyUser, session: auth.Db,
                 ctx: auth.Ctx) -> dict[str, Any]:
    """Revoke a token (your own; administrators: any)."""
    row = session.get(web_auth.models.ApiToken, token_id)
    if row is None or (row.user_id != user.user_id and user.role is not Role.ADMINISTRATOR):
        raise errors.NotFound("token", token_id)
    web_auth.revoke_token(session, token_id, now=ctx.now())
    audit.record(session, action="token_revoked", entity="api_token", entity_id=token_id,
                 actor=user.actor, at=ctx.now())
    return _token_json(row)
