"""The engine loop on the simulated carrier and a virtual clock (D4, D14, D3)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from campaigns.enums import DialingMode
from dialer import orchestrator, pacing
from dialer.agents import AgentState as S
from telephony import base, sim
from telephony import clock as clockmod

START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)


class RecordingDesk:
    """Agents who wrap up in a fixed time and note what the engine told them."""

    def __init__(self, clock, wrap_s: float = 5.0) -> None:
        self.clock, self.wrap_s = clock, wrap_s
        self.engine: orchestrator.Orchestrator | None = None
        self.wraps: list[tuple[int, str]] = []
        self.not_ready: list[tuple[int, str]] = []

    def on_wrap_up(self, agent_id: int, call_id: str) -> None:
        self.wraps.append((agent_id, call_id))
        self.clock.call_later(self.wrap_s, self.engine.finish_wrap, agent_id)

    def on_not_ready(self, agent_id: int, reason: str) -> None:
        self.not_ready.append((agent_id, reason))


def _engine(clock, backend, numbers, *, agents=1, mode=DialingMode.PROGRESSIVE, desk=None,
            **settings):
    engine = orchestrator.Orchestrator(
        clock, backend, orchestrator.ListHopper(numbers),
        pacing_params=pacing.PacingParams(mode=mode, ratio=3.0),
        settings=orchestrator.OrchestratorSettings(**settings), desk=desk)
    if desk is not None:
        desk.engine = engine
    for agent_id in range(1, agents + 1):
        engine.login(agent_id)
    return engine


def _run(main):
    clock = clockmod.VirtualClock(START)
    return clock.run(main(clock))


@pytest.mark.req("D14")
def test_run_until_idle_dials_every_number_and_wraps_up():
    numbers = ["+12125550108", "+12125550102", "+12125550103", "+12125550108"]

    async def main(clock):
        backend = sim.SimulatedBackend(clock)
        await backend.start()
        desk = RecordingDesk(clock)
        engine = _engine(clock, backend, numbers, desk=desk)
        await engine.run_until_idle()
        await backend.close()
        return engine, desk, backend

    engine, desk, backend = _run(main)
    assert engine.metrics.dials == 4
    assert engine.metrics.outcomes["busy"] == 1 and engine.metrics.outcomes["no_answer"] == 1
    assert engine.metrics.connected == 2 and engine.metrics.abandoned == 0
    assert [agent for agent, _ in desk.wraps] == [1, 1]
    assert engine.board.get(1).state is S.READY
    assert backend.live_calls == 0


@pytest.mark.req("D4")
def test_answer_without_a_free_agent_is_abandoned_after_2_s_with_the_message():
    profile = sim.CustomerProfile(live=sim.Schedule.constant(1.0),
                                  answer_delay=sim.Distribution.of(5.0, 0.0),
                                  talk=sim.Distribution.of(300.0, 0.0))
    numbers = [f"+4420{i:08d}" for i in range(3)]

    async def main(clock):
        backend = sim.SimulatedBackend(clock, profile)
        await backend.start()
        engine = _engine(clock, backend, numbers, mode=DialingMode.POWER,
                         desk=RecordingDesk(clock), abandon_media="sorry.wav")
        await engine.run_until_idle()
        await backend.close()
        return engine, backend

    engine, backend = _run(main)
    assert engine.metrics.connected == 1 and engine.metrics.abandoned == 2
    assert [media for _, media in backend.played] == ["sorry.wav", "sorry.wav"]
    assert backend.truth.abandoned_live == 2 and backend.truth.live_connected == 1


@pytest.mark.req("D4")
def test_amd_time_counts_against_the_2_seconds():
    """With a 3 s live decision the answer arrives late: abandoned at once, never bridged."""
    amd = sim.AmdProfile(live_decision_s=3.0)
    profile = sim.CustomerProfile(live=sim.Schedule.constant(1.0), amd=amd)

    async def main(clock):
        backend = sim.SimulatedBackend(clock, profile)
        await backend.start()
        engine = _engine(clock, backend, ["+441000000001"], is_amd=True, desk=RecordingDesk(clock))
        await engine.run_until_idle()
        await backend.close()
        return engine, backend

    engine, backend = _run(main)
    assert engine.metrics.abandoned == 1 and engine.metrics.connected == 0
    assert backend.truth.abandoned_live == 1


@pytest.mark.req("D4")
def test_waiting_answer_goes_to_an_agent_freed_within_the_deadline():
    profile = sim.CustomerProfile(live=sim.Schedule.constant(1.0),
                                  answer_delay=sim.Distribution.of(5.0, 0.0),
                                  talk=sim.Distribution.of(6.0, 0.0))

    async def main(clock):
        backend = sim.SimulatedBackend(clock, profile)
        await backend.start()
        # both answer at 5 s; the agent is free again at 11 s, within the 8 s deadline (13 s)
        desk = RecordingDesk(clock, wrap_s=0.0)
        engine = _engine(clock, backend, ["+441000000001", "+441000000002"],
                         mode=DialingMode.POWER, desk=desk, connect_deadline_s=8.0)
        await engine.run_until_idle()
        await backend.close()
        return engine

    engine = _run(main)
    assert engine.metrics.connected == 2 and engine.metrics.abandoned == 0


@pytest.mark.req("D4")
def test_detected_machine_is_hung_up_or_gets_the_message():
    profile = sim.CustomerProfile(live=sim.Schedule.constant(0.0),
                                  machine=sim.Schedule.constant(1.0), amd=sim.AmdProfile())

    async def main(clock, rule):
        backend = sim.SimulatedBackend(clock, profile)
        await backend.start()
        engine = _engine(clock, backend, ["+441000000003"], is_amd=True, machine_rule=rule,
                         machine_media="vm.wav", desk=RecordingDesk(clock))
        await engine.run_until_idle()
        await backend.close()
        return engine, backend

    for rule, played in (("hangup", []), ("message", ["vm.wav"])):
        clock = clockmod.VirtualClock(START)
        engine, backend = clock.run(main(clock, rule))
        assert engine.metrics.machine_detected == 1 and engine.metrics.connected == 0
        assert [m for _, m in backend.played] == played
        assert engine.metrics.outcomes["machine"] == 1


@pytest.mark.req("D3")
def test_pause_during_a_call_takes_effect_after_wrap_up_and_desk_is_told():
    async def main(clock):
        backend = sim.SimulatedBackend(clock, scripted_talk_s=30.0)
        await backend.start()
        desk = RecordingDesk(clock)
        engine = _engine(clock, backend, ["+12125550108"], desk=desk)
        clock.call_later(10.0, engine.pause, 1, "break")
        await engine.run_until_idle()
        await backend.close()
        return engine, desk

    engine, desk = _run(main)
    assert desk.not_ready == [(1, "break")]
    assert engine.board.get(1).state is S.NOT_READY
    states = [c.state for c in engine.board.history]
    assert states == [S.READY, S.RESERVED, S.ON_CALL, S.WRAP_UP, S.NOT_READY]


@pytest.mark.req("D3")
def test_wrap_limit_ends_a_forgotten_wrap_up():
    class ForgetfulDesk(RecordingDesk):
        def on_wrap_up(self, agent_id, call_id):
            self.wraps.append((agent_id, call_id))

    async def main(clock):
        backend = sim.SimulatedBackend(clock)
        await backend.start()
        engine = _engine(clock, backend, ["+12125550108"], desk=ForgetfulDesk(clock))
        await engine.run_until_idle()
        await backend.close()
        return engine

    engine = _run(main)
    wrap, ready = engine.board.history[-2:]
    assert (wrap.state, ready.state) == (S.WRAP_UP, S.READY)
    assert (ready.at - wrap.at).total_seconds() == engine.board.wrap.limit_s


@pytest.mark.req("D14")
def test_engine_runs_on_the_real_clock_too():
    async def main():
        clock = clockmod.RealClock()
        backend = sim.SimulatedBackend(clock, scripted_ring_s=0.05, scripted_talk_s=0.05)
        await backend.start()
        engine = _engine(clock, backend, ["+12125550108", "+12125550102"],
                         desk=RecordingDesk(clock, wrap_s=0.0), tick_s=0.05)
        await engine.run_until_idle()
        await backend.close()
        return engine

    engine = asyncio.run(asyncio.wait_for(main(), timeout=20))
    assert engine.metrics.dials == 2 and engine.metrics.connected == 1


class LateHopper:
    """A hopper whose work arrives after the start (as the retry timer releases it)."""

    def __init__(self) -> None:
        self.numbers: list[str] = []

    async def claim(self, count: int) -> list[orchestrator.DialTarget]:
        taken, self.numbers = self.numbers[:count], self.numbers[count:]
        return [orchestrator.DialTarget(number) for number in taken]


@pytest.mark.req("D11")
def test_wake_dials_released_work_now_not_at_the_next_tick():
    async def main(clock):
        backend = sim.SimulatedBackend(clock)
        await backend.start()
        hopper = LateHopper()
        engine = orchestrator.Orchestrator(clock, backend, hopper,
                                           settings=orchestrator.OrchestratorSettings(tick_s=30.0))
        engine.login(1)
        dialled: list[float] = []
        engine.listeners.append(lambda kind, data: dialled.append(
            (clock.now() - START).total_seconds()) if data.get("state") == "ringing" else None)
        running = asyncio.create_task(engine.run())
        await clock.sleep(5)
        hopper.numbers.append("+12125550102")
        engine.wake()
        await clock.sleep(1)
        engine.stop_dialing()
        await running
        await backend.close()
        return dialled

    assert _run(main) == [5.0]


@pytest.mark.req("D14")
def test_backend_is_a_parameter_any_backend_protocol_works():
    assert isinstance(sim.SimulatedBackend(clockmod.RealClock()), base.Backend)


@pytest.mark.req("D14")
def test_a_workforce_day_on_the_virtual_clock_keeps_agents_busy():
    profile = sim.CustomerProfile(live=sim.Schedule.constant(0.3), talk=sim.Distribution.of(60, 0.5))
    team = sim.WorkforceProfile(agents=sim.Schedule.steps([(0, 6), (0.5, 4)]),
                                wrap=sim.Distribution.of(10, 0.3))

    async def main(clock):
        backend = sim.SimulatedBackend(clock, profile, seed=3)
        await backend.start()
        workforce = sim.SimulatedWorkforce(clock, team, backend=backend, seed=3, shift_h=1)
        engine = orchestrator.Orchestrator(
            clock, backend, orchestrator.ListHopper(f"+4420{i:08d}" for i in range(100000)),
            pacing_params=pacing.PacingParams(mode=DialingMode.PREDICTIVE), desk=workforce)
        workforce.start(engine)
        running = asyncio.create_task(engine.run())
        await clock.sleep(3600)
        workforce.stop()
        engine.stop_dialing()
        await running
        await backend.close()
        return engine, backend

    engine, backend = _run(main)
    assert engine.metrics.connected > 100
    assert sum(1 for s in engine.board if s.state is not S.LOGGED_OUT) == 4
    assert backend.live_calls == 0
    assert set(engine.metrics.outcomes) <= {o.value for o in base.CallOutcome}
