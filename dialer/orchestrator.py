"""The engine's loop: hopper -> pacer -> originate -> events -> agent (or abandon) -> wrap-up.

One :class:`Orchestrator` runs one campaign's calls.  Its clock, backend,
hopper (the source of numbers) and agent desk (the people, or the simulated
workforce) are parameters, so the same code runs ``dialer run`` and the pacing
benchmark (D14).  Everything that happens — backend events, pacing ticks,
connect deadlines, wrap-up limits, agent commands — goes through one inbox and
is handled by one task, in order; each handler is a short list of named calls.

An answered call goes to the longest-idle ready agent; when none is ready it
waits, and if no agent is free within ``connect_deadline_s`` of the moment the
callee picked up (AMD time included) it is abandoned: the recorded message is
played, the call ends, and it counts as abandoned (D4).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from campaigns.enums import DialingMode
from dialer import agents, estimators, pacing
from dialer import errors as dialer_errors
from dialer.agents import AgentState
from telephony import base
from telephony import clock as clockmod
from telephony import errors as telephony_errors
from telephony.base import EventKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DialTarget:
    """One number the hopper hands out."""

    number: str
    record_id: int | None = None
    attempt_id: int | None = None


class Hopper(Protocol):
    """The source of work: the next dialable numbers, at most ``count``; [] when none is due."""

    async def claim(self, count: int) -> list[DialTarget]: ...


class AgentDesk(Protocol):
    """The people: told when an agent starts wrap-up or goes not ready.

    A desk may also have ``on_wrap_end(agent_id, call_id, is_limit)``,
    ``on_preview(offer)`` and ``on_preview_released(offer, reason)`` (preview
    mode: the claimed record went back without a call); they are called when present.
    """

    def on_wrap_up(self, agent_id: int, call_id: str) -> None: ...

    def on_not_ready(self, agent_id: int, reason: str) -> None: ...


@dataclass(frozen=True)
class PreviewOffer:
    """Preview mode: a claimed record shown to one ready agent, dialled only when they say so."""

    agent_id: int
    target: DialTarget
    offered_at: dt.datetime


@dataclass(frozen=True)
class WrapInfo:
    """An agent's wrap-up: the call it follows and when the limit ends it."""

    call_id: str
    target: DialTarget | None
    started_at: dt.datetime
    deadline_at: dt.datetime


class CampaignStopped(dialer_errors.DialerError):
    """The campaign's run ended before the command was handled."""

    error_id = "campaign-not-running"
    is_input_error = True


class PreviewRefused(dialer_errors.DialerError, LookupError):
    """There is no such preview offer for this agent."""

    error_id = "no-such-preview"
    is_input_error = True


@dataclass(frozen=True)
class OrchestratorSettings:
    """How one campaign's calls are run."""

    campaign_id: int = 1
    tick_s: float = 1.0
    #: an answered call must reach an agent this soon after pickup, or it is abandoned.
    connect_deadline_s: float = 2.0
    abandon_media: str = "abandon-message"
    #: "hangup" or "message" (leave ``machine_media``) on a detected machine.
    machine_rule: str = "hangup"
    machine_media: str = "machine-message"
    ring_timeout_s: float = 20.0
    is_amd: bool = False
    caller_id: str = ""
    estimates_refresh_s: float = 30.0
    agent_address: str = "sim:agent/{agent_id}"


@dataclass
class EngineMetrics:
    """What the engine itself observed (the benchmark's ground truth lives in the simulator)."""

    dials: int = 0
    answered: int = 0
    machine_detected: int = 0
    connected: int = 0
    abandoned: int = 0
    not_placed: int = 0
    peak_lines: int = 0
    outcomes: collections.Counter = field(default_factory=collections.Counter)
    decision_s: list[float] = field(default_factory=list)


