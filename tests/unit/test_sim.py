"""The simulated carrier and the clocks (C17)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from telephony import base, errors, sim
from telephony import clock as clockmod
from telephony.base import CallOutcome, EventKind
from telephony.config import SimSettings

pytestmark = pytest.mark.req("C17")

START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)


async def _collect(backend: sim.SimulatedBackend, numbers: list[str], *, amd: bool = False,
                   hangup_answered: bool = True) -> dict[str, list[base.CallEvent]]:
    """Dial ``numbers`` and gather every event until each call ended."""
    events: dict[str, list[base.CallEvent]] = {}
    by_id: dict[str, str] = {}
    handles: dict[str, base.CallHandle] = {}
    for number in numbers:
        handle = await backend.originate(base.CallRequest(number, amd=amd))
        by_id[handle.call_id], handles[handle.call_id] = number, handle
        events[number] = []
    remaining = len(numbers)
    async for event in backend.events():
        events[by_id[event.call_id]].append(event)
        if event.kind in (EventKind.ANSWERED, EventKind.MACHINE_DETECTED) and hangup_answered:
            await backend.hangup(handles[event.call_id])
        if event.kind is EventKind.ENDED:
            remaining -= 1
            if remaining == 0:
                break
    return events


def _run(coro_factory, profile: sim.CustomerProfile | None = None, seed: int = 1):
    clock = clockmod.VirtualClock(START)

    async def main():
        backend = sim.SimulatedBackend(clock, profile, seed=seed)
        await backend.start()
        try:
            return await coro_factory(backend)
        finally:
            await backend.close()

    return clock.run(main())


@pytest.mark.parametrize("suffix, outcome, sip_status, q850", [
    ("02", CallOutcome.BUSY, 486, 17),
    ("03", CallOutcome.NO_ANSWER, 487, 19),
    ("04", CallOutcome.REJECTED, 603, 21),
    ("05", CallOutcome.INVALID_NUMBER, 404, 1),
    ("06", CallOutcome.CONGESTION, 503, 34),
    ("07", CallOutcome.FAILED, 500, 41),
    ("00", CallOutcome.ANSWERED, 200, 16),
])
def test_scripted_number_ends_with_its_outcome_and_raw_codes(suffix, outcome, sip_status, q850):
    number = f"+121255501{suffix}"
    events = _run(lambda b: _collect(b, [number]))[number]
    ended = events[-1]
    assert ended.kind is EventKind.ENDED
    assert (ended.outcome, ended.sip_status, ended.q850_cause) == (outcome, sip_status, q850)


def test_scripted_live_answer_reports_ringing_then_answered():
    number = "+12125550100"
    kinds = [e.kind for e in _run(lambda b: _collect(b, [number]))[number]]
    assert kinds == [EventKind.RINGING, EventKind.ANSWERED, EventKind.ENDED]


def test_no_answer_ends_at_the_ring_timeout():
    async def scenario(backend):
        handle = await backend.originate(base.CallRequest("+12125550103", ring_timeout_s=17))
        started = backend.clock.now()
        async for event in backend.events():
            if event.kind is EventKind.ENDED:
                return handle, event.at - started
    _, elapsed = _run(scenario)
    assert elapsed == dt.timedelta(seconds=17)


def test_scripted_mapping_overrides_the_profile():
    clock = clockmod.VirtualClock(START)

    async def main():
        backend = sim.SimulatedBackend(clock, seed=3, scripted={"+33100000000": "busy"})
        await backend.start()
        events = await _collect(backend, ["+33100000000"])
        await backend.close()
        return events["+33100000000"][-1].outcome

    assert clock.run(main()) is CallOutcome.BUSY


def test_bridged_call_talks_then_ends_answered():
    profile = sim.CustomerProfile(live=sim.Schedule.constant(1.0),
                                  talk=sim.Distribution.of(60.0, 0.0))

    async def scenario(backend):
        leg = await backend.agent_login(base.Agent(1, "sip:1001@sim"))
        handle = await backend.originate(base.CallRequest("+441234567890"))
        seen = []
        async for event in backend.events():
            seen.append(event)
            if event.kind is EventKind.ANSWERED:
                await backend.bridge(handle, leg)
            if event.kind is EventKind.ENDED:
                return seen, backend.truth

    seen, truth = _run(scenario, profile)
    kinds = [e.kind for e in seen]
    assert kinds == [EventKind.RINGING, EventKind.ANSWERED, EventKind.BRIDGED, EventKind.ENDED]
    assert seen[-1].outcome is CallOutcome.ANSWERED
    assert (seen[-1].at - seen[2].at).total_seconds() == pytest.approx(60.0)
    assert truth.live_connected == 1 and truth.abandoned_live == 0


def test_unbridged_live_answer_is_an_abandon_in_the_truth():
    profile = sim.CustomerProfile(live=sim.Schedule.constant(1.0))

    async def scenario(backend):
        await _collect(backend, ["+441234567890"])  # hangs up at answer: never with an agent
        return backend.truth

    truth = _run(scenario, profile)
    assert (truth.live_answers, truth.abandoned_live) == (1, 1)


def test_hangup_while_ringing_is_cancelled():
    async def scenario(backend):
        handle = await backend.originate(base.CallRequest("+12125550103"))
        async for event in backend.events():
            if event.kind is EventKind.RINGING:
                await backend.hangup(handle)
            if event.kind is EventKind.ENDED:
                return event.outcome

    assert _run(scenario) is CallOutcome.CANCELLED


def test_same_seed_same_customers_other_seed_others():
    numbers = [f"+4420{i:08d}" for i in range(300)]

    def outcomes(seed):
        events = _run(lambda b: _collect(b, numbers), seed=seed)
        return [(events[n][-1].outcome, events[n][-1].at) for n in numbers]

    assert outcomes(7) == outcomes(7)
    assert outcomes(7) != outcomes(8)


def test_class_frequencies_follow_the_profile():
    profile = sim.CustomerProfile(live=sim.Schedule.constant(0.3),
                                  machine=sim.Schedule.constant(0.2),
                                  busy=sim.Schedule.constant(0.1))
    numbers = [f"+4420{i:08d}" for i in range(4000)]
    events = _run(lambda b: _collect(b, numbers), profile)
    outcomes = [events[n][-1].outcome for n in numbers]
    answered = outcomes.count(CallOutcome.ANSWERED) / len(numbers)
    busy = outcomes.count(CallOutcome.BUSY) / len(numbers)
    no_answer = outcomes.count(CallOutcome.NO_ANSWER) / len(numbers)
    assert answered == pytest.approx(0.5, abs=0.03)  # AMD off: machines are answers too
    assert busy == pytest.approx(0.1, abs=0.02)
    assert no_answer == pytest.approx(0.4, abs=0.03)


def test_amd_verdicts_have_the_configured_accuracy_and_report_pickup_time():
    amd = sim.AmdProfile(false_positive=0.1, false_negative=0.3)
    profile = sim.CustomerProfile(live=sim.Schedule.constant(0.5),
                                  machine=sim.Schedule.constant(0.5), amd=amd)
    numbers = [f"+4420{i:08d}" for i in range(3000)]

    async def scenario(backend):
        events = await _collect(backend, numbers, amd=True)
        return events, backend.truth

    events, truth = _run(scenario, profile)
    assert truth.amd_false_positives / truth.live_answers == pytest.approx(0.1, abs=0.025)
    assert truth.amd_false_negatives / truth.machine_answers == pytest.approx(0.3, abs=0.04)
    detected = [e for n in numbers for e in events[n] if e.kind is EventKind.MACHINE_DETECTED]
    assert len(detected) == truth.amd_false_positives + truth.machine_answers - truth.amd_false_negatives
    # ``at`` is the pickup, reported after the decision time: AMD counts against the 2 s.
    ended = {e.call_id: e.at for n in numbers for e in events[n] if e.kind is EventKind.ENDED}
    assert all((ended[e.call_id] - e.at).total_seconds() == pytest.approx(3.0) for e in detected)


def test_events_carry_no_truth():
    names = {f.name for f in dataclasses.fields(base.CallEvent)}
    assert names == {"call_id", "kind", "at", "outcome", "sip_status", "q850_cause", "cause",
                     "leg_id"}


def test_parameters_change_over_the_day():
    linear = sim.Schedule.linear(0.4, 0.0, shift_h=8)
    steps = sim.Schedule.steps([(0, 10), (2, 6), (6, 12)])
    assert [linear.at(h) for h in (0, 4, 8, 10)] == [0.4, 0.2, 0.0, 0.0]
    assert [steps.at(h) for h in (0, 1.9, 2, 5, 7)] == [10, 10, 6, 6, 12]
    assert steps.mean(8) == pytest.approx((2 * 10 + 4 * 6 + 2 * 12) / 8, rel=1e-3)


def test_answer_rate_follows_a_linear_schedule_through_the_day():
    profile = sim.CustomerProfile(live=sim.Schedule.linear(0.6, 0.0, shift_h=2),
                                  machine=sim.Schedule.constant(0.0),
                                  busy=sim.Schedule.constant(0.0))

    async def scenario(backend):
        early = await _collect(backend, [f"+4420{i:08d}" for i in range(800)])
        await backend.clock.sleep(3600 * 2)
        late = await _collect(backend, [f"+4421{i:08d}" for i in range(800)])
        rate = lambda ev: sum(v[-1].outcome is CallOutcome.ANSWERED for v in ev.values()) / 800
        return rate(early), rate(late)

    early, late = _run(scenario, profile)
    assert early == pytest.approx(0.6, abs=0.05) and late == 0.0


def test_originate_before_start_is_refused():
    backend = sim.SimulatedBackend(clockmod.RealClock())
    with pytest.raises(errors.CallNotPlaced):
        asyncio.run(backend.originate(base.CallRequest("+12125550100")))


def test_bridge_to_an_unknown_leg_is_a_telephony_error():
    async def scenario(backend):
        handle = await backend.originate(base.CallRequest("+12125550100"))
        async for event in backend.events():
            if event.kind is EventKind.ANSWERED:
                with pytest.raises(errors.TelephonyError):
                    await backend.bridge(handle, base.AgentLeg("nope", base.Agent(1, "x")))
                await backend.hangup(handle)
                return True

    assert _run(scenario)


def test_from_settings_uses_the_sim_section():
    settings = SimSettings(seed=5, live=1.0, machine=0.0, busy=0.0, rejected=0.0, failed=0.0,
                           amd_false_positive=0.05)
    backend = sim.SimulatedBackend.from_settings(settings, clockmod.RealClock())
    assert backend.seed == 5 and backend.profile.amd is not None
    assert backend.profile.live.at(3) == 1.0


def test_runs_on_the_real_clock():
    async def main():
        backend = sim.SimulatedBackend(clockmod.RealClock(), scripted_ring_s=0.05)
        await backend.start()
        events = await _collect(backend, ["+12125550102"])
        await backend.close()
        return events

    events = asyncio.run(asyncio.wait_for(main(), timeout=10))
    assert events["+12125550102"][-1].outcome is CallOutcome.BUSY


def test_virtual_clock_raises_instead_of_waiting_forever():
    clock = clockmod.VirtualClock(START)

    async def stuck():
        await asyncio.Event().wait()

    with pytest.raises(clockmod.ClockStalled):
        clock.run(stuck())


def test_virtual_clock_jumps_a_day_quickly_and_keeps_order():
    clock = clockmod.VirtualClock(START)
    fired: list[float] = []

    async def main():
        for delay in (30000.0, 5.0, 600.0):
            clock.call_later(delay, fired.append, delay)
        await clock.sleep(86400)
        return clock.now()

    assert clock.run(main()) == START + dt.timedelta(days=1)
    assert fired == [5.0, 600.0, 30000.0]


def test_workforce_follows_agent_steps_and_wraps_up():
    clock = clockmod.VirtualClock(START)
    profile = sim.WorkforceProfile(agents=sim.Schedule.steps([(0, 3), (1, 1)]),
                                   wrap=sim.Distribution.of(15.0, 0.0),
                                   breaks=sim.BreakProfile(1, 10, (0.1, 0.2)))
    log: list[tuple[float, str, int]] = []

    class Console:
        def __init__(self, workforce):
            self.workforce = workforce

        def login(self, agent_id):
            log.append((clock.monotonic(), "login", agent_id))

        def logout(self, agent_id):
            log.append((clock.monotonic(), "logout", agent_id))

        def pause(self, agent_id, reason):
            log.append((clock.monotonic(), "pause", agent_id))
            self.workforce.on_not_ready(agent_id, reason)

        def resume(self, agent_id):
            log.append((clock.monotonic(), "resume", agent_id))

        def finish_wrap(self, agent_id):
            log.append((clock.monotonic(), "finish_wrap", agent_id))

    async def main():
        workforce = sim.SimulatedWorkforce(clock, profile, seed=1, shift_h=2)
        workforce.start(Console(workforce))
        workforce.on_wrap_up(1, "sim-1")
        await clock.sleep(7200)
        workforce.stop()

    clock.run(main())
    assert [(a, i) for _, a, i in log if a in ("login", "logout")] == [
        ("login", 1), ("login", 2), ("login", 3), ("logout", 3), ("logout", 2)]
    assert (15.0, "finish_wrap", 1) in log
    pauses = [t for t, a, _ in log if a == "pause"]
    resumes = [t for t, a, _ in log if a == "resume"]
    assert len(pauses) == 3 and len(resumes) == 3
    assert all(360 <= t <= 720 for t in pauses)
    assert all(t - 600 in pauses for t in resumes)
