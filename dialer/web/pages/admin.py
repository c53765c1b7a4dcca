"""The admin console's pages: campaigns and one campaign's settings (F5).

Pages render what the API returns and send changes to the API from the browser
(``static/admin.js``), so the pages and the API share one set of checks and audits.
Administrators and supervisors see the console; only administrators see the editing forms.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from campaigns import campaign_fields
from campaigns.enums import CallCategory, DialingMode, Role
from campaigns.store import caller_ids as pool_store
from campaigns.store import campaigns as campaign_store
from dialer.api import auth
from dialer.api.routes import _admin
from dialer.web import templating

router = APIRouter(include_in_schema=False)
STAFF = templating.page_user(Role.ADMINISTRATOR, Role.SUPERVISOR)

CHOICES = {"modes": [m.value for m in DialingMode],
           "categories": [c.value for c in CallCategory]}


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request, user: auth.Principal = STAFF) -> Response:
    from fastapi.responses import RedirectResponse

    return RedirectResponse("/admin/campaigns", status_code=303)


@router.get("/admin/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, session: auth.Db, user: auth.Principal = STAFF) -> Response:
    rows = [campaign_fields.as_dict(c) for c in campaign_store.all_campaigns(session)]
    return templating.render(request, "admin/campaigns.html", {"campaigns": rows, **CHOICES})


@router.get("/admin/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(campaign_id: int, request: Request, session: auth.Db,
                  user: auth.Principal = STAFF) -> Response:
    campaign = _admin.campaign_for(session, user, campaign_id)
    return templating.render(request, "admin/campaign.html", {
        "c": campaign_fields.as_dict(campaign), "pool": pool_store.pool(session, campaign.id),
        **CHOICES})


@router.get("/admin/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: auth.Db, campaign: int | None = None,
               user: auth.Principal = STAFF) -> Response:
    """One campaign's disposition rules as a TOML file to edit (validated all or nothing)."""
    from dialer.api.routes import rules as rule_routes

    campaigns = campaign_store.all_campaigns(session)
    chosen = next((c for c in campaigns if c.id == campaign), campaigns[0] if campaigns else None)
    shown = rule_routes.get_rules(chosen.id, session, user) if chosen else None
    return templating.render(request, "admin/rules.html", {
        "campaigns": campaigns, "chosen": chosen, "rules": shown})


@router.get("/admin/dnc", response_class=HTMLResponse)
def dnc_page(request: Request, session: auth.Db, ctx: auth.Ctx, number: str = "",
             campaign: str = "", user: auth.Principal = STAFF) -> Response:
    """Search, add, import and remove do-not-call numbers."""
    from dialer.api.routes import dnc as dnc_routes

    found = dnc_routes.search_dnc(session, user, ctx, number=number, campaign=campaign,
                                  limit=200, offset=0)
    campaigns = campaign_store.all_campaigns(session)
    return templating.render(request, "admin/dnc.html", {
        "found": found, "number": number, "campaign": campaign, "campaigns": campaigns,
        "names": {c.id: c.name for c in campaigns}})