@dataclass
class _Call:
    handle: base.CallHandle
    dialed_s: float
    state: str = "ringing"  # ringing, waiting, connected, done
    answered_at: Any = None
    agent_id: int | None = None
    connected_s: float = 0.0
    deadline: clockmod.Timer | None = None
    target: DialTarget | None = None
    #: when the current state began (aware UTC).
    since: dt.datetime | None = None
    #: preview: the agent who dialled it (reserved while it rings).
    is_preview: bool = False


@dataclass(frozen=True)
class _Tick:
    pass


@dataclass(frozen=True)
class _Wake:
    """Work became due between ticks (the retry timer released it): pace now."""


@dataclass(frozen=True)
class _Deadline:
    call_id: str


@dataclass(frozen=True)
class _WrapLimit:
    agent_id: int
    call_id: str


@dataclass(frozen=True)
class _Command:
    name: str
    agent_id: int
    reason: str = ""
    record_id: int | None = None
    #: login: the agent's phone (empty: ``settings.agent_address``).
    address: str = ""
    #: resolved with the agent's status once handled (or the refusal), when someone waits.
    done: asyncio.Future[Any] | None = field(default=None, compare=False)


class Inbox:
    """A FIFO with one waiting reader (lighter than ``asyncio.Queue`` on the hot path)."""

    def __init__(self) -> None:
        self._items: collections.deque[Any] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._items.popleft()

    def empty(self) -> bool:
        return not self._items


