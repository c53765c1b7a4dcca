"""The SIP backend: a pool of pjsua2 worker processes driven over pipes.

The PyPI builds of pjsua2 hold at most four calls per process and abort above
about 60 new calls per second, so each call lives in a worker process
(:mod:`telephony.sip_worker`) and this parent only routes: it picks a worker,
caps each worker's call rate (``max_cps_per_worker``), turns worker events into
:class:`~telephony.base.CallEvent`, and replaces a worker that dies (its calls
end ``failed`` with cause ``worker_died``).

Slots per worker (four): an agent's worker holds the agent's always-on leg, at
most two customer calls and one free slot for an incoming bridge leg; a spare
worker holds at most three customer calls and keeps one slot for the outgoing
loopback leg that bridges an answered customer to an agent in another worker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from telephony import base, causes, errors
from telephony.config import SipSettings

logger = logging.getLogger(__name__)

_READY_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 5.0
_AGENT_ANSWER_TIMEOUT_S = 30.0
_MAX_CALLS = 4


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(eq=False)
class _Worker:
    """The parent's view of one worker process."""

    index: int
    port: int
    proc: asyncio.subprocess.Process | None = None
    reader: asyncio.Task[None] | None = None
    ready: asyncio.Future[dict[str, Any]] | None = None
    registered: asyncio.Future[dict[str, Any]] | None = None
    #: exit status of every process this slot has had (0 = clean exit).
    exit_codes: list[int] = field(default_factory=list)
    #: every call id this worker carries (customers, agent leg, bridge legs).
    calls: set[str] = field(default_factory=set)
    #: customer calls only.
    customers: set[str] = field(default_factory=set)
    agent_leg: str | None = None
    next_call_at: float = 0.0
    is_alive: bool = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def customer_capacity(self) -> int:
        return 2 if self.agent_leg else 3


@dataclass(eq=False)
class _Call:
    call_id: str
    worker: _Worker
    kind: str  # "customer", "agent", "bridge_out", "bridge_in"
    handle: base.CallHandle | None = None
    is_answered: bool = False
    answered: asyncio.Future[bool] | None = None
    #: for customers: the bridge leg placed from this call's worker.
    bridge_leg: str | None = None
    leg: base.AgentLeg | None = None


