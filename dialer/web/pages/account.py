"""``/account``: who you are, your campaigns, and (staff) your API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from campaigns import models
from campaigns.store import web_auth
from dialer.api import auth
from dialer.web import templating

router = APIRouter(include_in_schema=False)


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, session: auth.Db,
            user: auth.Principal = templating.page_user()) -> Response:
    names = list(session.scalars(select(models.Campaign.name)
                                 .where(models.Campaign.id.in_(user.campaign_ids))
                                 .order_by(models.Campaign.name)))
    tokens = web_auth.tokens(session, user.user_id) if user.is_staff else []
    return templating.render(request, "account.html", {"campaigns": names, "tokens": tokens})