class Orchestrator:
    """The loop of one campaign; agent commands are the console methods (login, pause...)."""

    def __init__(self, clock: clockmod.Clock, backend: base.Backend, hopper: Hopper, *,
                 pacing_params: pacing.PacingParams | None = None,
                 settings: OrchestratorSettings | None = None,
                 board: agents.AgentBoard | None = None, desk: AgentDesk | None = None,
                 history_30d: tuple[int, int] = (0, 0)) -> None:
        self.clock, self.backend, self.hopper = clock, backend, hopper
        self.params = pacing_params or pacing.PacingParams()
        self.settings = settings or OrchestratorSettings()
        self.board = board or agents.AgentBoard()
        self.desk = desk
        self.metrics = EngineMetrics()
        self.estimator = estimators.PacingEstimator()
        self.controller = estimators.AbandonController(
            self.params.abandon_cap, amd_fp_estimate=self.params.amd_fp_estimate,
            is_amd=self.settings.is_amd)
        self._history_30d = history_30d
        self._estimates: estimators.Estimates | None = None
        self._estimates_at = -1e18
        self._calls: dict[str, _Call] = {}
        self._ringing: dict[str, float] = {}
        self._waiting: dict[str, _Call] = {}
        self._legs: dict[int, base.AgentLeg] = {}
        self._wrap_limits: dict[int, clockmod.Timer] = {}
        self._inbox = Inbox()
        self._tick: clockmod.Timer | None = None
        self._is_dialing = True
        self._is_hopper_empty = False
        #: preview offers by agent; wrap-ups by agent.
        self.offers: dict[int, PreviewOffer] = {}
        self.wraps: dict[int, WrapInfo] = {}
        #: called with (kind, data) on agent changes and call changes (the live views).
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._emitted = 0

    # -- the console (agents, supervisors, the simulated workforce) ---------------------------

    def login(self, agent_id: int) -> None:
        self._inbox.put_nowait(_Command("login", agent_id))

    def logout(self, agent_id: int) -> None:
        self._inbox.put_nowait(_Command("logout", agent_id))

    def pause(self, agent_id: int, reason: str = "not_ready") -> None:
        self._inbox.put_nowait(_Command("pause", agent_id, reason))

    def resume(self, agent_id: int) -> None:
        self._inbox.put_nowait(_Command("resume", agent_id))

    def finish_wrap(self, agent_id: int) -> None:
        self._inbox.put_nowait(_Command("finish_wrap", agent_id))

    def force_not_ready(self, agent_id: int) -> None:
        self._inbox.put_nowait(_Command("pause", agent_id, "supervisor"))

    def force_logout(self, agent_id: int) -> None:
        self._inbox.put_nowait(_Command("logout", agent_id))

    def ask(self, name: str, agent_id: int, *, reason: str = "", record_id: int | None = None,
            address: str = "") -> asyncio.Future[Any]:
        """Queue a console command; the future resolves with the agent's status once handled
        (``login``, ``logout``, ``pause``, ``resume``, ``finish_wrap``, ``preview_dial``,
        ``preview_skip``), or with the refusal (an invalid transition, a telephony error)."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(_Command(name, agent_id, reason, record_id, address, done))
        return done

    def stop_dialing(self) -> None:
        """Place no new call; live calls finish."""
        self._is_dialing = False
        self._inbox.put_nowait(_Tick())

    def wake(self) -> None:
        """Due work was released into the hopper: decide and dial now, not at the next tick.

        Call it on the event loop's thread.
        """
        self._inbox.put_nowait(_Wake())

    def live_calls(self) -> list[dict[str, Any]]:
        """Calls not yet ended: ringing (or, preview, ringing for their agent), waiting, connected."""
        out = []
        for call in self._calls.values():
            if call.state == "done":
                continue
            target = call.target or DialTarget("")
            out.append({"call_id": call.handle.call_id, "campaign_id": self.settings.campaign_id,
                        "state": call.state, "agent_id": call.agent_id, "since": call.since,
                        "number": target.number, "record_id": target.record_id,
                        "attempt_id": target.attempt_id})
        return out

    # -- running -----------------------------------------------------------------------------

    async def run(self, *, until_idle: bool = False) -> None:
        """Serve the inbox until dialing stopped and nothing is left (or, with ``until_idle``,
        until no call is live, no agent is busy and no more work or agent is there)."""
        pump = asyncio.create_task(self._pump())
        self._arm_tick(0.0)
        try:
            while not self._is_done(until_idle):
                await self._dispatch(await self._inbox.get())
        finally:
            if self._tick is not None:
                self._tick.cancel()
            self._refuse_left_commands()
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)

    def _refuse_left_commands(self) -> None:
        while not self._inbox.empty():
            done = getattr(self._inbox._items.popleft(), "done", None)
            if done is not None and not done.done():
                done.set_exception(CampaignStopped())

    async def run_until_idle(self) -> None:
        """Run until there is nothing left to do now (tests, burst runs)."""
        await self.run(until_idle=True)

    def _is_done(self, until_idle: bool) -> bool:
        if not self._inbox.empty() or self._calls or self.offers \
                or any(s.state in agents.BUSY_STATES for s in self.board):
            return False
        if not self._is_dialing:
            return True
        return until_idle and (self._is_hopper_empty or self.board.count(AgentState.READY) == 0)

    async def _pump(self) -> None:
        async for event in self.backend.events():
            self._inbox.put_nowait(event)

    async def _dispatch(self, item: Any) -> None:
        done = getattr(item, "done", None)
        try:
            if isinstance(item, base.CallEvent):
                await self._on_event(item)
            elif isinstance(item, _Tick):
                await self._on_tick()
            elif isinstance(item, _Wake):
                if self._is_dialing:
                    await self._pace()
            elif isinstance(item, _Deadline):
                await self._on_deadline(item.call_id)
            elif isinstance(item, _WrapLimit):
                await self._on_wrap_limit(item)
            else:
                await getattr(self, f"_cmd_{item.name}")(item)
                if done is not None and not done.done():
                    done.set_result(self.board.get(item.agent_id))
        except (telephony_errors.TelephonyError, agents.InvalidTransition,
                agents.UnknownAgent, PreviewRefused) as exc:
            if done is not None and not done.done():
                done.set_exception(exc)
            else:
                logger.warning("orchestrator: %s while handling %r", exc, item,
                               extra={"campaign_id": self.settings.campaign_id})
        finally:
            if self.listeners:
                self._emit_agent_changes()

    def _emit(self, kind: str, **data: Any) -> None:
        if self.listeners:
            data["campaign_id"] = self.settings.campaign_id
            for listener in self.listeners:
                listener(kind, data)

    def _emit_agent_changes(self) -> None:
        fresh, self._emitted = self.board.history[self._emitted:], len(self.board.history)
        for change in fresh:
            self._emit("agent", agent_id=change.agent_id, state=change.state.value,
                       reason=change.reason, at=change.at, call_id=change.call_id)

    # -- pacing and dialing ------------------------------------------------------------------

    def _arm_tick(self, delay_s: float | None = None) -> None:
        delay = self.settings.tick_s if delay_s is None else delay_s
        self._tick = self.clock.call_later(delay, self._inbox.put_nowait, _Tick())

    async def _on_tick(self) -> None:
        if not self._is_dialing:
            for agent_id in list(self.offers):
                self._release_offer(agent_id, "stopped")
            return
        self._arm_tick()
        await self._pace()

    async def _pace(self) -> None:
        """One pacing decision and its dials (or, in preview, offers)."""
        if self.params.mode is DialingMode.PREVIEW:
            await self._offer_previews()
            return
        count = self._decide()
        if count:
            await self._dial(count)

    def _decide(self) -> int:
        self._refresh_estimates()
        started = time.thread_time()  # CPU time: other processes' load does not count
        count = pacing.calls_to_place(self._stats(), self.params)
        self.metrics.decision_s.append(time.thread_time() - started)
        return count

    def _refresh_estimates(self) -> None:
        """Rebuild the estimate tables every ``estimates_refresh_s`` (predictive only)."""
        mono = self.clock.monotonic()
        if (self.params.mode is not DialingMode.PREDICTIVE
                or mono - self._estimates_at < self.settings.estimates_refresh_s):
            return
        now = self.clock.now()
        on_call = [s.elapsed_s(now) for s in self.board if s.state is AgentState.ON_CALL]
        wrap = [s.elapsed_s(now) for s in self.board if s.state is AgentState.WRAP_UP]
        self._estimates, self._estimates_at = self.estimator.snapshot(on_call, wrap), mono

    def _stats(self) -> pacing.PacingStats:
        """What the pacer needs; the ages and estimates only when predictive uses them."""
        mono, now = self.clock.monotonic(), self.clock.now()
        is_predictive = self.params.mode is DialingMode.PREDICTIVE
        ready, on_call, wrap = self.board.count(AgentState.READY), [], []
        if is_predictive:
            for status in self.board:
                if status.state is AgentState.ON_CALL:
                    on_call.append((now - status.since).total_seconds())
                elif status.state is AgentState.WRAP_UP:
                    wrap.append((now - status.since).total_seconds())
        live_30d, abandoned_30d = self._history_30d
        ctl = self.controller
        return pacing.PacingStats(
            ready_agents=ready, ringing_ages_s=[mono - t for t in self._ringing.values()],
            on_call_elapsed_s=on_call, wrap_elapsed_s=wrap, waiting_calls=len(self._waiting),
            lines_in_use=len(self._calls), live_today=ctl.live, abandoned_today=ctl.abandoned,
            live_30d=live_30d + ctl.live, abandoned_30d=abandoned_30d + ctl.abandoned,
            estimates=self._estimates, overflow_target=ctl.overflow_target)

    async def _dial(self, count: int) -> None:
        targets = await self.hopper.claim(count)
        self._is_hopper_empty = len(targets) < count
        for target in targets:
            await self._originate(target)
        self.metrics.peak_lines = max(self.metrics.peak_lines, len(self._calls))

    async def _originate(self, target: DialTarget) -> base.CallHandle | None:
        s = self.settings
        request = base.CallRequest(target.number, caller_id=s.caller_id,
                                   ring_timeout_s=s.ring_timeout_s, campaign_id=s.campaign_id,
                                   attempt_id=target.attempt_id, amd=s.is_amd)
        try:
            handle = await self.backend.originate(request)
        except telephony_errors.TelephonyError as exc:
            self.metrics.not_placed += 1
            logger.warning("call not placed: %s", exc, extra={"campaign_id": s.campaign_id})
            return None
        self.metrics.dials += 1
        self._calls[handle.call_id] = _Call(handle, self.clock.monotonic(), target=target,
                                            since=self.clock.now())
        self._ringing[handle.call_id] = self.clock.monotonic()
        self._emit("call", call_id=handle.call_id, state="ringing", agent_id=None)
        return handle

    # -- call events -------------------------------------------------------------------------

    async def _on_event(self, event: base.CallEvent) -> None:
        call = self._calls.get(event.call_id)
        if call is None:
            return
        if event.kind is EventKind.ANSWERED:
            await self._on_answered(call, event)
        elif event.kind is EventKind.MACHINE_DETECTED:
            await self._on_machine(call)
        elif event.kind is EventKind.ENDED:
            await self._on_ended(call, event)

    def _resolve(self, call: _Call, is_connect: bool) -> None:
        dialed = self._ringing.pop(call.handle.call_id, None)
        if dialed is not None:
            self.estimator.record_resolution(self.clock.monotonic() - dialed, is_connect)

    async def _on_answered(self, call: _Call, event: base.CallEvent) -> None:
        self._resolve(call, True)
        self.metrics.answered += 1
        if call.is_preview and call.agent_id is not None:  # the agent who dialled waits for it
            await self._bridge_reserved(call, call.agent_id)
            return
        call.state, call.answered_at, call.since = "waiting", event.at, self.clock.now()
        self._emit("call", call_id=call.handle.call_id, state="waiting", agent_id=None)
        remaining = self.settings.connect_deadline_s - (self.clock.now() - event.at).total_seconds()
        agent = self.board.longest_idle(self.settings.campaign_id)
        if remaining <= 0:  # AMD took the whole allowance
            self._waiting[call.handle.call_id] = call
            await self._on_deadline(call.handle.call_id)
            return
        if agent is not None:
            await self._connect(call, agent.agent_id)
            return
        self._waiting[call.handle.call_id] = call
        call.deadline = self.clock.call_later(remaining, self._inbox.put_nowait,
                                              _Deadline(call.handle.call_id))

    async def _on_machine(self, call: _Call) -> None:
        self._resolve(call, False)
        self.metrics.machine_detected += 1
        call.state = "done"
        if self.settings.machine_rule == "message":
            await self.backend.play(call.handle, self.settings.machine_media)
        await self.backend.hangup(call.handle)

    async def _on_ended(self, call: _Call, event: base.CallEvent) -> None:
        self._resolve(call, False)
        del self._calls[call.handle.call_id]
        self.metrics.outcomes[event.outcome.value if event.outcome else "unknown"] += 1
        self._emit("call", call_id=call.handle.call_id, state="ended", agent_id=call.agent_id,
                   outcome=event.outcome.value if event.outcome else None)
        if call.state == "waiting":
            self._abandon_waiting(call)
        elif call.state == "connected" and call.agent_id is not None:
            self.estimator.record_talk(self.clock.monotonic() - call.connected_s)
            self._start_wrap(call.agent_id, call.handle.call_id, call.target)
        elif call.is_preview and call.agent_id is not None:  # not reached: the agent is free
            status = self.board.get(call.agent_id)
            if status.state is AgentState.RESERVED and status.call_id == call.handle.call_id:
                await self._after_change(self.board.release(call.agent_id, self.clock.now()))

    async def _on_deadline(self, call_id: str) -> None:
        call = self._waiting.get(call_id)
        if call is None:
            return
        self._abandon_waiting(call)
        await self.backend.play(call.handle, self.settings.abandon_media)
        await self.backend.hangup(call.handle)

    def _abandon_waiting(self, call: _Call) -> None:
        self._waiting.pop(call.handle.call_id, None)
        if call.deadline is not None:
            call.deadline.cancel()
        call.state = "done"
        self.metrics.abandoned += 1
        self.controller.record_live(True)

    # -- agents ------------------------------------------------------------------------------

    async def _connect(self, call: _Call, agent_id: int) -> None:
        """Reserve the agent, bridge, and count a connected answer."""
        self._waiting.pop(call.handle.call_id, None)
        if call.deadline is not None:
            call.deadline.cancel()
        self.board.reserve(agent_id, call.handle.call_id, self.clock.now())
        await self._bridge_reserved(call, agent_id)

    async def _bridge_reserved(self, call: _Call, agent_id: int) -> None:
        """Bridge the call to its reserved agent (back to ready if the bridge fails)."""
        try:
            await self.backend.bridge(call.handle, self._legs[agent_id])
        except telephony_errors.TelephonyError:
            self.board.release(agent_id, self.clock.now())
            raise
        self.board.connect(agent_id, self.clock.now())
        call.state, call.agent_id, call.connected_s = "connected", agent_id, self.clock.monotonic()
        call.since = self.clock.now()
        self.metrics.connected += 1
        self.controller.record_live(False)
        self._emit("call", call_id=call.handle.call_id, state="connected", agent_id=agent_id)

    async def _offer_waiting(self, agent_id: int) -> None:
        """A ready agent takes the oldest waiting call, if any."""
        if self._waiting and self.board.get(agent_id).state is AgentState.READY:
            call = next(iter(self._waiting.values()))
            await self._connect(call, agent_id)

    def _start_wrap(self, agent_id: int, call_id: str, target: DialTarget | None = None) -> None:
        now = self.clock.now()
        self.board.start_wrap(agent_id, now)
        limit_s = self.board.wrap.limit_s
        self._wrap_limits[agent_id] = self.clock.call_later(
            limit_s, self._inbox.put_nowait, _WrapLimit(agent_id, call_id))
        self.wraps[agent_id] = WrapInfo(call_id, target, now, now + dt.timedelta(seconds=limit_s))
        if self.desk is not None:
            self.desk.on_wrap_up(agent_id, call_id)

    async def _end_wrap(self, agent_id: int, *, is_limit: bool) -> None:
        limit = self._wrap_limits.pop(agent_id, None)
        if limit is not None:
            limit.cancel()
        wrap_s = self.board.get(agent_id).elapsed_s(self.clock.now())
        call_id = self.board.get(agent_id).call_id
        status = self.board.finish_wrap(agent_id, self.clock.now(), is_limit=is_limit)
        self.wraps.pop(agent_id, None)
        self.estimator.record_wrap(wrap_s)
        on_wrap_end = getattr(self.desk, "on_wrap_end", None)
        if on_wrap_end is not None and call_id is not None:
            on_wrap_end(agent_id, call_id, is_limit)
        await self._after_change(status)

    async def _after_change(self, status: agents.AgentStatus) -> None:
        """Follow-ups of an agent's new state: a waiting call, the desk, the leg."""
        if status.state is not AgentState.READY and status.agent_id in self.offers:
            self._release_offer(status.agent_id, f"agent_{status.state.value}")
        if status.state is AgentState.READY:
            await self._offer_waiting(status.agent_id)
        elif status.state is AgentState.NOT_READY and self.desk is not None:
            self.desk.on_not_ready(status.agent_id, status.reason)
        elif status.state is AgentState.LOGGED_OUT and status.agent_id in self._legs:
            await self.backend.agent_logout(self._legs.pop(status.agent_id))

    async def _on_wrap_limit(self, item: _WrapLimit) -> None:
        status = self.board.get(item.agent_id)
        if status.state is AgentState.WRAP_UP and status.call_id == item.call_id:
            await self._end_wrap(item.agent_id, is_limit=True)

    async def _cmd_login(self, cmd: _Command) -> None:
        address = cmd.address or self.settings.agent_address.format(agent_id=cmd.agent_id)
        if cmd.agent_id not in self._legs:
            self._legs[cmd.agent_id] = await self.backend.agent_login(base.Agent(cmd.agent_id,
                                                                                 address))
        status = self.board.login(cmd.agent_id, self.clock.now(), is_ready=cmd.reason != "login",
                                  campaign_ids=frozenset({self.settings.campaign_id}))
        await self._after_change(status)

    async def _cmd_logout(self, cmd: _Command) -> None:
        await self._after_change(self.board.logout(cmd.agent_id, self.clock.now()))

    async def _cmd_pause(self, cmd: _Command) -> None:
        status = self.board.pause(cmd.agent_id, cmd.reason, self.clock.now())
        if status.state is AgentState.NOT_READY:
            await self._after_change(status)

    async def _cmd_resume(self, cmd: _Command) -> None:
        status = self.board.get(cmd.agent_id)
        if status.state is AgentState.NOT_READY:
            await self._after_change(self.board.ready(cmd.agent_id, self.clock.now()))

    async def _cmd_finish_wrap(self, cmd: _Command) -> None:
        if self.board.get(cmd.agent_id).state is AgentState.WRAP_UP:
            await self._end_wrap(cmd.agent_id, is_limit=False)

    # -- preview mode ------------------------------------------------------------------------

    async def _offer_previews(self) -> None:
        """Each ready agent without an offer is shown the next claimed record."""
        idle = [s.agent_id for s in self.board.ready_in_order(self.settings.campaign_id)
                if s.agent_id not in self.offers]
        if not idle:
            return
        targets = await self.hopper.claim(len(idle))
        self._is_hopper_empty = len(targets) < len(idle)
        on_preview = getattr(self.desk, "on_preview", None)
        for agent_id, target in zip(idle, targets, strict=False):
            offer = self.offers[agent_id] = PreviewOffer(agent_id, target, self.clock.now())
            self._emit("preview", agent_id=agent_id, record_id=target.record_id, state="offered")
            if on_preview is not None:
                on_preview(offer)

    def _release_offer(self, agent_id: int, reason: str) -> None:
        offer = self.offers.pop(agent_id)
        self._emit("preview", agent_id=agent_id, record_id=offer.target.record_id,
                   state="released", reason=reason)
        on_released = getattr(self.desk, "on_preview_released", None)
        if on_released is not None:
            on_released(offer, reason)

    def _take_offer(self, cmd: _Command) -> PreviewOffer:
        offer = self.offers.get(cmd.agent_id)
        if offer is None or (cmd.record_id is not None and offer.target.record_id != cmd.record_id):
            raise PreviewRefused(f"agent {cmd.agent_id} has no preview of record {cmd.record_id}",
                                 fields={"record_id": str(cmd.record_id)})
        return offer

    async def _cmd_preview_dial(self, cmd: _Command) -> None:
        offer = self._take_offer(cmd)
        if self.board.get(cmd.agent_id).state is not AgentState.READY:
            raise agents.InvalidTransition(cmd.agent_id, self.board.get(cmd.agent_id).state,
                                           AgentState.RESERVED)
        del self.offers[cmd.agent_id]
        handle = await self._originate(offer.target)
        if handle is None:  # not placed: the attempt is closed as failed; the agent stays ready
            return
        call = self._calls[handle.call_id]
        call.agent_id, call.is_preview = cmd.agent_id, True
        self.board.reserve(cmd.agent_id, handle.call_id, self.clock.now())

    async def _cmd_preview_skip(self, cmd: _Command) -> None:
        self._take_offer(cmd)
        self._release_offer(cmd.agent_id, cmd.reason or "skipped")


class ListHopper:
    """A hopper over a fixed list (tests, the benchmark's endless generator)."""

    def __init__(self, numbers: Any) -> None:
        self._numbers = iter(numbers)

    async def claim(self, count: int) -> list[DialTarget]:
        out: list[DialTarget] = []
        if count <= 0:
            return out
        for number in self._numbers:
            out.append(DialTarget(number))
            if len(out) >= count:
                break
        return out
