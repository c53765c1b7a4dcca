"""The login page, logging out, and ``/``, which sends each role to its start page."""

from __future__ import annotations

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


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "") -> Response:
    return templating.render(request, "login.html", {"next": next, "error": "", "username": ""})


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, ctx: auth.Ctx, username: str = Form(""),
                       password: str = Form(""), next: str = Form("")) -> Response:
    try:
        user, token, _csrf = await auth_routes.login(request, ctx, username, password)
    except (errors.NotAuthenticated, errors.TooManyLogins) as exc:
        status = 429 if isinstance(exc, errors.TooManyLogins) else 401
        return templating.render(request, "login.html",
                                 {"next": next, "error": exc.message, "username": username},
                                 status=status)
    response = RedirectResponse(_safe_next(next, Role(user.role)), status_code=303)
    auth_routes.set_session_cookie(response, ctx, token)
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