class PjsuaBackend:
    """:class:`~telephony.base.Backend` over pjsua2 worker processes."""

    capabilities = base.Capabilities(supports_amd=False, supports_bridge=True, supports_play=True)

    def __init__(self, settings: SipSettings, *, log_level: int = 0,
                 rtp_timeout_s: float = 60.0) -> None:
        span = (settings.rtp_port_max - settings.rtp_port_min + 1) // settings.workers
        if span < 12:
            raise errors.BackendConfigError(
                "telephony.sip.rtp_port_min..rtp_port_max: fewer than 12 RTP ports per worker",
                fields={"telephony.sip.rtp_port_max": "range too small"})
        if settings.port + settings.workers > 65536:
            raise errors.BackendConfigError("telephony.sip.port: no room for every worker's port",
                                            fields={"telephony.sip.port": "too high"})
        self.settings = settings
        self.log_level = log_level
        #: hang up an answered call after this long without RTP (0: never).
        self.rtp_timeout_s = rtp_timeout_s
        self.rtp_span = span
        self.capabilities = base.Capabilities(
            supports_amd=False, max_calls=settings.workers * 3)
        self.workers = [_Worker(index=i, port=settings.port + i) for i in range(settings.workers)]
        self._calls: dict[str, _Call] = {}
        #: events in order; None once closed (the stream ends).
        self._queue: asyncio.Queue[base.CallEvent | None] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._is_closing = False
        self.replaced_workers = 0

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn every worker and wait until each is listening."""
        await asyncio.gather(*(self._spawn(w) for w in self.workers))

    async def _spawn(self, worker: _Worker) -> None:
        s = self.settings
        config = {"index": worker.index, "port": worker.port, "bind_address": s.bind_address,
                  "transport": s.transport, "domain": s.domain, "proxy": s.proxy,
                  "username": s.username, "password": s.password, "register": s.registration,
                  "rtp_port": s.rtp_port_min + worker.index * self.rtp_span,
                  "rtp_port_range": self.rtp_span, "log_level": self.log_level,
                  "rtp_timeout_s": self.rtp_timeout_s,
                  "parent_pid": os.getpid()}
        loop = asyncio.get_running_loop()
        worker.ready = loop.create_future()
        worker.registered = loop.create_future()
        worker.calls.clear()
        worker.customers.clear()
        worker.agent_leg = None
        worker.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "telephony.sip_worker", json.dumps(config),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        worker.reader = asyncio.create_task(self._read(worker), name=f"sip-worker-{worker.index}")
        try:
            await asyncio.wait_for(asyncio.shield(worker.ready), _READY_TIMEOUT_S)
        except (TimeoutError, RuntimeError) as exc:
            raise errors.TelephonyError(f"sip worker {worker.index} did not start: {exc}",
                                        error_id="sip-worker-failed") from exc
        if s.registration:
            await self._await_registration(worker)
        worker.is_alive = True

    async def _await_registration(self, worker: _Worker) -> None:
        assert worker.registered is not None
        try:
            reg = await asyncio.wait_for(asyncio.shield(worker.registered), _READY_TIMEOUT_S)
        except TimeoutError:
            reg = {"code": 408, "reason": "no answer from the registrar"}
        if not 200 <= int(reg.get("code", 0)) < 300:
            raise errors.BackendConfigError(
                f"telephony.sip.register: registration at {self.settings.domain} failed: "
                f"{reg.get('code')} {reg.get('reason', '')}",
                fields={"telephony.sip.register": str(reg.get("code"))},
                error_id="sip-registration-failed")

    async def close(self) -> None:
        """Hang up everything, stop every worker (by pid, with a deadline)."""
        self._is_closing = True
        for worker in self.workers:
            self._send(worker, {"op": "quit"})
        for worker in self.workers:
            await self._stop(worker)
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._queue.put_nowait(None)  # every end is in the stream: it ends here

    async def _stop(self, worker: _Worker) -> None:
        proc = worker.proc
        if proc is None:
            return
        try:
            await asyncio.wait_for(proc.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if worker.reader is not None:
            await asyncio.gather(worker.reader, return_exceptions=True)
        worker.is_alive = False

    # -- the Backend protocol --------------------------------------------------------------

    async def originate(self, request: base.CallRequest) -> base.CallHandle:
        """Place a customer call on the least loaded worker, within its call-rate cap.

        Raises
        ------
        telephony.errors.BackendConfigError
            When AMD is asked for (pjsua2 has none).
        telephony.errors.CallNotPlaced
            When every worker is full.
        """
        if request.amd:
            raise errors.BackendConfigError(
                "campaign amd: the sip backend has no answering-machine detection",
                fields={"amd": "not supported by the sip backend"}, error_id="amd-unsupported")
        worker = self._pick_worker()
        call_id = f"c{next(self._ids)}"
        handle = base.CallHandle(call_id=call_id, request=request)
        call = _Call(call_id, worker, "customer", handle=handle)
        self._calls[call_id] = call
        worker.calls.add(call_id)
        worker.customers.add(call_id)
        await self._pace(worker)
        headers = {"X-Dialer-Attempt": str(request.attempt_id)} if request.attempt_id else {}
        headers.update(request.variables)
        self._send(worker, {"op": "call", "id": call_id, "uri": self._uri(request.number),
                            "caller_id": request.caller_id or self.settings.caller_id,
                            "timeout_s": request.ring_timeout_s, "headers": headers})
        return handle

    async def hangup(self, handle: base.CallHandle) -> None:
        call = self._calls.get(handle.call_id)
        if call is not None:
            self._send(call.worker, {"op": "hangup", "id": call.call_id})

    async def events(self) -> AsyncIterator[base.CallEvent]:  # type: ignore[override]
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event

    async def bridge(self, handle: base.CallHandle, agent_leg: base.AgentLeg) -> None:
        """Mix an answered customer with an agent leg: in one worker, or via a loopback leg.

        Raises
        ------
        telephony.errors.CallNotPlaced
            When the call or leg is gone, or the customer's worker has no free slot.
        """
        call, leg = self._calls.get(handle.call_id), self._calls.get(agent_leg.leg_id)
        if call is None or leg is None or not call.is_answered:
            raise errors.CallNotPlaced("bridge: the call or the agent leg is gone",
                                       error_id="no-such-call")
        if call.worker is leg.worker:
            self._send(call.worker, {"op": "connect", "a": call.call_id, "b": leg.call_id})
            self._emit(call.call_id, base.EventKind.BRIDGED, leg_id=leg.call_id)
            return
        worker = call.worker
        if len(worker.calls) >= _MAX_CALLS:
            raise errors.CallNotPlaced("bridge: the customer's worker has no free slot",
                                       error_id="no-bridge-slot")
        bridge_id = f"b{next(self._ids)}"
        out = _Call(bridge_id, worker, "bridge_out", leg=agent_leg,
                    answered=asyncio.get_running_loop().create_future())
        self._calls[bridge_id] = out
        worker.calls.add(bridge_id)
        call.bridge_leg = bridge_id
        await self._pace(worker)
        uri = f"sip:bridge-{leg.call_id}-{bridge_id}@{self.settings.bind_address}:{leg.worker.port}"
        self._send(worker, {"op": "call", "id": bridge_id, "uri": uri, "timeout_s": 5})
        self._send(worker, {"op": "connect", "a": call.call_id, "b": bridge_id})
        assert out.answered is not None
        try:
            is_up = await asyncio.wait_for(out.answered, 10)
        except TimeoutError:
            is_up = False
        if not is_up:
            raise errors.CallNotPlaced("bridge: the loopback leg failed", error_id="bridge-failed")
        self._emit(call.call_id, base.EventKind.BRIDGED, leg_id=leg.call_id)

    async def play(self, handle: base.CallHandle, media: str) -> None:
        call = self._calls.get(handle.call_id)
        if call is None:
            raise errors.CallNotPlaced("play: the call is gone", error_id="no-such-call")
        self._send(call.worker, {"op": "play", "id": call.call_id, "file": media})

    async def agent_login(self, agent: base.Agent) -> base.AgentLeg:
        """Call the agent's phone from a worker without an agent and wait for the answer."""
        free = [w for w in self.workers if w.is_alive and w.agent_leg is None
                and len(w.customers) <= 2]
        if not free:
            raise errors.CallNotPlaced("agent login: every worker already hosts an agent",
                                       error_id="no-agent-worker")
        worker = min(free, key=lambda w: len(w.calls))
        leg_id = f"a{next(self._ids)}"
        leg = base.AgentLeg(leg_id=leg_id, agent=agent)
        call = _Call(leg_id, worker, "agent", leg=leg,
                     answered=asyncio.get_running_loop().create_future())
        self._calls[leg_id] = call
        worker.calls.add(leg_id)
        worker.agent_leg = leg_id
        await self._pace(worker)
        self._send(worker, {"op": "call", "id": leg_id, "uri": agent.address,
                            "timeout_s": _AGENT_ANSWER_TIMEOUT_S})
        assert call.answered is not None
        if not await call.answered:
            raise errors.CallNotPlaced(f"agent {agent.agent_id}: the phone did not answer",
                                       error_id="agent-not-reached")
        return leg

    async def agent_logout(self, agent_leg: base.AgentLeg) -> None:
        call = self._calls.get(agent_leg.leg_id)
        if call is not None:
            self._send(call.worker, {"op": "hangup", "id": call.call_id})

    # -- beyond the protocol (tests, benchmark) -------------------------------------------

    async def media_stats(self, call_id: str) -> dict[str, Any] | None:
        """RTP counters and signal levels of one call (``rx_pkt``, ``tx_pkt``, ``*_level``)."""
        call = self._calls.get(call_id)
        if call is None:
            return None
        req = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[req] = future
        self._send(call.worker, {"op": "stats", "req": req, "ids": [call_id]})
        reply = await asyncio.wait_for(future, 5)
        return reply["calls"].get(call_id)

    def live_calls(self) -> int:
        return sum(1 for c in self._calls.values() if c.kind == "customer")

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.pid is not None and w.is_alive]

    def exit_codes(self) -> list[int]:
        """Exit status of every worker process that has ended (0 = clean, negative = signal)."""
        return [code for w in self.workers for code in w.exit_codes]

    def worker_of(self, call_id: str) -> int | None:
        call = self._calls.get(call_id)
        return call.worker.index if call else None

    # -- internals -------------------------------------------------------------------------

    def _uri(self, number: str) -> str:
        if number.startswith(("sip:", "sips:")):
            return number
        return f"sip:{number}@{self.settings.domain}"

    def _pick_worker(self) -> _Worker:
        usable = [w for w in self.workers if w.is_alive
                  and len(w.customers) < w.customer_capacity() and len(w.calls) < _MAX_CALLS - 1]
        if not usable:
            raise errors.CallNotPlaced("every sip worker is full", error_id="no-capacity")
        return min(usable, key=lambda w: (len(w.customers), w.next_call_at))

    async def _pace(self, worker: _Worker) -> None:
        """Wait for the worker's next call slot under ``max_cps_per_worker``."""
        now = time.monotonic()
        at = max(now, worker.next_call_at)
        worker.next_call_at = at + 1.0 / self.settings.max_cps_per_worker
        if at > now:
            await asyncio.sleep(at - now)

    def _send(self, worker: _Worker, command: dict[str, Any]) -> None:
        proc = worker.proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            return
        try:
            proc.stdin.write((json.dumps(command) + "\n").encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the reader sees EOF and replaces the worker

    def _emit(self, call_id: str, kind: base.EventKind, **values: Any) -> None:
        self._queue.put_nowait(base.CallEvent(call_id=call_id, kind=kind, at=_now(), **values))

    async def _read(self, worker: _Worker) -> None:
        proc = worker.proc
        assert proc is not None and proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            try:
                self._on_event(worker, json.loads(line))
            except (ValueError, KeyError):
                logger.warning("sip worker %s: bad event %r", worker.index, line[:200])
        await self._on_exit(worker, proc)

    def _on_event(self, worker: _Worker, ev: dict[str, Any]) -> None:
        kind = ev["ev"]
        if kind == "ready":
            if worker.ready is not None and not worker.ready.done():
                worker.ready.set_result(ev)
            return
        if kind == "failed":
            if worker.ready is not None and not worker.ready.done():
                worker.ready.set_exception(RuntimeError(ev.get("msg", "failed")))
            return
        if kind == "reg":
            if worker.registered is not None and not worker.registered.done():
                worker.registered.set_result(ev)
            elif not 200 <= int(ev.get("code", 0)) < 300:
                logger.warning("sip worker %s: registration lost: %s %s", worker.index,
                               ev.get("code"), ev.get("reason"))
            return
        if kind == "stats":
            future = self._replies.pop(ev.get("req"), None)
            if future is not None and not future.done():
                future.set_result(ev)
            return
        if kind == "incoming":
            self._calls[ev["id"]] = _Call(ev["id"], worker, "bridge_in", is_answered=True)
            worker.calls.add(ev["id"])
            return
        if kind == "error":
            logger.warning("sip worker %s: %s", worker.index, ev.get("msg"))
            return
        call = self._calls.get(ev.get("id", ""))
        if call is None:
            return
        if kind == "ringing":
            if call.kind == "customer":
                self._emit(call.call_id, base.EventKind.RINGING)
        elif kind == "answered":
            call.is_answered = True
            if call.answered is not None and not call.answered.done():
                call.answered.set_result(True)
            if call.kind == "customer":
                self._emit(call.call_id, base.EventKind.ANSWERED)
        elif kind == "ended":
            self._on_ended(call, ev)

    def _on_ended(self, call: _Call, ev: dict[str, Any]) -> None:
        self._forget(call)
        if call.answered is not None and not call.answered.done():
            call.answered.set_result(False)
        if call.kind == "customer":
            status = int(ev.get("status") or 0) or None
            outcome = self._outcome(ev, status)
            self._emit(call.call_id, base.EventKind.ENDED, outcome=outcome, sip_status=status,
                       q850_cause=ev.get("q850"), cause=ev.get("cause") or "")
            if call.bridge_leg is not None:
                leg = self._calls.get(call.bridge_leg)
                if leg is not None:
                    self._send(leg.worker, {"op": "hangup", "id": leg.call_id})
        elif call.kind == "agent" and call.leg is not None:
            self._emit(call.call_id, base.EventKind.ENDED, outcome=base.CallOutcome.ANSWERED
                       if call.is_answered else causes.outcome_from_sip(ev.get("status") or 0),
                       sip_status=int(ev.get("status") or 0) or None,
                       cause=ev.get("cause") or "agent_leg_ended", leg_id=call.call_id)

    @staticmethod
    def _outcome(ev: dict[str, Any], status: int | None) -> base.CallOutcome:
        cause = ev.get("cause") or ""
        if ev.get("is_answered"):
            return base.CallOutcome.ANSWERED
        if cause == "ring_timeout":
            return base.CallOutcome.NO_ANSWER
        if cause in ("hangup", "worker_exit"):
            return base.CallOutcome.CANCELLED
        if cause in ("worker_died", "not_placed"):
            return base.CallOutcome.FAILED
        if status is None and ev.get("q850"):
            return causes.outcome_from_q850(int(ev["q850"]))
        return causes.outcome_from_sip(status or 0)

    def _forget(self, call: _Call) -> None:
        self._calls.pop(call.call_id, None)
        call.worker.calls.discard(call.call_id)
        call.worker.customers.discard(call.call_id)
        if call.worker.agent_leg == call.call_id:
            call.worker.agent_leg = None

    async def _on_exit(self, worker: _Worker, proc: asyncio.subprocess.Process) -> None:
        """The worker's stdout closed: reap it; unless closing, fail its calls and replace it."""
        await proc.wait()
        worker.exit_codes.append(proc.returncode if proc.returncode is not None else -1)
        worker.is_alive = False
        if worker.ready is not None and not worker.ready.done():
            worker.ready.set_exception(RuntimeError(f"exited with {proc.returncode}"))
        if self._is_closing:
            return
        logger.error("sip worker %s (pid %s) died with %s; replacing it", worker.index,
                     proc.pid, proc.returncode)
        for call in [c for c in self._calls.values() if c.worker is worker]:
            self._on_ended(call, {"status": 0, "cause": "worker_died"})
        for call in [c for c in self._calls.values() if c.kind == "bridge_out" and c.leg
                     and self._leg_worker(c.leg.leg_id) in (worker, None)]:
            self._send(call.worker, {"op": "hangup", "id": call.call_id})
        task = asyncio.create_task(self._respawn(worker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _leg_worker(self, leg_id: str) -> _Worker | None:
        call = self._calls.get(leg_id)
        return call.worker if call else None

    async def _respawn(self, worker: _Worker) -> None:
        try:
            await self._spawn(worker)
            self.replaced_workers += 1
        except errors.TelephonyError:
            logger.exception("sip worker %s could not be replaced", worker.index)
