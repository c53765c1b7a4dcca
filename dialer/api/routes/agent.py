"""``/api/agent``: the agent desktop over the engine's desk (F10-F12).

Log in to campaigns, ready / not ready, the desk state with the screen-pop
(:mod:`dialer.api.routes._screen_pop`), live changes as server-sent events, preview dial
and skip, the campaign's agent dispositions, the Next call check and the wrap-up.  The
desk runs on the engine's loop (``ctx.on_engine``); without an engine these answer
``engine-not-running`` (503), except the database reads (dispositions, the check).  Only
agents take calls: staff get 403.  A Next call window is typed as a date, a start and an
end time in any IANA zone (default: the customer's) and read strictly (``_forms.window``:
DST-ambiguous or skipped times are refused with a field error) before the desk applies it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from campaigns import errors as campaign_errors
from campaigns import localtime, models
from campaigns.enums import Role
from dialer.api import auth, errors
from dialer.api.context import WebContext
from dialer.api.routes import _forms
from dialer.api.routes import _screen_pop as pop

router = APIRouter(tags=["agent"])
Agent = Annotated[auth.Principal, auth.require(Role.AGENT)]


class SessionIn(BaseModel):
    campaign_ids: list[int] = Field(min_length=1, max_length=100)


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=64)


class RecordIn(BaseModel):
    record_id: int
    reason: str = Field(default="", max_length=64)


class NextCallIn(BaseModel):
    """The Next call controls: a local window in ``tz`` and the number to call."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    date: str
    from_: str = Field(alias="from")
    to: str
    tz: str = ""
    number: str = Field(default="", max_length=64)
    new_number: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=4000)
    #: the callback stays the agent's own (else anyone in the campaign takes it).
    is_personal: bool = True

    def chosen_number(self) -> str:
        return self.new_number.strip() or self.number.strip()


class CheckIn(NextCallIn):
    record_id: int


class WrapUpIn(BaseModel):
    attempt_id: int
    code: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=4000)
    callback: NextCallIn | None = None


def _campaign_of_record(session: Any, user: auth.Principal, record_id: int) -> models.Record:
    record = session.get(models.Record, record_id)
    if record is None:
        raise errors.NotFound("record", record_id)
    user.check_campaign(record.campaign_id)
    return record


async def _state(ctx: WebContext, user: auth.Principal) -> dict[str, Any]:
    async def read(desk: Any) -> dict[str, Any]:
        return desk.state(user.user_id)

    state = await ctx.on_engine(read)
    return await ctx.run(lambda s: with_screen_pop(s, ctx, user, state))


def _focus(state: dict[str, Any]) -> tuple[int, str] | None:
    """The record the agent is looking at (call, wrap-up or preview) and its number."""
    for key in ("call", "wrap", "preview"):
        part = state.get(key)
        if part and part.get("record_id"):
            return part["record_id"], part.get("number") or ""
    return None


def with_screen_pop(session: Any, ctx: WebContext, user: auth.Principal,
                    state: dict[str, Any]) -> dict[str, Any]:
    """The desk state, the agent's clock, and the screen-pop of the record in focus."""
    now = ctx.now()
    since = state.get("since")
    out = {**state, "now": now.isoformat(), "agent_tz": user.tz,
           "agent_local_time": localtime.to_local(now, user.tz).isoformat(),
           "seconds_in_state": int((now - since).total_seconds()) if isinstance(
               since, dt.datetime) else None, "screen_pop": None}
    focus = _focus(state)
    if focus is not None:
        record = _campaign_of_record(session, user, focus[0])
        out["screen_pop"] = pop.screen_pop(session, record.id, number=focus[1], now=now,
                                           agent_tz=user.tz)
        out["dispositions"] = pop.agent_dispositions(session, record.campaign_id)
    return json.loads(json.dumps(out, default=_json))


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


@router.post("/api/agent/session")
async def login(body: SessionIn, user: Agent, ctx: auth.Ctx) -> dict[str, Any]:
    """Log in to campaigns (not ready until ``/api/agent/ready``)."""
    for campaign_id in body.campaign_ids:
        user.check_campaign(campaign_id)
    await ctx.on_engine(lambda desk: desk.login(user.user_id, list(body.campaign_ids)))
    return await _state(ctx, user)


@router.delete("/api/agent/session")
async def logout(user: Agent, ctx: auth.Ctx) -> dict[str, Any]:
    """Log out now, or after the current call's wrap-up."""
    await ctx.on_engine(lambda desk: desk.logout(user.user_id))
    return await _state(ctx, user)


@router.post("/api/agent/ready")
async def ready(user: Agent, ctx: auth.Ctx) -> dict[str, Any]:
    await ctx.on_engine(lambda desk: desk.ready(user.user_id))
    return await _state(ctx, user)


@router.post("/api/agent/not-ready")
async def not_ready(body: ReasonIn, user: Agent, ctx: auth.Ctx) -> dict[str, Any]:
    """Not ready (now, or after the current call) with a reason."""
    await ctx.on_engine(lambda desk: desk.not_ready(user.user_id, body.reason or "not_ready"))
    return await _state(ctx, user)


@router.get("/api/agent/state")
async def state(user: Agent, ctx: auth.Ctx) -> dict[str, Any]:
    """The desk state, time in state, the agent's clock and the screen-pop."""
    return await _state(ctx, user)


