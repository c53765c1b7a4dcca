"""``/admin/lists``: the lists of every campaign, and the upload → map → import → summary flow
(F6).  The page's script (``static/admin-lists.js``) drives ``/api/uploads`` and
``/api/import-jobs``; progress comes as server-sent events."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from campaigns import models
from campaigns.enums import Role
from campaigns.store import campaigns as campaign_store
from campaigns.store import lists as list_store
from dialer import import_jobs
from dialer.api import auth
from dialer.api.routes.lists import list_json
from dialer.web import templating

router = APIRouter(include_in_schema=False)


@router.get("/admin/lists", response_class=HTMLResponse)
def lists_page(request: Request, session: auth.Db, ctx: auth.Ctx, campaign: int | None = None,
               user: auth.Principal = templating.page_user(Role.ADMINISTRATOR, Role.SUPERVISOR),
               ) -> Response:
    campaigns = campaign_store.all_campaigns(session)
    shown = [c for c in campaigns if campaign is None or c.id == campaign]
    groups = [(c, [list_json(cl) for cl in list_store.lists_of(session, c)]) for c in shown]
    service = import_jobs.service(ctx)
    jobs = [service.view(job) for job in session.scalars(
        select(models.ImportJob).order_by(models.ImportJob.id.desc()).limit(10))]
    names = {c.id: c.name for c in campaigns}
    return templating.render(request, "admin/lists.html", {
        "campaigns": campaigns, "groups": groups, "selected": campaign, "jobs": jobs,
        "names": names, "max_upload_mb": ctx.settings.web.max_upload_mb})
