"""The engine's API for people: agents log in, go ready, take calls, dispose; supervisors watch.

:class:`AgentDesk` is ``engine.desk``, created when the engine starts.  The web
application calls it in-process, on the engine's loop.  State lives in the
campaigns' orchestrators (their :class:`~dialer.agents.AgentBoard`); the desk
keeps only who is logged in, into which campaigns, and the attempt each agent
is wrapping up.

- An agent is seated in one running campaign at a time: the first of the
  campaigns they logged into that runs.  A campaign that starts later takes
  the agents waiting for one; when it stops they move on (or wait).
- Real backends call the agent's phone (``users.phone_address``); the
  simulated backend gets a simulated phone that answers.
- Wrap-up of a human waits for :meth:`AgentDesk.dispose` (through
  :func:`dialer.wrapup.apply_agent_disposition`, on the database thread) or the
  wrap limit, after which the call gets the system's ``answered``.
- Each orchestrator's desk is a :class:`CampaignDesk`: the simulated desk for
  simulated agents, this desk for the others; in preview mode simulated
  agents dial their offer after a short seeded delay.

Errors carry an ``error_id``: ``not-logged-in``, ``not-a-member``,
``not-an-agent``, ``no-such-user``, ``no-such-attempt``, ``not-your-call``,
``no-phone``, ``no-campaign``, ``wrap-up-pending``, ``no-such-preview``,
``engine-busy``, plus ``already-disposed`` and the disposition's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import models
from campaigns.enums import CallOutcome, Role
from campaigns.store import audit, outcomes
from dialer import agents, db_hopper, logs, orchestrator, recording, wrapup
from dialer import errors as dialer_errors

logger = logging.getLogger(__name__)

#: how long a desk call waits for the campaign's loop (an agent's phone may take a while).
COMMAND_TIMEOUT_S = 30.0
#: simulated agents in preview look at the record this long (seconds, uniform) before dialling.
SIM_PREVIEW_S = (0.2, 1.0)
EVENT_QUEUE_MAX = 1000


class DeskError(dialer_errors.DialerError):
    """The agent desk cannot do this."""

    error_id = "desk-error"
    is_input_error = True


def _error(error_id: str, message: str, lookup: bool = False, **fields: object) -> DeskError:
    cls = _DeskLookupError if lookup else DeskError
    return cls(message, fields={k: str(v) for k, v in fields.items()}, error_id=error_id)


class _DeskLookupError(DeskError, LookupError):
    """No such object."""


@dataclass
class _Person:
    """A logged-in human agent."""

    user_id: int
    name: str
    address: str
    campaign_ids: list[int]
    since: dt.datetime
    seated_in: int | None = None
    #: when not seated: go ready once seated (else not ready with ``reason``).
    wants_ready: bool = False
    reason: str = "login"
    #: attempt being wrapped up (call id -> attempt id while in wrap-up).
    wraps: dict[str, int] = field(default_factory=dict)


class AgentDesk:
    """``engine.desk``; see the module docstring."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.people: dict[int, _Person] = {}
        #: attempts opened for preview offers, until dialled or released.
        self._claimed: dict[int, db_hopper.Dialled] = {}
        self._queues: list[asyncio.Queue[dict[str, Any]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._rng = random.Random(f"preview/{engine.options.seed}")

    # -- agents ------------------------------------------------------------------------------

    async def login(self, user_id: int, campaign_ids: list[int]) -> dict[str, Any]:
        """Log a human agent into campaigns they are a member of (not ready until :meth:`ready`)."""
        if not campaign_ids:
            raise _error("no-campaign", "choose at least one campaign", campaign_ids="empty")
        name, phone = await self._db(lambda s: _check_member(s, user_id, list(campaign_ids)))
        person = self.people.get(user_id)
        if person is None:
            person = _Person(user_id, name, self._address(user_id, phone), list(campaign_ids),
                             self._now())
            self.people[user_id] = person
        else:
            person.campaign_ids = list(campaign_ids)
        if person.seated_in is not None and person.seated_in not in person.campaign_ids:
            await self._unseat(person, logout=True)
        if person.seated_in is None:
            try:
                await self._seat_anywhere(person)
            except Exception:
                self.people.pop(user_id, None)
                raise
        self._publish("login", user_id=user_id, campaign_ids=person.campaign_ids)
        return self.state(user_id)

    async def logout(self, user_id: int) -> dict[str, Any]:
        """Log out now, or after the current call's wrap-up."""
        person = self._person(user_id)
        if person.seated_in is not None:
            orch = self._orchestrator(person.seated_in)
            status = await self._ask(orch, "logout", user_id)
            if status.state is not agents.AgentState.LOGGED_OUT:
                return self.state(user_id)  # pending: the board logs out after the wrap-up
        self.people.pop(user_id, None)
        self._publish("logout", user_id=user_id)
        return self.state(user_id)

    async def ready(self, user_id: int) -> dict[str, Any]:
        person = self._person(user_id)
        if person.seated_in is None:
            person.wants_ready, person.reason = True, ""
            return self.state(user_id)
        orch = self._orchestrator(person.seated_in)
        current = orch.board.get(user_id)
        if current.state is agents.AgentState.WRAP_UP:
            raise _error("wrap-up-pending", "give the call's disposition first", state="wrap_up")
        if current.state is agents.AgentState.NOT_READY:
            await self._ask(orch, "resume", user_id)
        return self.state(user_id)

    async def not_ready(self, user_id: int, reason: str) -> dict[str, Any]:
        """Not ready now, or after the current call."""
        return await self._pause(user_id, reason or "not_ready")

    async def force_not_ready(self, user_id: int) -> dict[str, Any]:
        """A supervisor takes the agent off calls (after the current one)."""
        return await self._pause(user_id, "supervisor")

    async def force_logout(self, user_id: int) -> dict[str, Any]:
        """A supervisor logs the agent out (after the current call)."""
        return await self.logout(user_id)

    async def _pause(self, user_id: int, reason: str) -> dict[str, Any]:
        person = self._person(user_id)
        if person.seated_in is None:
            person.wants_ready, person.reason = False, reason
            return self.state(user_id)
        await self._ask(self._orchestrator(person.seated_in), "pause", user_id, reason=reason)
        return self.state(user_id)

    # -- wrap-up -----------------------------------------------------------------------------

    async def dispose(self, user_id: int, attempt_id: int, code: str, *, note: str = "",
                      callback: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Apply the agent's disposition to their call, then end the wrap-up.

        Raises ``no-such-attempt``, ``not-your-call``, ``already-disposed``, and
        the disposition's own errors (unknown code, bad callback window...).
        """
        person = self.people.get(user_id)
        recorder = self.engine.recorder
        mine = person is not None and attempt_id in person.wraps.values()
        now, actor = self._now(), person.name if person is not None else ""

        def apply(session: Session) -> outcomes.Applied:
            attempt = session.get(models.Attempt, attempt_id)
            if attempt is None:
                raise _error("no-such-attempt", f"no attempt {attempt_id}", True,
                             attempt=attempt_id)
            if not mine and attempt.agent_id != user_id:
                raise _error("not-your-call", f"attempt {attempt_id} is not your call",
                             attempt=attempt_id)
            return wrapup.apply_agent_disposition(
                session, attempt_id, code, now=now, notes=note, callback=callback, actor=actor,
                cfg=recorder.callbacks_cfg, on_retry=recorder.on_retry)

        applied = await self.engine.database.call(apply, key=attempt_id)
        await self._finish_wrap(person, attempt_id)
        return {"attempt_id": attempt_id, "code": code, "action": applied.action.value,
                "record_status": applied.record_status.value, "callback_id": applied.callback_id,
                "next_attempt_at": applied.next_attempt_at, "state": self.state(user_id)}

    async def _finish_wrap(self, person: _Person | None, attempt_id: int) -> None:
        if person is None:
            return
        call_id = next((c for c, a in person.wraps.items() if a == attempt_id), None)
        if call_id is None:
            return
        del person.wraps[call_id]
        if person.seated_in is not None:
            orch = self._orchestrator(person.seated_in)
            status = orch.board.get(person.user_id)
            if status.state is agents.AgentState.WRAP_UP and status.call_id == call_id:
                await self._ask(orch, "finish_wrap", person.user_id)

    # -- preview -----------------------------------------------------------------------------

    async def preview_dial(self, user_id: int, record_id: int) -> dict[str, Any]:
        """Dial the record the agent is previewing."""
        orch = self._seated(user_id)
        await self._ask(orch, "preview_dial", user_id, record_id=record_id)
        return self.state(user_id)

    async def preview_skip(self, user_id: int, record_id: int, reason: str) -> dict[str, Any]:
        """Give the previewed record back with ``reason`` (a cancelled attempt: not at once)."""
        orch = self._seated(user_id)
        await self._ask(orch, "preview_skip", user_id, reason=f"skip:{reason or 'skipped'}",
                        record_id=record_id)
        return self.state(user_id)

    # -- views -------------------------------------------------------------------------------

    def state(self, user_id: int) -> dict[str, Any]:
        """The agent's state, call, wrap-up and preview (``logged_out`` when not logged in)."""
        person = self.people.get(user_id)
        out: dict[str, Any] = {"user_id": user_id, "state": "logged_out", "since": None,
                               "reason": "", "campaign_ids": [], "call": None, "wrap": None,
                               "preview": None}
        if person is None:
            return out
        out["campaign_ids"] = list(person.campaign_ids)
        if person.seated_in is None or self._running(person.seated_in) is None:
            out.update(state="ready" if person.wants_ready else "not_ready", since=person.since,
                       reason="no_running_campaign")
            return out
        orch = self._running(person.seated_in)
        assert orch is not None
        status = orch.board.get(user_id)
        out.update(state=status.state.value, since=status.since, reason=status.reason,
                   pending=status.pending, campaign_id=person.seated_in)
        out["call"] = _call_view(orch, status)
        out["wrap"] = _wrap_view(orch, person, status)
        offer = orch.offers.get(user_id)
        if offer is not None:
            out["preview"] = {"record_id": offer.target.record_id, "campaign_id": person.seated_in,
                              "number": offer.target.number, "offered_at": offer.offered_at,
                              "attempt_id": offer.target.attempt_id}
        return out

    def snapshot(self) -> list[dict[str, Any]]:
        """Every logged-in agent, human and simulated (numbers masked to the last 4 digits)."""
        rows, seen = [], set()
        for campaign_id, runner, orch in self._runners():
            names = {uid: f"sim-agent-{campaign_id}-{i + 1}"
                     for i, uid in enumerate(runner.campaign.sim_agent_ids)}
            calls = {c["call_id"]: c for c in orch.live_calls()}
            for status in orch.board:
                if status.state is agents.AgentState.LOGGED_OUT:
                    continue
                person = self.people.get(status.agent_id)
                call = calls.get(status.call_id or "")
                seen.add(status.agent_id)
                rows.append({"user_id": status.agent_id, "campaign_id": campaign_id,
                             "name": person.name if person else names.get(status.agent_id, ""),
                             "campaign_ids": person.campaign_ids if person else [campaign_id],
                             "state": status.state.value, "since": status.since,
                             "reason": status.reason, "call_id": status.call_id,
                             "number": logs.mask_number(call["number"]) if call else None,
                             "is_simulated": person is None})
        for person in self.people.values():
            if person.user_id not in seen:
                state = self.state(person.user_id)
                rows.append({"user_id": person.user_id, "campaign_id": None, "name": person.name,
                             "campaign_ids": person.campaign_ids, "state": state["state"],
                             "since": state["since"], "reason": state["reason"], "call_id": None,
                             "number": None, "is_simulated": False})
        return rows

    def live_calls(self) -> list[dict[str, Any]]:
        """Ringing, waiting and connected calls (numbers masked to the last 4 digits)."""
        return [{"call_id": c["call_id"], "campaign_id": c["campaign_id"], "state": c["state"],
                 "user_id": c["agent_id"], "since": c["since"],
                 "number": logs.mask_number(c["number"])}
                for _, _, orch in self._runners() for c in orch.live_calls()]

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue of change events (``{"type": ..., ...}``); the oldest drop when it is full."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(EVENT_QUEUE_MAX)
        self._queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        if queue in self._queues:
            self._queues.remove(queue)

    # -- campaigns starting and stopping (called by the engine's campaign runner) ----------------

    def desk_for(self, campaign_id: int, sim_desk: Any, sim_ids: tuple[int, ...]) -> CampaignDesk:
        """The orchestrator's desk of one campaign."""
        return CampaignDesk(self, campaign_id, sim_desk, frozenset(sim_ids))

    def campaign_started(self, campaign_id: int, orch: orchestrator.Orchestrator) -> None:
        """Watch its events; seat the agents waiting for it."""
        orch.listeners.append(self._on_orchestrator)
        for person in self.people.values():
            if person.seated_in is None and campaign_id in person.campaign_ids:
                self._spawn(self._seat(person, campaign_id))

    async def campaign_ended(self, campaign_id: int, orch: orchestrator.Orchestrator) -> None:
        """Its run is over: hang up its humans' phones and seat them elsewhere (or wait)."""
        for person in [p for p in self.people.values() if p.seated_in == campaign_id]:
            status = orch.board.get(person.user_id)
            person.wants_ready = status.state is agents.AgentState.READY
            person.reason, person.seated_in, person.since = status.reason, None, self._now()
            leg = orch._legs.pop(person.user_id, None)
            if leg is not None:
                await orch.backend.agent_logout(leg)
            if status.state is agents.AgentState.LOGGED_OUT:
                self.people.pop(person.user_id, None)
                continue
            with contextlib.suppress(agents.InvalidTransition):  # this campaign's session ends
                orch.board.logout(person.user_id, self._now())
            await self._seat_anywhere(person, skip=campaign_id)

    async def close(self) -> None:
        """The engine stops: end the desk's own tasks."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- internals ---------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self.engine.clock.now()

    async def _db(self, fn: Any, key: int | None = None) -> Any:
        return await self.engine.database.call(fn, key=key)

    def _address(self, user_id: int, phone: str) -> str:
        """The phone the backend calls: the user's, or a simulated one on the sim backend."""
        if self.engine.settings.telephony.backend == "sim":
            return f"sim:agent/{user_id}"
        if not phone:
            raise _error("no-phone", f"user {user_id} has no phone address", phone="missing")
        return phone

    def _person(self, user_id: int) -> _Person:
        person = self.people.get(user_id)
        if person is None:
            raise _error("not-logged-in", f"user {user_id} is not logged in", user_id=user_id)
        return person

    def _runners(self, *, is_stopping_ok: bool = True,
                 ) -> list[tuple[int, Any, orchestrator.Orchestrator]]:
        """Campaign runs still going (those stopping finish their calls: still shown)."""
        return [(cid, r, r.orchestrator) for cid, r in self.engine.runners.items()
                if r.orchestrator is not None and r.task is not None and not r.task.done()
                and (is_stopping_ok or not r.is_stopping)]

    def _running(self, campaign_id: int, *, is_stopping_ok: bool = True,
                 ) -> orchestrator.Orchestrator | None:
        return next((o for cid, _, o in self._runners(is_stopping_ok=is_stopping_ok)
                     if cid == campaign_id), None)

    def _orchestrator(self, campaign_id: int) -> orchestrator.Orchestrator:
        orch = self._running(campaign_id)
        if orch is None:
            raise _error("campaign-not-running", f"campaign {campaign_id} is not running",
                         campaign_id=campaign_id)
        return orch

    def _seated(self, user_id: int) -> orchestrator.Orchestrator:
        person = self._person(user_id)
        if person.seated_in is None:
            raise _error("campaign-not-running", "none of your campaigns is running",
                         user_id=user_id)
        return self._orchestrator(person.seated_in)

    async def _ask(self, orch: orchestrator.Orchestrator, name: str, user_id: int,
                   **kwargs: Any) -> agents.AgentStatus:
        try:
            return await asyncio.wait_for(orch.ask(name, user_id, **kwargs), COMMAND_TIMEOUT_S)
        except TimeoutError:
            raise _error("engine-busy", f"the campaign did not answer {name} in time",
                         command=name) from None
        except agents.InvalidTransition as exc:
            raise _error("invalid-agent-transition", exc.message, state=exc.current.value) \
                from exc
        except (orchestrator.PreviewRefused, orchestrator.CampaignStopped) as exc:
            raise _error(exc.error_id, exc.message, isinstance(exc, LookupError),
                         **exc.fields) from exc

    async def _seat_anywhere(self, person: _Person, skip: int | None = None) -> None:
        for campaign_id in person.campaign_ids:
            if campaign_id != skip and self._running(campaign_id, is_stopping_ok=False):
                await self._seat(person, campaign_id)
                return

    async def _seat(self, person: _Person, campaign_id: int) -> None:
        orch = self._orchestrator(campaign_id)
        person.seated_in = campaign_id
        try:
            await self._ask(orch, "login", person.user_id, reason="login", address=person.address)
            if person.wants_ready:
                await self._ask(orch, "resume", person.user_id)
            elif person.reason and person.reason != "login":
                await self._ask(orch, "pause", person.user_id, reason=person.reason)
        except Exception:
            person.seated_in = None
            raise

    async def _unseat(self, person: _Person, *, logout: bool) -> None:
        """Leave the current campaign (still logged in to the desk)."""
        campaign_id, person.seated_in = person.seated_in, None  # first: the logout event
        orch = self._running(campaign_id) if campaign_id is not None else None
        if orch is not None and logout:
            await self._ask(orch, "logout", person.user_id)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro, name="agent-desk")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("agent desk: %s", task.exception())

    def _on_orchestrator(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "agent" and data["state"] == "logged_out":
            person = self.people.get(data["agent_id"])
            if person is not None and person.seated_in == data["campaign_id"]:
                self.people.pop(person.user_id, None)
        if "agent_id" in data:
            data = {**data, "user_id": data.pop("agent_id")}
        self._publish(kind, **data)

    def _publish(self, kind: str, **data: Any) -> None:
        event = {"type": kind, "at": data.pop("at", None) or self._now(), **data}
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    # -- the human side of a campaign's desk -------------------------------------------------

    def on_wrap_up(self, agent_id: int, call_id: str, campaign_id: int) -> None:
        attempt_id = self.engine.recorder.awaiting_agent.pop(call_id, None)
        person = self.people.get(agent_id)
        if person is not None and attempt_id is not None:
            person.wraps[call_id] = attempt_id
        self._publish("wrap", user_id=agent_id, call_id=call_id, attempt_id=attempt_id,
                      campaign_id=campaign_id)

    def on_wrap_end(self, agent_id: int, call_id: str, is_limit: bool) -> None:
        person = self.people.get(agent_id)
        attempt_id = person.wraps.pop(call_id, None) if person is not None else None
        if is_limit and attempt_id is not None:  # no disposition in time: the system's
            self.engine.database.submit(_WrapLimitJob(self, attempt_id, self._now()),
                                        key=attempt_id)

    def note_claimed(self, dialled: db_hopper.Dialled) -> None:
        """Preview: the hopper opened an attempt for an offer (the recorder hears of it at dial)."""
        self._claimed[dialled.attempt_id] = dialled

    def on_preview_dial(self, offer: orchestrator.PreviewOffer) -> None:
        dialled = self._claimed.pop(offer.target.attempt_id or 0, None)
        if dialled is not None:
            self.engine.recorder.note_dialled(dialled)
        if offer.target.attempt_id is not None:
            now = self._now()
            self.engine.database.submit(lambda s: _restart(s, offer.target.attempt_id, now),
                                        key=offer.target.attempt_id)

    def on_preview_released(self, offer: orchestrator.PreviewOffer, reason: str) -> None:
        dialled = self._claimed.pop(offer.target.attempt_id or 0, None)
        if offer.target.attempt_id is not None:
            self.engine.database.submit(_SkipJob(self, offer, dialled, reason, self._now()),
                                        key=offer.target.attempt_id)


class CampaignDesk:
    """One campaign's :class:`~dialer.orchestrator.AgentDesk`: simulated ids to the simulated
    desk, the others to the people's :class:`AgentDesk`."""

    def __init__(self, desk: AgentDesk, campaign_id: int, sim_desk: Any,
                 sim_ids: frozenset[int]) -> None:
        self.desk, self.campaign_id, self.sim_desk, self.sim_ids = desk, campaign_id, sim_desk, sim_ids
        self.orchestrator: orchestrator.Orchestrator | None = None

    def _is_sim(self, agent_id: int) -> bool:
        return self.sim_desk is not None and agent_id in self.sim_ids

    def on_wrap_up(self, agent_id: int, call_id: str) -> None:
        if self._is_sim(agent_id):
            self.sim_desk.on_wrap_up(agent_id, call_id)
            self.desk._publish("wrap", user_id=agent_id, call_id=call_id,
                               campaign_id=self.campaign_id)
        else:
            self.desk.on_wrap_up(agent_id, call_id, self.campaign_id)

    def on_not_ready(self, agent_id: int, reason: str) -> None:
        if self._is_sim(agent_id):
            self.sim_desk.on_not_ready(agent_id, reason)

    def on_wrap_end(self, agent_id: int, call_id: str, is_limit: bool) -> None:
        if not self._is_sim(agent_id):
            self.desk.on_wrap_end(agent_id, call_id, is_limit)

    def on_preview(self, offer: orchestrator.PreviewOffer) -> None:
        if self._is_sim(offer.agent_id) and self.orchestrator is not None:
            delay = self.desk._rng.uniform(*SIM_PREVIEW_S)
            self.desk.engine.clock.call_later(delay, self._sim_dial, offer)

    def _sim_dial(self, offer: orchestrator.PreviewOffer) -> None:
        assert self.orchestrator is not None
        if self.orchestrator.offers.get(offer.agent_id) is offer:
            done = self.orchestrator.ask("preview_dial", offer.agent_id,
                                         record_id=offer.target.record_id)
            done.add_done_callback(lambda f: f.cancelled() or f.exception())

    def on_preview_dial(self, offer: orchestrator.PreviewOffer) -> None:
        self.desk.on_preview_dial(offer)

    def on_preview_released(self, offer: orchestrator.PreviewOffer, reason: str) -> None:
        self.desk.on_preview_released(offer, reason)


def _check_member(session: Session, user_id: int, campaign_ids: list[int]) -> tuple[str, str]:
    """(name, phone address) of an active agent who is a member of every campaign."""
    user = session.get(models.User, user_id)
    if user is None or not user.is_active:
        raise _error("no-such-user", f"no user {user_id}", True, user=user_id)
    if user.role is not Role.AGENT:
        raise _error("not-an-agent", f"user {user.name} is not an agent", role=user.role.value)
    members = set(session.scalars(select(models.CampaignMember.campaign_id).where(
        models.CampaignMember.user_id == user_id)))
    missing = [cid for cid in campaign_ids if cid not in members]
    if missing:
        raise _error("not-a-member", f"user {user.name} is not a member of campaign(s) "
                     f"{', '.join(map(str, missing))}", campaign_ids=missing)
    return user.name, user.phone_address or ""


def _call_view(orch: orchestrator.Orchestrator, status: agents.AgentStatus) -> dict | None:
    if status.state not in (agents.AgentState.RESERVED, agents.AgentState.ON_CALL):
        return None
    call = next((c for c in orch.live_calls() if c["call_id"] == status.call_id), None)
    if call is None:
        return None
    return {"call_id": call["call_id"], "attempt_id": call["attempt_id"],
            "record_id": call["record_id"], "campaign_id": call["campaign_id"],
            "number": call["number"], "state": call["state"],
            "connected_at": call["since"] if call["state"] == "connected" else None}


def _wrap_view(orch: orchestrator.Orchestrator, person: _Person,
               status: agents.AgentStatus) -> dict | None:
    wrap = orch.wraps.get(person.user_id)
    if status.state is not agents.AgentState.WRAP_UP or wrap is None:
        return None
    target = wrap.target or orchestrator.DialTarget("")
    return {"attempt_id": person.wraps.get(wrap.call_id, target.attempt_id),
            "record_id": target.record_id, "campaign_id": orch.settings.campaign_id,
            "number": target.number, "started_at": wrap.started_at,
            "deadline_at": wrap.deadline_at}


def _restart(session: Session, attempt_id: int, now: dt.datetime) -> None:
    """Preview: the attempt opened at the offer starts when the agent dials."""
    attempt = session.get(models.Attempt, attempt_id)
    if attempt is not None and attempt.ended_at is None:
        attempt.started_at = now


class _WrapLimitJob:
    """The wrap limit passed without a disposition: the system's ``answered``."""

    def __init__(self, desk: AgentDesk, attempt_id: int, now: dt.datetime) -> None:
        self.desk, self.attempt_id, self.now = desk, attempt_id, now
        self.__name__ = f"wrap limit of attempt {attempt_id}"

    def __call__(self, session: Session) -> None:
        attempt = session.get(models.Attempt, self.attempt_id)
        if attempt is None or attempt.disposition is not None or attempt.record_id is None:
            return
        recorder = self.desk.engine.recorder
        recording.apply(session, attempt, "answered", now=self.now,
                        notes="no disposition within the wrap-up limit",
                        on_retry=recorder.on_retry, callbacks_cfg=recorder.callbacks_cfg)


class _SkipJob:
    """A preview offer given back: its attempt closes as cancelled (no call), with the reason."""

    def __init__(self, desk: AgentDesk, offer: orchestrator.PreviewOffer,
                 dialled: db_hopper.Dialled | None, reason: str, now: dt.datetime) -> None:
        self.desk, self.offer, self.dialled, self.reason, self.now = desk, offer, dialled, reason, now
        self.__name__ = f"preview release of attempt {offer.target.attempt_id}"

    def __call__(self, session: Session) -> None:
        attempt = session.get(models.Attempt, self.offer.target.attempt_id)
        if attempt is None or attempt.ended_at is not None:
            return
        outcomes.close_attempt(session, attempt, outcome=CallOutcome.CANCELLED, ended_at=self.now,
                               cause="preview_skip" if self.reason.startswith("skip:")
                               else "preview_released", agent_id=self.offer.agent_id)
        recorder = self.desk.engine.recorder
        recording.apply(session, attempt, "cancelled", now=self.now, notes=self.reason,
                        on_retry=recorder.on_retry, callbacks_cfg=recorder.callbacks_cfg,
                        is_callback_call=self.dialled is None or self.dialled.kind == "callback")
        if self.reason.startswith("skip:"):
            audit.record(session, action="preview_skip", entity="record",
                         entity_id=attempt.record_id, actor=str(self.offer.agent_id),
                         details={"attempt_id": attempt.id, "reason": self.reason[5:],
                                  "campaign_id": attempt.campaign_id}, at=self.now)
