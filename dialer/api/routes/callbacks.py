"""``/api/callbacks``: every callback workflow of the CLI (``dialer callbacks …``) as REST (F1).

The JSON shape is the CLI's (``callbacks_service.show``).  Staff reach every callback of
every campaign; an agent sees its own callbacks and the unowned ones of its campaigns, and
acts only on its own (reassigning one goes to a colleague scheduled and free then, as the
workflow decides).  Windows are typed as a date, a start and an end in a zone (default:
the callback's, or the customer's for a new one) and read strictly (``_forms.window``).
Every change is audited by the workflow with the user as actor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from campaigns import errors as campaign_errors
from campaigns import models
from campaigns.enums import CallbackStatus
from campaigns.store import callbacks as store
from campaigns.store import users as user_store
from dialer import callbacks_config, callbacks_engine, callbacks_messages, callbacks_slots
from dialer import callbacks_service as service
from dialer.api import auth, errors
from dialer.api.routes import _forms

router = APIRouter(tags=["callbacks"])


class NotifyIn(BaseModel):
    """How the customer is told (default: every known contact)."""

    model_config = ConfigDict(extra="forbid")
    message: str = Field(default="", max_length=2000)
    channels: list[Literal["email", "sms"]] | None = None
    email: str = Field(default="", max_length=320)
    sms_to: str = Field(default="", max_length=32)
    no_notify: bool = False

    def how(self) -> callbacks_messages.Notify:
        addresses = {k: v for k, v in (("email", self.email), ("sms", self.sms_to)) if v}
        return callbacks_messages.Notify(not self.no_notify, self.channels or None,
                                         addresses or None, self.message)


class WindowIn(NotifyIn):
    date: str
    from_: str = Field(alias="from")
    to: str
    tz: str = ""
    why: str = Field(default="", max_length=2000)


class ScheduleIn(WindowIn):
    record_id: int
    number: str = Field(default="", max_length=64)
    owner: str | None = None
    note: str = Field(default="", max_length=4000)
    customer_requested: bool = False


class SlotIn(BaseModel):
    date: str
    from_: str = Field(alias="from")
    to: str


class ProposeIn(NotifyIn):
    slots: list[SlotIn] = Field(min_length=1)


class CancelIn(NotifyIn):
    reason: str = Field(min_length=1, max_length=200)


class CompleteIn(BaseModel):
    outcome: str = Field(min_length=1, max_length=2000)
    reason: str = Field(default="", max_length=200)
    time_taken_s: int | None = Field(default=None, ge=0)


class WhyIn(BaseModel):
    why: str = Field(default="", max_length=2000)


class ReassignIn(NotifyIn):
    to: str = Field(min_length=1, max_length=200)


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=4000)


def cfg_of(ctx: Any) -> callbacks_config.CallbacksSettings:
    return callbacks_config.settings_of(ctx.settings)


def is_visible(user: auth.Principal, callback: models.Callback) -> bool:
    """Staff see all; an agent its own and the unowned callbacks of its campaigns."""
    if user.is_staff:
        return True
    return callback.campaign_id in user.campaign_ids and callback.owner_id in (None, user.user_id)


def visible(session: Session, user: auth.Principal, callback_id: int) -> models.Callback:
    """The callback, if ``user`` may see it (``not-a-member`` / ``not-your-callback``)."""
    callback = store.get(session, callback_id)
    user.check_campaign(callback.campaign_id)
    if not is_visible(user, callback):
        raise errors.Forbidden("this callback belongs to another agent",
                               fields={"callback": "not yours"}, error_id="not-your-callback")
    return callback


def owned(session: Session, user: auth.Principal, callback_id: int) -> models.Callback:
    """The callback, if ``user`` may act on it: staff, or the agent who owns it."""
    callback = visible(session, user, callback_id)
    if not user.is_staff and callback.owner_id != user.user_id:
        raise errors.Forbidden("only the owner (or a supervisor) can change this callback",
                               fields={"callback": "not yours"}, error_id="not-your-callback")
    return callback


def _instant(text: str | None, field: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            value = dt.datetime.combine(_forms.parse_date(text, field), dt.time())
        except campaign_errors.InvalidInput:
            raise errors.ApiError(f"{field} {text!r} is not a date or an instant",
                                  fields={field: "not a date"}) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def list_visible(session: Session, user: auth.Principal, *, statuses: list[CallbackStatus],
                 owner_id: int | None, campaign_id: int | None, start: dt.datetime | None,
                 end: dt.datetime | None, limit: int = 1000) -> list[models.Callback]:
    """The callbacks ``user`` may see, filtered, by window start."""
    if campaign_id is not None:
        user.check_campaign(campaign_id)
        campaigns: list[int | None] = [campaign_id]
    else:
        campaigns = [None] if user.is_staff else sorted(user.campaign_ids)
    rows = [c for cid in campaigns
            for c in store.list_callbacks(session, campaign_id=cid, statuses=statuses,
                                          owner_id=owner_id, limit=limit)]
    rows = [c for c in rows if is_visible(user, c)
            and (start is None or c.window_end_at > start)
            and (end is None or c.window_start_at < end)]
    return sorted(rows, key=lambda c: (c.window_start_at, c.id))[:limit]


@router.get("/api/callbacks")
def list_callbacks(user: auth.AgentUser, session: auth.Db,
                   status: list[str] = Query(default=[]), owner: str | None = None,
                   campaign_id: int | None = None, from_: str | None = Query(None, alias="from"),
                   to: str | None = None, limit: int = Query(500, ge=1, le=5000),
                   ) -> dict[str, Any]:
    """Callbacks by window start; ``owner`` is a user name or ``me``; ``from``/``to`` keep the
    windows that overlap them."""
    try:
        statuses = [CallbackStatus(s) for part in status for s in part.split(",") if s]
    except ValueError:
        raise errors.ApiError(f"status must be among {', '.join(s.value for s in CallbackStatus)}",
                              fields={"status": "unknown"}) from None
    owner_id = None
    if owner:
        owner_id = user.user_id if owner == "me" else user_store.get_by_name(session, owner).id
    rows = list_visible(session, user, statuses=statuses, owner_id=owner_id,
                        campaign_id=campaign_id, start=_instant(from_, "from"),
                        end=_instant(to, "to"), limit=limit)
    return {"callbacks": [service.show(session, c) for c in rows]}


@router.post("/api/callbacks", status_code=201)
def schedule(body: ScheduleIn, user: auth.AgentUser, session: auth.Db,
             ctx: auth.Ctx) -> dict[str, Any]:
    """Schedule a callback for a record (validated against calling hours, clipped)."""
    now = ctx.now()
    record = session.get(models.Record, body.record_id)
    if record is None:
        raise errors.NotFound("record", body.record_id)
    user.check_campaign(record.campaign_id)
    owner = body.owner
    if not user.is_staff and owner not in (None, "", "anyone", "campaign", user.name):
        raise errors.Forbidden("an agent schedules callbacks for itself or for anyone",
                               fields={"owner": "not yourself"})
    zone = body.tz
    if not zone:
        campaign = session.get(models.Campaign, record.campaign_id)
        e164, _ = service.resolve_number(record, body.number)
        zone = service.zone_of(session, campaign, record, e164, now)
    start_at, end_at = _forms.window(body.date, body.from_, body.to, zone)
    callback = service.schedule(session, cfg_of(ctx), record_id=record.id, actor=user.actor,
                                now=now, start_at=start_at, end_at=end_at, tz=zone,
                                number=body.number, owner=owner, note=body.note,
                                is_customer_requested=body.customer_requested, how=body.how())
    return service.show(session, callback)


@router.get("/api/callbacks/{callback_id}")
def show(callback_id: int, user: auth.AgentUser, session: auth.Db) -> dict[str, Any]:
    """A callback with its history and internal notes."""
    return service.show(session, visible(session, user, callback_id))


@router.post("/api/callbacks/{callback_id}/reschedule")
def reschedule(callback_id: int, body: WindowIn, user: auth.AgentUser, session: auth.Db,
               ctx: auth.Ctx) -> dict[str, Any]:
    """Move to a new window (default zone: the callback's); the customer gets links."""
    callback = owned(session, user, callback_id)
    zone = body.tz or callback.tz
    start_at, end_at = _forms.window(body.date, body.from_, body.to, zone)
    service.reschedule(session, cfg_of(ctx), callback.id, actor=user.actor, now=ctx.now(),
                       start_at=start_at, end_at=end_at, tz=zone, how=body.how(), why=body.why)
    return service.show(session, callback)


@router.post("/api/callbacks/{callback_id}/request")
def request(callback_id: int, body: NotifyIn, user: auth.AgentUser, session: auth.Db,
            ctx: auth.Ctx) -> dict[str, Any]:
    """Ask the customer to pick a new time (e-mail/SMS with a link)."""
    callback = owned(session, user, callback_id)
    service.request_reschedule(session, cfg_of(ctx), callback.id, actor=user.actor,
                               now=ctx.now(), how=body.how())
    return service.show(session, callback)


@router.post("/api/callbacks/{callback_id}/propose")
def propose(callback_id: int, body: ProposeIn, user: auth.AgentUser, session: auth.Db,
            ctx: auth.Ctx) -> dict[str, Any]:
    """Offer slots (in the callback's zone) for the customer to choose from."""
    callback = owned(session, user, callback_id)
    slots = [_forms.window(s.date, s.from_, s.to, callback.tz) for s in body.slots]
    service.propose(session, cfg_of(ctx), callback.id, actor=user.actor, now=ctx.now(),
                    slots=slots, how=body.how())
    return service.show(session, callback)


@router.post("/api/callbacks/{callback_id}/accept")
def accept(callback_id: int, body: NotifyIn, user: auth.AgentUser, session: auth.Db,
           ctx: auth.Ctx) -> dict[str, Any]:
    """Accept the time the customer suggested."""
    callback = owned(session, user, callback_id)
    service.accept(session, cfg_of(ctx), callback.id, actor=user.actor, now=ctx.now(),
                   how=body.how())
    return service.show(session, callback)


@router.post("/api/callbacks/{callback_id}/cancel")
def cancel(callback_id: int, body: CancelIn, user: auth.AgentUser, session: auth.Db,
           ctx: auth.Ctx) -> dict[str, Any]:
    """Cancel with a reason and a message to the customer."""
    callback = owned(session, user, callback_id)
    service.cancel(session, cfg_of(ctx), callback.id, actor=user.actor, now=ctx.now(),
                   reason=body.reason, how=body.how())
    return service.show(session, callback)


@router.post("/api/callbacks/{callback_id}/complete")
def complete(callback_id: int, body: CompleteIn, user: auth.AgentUser, session: auth.Db,
             ctx: auth.Ctx) -> dict[str, Any]:
    """Complete with an outcome remark, a reason and the time taken."""
    callback = owned(session, user, callback_id)
    service.complete(session, cfg_of(ctx), callback.id, actor=user.actor, now=ctx.now(),
                     outcome=body.outcome, reason=body.reason, time_taken_s=body.time_taken_s)
    return service.show(session, callback)


@router.post("/api/callbacks/{callback_id}/no-show")
def no_show(callback_id: int, body: WhyIn, user: auth.AgentUser, session: auth.Db,
            ctx: auth.Ctx) -> dict[str, Any]:
    """The customer did not show up."""
    callback = owned(session, user, callback_id)
    service.no_show(session, cfg_of(ctx), callback.id, actor=user.actor, now=ctx.now(),
                    why=body.why)
    return service.show(session, callback)


@router.post("/api/callbacks/{callback_id}/miss")
def miss(callback_id: int, body: WhyIn, user: auth.AgentUser, session: auth.Db,
         ctx: auth.Ctx) -> dict[str, Any]:
    """"This call did not happen": missed; the escalation ladder applies."""
    callback = owned(session, user, callback_id)
    callbacks_engine.on_missed(session, cfg_of(ctx), callback.id, now=ctx.now(),
                               actor=user.actor, why=body.why or "this call did not happen")
    return service.show(session, callback)


@router.post("/api/callbacks/{callback_id}/reopen")
def reopen(callback_id: int, body: WhyIn, user: auth.AgentUser, session: auth.Db,
           ctx: auth.Ctx) -> dict[str, Any]:
    """Reopen a completed, cancelled or no-show callback."""
    callback = owned(session, user, callback_id)
    service.reopen(session, cfg_of(ctx), callback.id, actor=user.actor, now=ctx.now(),
                   why=body.why)
    return service.show(session, callback)


@router.get("/api/callbacks/{callback_id}/available")
def available(callback_id: int, user: auth.AgentUser, session: auth.Db,
              ctx: auth.Ctx) -> dict[str, Any]:
    """The colleagues it can be reassigned to (scheduled and free at its time)."""
    callback = visible(session, user, callback_id)
    agents = callbacks_slots.available_agents(session, cfg_of(ctx), callback)
    return {"callback_id": callback.id,
            "available": [a.name for a in agents if a.id != callback.owner_id]}


@router.post("/api/callbacks/{callback_id}/reassign")
def reassign(callback_id: int, body: ReassignIn, user: auth.AgentUser, session: auth.Db,
             ctx: auth.Ctx) -> dict[str, Any]:
    """Give the callback to a colleague scheduled and free at its time."""
    callback = owned(session, user, callback_id)
    service.reassign(session, cfg_of(ctx), callback.id, to=body.to, actor=user.actor,
                     now=ctx.now(), how=body.how())
    return service.show(session, callback)


@router.post("/api/callbacks/{callback_id}/link")
def link(callback_id: int, user: auth.AgentUser, session: auth.Db,
         ctx: auth.Ctx) -> dict[str, Any]:
    """The customer's self-service URL (``[callbacks] public_base_url`` + ``/c/<token>``)."""
    callback = owned(session, user, callback_id)
    cfg = cfg_of(ctx)
    if not cfg.link_secret:
        raise errors.ApiError("set [callbacks] link_secret to make customer links",
                              fields={"callbacks.link_secret": "empty"},
                              error_id="link-secret-missing")
    return {"callback_id": callback.id, "url": callbacks_messages.link_url(cfg, callback,
                                                                         ctx.now())}


@router.get("/api/callbacks/{callback_id}/notes")
def notes(callback_id: int, user: auth.AgentUser, session: auth.Db) -> dict[str, Any]:
    """The internal notes (never shown to the customer)."""
    callback = visible(session, user, callback_id)
    return {"callback_id": callback.id, "notes": store.notes(session, callback.id)}


@router.post("/api/callbacks/{callback_id}/notes", status_code=201)
def add_note(callback_id: int, body: NoteIn, user: auth.AgentUser, session: auth.Db,
             ctx: auth.Ctx) -> dict[str, Any]:
    """Add an internal note."""
    callback = visible(session, user, callback_id)
    note = service.add_note(session, callback.id, body=body.body, actor=user.actor,
                            now=ctx.now())
    return {"callback_id": callback.id, "note_id": note.id,
            "notes": store.notes(session, callback.id)}


@router.patch("/api/callbacks/{callback_id}/notes/{note_id}")
def edit_note(callback_id: int, note_id: int, body: NoteIn, user: auth.AgentUser,
              session: auth.Db, ctx: auth.Ctx) -> dict[str, Any]:
    """Edit an internal note (its author, or staff)."""
    callback = visible(session, user, callback_id)
    note = store.get_note(session, note_id)
    if note.callback_id != callback.id:
        raise errors.NotFound("note", note_id)
    if not user.is_staff and note.author != user.actor:
        raise errors.Forbidden("only the note's author (or a supervisor) can edit it",
                               fields={"note": "not yours"})
    service.edit_note(session, note.id, body=body.body, actor=user.actor, now=ctx.now())
    return {"callback_id": callback.id, "notes": store.notes(session, callback.id)}
