"""``dialer bench pacing`` on tiny scenarios (D18, D19, D21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer import pacing_bench as bench

TINY = """
name = "tiny"
shift_h = 0.25
agents = 3
live = 0.3
machine = 0.1
busy = 0.1
answer_delay = { mean_s = 8, cv = 0.5 }
talk = { mean_s = 40, cv = 0.6 }
wrap = { mean_s = 5, cv = 0.3 }
amd = { false_positive = 0.01, false_negative = 0.2 }
"""

POLICY_KEYS = {"occupancy", "abandon_rate_us", "abandon_rate_uk", "max_daily_abandon_rate",
               "rpc_per_agent_hour", "mean_wait_s", "p90_wait_s", "dials", "peak_lines"}
FRACTIONS = {"occupancy", "abandon_rate_us", "abandon_rate_uk", "max_daily_abandon_rate"}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.mark.req("D18")
@pytest.mark.req("D19")
def test_bench_pacing_prints_the_d18_report(cli, tiny):
    result = cli("bench", "pacing", "--scenario", str(tiny), "--seeds", "1", "--days", "1",
                 "--workers", "2", "--json", db=False)
    assert result.code == 0, result.err
    report = result.json()
    assert set(report) == {"scenario", "seeds", "days", "policies", "ceiling_rpc_per_agent_hour"}
    assert (report["scenario"], report["seeds"], report["days"]) == ("tiny", [1], 1)
    policies = report["policies"]
    assert set(policies) == {"predictive", "progressive", "power", "best_fixed_ratio"}
    for name, figures in policies.items():
        assert POLICY_KEYS <= set(figures), name
        for key in FRACTIONS:
            assert 0.0 <= figures[key] <= 1.0, (name, key)
        assert figures["dials"] > 0
    assert {"vs_best_fixed_ratio", "vs_ceiling", "decision_ms_p99"} <= set(policies["predictive"])
    ratio = policies["best_fixed_ratio"]["ratio"]
    assert 1.0 <= ratio <= 12.0 and round(ratio / 0.05, 6) == round(ratio / 0.05)
    assert policies["best_fixed_ratio"]["max_daily_abandon_rate"] <= 0.03
    assert report["ceiling_rpc_per_agent_hour"] == pytest.approx(3600 / 45)


@pytest.mark.req("D18")
def test_bad_seed_list_is_a_usage_error(cli, tiny):
    result = cli("bench", "pacing", "--scenario", str(tiny), "--seeds", "a-b", "--json", db=False)
    assert result.code == 2
    assert result.json()["error"]["fields"] == {"seeds": "bad seed list 'a-b' (e.g. 1-3 or 1,2,5)"}


@pytest.mark.req("D19")
def test_best_fixed_ratio_is_the_largest_feasible_ratio_by_bisection():
    """With a fake runner whose worst day crosses the cap at r = 3.4, r* is 3.35."""

    class FakeRunner:
        workers, jobs_per_policy = 2, 1
        asked: list[float] = []

        def run_many(self, policies):
            out = []
            for _, ratio in policies:
                self.asked.append(ratio)
                out.append([{"rate": 0.01 if ratio < 3.4 else 0.05}])
            return out

    original = bench.summarize
    bench.summarize = lambda days: {"max_daily_abandon_rate": days[0]["rate"]}
    try:
        runner = FakeRunner()
        ratio, result = bench.best_fixed_ratio(runner, 0.03, {})
    finally:
        bench.summarize = original
    assert ratio == 3.35 and result["max_daily_abandon_rate"] == 0.01
    assert len(runner.asked) <= 16


@pytest.mark.req("D18")
def test_agents_log_out_at_the_end_of_the_shift_once_no_answer_can_come(tiny):
    """The minutes the last calls take to end count only for the agents on them."""
    day = bench.run_day(bench.Job(str(tiny), "power", 2.0, 1, 0))
    assert day["live_answers"] > 0
    # ready after the shift only while calls dialled before its end may still answer (20 s)
    assert 0 <= day["idle_after_shift_s"] <= 3 * 22  # 3 agents; 105 s when nobody logged out


@pytest.mark.req("D21")
def test_predictive_stays_under_the_cap_and_beats_progressive(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(TINY.replace("shift_h = 0.25", "shift_h = 2").replace("agents = 3", "agents = 8"))
    with bench.Runner(str(path), [1], 1, workers=2) as runner:
        predictive, progressive = runner.run_many(
            [(bench.DialingMode.PREDICTIVE, 1.0), (bench.DialingMode.POWER, 1.0)])
    pred, prog = bench.summarize(predictive), bench.summarize(progressive)
    assert pred["max_daily_abandon_rate"] <= 0.03
    assert pred["rpc_per_agent_hour"] > 1.05 * prog["rpc_per_agent_hour"]
    assert pred["occupancy"] > prog["occupancy"]


SMALL_AMD = """
name = "small-amd"
shift_h = 2
agents = [[0, 10], [1, 7]]
live = { from = 0.30, to = 0.15 }
machine = 0.25
busy = 0.1
answer_delay = { mean_s = 9, cv = 0.5 }
talk = { mean_s = 50, cv = 0.8 }
wrap = { mean_s = 8, cv = 0.3 }
amd = { false_positive = 0.005, false_negative = 0.2 }
"""


@pytest.mark.req("D21")
def test_predictive_keeps_every_day_under_the_cap_with_amd_and_drift(tmp_path):
    """The cap is a correctness property: every seed's day, AMD false positives counted,
    on a small team whose answer rate falls and whose agents log out mid-shift."""
    path = tmp_path / "small_amd.toml"
    path.write_text(SMALL_AMD)
    with bench.Runner(str(path), [1, 2], 1, workers=2) as runner:
        days = runner.run(bench.DialingMode.PREDICTIVE)
    for day in days:
        assert day["live_answers"] > 500
        assert day["abandoned_live"] <= 0.03 * day["live_answers"], day
    assert bench.summarize(days)["max_daily_abandon_rate"] <= 0.03


@pytest.mark.req("D21")
def test_a_lucky_day_raises_the_target_but_never_lets_every_call_pass():
    """Unspent budget lets the marginal call be likelier to overflow: up to TARGET_CEILING
    x the goal on a small day, up to LARGE_DAY_CEILING x on a large team's day (it needs it);
    at a target of 1 every call would pass, and a 200-agent team at the ceiling still stops
    well before that."""
    from dataclasses import replace

    from dialer import estimators, pacing

    ctl = estimators.AbandonController(0.03)
    for _ in range(2000):  # a small day without abandons
        ctl.record_live(False)
    assert ctl.overflow_target == pytest.approx(ctl.goal * estimators.TARGET_CEILING)
    small_day = ctl.overflow_target
    for _ in range(200_000):  # a large team's day without abandons
        ctl.record_live(False)
    assert ctl.overflow_target == pytest.approx(ctl.goal * estimators.LARGE_DAY_CEILING)
    assert ctl.overflow_target > 3 * small_day
    assert ctl.overflow_target <= 0.6
    est = estimators.Estimates(
        resolved=1000, connect_rate=0.4, answer_points_s=(8.0,),
        connect_within=((0.4,) * 21,), on_call_free_by=((0.1,) * 100,),
        in_wrap_free_by=((0.6,) * 30,), talk_samples=100, mean_talk_s=60.0, mean_wrap_s=10.0)
    stats = pacing.PacingStats(ready_agents=5, on_call_elapsed_s=[30.0] * 180,
                               wrap_elapsed_s=[5.0] * 15, estimates=est,
                               overflow_target=ctl.overflow_target)
    at_ceiling = pacing.calls_to_place(stats, pacing.PacingParams())
    every_call = pacing.calls_to_place(replace(stats, overflow_target=1.0), pacing.PacingParams())
    at_goal = pacing.calls_to_place(replace(stats, overflow_target=ctl.goal), pacing.PacingParams())
    assert 5 <= at_goal < at_ceiling < every_call
