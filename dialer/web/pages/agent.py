"""``/agent`` (the agent desktop) and ``/agent/callbacks`` (My callbacks) (F10-F14, F13).

The desktop is one server-rendered page; ``static/agent.js`` drives it over
``/api/agent/*`` (live state from ``/api/agent/events``, polling ``/api/agent/state`` every
second when the stream fails).  My callbacks lists the agent's own callbacks in three tabs
(upcoming, due, missed) with reschedule, reassign, cancel and notes through
``/api/callbacks``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytz
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import callbacks, localtime, models
from campaigns.enums import CallbackStatus as S
from dialer import callbacks_config, callbacks_slots
from dialer import callbacks_service as service
from dialer.api import auth
from dialer.api.routes import callbacks as callback_routes
from dialer.web import templating

router = APIRouter(include_in_schema=False)

#: reasons offered for "not ready" (free text is accepted by the API too).
NOT_READY_REASONS = ("break", "lunch", "meeting", "training", "coaching", "technical", "other")
#: reasons offered for skipping a previewed record.
SKIP_REASONS = ("wrong_time", "needs_research", "duplicate", "other")
TABS = ("upcoming", "due", "missed")


@router.get("/agent", response_class=HTMLResponse)
def desktop(request: Request, session: auth.Db, ctx: auth.Ctx,
            user: auth.Principal = templating.page_user()) -> Response:
    """The agent desktop."""
    campaigns = list(session.scalars(select(models.Campaign)
                                     .where(models.Campaign.id.in_(user.campaign_ids))
                                     .order_by(models.Campaign.name)))
    return templating.render(request, "agent/desktop.html", {
        "campaigns": campaigns, "reasons": NOT_READY_REASONS, "skip_reasons": SKIP_REASONS,
        "zones": pytz.all_timezones, "agent_tz": user.tz,
        "has_engine": ctx.engine is not None, "is_agent": user.role.value == "agent"})


def tab_of(callback: models.Callback, now: dt.datetime) -> str | None:
    """Which My callbacks tab a callback belongs to (None: ended, not listed).

    >>> from types import SimpleNamespace as N
    >>> u = lambda h: dt.datetime(2026, 11, 23, h, tzinfo=dt.UTC)
    >>> tab_of(N(status=S.SCHEDULED, window_start_at=u(15), window_end_at=u(17)), u(10))
    'upcoming'
    >>> tab_of(N(status=S.SCHEDULED, window_start_at=u(9), window_end_at=u(17)), u(10))
    'due'
    >>> tab_of(N(status=S.MISSED, window_start_at=u(9), window_end_at=u(10)), u(12))
    'missed'
    """
    status = S(callback.status)
    if status is S.MISSED or (status in callbacks.BOOKED and callback.window_end_at <= now):
        return "missed"
    if status in (S.DUE, S.IN_PROGRESS) or (status in callbacks.BOOKED
                                           and callback.window_start_at <= now):
        return "due"
    if status in callbacks.OPEN:
        return "upcoming"
    return None


def _row(session: Session, cfg: Any, callback: models.Callback, user: auth.Principal,
         names: dict[int, str]) -> dict[str, Any]:
    record = session.get(models.Record, callback.record_id)
    local = localtime.to_local(callback.window_start_at, callback.tz)
    mine = localtime.to_local(callback.window_start_at, user.tz)
    end = localtime.to_local(callback.window_end_at, callback.tz)
    return {"id": callback.id, "status": S(callback.status).value,
            "customer": f"{record.first_name} {record.last_name}".strip() or f"#{record.id}",
            "campaign": names.get(callback.campaign_id, ""), "number": callback.number_e164,
            "customer_window": f"{local:%Y-%m-%d %H:%M}–{end:%H:%M} {callback.tz}",
            "agent_window": f"{mine:%Y-%m-%d %H:%M} {user.tz}", "tz": callback.tz,
            "date": local.date().isoformat(), "from": f"{local:%H:%M}", "to": f"{end:%H:%M}",
            "notes": callback.notes, "internal_notes": service.store.notes(session, callback.id),
            "available": [a.name for a in callbacks_slots.available_agents(session, cfg, callback)
                          if a.id != callback.owner_id]}


@router.get("/agent/callbacks", response_class=HTMLResponse)
def my_callbacks(request: Request, session: auth.Db, ctx: auth.Ctx, tab: str = "upcoming",
                 user: auth.Principal = templating.page_user()) -> Response:
    """My callbacks: upcoming, due and missed, with their actions."""
    tab = tab if tab in TABS else "upcoming"
    now = ctx.now()
    cfg = callbacks_config.settings_of(ctx.settings)
    rows = callback_routes.list_visible(session, user, statuses=[], owner_id=user.user_id,
                                        campaign_id=None, start=None, end=None)
    counts = {name: 0 for name in TABS}
    shown = []
    names = dict(session.execute(select(models.Campaign.id, models.Campaign.name)).all())
    for callback in rows:
        where = tab_of(callback, now)
        if where is None:
            continue
        counts[where] += 1
        if where == tab:
            shown.append(_row(session, cfg, callback, user, names))
    reasons = sorted({r for c in rows for r in callbacks_slots.policy(
        session, cfg, c.campaign_id).cancel_reasons})
    return templating.render(request, "agent/callbacks.html", {
        "tab": tab, "tabs": TABS, "counts": counts, "rows": shown, "cancel_reasons": reasons})