async def _events(request: Request, ctx: WebContext, user: auth.Principal, first: dict[str, Any],
                  interval_s: float, keepalive_s: float) -> AsyncIterator[str]:
    """``state`` events whenever the agent's desk state changes (checked every interval)."""
    yield f"event: state\ndata: {json.dumps(first)}\n\n"
    shown, sent = _key(first), time.monotonic()
    while not await request.is_disconnected():
        await asyncio.sleep(interval_s)
        try:
            current = await _state(ctx, user)
        except (errors.ApiError, campaign_errors.CampaignError, LookupError):
            break
        if _key(current) != shown:
            shown, sent = _key(current), time.monotonic()
            yield f"event: state\ndata: {json.dumps(current)}\n\n"
        elif time.monotonic() - sent >= keepalive_s:
            sent = time.monotonic()
            yield ": keep-alive\n\n"


def _key(state: dict[str, Any]) -> str:
    return json.dumps({k: state.get(k) for k in ("state", "since", "reason", "call", "wrap",
                                                 "preview", "campaign_ids")}, sort_keys=True)


@router.get("/api/agent/events")
async def events(request: Request, user: Agent, ctx: auth.Ctx,
                 interval: float = Query(0.5, ge=0.1, le=10),
                 keepalive: float = Query(15.0, ge=0.2, le=300)) -> StreamingResponse:
    """Server-sent ``state`` events for this agent until the client leaves."""
    first = await _state(ctx, user)  # errors leave before the stream starts
    return StreamingResponse(_events(request, ctx, user, first, interval, keepalive),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/api/agent/dispositions")
def dispositions(campaign_id: int, user: auth.AgentUser, session: auth.Db) -> dict[str, Any]:
    """The campaign's agent dispositions; ``next_call`` when one makes a callback."""
    user.check_campaign(campaign_id)
    if session.get(models.Campaign, campaign_id) is None:
        raise errors.NotFound("campaign", campaign_id)
    return {"campaign_id": campaign_id,
            "dispositions": pop.agent_dispositions(session, campaign_id)}


def _window(body: NextCallIn, default_tz: str) -> tuple[dt.datetime, dt.datetime, str]:
    tz = body.tz or default_tz
    start_at, end_at = _forms.window(body.date, body.from_, body.to, tz)
    return start_at, end_at, tz


def _default_tz(session: Any, record: models.Record, number: str, now: dt.datetime) -> str:
    campaign = session.get(models.Campaign, record.campaign_id)
    target = pop.hours_target(session, campaign, record, number, now)
    return pop.customer_zone(record, target.zones)


@router.post("/api/agent/next-call/check")
def check(body: CheckIn, user: auth.AgentUser, session: auth.Db,
          ctx: auth.Ctx) -> dict[str, Any]:
    """Would this Next call window be accepted?  ``ok``, the explanation, the clipped window,
    the earliest legal time and the legal windows (the callbacks workflow's own checks)."""
    record = _campaign_of_record(session, user, body.record_id)
    now = ctx.now()
    try:
        start_at, end_at, tz = _window(body, _default_tz(session, record,
                                                         body.chosen_number(), now))
        return pop.check_next_call(session, record.id, start_at=start_at, end_at=end_at, tz=tz,
                                   number=body.chosen_number(), now=now, agent_tz=user.tz)
    except campaign_errors.InvalidInput as exc:
        if isinstance(exc, LookupError):
            raise
        return {"ok": False, "message": str(exc),
                "error_id": exc.error_id, "fields": exc.fields, "clipped_to": None,
                "earliest": None, "windows": []}


def _callback(session: Any, user: auth.Principal, attempt_id: int, body: NextCallIn,
              now: dt.datetime) -> dict[str, Any]:
    """The desk's callback dict: the window in aware UTC, its zone, the number, the note."""
    attempt = session.get(models.Attempt, attempt_id)
    if attempt is None or attempt.record_id is None:
        raise errors.NotFound("attempt", attempt_id)
    record = _campaign_of_record(session, user, attempt.record_id)
    number = body.chosen_number() or attempt.number_e164
    start_at, end_at, tz = _window(body, _default_tz(session, record, number, now))
    return {"start_at": start_at, "end_at": end_at, "tz": tz, "number": number,
            "note": body.note, "owner": user.user_id if body.is_personal else None}


@router.post("/api/agent/wrapup")
async def wrapup(body: WrapUpIn, user: Agent, ctx: auth.Ctx) -> dict[str, Any]:
    """Give the call's disposition (with the Next call when it makes a callback)."""
    callback = None
    if body.callback is not None:
        callback = await ctx.run(lambda s: _callback(s, user, body.attempt_id, body.callback,
                                                     ctx.now()))
    done = await ctx.on_engine(lambda desk: desk.dispose(
        user.user_id, body.attempt_id, body.code, note=body.note, callback=callback))
    result = {k: v for k, v in done.items() if k != "state"}
    return {**json.loads(json.dumps(result, default=_json)), "state": await _state(ctx, user)}


@router.post("/api/agent/preview/dial")
async def preview_dial(body: RecordIn, user: Agent, ctx: auth.Ctx) -> dict[str, Any]:
    """Dial the record being previewed."""
    await ctx.run(lambda s: _campaign_of_record(s, user, body.record_id))
    await ctx.on_engine(lambda desk: desk.preview_dial(user.user_id, body.record_id))
    return await _state(ctx, user)


@router.post("/api/agent/preview/skip")
async def preview_skip(body: RecordIn, user: Agent, ctx: auth.Ctx) -> dict[str, Any]:
    """Skip the record being previewed, with a reason."""
    await ctx.run(lambda s: _campaign_of_record(s, user, body.record_id))
    await ctx.on_engine(lambda desk: desk.preview_skip(user.user_id, body.record_id,
                                                       body.reason or "skipped"))
    return await _state(ctx, user)
