"""``/admin/callbacks`` (the callbacks calendar, day and week), ``/admin/callbacks/{id}`` (one
callback and its record) and ``/admin/reports`` (per campaign and per agent, charts, CSV) (F9).

The pages are rendered on the server from the same functions as ``/api/calendar`` and
``/api/reports``; ``static/reports.js`` draws the charts and submits the filters on change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import models
from campaigns.enums import Role
from campaigns.store import callbacks as callback_store
from dialer import callbacks_service, dashboard
from dialer.api import auth, errors
from dialer.api.routes import reports as api
from dialer.web import templating

router = APIRouter(include_in_schema=False)
STAFF = (Role.ADMINISTRATOR, Role.SUPERVISOR)


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _choices(session: Session) -> dict[str, Any]:
    return {"campaigns": [(c.id, c.name) for c in session.scalars(
                select(models.Campaign).order_by(models.Campaign.name))],
            "agents": sorted(dashboard.agent_names(session).values())}


def _calendar(session: Session, user: auth.Principal, now: dt.datetime, view: str,
              day: dt.date | None, agent: str, campaign_id: int | None) -> dict[str, Any]:
    tz = api._zone(user.tz)
    days = 1 if view == "day" else 7
    first, last, lo, hi = api.day_range(day, None, tz, now, days)
    owner_id = api._agent_id(session, agent) if agent else None
    entries = api.calendar(session, user, start=lo, end=hi, campaign_id=campaign_id,
                           owner_id=owner_id, tz=tz, include_cancelled=False)
    columns = []
    for n in range(days):
        date = first + dt.timedelta(days=n)
        columns.append({"date": date, "label": f"{date:%a %d %b}",
                        "callbacks": [e for e in entries if e["day"] == date.isoformat()]})
    step = dt.timedelta(days=days)
    return {"view": view, "first": first, "last": last, "tz": tz, "columns": columns,
            "count": len(entries), "previous": first - step, "next": first + step,
            "today": now.astimezone(ZoneInfo(tz)).date()}


@router.get("/admin/callbacks", response_class=HTMLResponse)
def calendar_page(request: Request, session: auth.Db, ctx: auth.Ctx, view: str = "week",
                  date: str | None = None, agent: str = "", campaign_id: str | None = None,
                  user: auth.Principal = templating.page_user(*STAFF)) -> Response:
    view = view if view in ("day", "week") else "week"
    chosen = _int(campaign_id)
    try:
        shown = _calendar(session, user, ctx.now(), view, _date(date), agent, chosen)
    except errors.NotFound:
        agent = ""
        shown = _calendar(session, user, ctx.now(), view, _date(date), agent, chosen)
    return templating.render(request, "reports/calendar.html", {
        **shown, **_choices(session), "agent": agent, "campaign_id": chosen})


@router.get("/admin/callbacks/{callback_id}", response_class=HTMLResponse)
def callback_page(callback_id: int, request: Request, session: auth.Db,
                  user: auth.Principal = templating.page_user(*STAFF)) -> Response:
    callback = callback_store.get(session, callback_id)
    record = session.get(models.Record, callback.record_id)
    attempts = list(session.scalars(select(models.Attempt)
                                    .where(models.Attempt.record_id == callback.record_id)
                                    .order_by(models.Attempt.started_at.desc()).limit(50)))
    campaign = session.get(models.Campaign, callback.campaign_id)
    entry = api._entry(callback, "", None, campaign.name if campaign else "", api._zone(user.tz))
    return templating.render(request, "reports/callback.html", {
        "callback": callbacks_service.show(session, callback), "entry": entry,
        "record": record, "attempts": attempts, "campaign": campaign})


def _reports(session: Session, user: auth.Principal, now: dt.datetime,
             campaign_id: int | None, start: dt.date | None,
             end: dt.date | None) -> dict[str, Any]:
    tz = api._zone(user.tz)
    first, last, lo, hi = api.day_range(start, end, tz, now - dt.timedelta(days=6), 7)
    chosen = [c for c in session.scalars(select(models.Campaign).order_by(models.Campaign.name))
              if campaign_id is None or c.id == campaign_id]
    campaigns = [api.campaign_report(session, c, first=first, last=last, start=lo, end=hi, tz=tz)
                 for c in chosen]
    agents = api.agents_report(session, campaign_id=campaign_id, start=lo, end=hi)
    return {"first": first, "last": last, "tz": tz, "campaign_reports": campaigns,
            "agent_rows": agents,
            "charts": {"campaigns": [{"name": c["campaign"], "daily": c["daily"]}
                                     for c in campaigns],
                       "agents": [{"name": a["agent"], "contacts": a["contacts"],
                                   "talk_time_s": a["talk_time_s"], "attempts": a["dials"]}
                                  for a in agents]}}


@router.get("/admin/reports", response_class=HTMLResponse)
def reports_page(request: Request, session: auth.Db, ctx: auth.Ctx,
                 campaign_id: str | None = None, start: str | None = None,
                 end: str | None = None,
                 user: auth.Principal = templating.page_user(*STAFF)) -> Response:
    chosen = _int(campaign_id)
    first, last = _date(start), _date(end)
    try:
        shown = _reports(session, user, ctx.now(), chosen, first, last)
    except errors.ApiError as exc:
        shown = _reports(session, user, ctx.now(), chosen, None, None)
        shown["error"] = exc.message
    return templating.render(request, "reports/index.html", {
        **shown, **_choices(session), "campaign_id": chosen})
