"""Rendering pages: the Jinja2 environment, the logged-in user of a page, and redirects to login.

Every page extends ``base.html``, which carries the CSRF token in ``<meta name="csrf-token">``
(htmx sends it as ``X-CSRF-Token`` on every request; ``static/app.js`` does the same for
``fetch``), the navigation for the user's role, and the vendored scripts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from campaigns.enums import Role
from dialer.api import auth, errors

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


class LoginRequired(errors.NotAuthenticated):
    """A page needs a logged-in user: the browser goes to the login page."""


class PageForbidden(errors.Forbidden):
    """A page the user's role may not open: the browser gets a page saying so (403)."""


def templates() -> Jinja2Templates:
    engine = Jinja2Templates(directory=str(TEMPLATES))
    engine.env.globals["nav_for"] = nav_for
    engine.env.filters["local"] = _local
    return engine


def nav_for(role: Role | None) -> list[tuple[str, str]]:
    """The navigation links (label, path) a role sees."""
    if role is None:
        return []
    if role is Role.AGENT:
        return [("Desktop", "/agent"), ("My callbacks", "/agent/callbacks")]
    return [("Dashboard", "/admin/dashboard"), ("Campaigns", "/admin/campaigns"),
            ("Lists", "/admin/lists"), ("Callbacks", "/admin/callbacks"),
            ("Reports", "/admin/reports"), ("Rules", "/admin/rules"), ("DNC", "/admin/dnc"),
            ("Users", "/admin/users"), ("Desktop", "/agent")]


def _local(instant: dt.datetime | None, tz: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware instant shown in zone ``tz``."""
    if instant is None:
        return ""
    import pytz

    return instant.astimezone(pytz.timezone(tz)).strftime(fmt)


def render(request: Request, name: str, context: dict[str, Any] | None = None, *,
           status: int = 200) -> HTMLResponse:
    """Render template ``name`` with the page's user and CSRF token."""
    user = getattr(request.state, "principal", None)
    merged = {"user": user, "csrf_token": user.csrf_token if user else "",
              "nav": nav_for(user.role if user else None)}
    merged.update(context or {})
    engine = request.app.state.templates
    return engine.TemplateResponse(request, name, merged, status_code=status)


def page_user(*roles: Role) -> Any:
    """A page dependency: the user (with ``roles``), else a redirect to the login page."""
    from fastapi import Depends

    async def dependency(request: Request) -> auth.Principal:
        try:
            user = await auth.principal(request)
        except errors.NotAuthenticated as exc:
            raise LoginRequired() from exc
        if roles and user.role not in roles:
            raise PageForbidden(f"needs the role {' or '.join(r.value for r in roles)}")
        return user

    return Depends(dependency)


def forbidden_page(request: Request, exc: Exception) -> HTMLResponse:
    """The HTML answer to :class:`PageForbidden`, with the user's own navigation."""
    return render(request, "forbidden.html", {"reason": str(exc)}, status=403)


def to_login(request: Request, exc: Exception) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
