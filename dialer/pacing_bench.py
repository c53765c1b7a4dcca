"""The pacing benchmark's runs: predictive against progressive, power, r* and the ceiling.

``dialer bench pacing`` (:mod:`dialer.benchmarks.pacing`) prints what :func:`benchmark` returns.

Every policy runs the real engine (:class:`dialer.orchestrator.Orchestrator`,
the agent state machine, the pacer) against the simulated carrier and agents
on a virtual clock, one shift per (seed, day), with the same customers for
every policy (the simulator draws a customer from the seed and the number).
Ground truth (who was really live, who was abandoned, AMD false positives
included) comes from the simulator's :class:`telephony.sim.SimTruth`, never
from the engine.  Seeds and days run in parallel worker processes.

Baselines (D19): progressive (power with r = 1), power with r = 2, the best
fixed ratio in hindsight r* (the largest r in [1, 12], by bisection to 0.05,
whose max daily abandon rate is at most the cap on every seed and day) and the
clairvoyant ceiling 3600 / (mean talk + mean wrap).

Rates are fractions.  ``abandon_rate_uk`` is the ground truth over all days
(abandoned live answers, AMD false positives counted, over live answers);
``abandon_rate_us`` is what the engine itself recorded (abandons over the
answers it saw; AMD false positives are invisible to it); ``max_daily_abandon_rate``
is the worst day's ground truth.  ``mean_wait_s``/``p90_wait_s`` are the
agents' idle waits between calls.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
from dataclasses import dataclass
from typing import Any

from campaigns.enums import DialingMode
from dialer import agents, orchestrator, pacing, scenarios
from telephony import clock as clockmod
from telephony import sim

START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
RATIO_LOW, RATIO_HIGH, RATIO_STEP = 1.0, 12.0, 0.05


@dataclass(frozen=True)
class Job:
    """One simulated shift."""

    scenario_path: str
    mode: str
    ratio: float
    seed: int
    day: int


def run_day(job: Job) -> dict[str, Any]:
    """Run one shift of one policy and return its raw totals."""
    scenario = scenarios.load(job.scenario_path)
    clock = clockmod.VirtualClock(START + dt.timedelta(days=job.day))
    return clock.run(_shift(scenario, job, clock))


async def _shift(scenario: scenarios.Scenario, job: Job, clock: clockmod.VirtualClock) -> dict:
    backend = sim.SimulatedBackend(clock, scenario.customers, seed=job.seed * 1000 + job.day)
    await backend.start()
    workforce = sim.SimulatedWorkforce(clock, scenario.workforce, backend=backend,
                                       seed=job.seed * 1000 + job.day, shift_h=scenario.shift_h)
    amd = scenario.customers.amd
    params = pacing.PacingParams(mode=DialingMode(job.mode), ratio=job.ratio,
                                 abandon_cap=scenario.abandon_cap,
                                 amd_fp_estimate=amd.false_positive if amd else 0.0)
    settings = orchestrator.OrchestratorSettings(ring_timeout_s=scenario.ring_timeout_s,
                                                 is_amd=amd is not None)
    numbers = (f"+9{job.seed:03d}{job.day:03d}{i:08d}" for i in range(10**8))
    engine = orchestrator.Orchestrator(clock, backend, orchestrator.ListHopper(numbers),
                                       pacing_params=params, settings=settings, desk=workforce)
    workforce.start(engine)
    running = asyncio.create_task(engine.run())
    await clock.sleep(scenario.shift_h * 3600)
    shift_end = clock.now()
    workforce.stop()
    engine.stop_dialing()
    await _end_shift(engine, clock, workforce.agent_ids)
    await running
    await backend.close()
    return _day_totals(engine, backend.truth, clock.now(), shift_end)


async def _end_shift(engine: orchestrator.Orchestrator, clock: clockmod.VirtualClock,
                     agent_ids: list[int]) -> None:
    """The shift is over and dialing has stopped: agents log out once no answer can still come.

    Calls still ringing may yet be answered and need an agent; once none rings
    or waits, every agent logs out (at once if idle, after the wrap-up
    otherwise), so the minutes the last calls take to end count only for the
    agents on them, as in a real shift.
    """
    while any(call["state"] in ("ringing", "waiting") for call in engine.live_calls()):
        await clock.sleep(1.0)
    for agent_id in agent_ids:
        engine.logout(agent_id)


def _day_totals(engine: orchestrator.Orchestrator, truth: sim.SimTruth,
                until: dt.datetime, shift_end: dt.datetime) -> dict[str, Any]:
    times = engine.board.time_in_states(until)
    S = agents.AgentState
    logged_in = sum(v for state, v in times.items() if state is not S.LOGGED_OUT)
    after_shift = engine.board.time_in_states(until, since=shift_end)
    m = engine.metrics
    return {
        "logged_in_s": logged_in,
        "busy_s": times[S.RESERVED] + times[S.ON_CALL] + times[S.WRAP_UP],
        "live_answers": truth.live_answers, "abandoned_live": truth.abandoned_live,
        "live_connected": truth.live_connected, "amd_false_positives": truth.amd_false_positives,
        "engine_answered": m.answered, "engine_abandoned": m.abandoned,
        "dials": m.dials, "peak_lines": m.peak_lines,
        "waits_s": engine.board.idle_waits_s(), "decision_s": m.decision_s,
        "idle_after_shift_s": after_shift[S.READY] + after_shift[S.NOT_READY],
    }


def summarize(days: list[dict[str, Any]]) -> dict[str, Any]:
    """One policy's figures over every seed and day."""
    total = {key: sum(d[key] for d in days) for key in
             ("logged_in_s", "busy_s", "live_answers", "abandoned_live", "live_connected",
              "engine_answered", "engine_abandoned", "dials")}
    waits = sorted(w for d in days for w in d["waits_s"])
    daily = [d["abandoned_live"] / d["live_answers"] if d["live_answers"] else 0.0 for d in days]
    hours = total["logged_in_s"] / 3600
    return {
        "occupancy": _ratio(total["busy_s"], total["logged_in_s"]),
        "abandon_rate_us": _ratio(total["engine_abandoned"], total["engine_answered"]),
        "abandon_rate_uk": _ratio(total["abandoned_live"], total["live_answers"]),
        "max_daily_abandon_rate": max(daily, default=0.0),
        "rpc_per_agent_hour": total["live_connected"] / hours if hours else 0.0,
        "mean_wait_s": sum(waits) / len(waits) if waits else 0.0,
        "p90_wait_s": _quantile(waits, 0.9),
        "dials": total["dials"],
        "peak_lines": max(d["peak_lines"] for d in days),
    }


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class Runner:
    """Runs policies over every (seed, day), in parallel processes."""

    def __init__(self, scenario_path: str, seeds: list[int], days: int, workers: int) -> None:
        self.scenario_path, self.seeds, self.days = scenario_path, seeds, days
        self.workers = workers
        self._pool: Any = None

    def __enter__(self) -> Runner:
        if self.workers > 1:
            self._pool = multiprocessing.get_context("fork").Pool(self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()

    @property
    def jobs_per_policy(self) -> int:
        return len(self.seeds) * self.days

    def run(self, mode: DialingMode, ratio: float = 1.0) -> list[dict[str, Any]]:
        return self.run_many([(mode, ratio)])[0]

    def run_many(self, policies: list[tuple[DialingMode, float]]) -> list[list[dict[str, Any]]]:
        """Every (seed, day) of several policies at once (the pool stays busy)."""
        jobs = [Job(self.scenario_path, mode.value, ratio, seed, day) for mode, ratio in policies
                for seed in self.seeds for day in range(self.days)]
        if self._pool is None:
            results = [run_day(job) for job in jobs]
        else:
            results = self._pool.map(run_day, jobs, chunksize=1)
        size = self.jobs_per_policy
        return [results[i * size:(i + 1) * size] for i in range(len(policies))]


def best_fixed_ratio(runner: Runner, cap: float, known: dict[float, dict]) -> tuple[float, dict]:
    """r*: the largest ratio in [1, 12] (to 0.05) whose worst day stays under the cap."""

    def ratio_of(step: int) -> float:
        return round(step * RATIO_STEP, 2)

    def evaluate(steps: list[int]) -> None:
        todo = [ratio_of(s) for s in steps if ratio_of(s) not in known]
        for ratio, days in zip(todo, runner.run_many([(DialingMode.POWER, r) for r in todo])):
            known[ratio] = summarize(days)

    def is_feasible(step: int) -> bool:
        evaluate([step])
        return known[ratio_of(step)]["max_daily_abandon_rate"] <= cap

    low, high = round(RATIO_LOW / RATIO_STEP), round(RATIO_HIGH / RATIO_STEP)
    if not is_feasible(low):
        return RATIO_LOW, known[RATIO_LOW]
    for ratio in sorted(known):  # narrow the bracket with what is already measured
        step = round(ratio / RATIO_STEP)
        if low < step < high:
            low, high = (step, high) if is_feasible(step) else (low, step)
    # k probes per round split the bracket in k + 1 (k = what the workers run at once)
    probes = max(1, runner.workers // max(1, runner.jobs_per_policy))
    while high - low > 1:  # invariant: low feasible, high not (or never measured: 12)
        width = high - low
        steps = sorted({low + max(1, (width * (i + 1)) // (probes + 1)) for i in range(probes)})
        steps = [s for s in steps if low < s < high] or [low + 1]
        evaluate(steps)
        for step in steps:
            if is_feasible(step):
                low = step
            else:
                high = step
                break
    if low == round(RATIO_HIGH / RATIO_STEP) - 1 and is_feasible(high):
        low = high
    ratio = ratio_of(low)
    return ratio, known[ratio]


def benchmark(scenario_path: str, seeds: list[int], days: int, workers: int) -> dict[str, Any]:
    """The D18 report."""
    scenario = scenarios.load(scenario_path)
    with Runner(scenario_path, seeds, days, workers) as runner:
        predictive_days, progressive_days, power_days = runner.run_many(
            [(DialingMode.PREDICTIVE, 1.0), (DialingMode.POWER, 1.0), (DialingMode.POWER, 2.0)])
        predictive = summarize(predictive_days)
        known = {1.0: summarize(progressive_days), 2.0: summarize(power_days)}
        ratio, rstar = best_fixed_ratio(runner, scenario.abandon_cap, known)
    ceiling = scenario.ceiling_rpc_per_agent_hour
    decisions = sorted(s for d in predictive_days for s in d["decision_s"])
    predictive.update({
        "vs_best_fixed_ratio": _ratio(predictive["rpc_per_agent_hour"], rstar["rpc_per_agent_hour"]),
        "vs_ceiling": _ratio(predictive["rpc_per_agent_hour"], ceiling),
        "decision_ms_p99": _quantile(decisions, 0.99) * 1000,
    })
    return {
        "scenario": scenario.name, "seeds": seeds, "days": days,
        "policies": {"predictive": predictive, "progressive": known[1.0],
                     "power": {"ratio": 2.0, **known[2.0]},
                     "best_fixed_ratio": {"ratio": ratio, **rstar}},
        "ceiling_rpc_per_agent_hour": ceiling,
    }


