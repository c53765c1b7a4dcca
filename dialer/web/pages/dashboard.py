"""``/admin/dashboard``: the live dashboard page (F8).

The page is rendered with a first snapshot embedded as JSON; ``static/dashboard.js`` draws it
and then follows ``/api/dashboard/stream`` (server-sent events) for the selected campaign.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from campaigns import models
from campaigns.enums import Role
from dialer.api import auth
from dialer.api.routes import dashboard as dashboard_api
from dialer.web import templating

router = APIRouter(include_in_schema=False)
STAFF = (Role.ADMINISTRATOR, Role.SUPERVISOR)


@router.get("/admin/dashboard", response_class=HTMLResponse)
async def dashboard_page(request: Request, ctx: auth.Ctx, campaign_id: int | None = None,
                         hours: int = 4,
                         user: auth.Principal = templating.page_user(*STAFF)) -> Response:
    hours = min(max(hours, 1), 72)
    campaigns = await ctx.run(lambda s: [(c.id, c.name) for c in s.scalars(
        select(models.Campaign).order_by(models.Campaign.name))])
    if campaign_id is not None and campaign_id not in {cid for cid, _ in campaigns}:
        campaign_id = None
    first = await dashboard_api.build(ctx, user, dashboard_api._scope(user, campaign_id), hours)
    return templating.render(request, "dashboard/index.html", {
        "campaigns": campaigns, "campaign_id": campaign_id, "hours": hours, "snapshot": first})
