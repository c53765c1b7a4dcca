"""``/admin/users``: users, agents' current states, and one user's settings, shifts and
campaigns (F7).  Changes go through ``/api/users`` from the page's forms."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from campaigns.enums import Role
from campaigns.store import campaigns as campaign_store
from campaigns.store import users as user_store
from dialer.api import auth
from dialer.api.routes import users as user_routes
from dialer.web import templating

router = APIRouter(include_in_schema=False)
STAFF = templating.page_user(Role.ADMINISTRATOR, Role.SUPERVISOR)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: auth.Db, ctx: auth.Ctx,
               user: auth.Principal = STAFF) -> Response:
    users = [user_routes.user_json(session, u) for u in user_store.all_users(session)]
    agents = user_routes.list_agents(session, user, ctx)
    return templating.render(request, "admin/users.html", {
        "users": users, "agents": agents, "roles": [r.value for r in Role],
        "campaigns": campaign_store.all_campaigns(session)})


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_page(user_id: int, request: Request, session: auth.Db,
              user: auth.Principal = STAFF) -> Response:
    shown = user_routes.user_json(session, user_routes._user(session, user_id))
    return templating.render(request, "admin/user.html", {
        "u": shown, "roles": [r.value for r in Role],
        "campaigns": campaign_store.all_campaigns(session)})
