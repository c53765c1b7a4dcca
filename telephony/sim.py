"""The simulated carrier: statistical customers and simulated agents behind the ``Backend`` protocol.

It runs the demo and campaign rehearsals on the real clock, and the pacing
benchmark on a :class:`telephony.clock.VirtualClock` (a day in seconds).  It
reports only what a real backend would — ``ringing``, ``answered``,
``machine_detected``, ``bridged``, ``ended`` with a SIP status and a Q.850
cause — and keeps the truth about each call (its real class, when it will
answer, how long it will talk) to itself; the benchmark reads that truth from
:attr:`SimulatedBackend.truth`, a :class:`SimTruth`.

Customers are drawn from a :class:`CustomerProfile` whose numbers may change
over the day (:class:`Schedule`).  Every random draw of a call comes from a
generator seeded by ``(seed, number)``, so the same seed dials the same
customers whatever the pacing policy and whatever the order.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import itertools
import math
import random
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from telephony import base, errors
from telephony import clock as clockmod
from telephony.base import CallOutcome, EventKind

#: (outcome, SIP status, Q.850 cause, cause text) of each way a call ends.
RAW_CODES: dict[str, tuple[CallOutcome, int | None, int | None, str]] = {
    "busy": (CallOutcome.BUSY, 486, 17, "user_busy"),
    "no_answer": (CallOutcome.NO_ANSWER, 487, 19, "ring_timeout"),
    "rejected": (CallOutcome.REJECTED, 603, 21, "call_rejected"),
    "invalid_number": (CallOutcome.INVALID_NUMBER, 404, 1, "unallocated_number"),
    "congestion": (CallOutcome.CONGESTION, 503, 34, "no_circuit_available"),
    "failed": (CallOutcome.FAILED, 500, 41, "temporary_failure"),
    "cancelled": (CallOutcome.CANCELLED, 487, 16, "local_cancel"),
    "answered_local": (CallOutcome.ANSWERED, 200, 16, "local_hangup"),
    "answered_remote": (CallOutcome.ANSWERED, 200, 16, "remote_hangup"),
    "machine_local": (CallOutcome.MACHINE, 200, 16, "local_hangup"),
    "machine_remote": (CallOutcome.MACHINE, 200, 16, "remote_hangup"),
    "closed": (CallOutcome.FAILED, None, 41, "backend_closed"),
}

#: the last two digits of a number in the fictional 555-01xx range -> scripted class.
SCRIPTED_SUFFIXES: dict[str, str] = {
    "00": "live", "01": "machine", "02": "busy", "03": "no_answer", "04": "rejected",
    "05": "invalid_number", "06": "congestion", "07": "failed", "08": "live_hangs_up",
}
_SCRIPTED_NUMBER = re.compile(r"55501(\d\d)$")

# ---------------------------------------------------------------------------------------------
# Parameters that change over the day


@dataclass(frozen=True)
class Schedule:
    """A number over the shift: constant, linear ``{from, to}``, or steps ``[[hour, value], …]``.

    >>> Schedule.linear(0.3, 0.1, shift_h=8).at(4.0)
    0.2
    >>> Schedule.steps([(0, 10), (4, 8)]).at(5.5)
    8.0
    """

    points: tuple[tuple[float, float], ...]
    kind: str = "constant"  # constant | linear | steps

    @classmethod
    def constant(cls, value: float) -> Schedule:
        return cls(((0.0, float(value)),), "constant")

    @classmethod
    def linear(cls, start: float, end: float, shift_h: float) -> Schedule:
        return cls(((0.0, float(start)), (float(shift_h), float(end))), "linear")

    @classmethod
    def steps(cls, steps: Iterable[tuple[float, float]]) -> Schedule:
        points = tuple(sorted((float(h), float(v)) for h, v in steps))
        if not points:
            raise ValueError("a step schedule needs at least one [hour, value]")
        return cls(points, "steps")

    def at(self, hour: float) -> float:
        """The value ``hour`` hours into the shift."""
        if self.kind == "constant":
            return self.points[0][1]
        if self.kind == "linear":
            (h0, v0), (h1, v1) = self.points
            frac = min(1.0, max(0.0, (hour - h0) / (h1 - h0))) if h1 > h0 else 1.0
            return round(v0 + (v1 - v0) * frac, 12)
        index = bisect.bisect_right([h for h, _ in self.points], hour) - 1
        return self.points[max(0, index)][1]

    def mean(self, shift_h: float, step_h: float = 1 / 60) -> float:
        """Time-weighted mean over ``[0, shift_h]``."""
        count = max(1, int(shift_h / step_h))
        return sum(self.at((i + 0.5) * shift_h / count) for i in range(count)) / count


def as_schedule(value: float | Schedule) -> Schedule:
    return value if isinstance(value, Schedule) else Schedule.constant(value)


@dataclass(frozen=True)
class Distribution:
    """A lognormal duration given by its mean and coefficient of variation (each may vary)."""

    mean_s: Schedule
    cv: Schedule

    @classmethod
    def of(cls, mean_s: float | Schedule, cv: float | Schedule = 0.0) -> Distribution:
        return cls(as_schedule(mean_s), as_schedule(cv))

    def value(self, z: float, hour: float) -> float:
        """The duration whose standard-normal score is ``z``, with the parameters at ``hour``."""
        mean, cv = self.mean_s.at(hour), self.cv.at(hour)
        if cv <= 0 or mean <= 0:
            return max(0.0, mean)
        sigma2 = math.log1p(cv * cv)
        return math.exp(math.log(mean) - sigma2 / 2 + math.sqrt(sigma2) * z)


@dataclass(frozen=True)
class AmdProfile:
    """Answering-machine detection: accuracy and decision times."""

    #: probability that a live answer is judged a machine.
    false_positive: float = 0.0
    #: probability that a machine is judged live.
    false_negative: float = 0.0
    live_decision_s: float = 0.5
    machine_decision_s: float = 3.0


@dataclass(frozen=True)
class CustomerProfile:
    """Who answers and how: class probabilities (the rest is no answer) and durations."""

    live: Schedule = Schedule.constant(0.25)
    machine: Schedule = Schedule.constant(0.15)
    busy: Schedule = Schedule.constant(0.10)
    rejected: Schedule = Schedule.constant(0.0)
    failed: Schedule = Schedule.constant(0.0)
    answer_delay: Distribution = Distribution.of(9.0, 0.5)
    busy_resolve_s: float = 4.0
    talk: Distribution = Distribution.of(120.0, 0.8)
    #: how long an agent spends on an undetected machine before hanging up.
    machine_handling_s: Schedule = Schedule.constant(8.0)
    amd: AmdProfile | None = None
    #: a live callee left in silence hangs up after this long.
    patience_s: float = 8.0
    #: a machine records this long, then hangs up.
    machine_message_s: float = 30.0
    #: delay before ``ringing`` (180) is reported.
    ringing_after_s: float = 0.3


@dataclass(frozen=True)
class BreakProfile:
    per_agent: int
    minutes: float
    between_h: tuple[float, float]


@dataclass(frozen=True)
class WorkforceProfile:
    """Simulated agents: how many are logged in over the shift, wrap-up times, breaks."""

    agents: Schedule = Schedule.constant(10)
    wrap: Distribution = Distribution.of(15.0, 0.3)
    breaks: BreakProfile | None = None


# ---------------------------------------------------------------------------------------------
# The truth, seen only by the benchmark


@dataclass
class CallTruth:
    """What really happens on one call (never reported as an event)."""

    call_id: str
    number: str
    #: live, machine, busy, no_answer, rejected, failed, invalid_number, congestion.
    klass: str
    originated_s: float
    answer_delay_s: float | None = None
    talk_s: float = 0.0
    amd_verdict: str | None = None
    picked_up_s: float | None = None
    bridged_s: float | None = None
    ended_s: float | None = None

    @property
    def is_abandoned(self) -> bool:
        """A live callee who answered and was not with an agent within 2 s."""
        if self.klass != "live" or self.picked_up_s is None:
            return False
        return self.bridged_s is None or self.bridged_s - self.picked_up_s > 2.0 + 1e-9


@dataclass
class SimTruth:
    """Running ground-truth totals of a simulated day (AMD false positives counted)."""

    dials: int = 0
    live_answers: int = 0
    machine_answers: int = 0
    abandoned_live: int = 0
    amd_false_positives: int = 0
    amd_false_negatives: int = 0
    live_connected: int = 0
    machine_connected: int = 0
    talk_s: float = 0.0
    machine_handling_s: float = 0.0
    peak_calls: int = 0

    def record(self, truth: CallTruth) -> None:
        """Count one finished call."""
        if truth.picked_up_s is None:
            return
        if truth.klass == "live":
            self.live_answers += 1
            self.abandoned_live += truth.is_abandoned
            self.amd_false_positives += truth.amd_verdict == "machine"
            if truth.bridged_s is not None and not truth.is_abandoned:
                self.live_connected += 1
        else:
            self.machine_answers += 1
            self.amd_false_negatives += truth.amd_verdict == "live"
            if truth.bridged_s is not None:
                self.machine_connected += 1

    @property
    def abandon_rate(self) -> float:
        return self.abandoned_live / self.live_answers if self.live_answers else 0.0


# ---------------------------------------------------------------------------------------------
# The backend


class _Channel:
    """Events waiting for the reader: a deque and one waiter (cheaper than asyncio.Queue)."""

    def __init__(self) -> None:
        self._items: collections.deque[base.CallEvent | None] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: base.CallEvent | None) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> base.CallEvent | None:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._items.popleft()


@dataclass
class _Call:
    handle: base.CallHandle
    truth: CallTruth
    state: str = "dialing"  # dialing, answered, machine, bridged, ended
    timers: list[clockmod.Timer] = field(default_factory=list)
    leg_id: str | None = None
    #: the scripted class of the number, or None (profile customers).
    scripted: str | None = None


class SimulatedBackend:
    """A statistical carrier: customers drawn from a profile, reproducible from a seed.

    Each call's class (live, machine, busy, no answer, rejected, failed) is drawn
    with the probabilities at the hour it is dialled; a live or machine answer
    comes after a lognormal answer delay truncated at the request's ring
    timeout; busy ends after ``busy_resolve_s``; no answer ends at the ring
    timeout (CANCEL, 487).  With AMD requested and a profile ``amd``, the
    verdict (with its false positives and negatives) is reported after the
    decision time as ``answered`` or ``machine_detected``, the event's ``at``
    being the moment the callee picked up (AMD time counts against the 2 s
    rule).  A bridged call lasts the customer's talk time (an undetected
    machine: ``machine_handling_s``), then ends ``answered`` (200, Q.850 16).

    Deterministic numbers, for contract tests: a number ending in ``55501dd``
    (the fictional 555-0100…0199 range, e.g. ``+12125550102``) behaves by its
    last two digits: ``00`` live answer that stays up until hung up or bridged,
    ``01`` machine, ``02`` busy (486/17), ``03`` no answer until the ring
    timeout (487/19), ``04`` rejected (603/21), ``05`` invalid number (404/1),
    ``06`` congestion (503/34), ``07`` failed (500/41), ``08`` live answer whose
    callee hangs up after ``scripted_talk_s``.  Scripted calls ring for
    ``scripted_ring_s`` (default 0.2 s).  ``scripted={number: class}`` does the
    same for any number.  Other digits follow the profile.
    """

    def __init__(self, clock: clockmod.Clock, profile: CustomerProfile | None = None, *,
                 seed: int = 1, scripted: Mapping[str, str] | None = None,
                 scripted_ring_s: float = 0.2, scripted_talk_s: float = 1.0,
                 is_amd_supported: bool = True, max_calls: int | None = None) -> None:
        self.clock = clock
        self.profile = profile or CustomerProfile()
        self.seed = seed
        self.capabilities = base.Capabilities(supports_amd=is_amd_supported, max_calls=max_calls)
        self.truth = SimTruth()
        self._scripted = dict(scripted or {})
        self._scripted_ring_s = scripted_ring_s
        self._scripted_talk_s = scripted_talk_s
        self._calls: dict[str, _Call] = {}
        self._legs: dict[str, base.AgentLeg] = {}
        self._leg_class: dict[str, str] = {}
        self._queue: _Channel | None = None
        self._ids = itertools.count(1)
        self._origin_s = 0.0
        self._is_started = False
        self.played: list[tuple[str, str]] = []

    @classmethod
    def from_settings(cls, settings: Any, clock: clockmod.Clock) -> SimulatedBackend:
        """Build from ``[telephony.sim]`` (:class:`telephony.config.SimSettings`)."""
        amd = None
        if settings.amd_false_positive or settings.amd_false_negative:
            amd = AmdProfile(settings.amd_false_positive, settings.amd_false_negative)
        profile = CustomerProfile(
            live=Schedule.constant(settings.live), machine=Schedule.constant(settings.machine),
            busy=Schedule.constant(settings.busy), rejected=Schedule.constant(settings.rejected),
            failed=Schedule.constant(settings.failed),
            answer_delay=Distribution.of(settings.answer_delay_mean_s, settings.answer_delay_cv),
            talk=Distribution.of(settings.talk_mean_s, settings.talk_cv),
            machine_handling_s=Schedule.constant(settings.machine_handling_s), amd=amd)
        return cls(clock, profile, seed=settings.seed)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._queue = _Channel()
        self._origin_s = self.clock.monotonic()
        self._is_started = True

    async def close(self) -> None:
        if not self._is_started:
            return
        for call in list(self._calls.values()):
            self._end(call, "closed")
        self._legs.clear()
        self._is_started = False
        assert self._queue is not None
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[base.CallEvent]:
        if self._queue is None:
            raise errors.TelephonyError("the simulated backend is not started")
        queue = self._queue
        while True:
            event = await queue.get()
            if event is None:
                return
            yield event

    def class_on_leg(self, leg_id: str) -> str | None:
        """The true class (live, machine) of the last call bridged to a leg (for the workforce)."""
        return self._leg_class.get(leg_id)

    @property
    def live_calls(self) -> int:
        """Calls not yet ended (for teardown checks)."""
        return len(self._calls)

    # -- calls -------------------------------------------------------------------------------

    async def originate(self, request: base.CallRequest) -> base.CallHandle:
        if not self._is_started:
            raise errors.CallNotPlaced("the simulated backend is not started")
        if self.capabilities.max_calls is not None and len(self._calls) >= self.capabilities.max_calls:
            raise errors.CallNotPlaced("no free line", fields={"max_calls": str(self.capabilities.max_calls)})
        if request.amd and not self.capabilities.supports_amd:
            raise errors.BackendConfigError("AMD is not supported by this backend", fields={"amd": "true"})
        handle = base.CallHandle(f"sim-{next(self._ids)}", request)
        call = self._draw(handle)
        self._calls[handle.call_id] = call
        self.truth.dials += 1
        self.truth.peak_calls = max(self.truth.peak_calls, len(self._calls))
        self._schedule(call)
        return handle

    async def hangup(self, handle: base.CallHandle) -> None:
        call = self._calls.get(handle.call_id)
        if call is None:
            return
        if call.state == "dialing":
            self._end(call, "cancelled")
        elif call.state == "machine":
            self._end(call, "machine_local")
        else:
            self._end(call, "answered_local")

    async def bridge(self, handle: base.CallHandle, agent_leg: base.AgentLeg) -> None:
        call = self._calls.get(handle.call_id)
        if call is None or call.state not in ("answered", "machine"):
            raise errors.TelephonyError("the call cannot be bridged", error_id="not-answered",
                                        fields={"call_id": handle.call_id})
        if agent_leg.leg_id not in self._legs:
            raise errors.TelephonyError("no such agent leg", error_id="no-such-leg",
                                        fields={"leg_id": agent_leg.leg_id})
        self._cancel_timers(call)
        call.state, call.leg_id = "bridged", agent_leg.leg_id
        call.truth.bridged_s = self._elapsed()
        self._leg_class[agent_leg.leg_id] = call.truth.klass
        self._emit(call, EventKind.BRIDGED, leg_id=agent_leg.leg_id)
        call.timers.append(self.clock.call_later(call.truth.talk_s, self._end, call,
                                                 "answered_remote"))

    async def play(self, handle: base.CallHandle, media: str) -> None:
        call = self._calls.get(handle.call_id)
        if call is None or call.state == "dialing":
            raise errors.TelephonyError("nothing to play to", error_id="not-answered",
                                        fields={"call_id": handle.call_id})
        self.played.append((handle.call_id, media))

    async def agent_login(self, agent: base.Agent) -> base.AgentLeg:
        leg = base.AgentLeg(f"sim-leg-{agent.agent_id}", agent)
        self._legs[leg.leg_id] = leg
        return leg

    async def agent_logout(self, agent_leg: base.AgentLeg) -> None:
        self._legs.pop(agent_leg.leg_id, None)

    # -- internals ---------------------------------------------------------------------------

    def _elapsed(self) -> float:
        return self.clock.monotonic() - self._origin_s

    def _hour(self) -> float:
        return self._elapsed() / 3600.0

    def _scripted_class(self, number: str) -> str | None:
        if number in self._scripted:
            return self._scripted[number]
        match = _SCRIPTED_NUMBER.search(number)
        return SCRIPTED_SUFFIXES.get(match.group(1)) if match else None

    def _is_scripted(self, call: _Call) -> bool:
        return call.scripted is not None

    def _draw(self, handle: base.CallHandle) -> _Call:
        """The customer behind the number: class, answer delay, talk time, AMD verdict."""
        number = handle.request.number
        rng = random.Random(f"{self.seed}/{number}")
        u_class, z_delay, z_talk, u_amd = rng.random(), rng.gauss(0, 1), rng.gauss(0, 1), rng.random()
        hour, p = self._hour(), self.profile
        scripted = self._scripted_class(number)
        klass = scripted or _pick_class(u_class, p, hour)
        timeout = handle.request.ring_timeout_s
        truth = CallTruth(handle.call_id, number, klass.replace("live_hangs_up", "live"),
                          self._elapsed())
        if truth.klass in ("live", "machine"):
            if scripted:
                truth.answer_delay_s = self._scripted_ring_s
            else:
                truth.answer_delay_s = _truncated(p.answer_delay, z_delay, hour, timeout, rng)
            truth.talk_s = (p.talk.value(z_talk, hour) if truth.klass == "live"
                            else p.machine_handling_s.at(hour))
            if scripted:
                truth.talk_s = 1e6 if scripted == "live" else self._scripted_talk_s
            truth.amd_verdict = self._amd_verdict(handle.request, truth.klass, u_amd)
        return _Call(handle, truth, scripted=scripted)

    def _amd_verdict(self, request: base.CallRequest, klass: str, u: float) -> str | None:
        amd = self.profile.amd
        if not request.amd or amd is None:
            return None
        if klass == "live":
            return "machine" if u < amd.false_positive else "live"
        return "live" if u < amd.false_negative else "machine"

    def _schedule(self, call: _Call) -> None:
        klass, timeout = call.truth.klass, call.handle.request.ring_timeout_s
        scripted = self._is_scripted(call)
        ring_after = min(self.profile.ringing_after_s, self._scripted_ring_s / 2 if scripted else 1e9)
        later = self.clock.call_later
        if klass in ("failed", "congestion", "invalid_number"):
            call.timers.append(later(0.05 if scripted else 0.5, self._end, call, klass))
            return
        if klass == "busy":
            delay = self._scripted_ring_s if scripted else self.profile.busy_resolve_s
            call.timers.append(later(delay, self._end, call, "busy"))
            return
        call.timers.append(later(ring_after, self._ringing, call))
        if klass in ("live", "machine"):
            assert call.truth.answer_delay_s is not None
            call.timers.append(later(call.truth.answer_delay_s, self._pick_up, call))
        elif klass == "rejected":
            delay = self._scripted_ring_s if scripted else min(timeout, self.profile.answer_delay.mean_s.at(self._hour()) / 2)
            call.timers.append(later(delay, self._end, call, "rejected"))
        else:
            call.timers.append(later(timeout, self._end, call, "no_answer"))

    def _ringing(self, call: _Call) -> None:
        if call.state == "dialing":
            self._emit(call, EventKind.RINGING)

    def _pick_up(self, call: _Call) -> None:
        """The callee picks up: report it now, or after the AMD decision."""
        call.timers.clear()
        call.truth.picked_up_s = self._elapsed()
        picked_at = self.clock.now()
        verdict, amd = call.truth.amd_verdict, self.profile.amd
        if verdict is None or amd is None:
            self._answer(call, EventKind.ANSWERED, picked_at)
            return
        kind = EventKind.ANSWERED if verdict == "live" else EventKind.MACHINE_DETECTED
        delay = amd.live_decision_s if verdict == "live" else amd.machine_decision_s
        call.timers.append(self.clock.call_later(delay, self._answer, call, kind, picked_at))

    def _answer(self, call: _Call, kind: EventKind, picked_at: Any) -> None:
        call.timers.clear()
        call.state = "answered" if kind is EventKind.ANSWERED else "machine"
        self._emit(call, kind, at=picked_at)
        if call.truth.klass == "machine":
            wait, how = self.profile.machine_message_s, "machine_remote"
        elif call.scripted == "live":
            return  # stays up until we hang up or bridge it
        else:
            wait = self._scripted_talk_s if self._is_scripted(call) else self.profile.patience_s
            how = "answered_remote"
        call.timers.append(self.clock.call_later(wait, self._end, call, how))

    def _end(self, call: _Call, how: str) -> None:
        if call.state == "ended":
            return
        self._cancel_timers(call)
        outcome, sip, q850, cause = RAW_CODES[how]
        if how == "answered_remote" and call.state == "machine":
            outcome, cause = CallOutcome.MACHINE, "remote_hangup"
        was_bridged = call.state == "bridged"
        call.state = "ended"
        call.truth.ended_s = self._elapsed()
        if was_bridged and call.truth.bridged_s is not None:
            spent = call.truth.ended_s - call.truth.bridged_s
            if call.truth.klass == "live":
                self.truth.talk_s += spent
            else:
                self.truth.machine_handling_s += spent
        self.truth.record(call.truth)
        del self._calls[call.handle.call_id]
        self._emit(call, EventKind.ENDED, outcome=outcome, sip_status=sip, q850_cause=q850,
                   cause=cause)

    def _cancel_timers(self, call: _Call) -> None:
        for timer in call.timers:
            timer.cancel()
        call.timers.clear()

    def _emit(self, call: _Call, kind: EventKind, *, at: Any = None, **fields: Any) -> None:
        assert self._queue is not None
        event = base.CallEvent(call.handle.call_id, kind, at or self.clock.now(), **fields)
        self._queue.put_nowait(event)


def _pick_class(u: float, p: CustomerProfile, hour: float) -> str:
    edge = 0.0
    for klass, schedule in (("live", p.live), ("machine", p.machine), ("busy", p.busy),
                            ("rejected", p.rejected), ("failed", p.failed)):
        edge += schedule.at(hour)
        if u < edge:
            return klass
    return "no_answer"


def _truncated(dist: Distribution, z: float, hour: float, limit_s: float,
               rng: random.Random) -> float:
    """A lognormal draw below ``limit_s`` (redrawn, as a truncated distribution is)."""
    for _ in range(20):
        value = dist.value(z, hour)
        if value < limit_s:
            return value
        z = rng.gauss(0, 1)
    return limit_s * 0.99


# ---------------------------------------------------------------------------------------------
# Simulated agents


class AgentConsole(Protocol):
    """What a person at a desk can do (the engine's agent API, seen from the simulator)."""

    def login(self, agent_id: int) -> None: ...

    def logout(self, agent_id: int) -> None: ...

    def pause(self, agent_id: int, reason: str) -> None: ...

    def resume(self, agent_id: int) -> None: ...

    def finish_wrap(self, agent_id: int) -> None: ...


class SimulatedWorkforce:
    """Agents who log in and out as the profile says, take breaks, and wrap up after calls.

    The engine tells it about wrap-ups (:meth:`on_wrap_up`) and pauses
    (:meth:`on_not_ready`); it answers through an :class:`AgentConsole`.
    Talk time is the customer's (inside :class:`SimulatedBackend`); wrap-up
    time is the agent's, drawn here (none after an undetected machine).
    """

    def __init__(self, clock: clockmod.Clock, profile: WorkforceProfile, *,
                 backend: SimulatedBackend | None = None, seed: int = 1,
                 shift_h: float = 8.0) -> None:
        self.clock = clock
        self.profile = profile
        self.backend = backend
        self.shift_h = shift_h
        self._rng = random.Random(f"workforce/{seed}")
        self._console: AgentConsole | None = None
        self._present: list[int] = []
        self._timers: list[clockmod.Timer] = []
        self._origin_s = 0.0
        self._max_agents = int(max(v for _, v in profile.agents.points))

    @property
    def agent_ids(self) -> list[int]:
        """Every agent that may log in during the shift."""
        return list(range(1, self._max_agents + 1))

    def start(self, console: AgentConsole) -> None:
        """Log the first agents in and schedule the shift's changes and breaks."""
        self._console = console
        self._origin_s = self.clock.monotonic()
        self._staff()
        for hour, _ in self.profile.agents.points[1:]:
            self._timers.append(self.clock.call_later(hour * 3600, self._staff))
        if self.profile.breaks is not None:
            self._schedule_breaks(self.profile.breaks)

    def stop(self) -> None:
        """No more logins, logouts or breaks (wrap-ups under way still finish)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def on_wrap_up(self, agent_id: int, call_id: str) -> None:
        """An agent started wrap-up: finish it after the agent's wrap time."""
        was_machine = (self.backend is not None
                       and self.backend.class_on_leg(f"sim-leg-{agent_id}") == "machine")
        hour = (self.clock.monotonic() - self._origin_s) / 3600
        wrap = 0.0 if was_machine else self.profile.wrap.value(self._rng.gauss(0, 1), hour)
        self.clock.call_later(wrap, self._finish_wrap, agent_id)  # not cancelled by stop()

    def on_not_ready(self, agent_id: int, reason: str) -> None:
        """An agent's pause took effect: a break ends after its minutes."""
        if reason == "break" and self.profile.breaks is not None:
            self._timers.append(self.clock.call_later(self.profile.breaks.minutes * 60,
                                                      self._resume, agent_id))

    def _finish_wrap(self, agent_id: int) -> None:
        assert self._console is not None
        self._console.finish_wrap(agent_id)

    def _resume(self, agent_id: int) -> None:
        assert self._console is not None
        if agent_id in self._present:
            self._console.resume(agent_id)

    def _staff(self) -> None:
        """Log agents in or out to match the schedule now."""
        assert self._console is not None
        hour = (self.clock.monotonic() - self._origin_s) / 3600
        wanted = int(round(self.profile.agents.at(hour + 1e-9)))
        while len(self._present) < wanted:
            agent_id = next(a for a in self.agent_ids if a not in self._present)
            self._present.append(agent_id)
            self._console.login(agent_id)
        while len(self._present) > wanted:
            self._console.logout(self._present.pop())

    def _schedule_breaks(self, breaks: BreakProfile) -> None:
        start_h, end_h = breaks.between_h
        for agent_id in self.agent_ids:
            for _ in range(breaks.per_agent):
                at_h = self._rng.uniform(start_h, end_h)
                self._timers.append(self.clock.call_later(at_h * 3600, self._take_break, agent_id))

    def _take_break(self, agent_id: int) -> None:
        assert self._console is not None
        if agent_id in self._present:
            self._console.pause(agent_id, "break")
