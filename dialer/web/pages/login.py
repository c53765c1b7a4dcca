"""The login page, logging out, and ``/``, which sends each role to its start page.

The login form carries a one-time token that must match a cookie the page set
(``SameSite=Strict``, so a form posted from another site never sends it): no
other site can log a browser in to an account of its choosing (login CSRF).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from campaigns.enums import Role
from dialer.api import auth, errors
from dialer.api.routes import auth as auth_routes
from dialer.web import templating

router = APIRouter(include_in_schema=False)


def _safe_next(target: str, role: Role) -> str:
    """Only a local path; else the role's start page.

    >>> _safe_next("//evil.example/x", Role.AGENT)
    '/agent'
    >>> _safe_next("/admin/lists?x=1", Role.ADMINISTRATOR)
    '/admin/lists?x=1'
    """
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return start_page(role)


def start_page(role: Role) -> str:
    return "/agent" if role is Role.AGENT else "/admin/dashboard"


#: the cookie holding the login form's token, and how long a form stays usable.
LOGIN_COOKIE, LOGIN_FORM_S = "dialer_login", 3600
EXPIRED_FORM = "This login form has expired or was sent from another site; please log in again."


def _login_form(request: Request, ctx: auth.Ctx, *, next: str, username: str = "",
                error: str = "", status: int = 200) -> Response:
    """The login page with a fresh form token, set in its cookie too."""
    token = secrets.token_urlsafe(24)
    response = templating.render(request, "login.html", {
        "next": next, "error": error, "username": username, "login_token": token},
        status=status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=LOGIN_FORM_S, httponly=True,
                        samesite="strict", secure=ctx.settings.web.cookie_secure, path="/login")
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, ctx: auth.Ctx, next: str = "") -> Response:
    return _login_form(request, ctx, next=next)


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, ctx: auth.Ctx, username: str = Form(""),
                       password: str = Form(""), next: str = Form(""),
                       login_token: str = Form("")) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), login_token.encode()):
        return _login_form(request, ctx, next=next, username=username, error=EXPIRED_FORM,
                           status=403)
    try:
        user, token, _csrf = await auth_routes.login(request, ctx, username, password)
    except (errors.NotAuthenticated, errors.TooManyLogins) as exc:
        status = 429 if isinstance(exc, errors.TooManyLogins) else 401
        return _login_form(request, ctx, next=next, username=username, error=exc.message,
                           status=status)
    response = RedirectResponse(_safe_next(next, Role(user.role)), status_code=303)
    auth_routes.set_session_cookie(response, ctx, token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, ctx: auth.Ctx) -> Response:
    try:
        user = await auth.principal(request)
    except errors.NotAuthenticated:
        return RedirectResponse("/login", status_code=303)
    cookie = request.cookies.get(auth.SESSION_COOKIE, "")

    def close(session: Session) -> None:
        auth_routes.web_auth.close_session(session, cookie)
        auth_routes.audit.record(session, action="logout", entity="user", entity_id=user.user_id,
                                 actor=user.actor, at=ctx.now())

    await ctx.run(close)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/")
async def index(request: Request) -> Response:
    try:
        user = await auth.principal(request)
    except errors.NotAuthenticated:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(start_page(user.role), status_code=303)
