"""``/api/dashboard``: the live dashboard as JSON and as server-sent events; forcing agents (F8).

- ``GET /api/dashboard?campaign_id=&hours=`` one snapshot (:func:`dialer.dashboard.snapshot`);
  staff see every campaign and which call each agent is on, an agent only its own campaigns
  and no numbers.
- ``GET /api/dashboard/stream`` ``text/event-stream``: a ``snapshot`` event at once, then one
  every ``interval`` seconds (default 2) or as soon as the engine's desk reports a change; a
  ``: keep-alive`` comment when nothing was sent for ``keepalive`` seconds; it ends when the
  client leaves.
- ``POST /api/agents/{user_id}/force-not-ready`` and ``/force-logout`` (supervisors and
  administrators) go through the engine's desk: ``engine-not-running`` (503) without one.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from campaigns import calling_rules, models
from campaigns import errors as campaign_errors
from campaigns.store import audit
from campaigns.store import diagnosis as diagnosis_store
from dialer import dashboard
from dialer.api import auth
from dialer.api.context import EngineNotRunning, WebContext

router = APIRouter(tags=["dashboard"])

#: a campaign's diagnosis (one pass over its records) is reused this long at least ...
DIAGNOSIS_TTL_S = 10.0
#: ... and for this many times as long as it took, so large lists never keep a thread busy.
DIAGNOSIS_TTL_FACTOR = 10.0


class _Frozen:
    """The desk's agents and calls, read once on the server's loop."""

    def __init__(self, agents: list[dict[str, Any]], calls: list[dict[str, Any]]) -> None:
        self.agents, self.calls = agents, calls

    def snapshot(self) -> list[dict[str, Any]]:
        return self.agents

    def live_calls(self) -> list[dict[str, Any]]:
        return self.calls


def _desk(ctx: WebContext) -> Any:
    try:
        return ctx.desk
    except EngineNotRunning:
        return None


def _read_desk(ctx: WebContext) -> _Frozen | None:
    if _desk(ctx) is None:
        return None
    return ctx.engine_view(lambda desk: _Frozen(list(desk.snapshot()), list(desk.live_calls())))


def _scope(user: auth.Principal, campaign_id: int | None) -> list[int] | None:
    if campaign_id is not None:
        user.check_campaign(campaign_id)
        return [campaign_id]
    return None if user.is_staff else sorted(user.campaign_ids)


def _diagnose(ctx: WebContext) -> dashboard.Diagnose:
    """The store's diagnosis with the configured rules, cached per campaign.

    One diagnosis runs at a time (the streams of several viewers share it); it is reused for
    ``DIAGNOSIS_TTL_S`` or ``DIAGNOSIS_TTL_FACTOR`` times its own duration, whichever is longer.
    """
    cache: dict[int, tuple[float, float, dict[str, Any]]] = ctx.service("dashboard-diagnosis",
                                                                         dict)
    lock: threading.Lock = ctx.service("dashboard-diagnosis-lock", threading.Lock)

    def fresh(campaign_id: int) -> dict[str, Any] | None:
        found = cache.get(campaign_id)
        if found is None:
            return None
        at, took, report = found
        return report if time.monotonic() - at < max(DIAGNOSIS_TTL_S,
                                                      DIAGNOSIS_TTL_FACTOR * took) else None

    def run(session: Session, campaign: models.Campaign, now: Any) -> dict[str, Any]:
        with lock:
            report = fresh(campaign.id)
            if report is None:
                started = time.monotonic()
                report = diagnosis_store.diagnose(
                    session, campaign, now, rules=calling_rules.load(ctx.settings.compliance))
                cache[campaign.id] = (time.monotonic(), time.monotonic() - started, report)
            return report

    return run


async def build(ctx: WebContext, user: auth.Principal, scope: list[int] | None,
                hours: int) -> dict[str, Any]:
    """One snapshot for ``user`` (the desk is read on this loop, the database on a thread)."""
    desk = _read_desk(ctx)
    diagnose = _diagnose(ctx)

    def work(session: Session) -> dict[str, Any]:
        tz = user.tz
        if scope is not None and len(scope) == 1:
            campaign = session.get(models.Campaign, scope[0])
            if campaign is None:
                raise campaign_errors.NotFound("campaign", scope[0])
            tz = campaign.centre_tz or "UTC"
        return dashboard.snapshot(session, now=ctx.now(), campaign_ids=scope, desk=desk, tz=tz,
                                  callback_hours=hours, with_calls=user.is_staff,
                                  diagnose=diagnose)

    return await ctx.run(work)


@router.get("/api/dashboard")
async def get_dashboard(user: auth.AnyUser, ctx: auth.Ctx, campaign_id: int | None = None,
                        hours: int = Query(4, ge=1, le=72)) -> dict[str, Any]:
    """The dashboard of one campaign (or of every campaign you can see)."""
    return await build(ctx, user, _scope(user, campaign_id), hours)


def sse(event: str, data: Any) -> str:
    """One server-sent event.

    >>> sse("snapshot", {"a": 1})
    'event: snapshot\\ndata: {"a": 1}\\n\\n'
    """
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


async def _changed(queue: asyncio.Queue[Any] | None, timeout_s: float) -> bool:
    """Wait for a desk change (then drain the queue) or ``timeout_s``; True on a change."""
    if timeout_s <= 0:
        return False
    if queue is None:
        await asyncio.sleep(timeout_s)
        return False
    try:
        await asyncio.wait_for(queue.get(), timeout_s)
    except TimeoutError:
        return False
    while not queue.empty():
        queue.get_nowait()
    return True


async def events(request: Request, first: dict[str, Any], next_snapshot: Callable[[], Awaitable[
        dict[str, Any]]], *, desk: Any, interval_s: float,
                 keepalive_s: float) -> AsyncIterator[str]:
    """The stream: ``first``, then a snapshot per interval or desk change, with keep-alives."""
    queue = desk.subscribe() if desk is not None and hasattr(desk, "subscribe") else None
    try:
        yield sse("snapshot", first)
        sent = due = time.monotonic()
        due += interval_s
        while not await request.is_disconnected():
            wait = min(due, sent + keepalive_s) - time.monotonic()
            is_changed = await _changed(queue, wait)
            now = time.monotonic()
            if is_changed or now >= due:
                yield sse("snapshot", await next_snapshot())
                sent, due = now, now + interval_s
            elif now >= sent + keepalive_s:
                yield ": keep-alive\n\n"
                sent = now
    finally:
        if queue is not None:
            desk.unsubscribe(queue)


@router.get("/api/dashboard/stream")
async def stream(request: Request, user: auth.AnyUser, ctx: auth.Ctx,
                 campaign_id: int | None = None, hours: int = Query(4, ge=1, le=72),
                 interval: float = Query(2.0, ge=0.2, le=60),
                 keepalive: float = Query(15.0, ge=0.2, le=300)) -> StreamingResponse:
    """Server-sent ``snapshot`` events of the dashboard until the client leaves."""
    scope = _scope(user, campaign_id)
    first = await build(ctx, user, scope, hours)  # errors leave before the stream starts
    body = events(request, first, lambda: build(ctx, user, scope, hours), desk=_desk(ctx),
                  interval_s=interval, keepalive_s=keepalive)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _force(ctx: WebContext, user: auth.Principal, user_id: int, action: str,
                 fn: Callable[[Any], Awaitable[Any]]) -> dict[str, Any]:
    result = await ctx.on_engine(fn)

    def record(session: Session) -> None:
        audit.record(session, action=action, entity="user", entity_id=user_id, actor=user.actor,
                     at=ctx.now())

    await ctx.run(record)
    return {"user_id": user_id, "action": action, "agent": result}


@router.post("/api/agents/{user_id}/force-not-ready")
async def force_not_ready(user_id: int, user: auth.Staff, ctx: auth.Ctx) -> dict[str, Any]:
    """Put an agent in ``not_ready`` now (after its current call, as the desk decides)."""
    return await _force(ctx, user, user_id, "agent.force_not_ready",
                        lambda desk: desk.force_not_ready(user_id))


@router.post("/api/agents/{user_id}/force-logout")
async def force_logout(user_id: int, user: auth.Staff, ctx: auth.Ctx) -> dict[str, Any]:
    """Log an agent out of the desk."""
    return await _force(ctx, user, user_id, "agent.force_logout",
                        lambda desk: desk.force_logout(user_id))
