"""Scenario files and their validation (D20)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer import scenarios

pytestmark = pytest.mark.req("D20")

DIR = Path(__file__).resolve().parents[2] / "config" / "scenarios"

BASE = {
    "shift_h": 8, "agents": 10, "live": 0.2, "machine": 0.15, "busy": 0.1,
    "answer_delay": {"mean_s": 9, "cv": 0.5}, "talk": {"mean_s": 120, "cv": 0.8},
    "wrap": {"mean_s": 15, "cv": 0.3},
}

TABLE = {  # D20: agents, live, machine, busy, answer delay, talk, wrap, machine handling, AMD
    "s1": (10, 0.20, 0.15, 0.10, (9, .5), (120, .8), (15, .3), 8, None),
    "s2": (50, 0.12, 0.25, 0.08, (10, .5), (180, 1.0), (30, .5), 8, (0.02, 0.15)),
    "s3": (200, 0.30, 0.10, 0.10, (8, .5), (60, .6), (10, .3), 6, None),
    "s4": (25, 0.06, 0.30, 0.10, (10, .5), (150, .9), (20, .4), 8, (0.01, 0.20)),
    "s6": (5, 0.15, 0.20, 0.10, (9, .5), (120, .8), (15, .3), 8, None),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_shipped_scenario_matches_the_table(name):
    s = scenarios.load(DIR / f"{name}.toml")
    agents, live, machine, busy, delay, talk, wrap, handling, amd = TABLE[name]
    c, w = s.customers, s.workforce
    assert s.shift_h == 8 and s.ring_timeout_s == 20 and c.busy_resolve_s == 4
    assert (w.agents.at(0), c.live.at(0), c.machine.at(0), c.busy.at(0)) == (agents, live, machine, busy)
    assert (c.answer_delay.mean_s.at(0), c.answer_delay.cv.at(0)) == delay
    assert (c.talk.mean_s.at(0), c.talk.cv.at(0)) == talk
    assert (w.wrap.mean_s.at(0), w.wrap.cv.at(0)) == wrap
    assert c.machine_handling_s.at(0) == handling
    if amd is None:
        assert c.amd is None
    else:
        assert (c.amd.false_positive, c.amd.false_negative) == amd
        assert (c.amd.live_decision_s, c.amd.machine_decision_s) == (0.5, 3.0)


def test_time_varying_example_uses_both_forms():
    s = scenarios.load(DIR / "s5_drift.toml")
    assert s.customers.live.kind == "linear" and s.customers.live.at(4) == pytest.approx(0.21)
    assert s.workforce.agents.kind == "steps" and s.workforce.agents.at(4) == 14
    assert s.customers.talk.mean_s.kind == "steps" and s.customers.talk.mean_s.at(5) == 150
    assert s.workforce.breaks == scenarios.sim.BreakProfile(2, 15, (1.5, 6.5))


def test_ceiling_is_time_weighted_where_talk_changes():
    s = scenarios.parse({**BASE, "talk": {"mean_s": [[0, 90], [4, 150]], "cv": 0.8}})
    assert s.ceiling_rpc_per_agent_hour == pytest.approx(3600 / (120 + 15), rel=1e-3)


@pytest.mark.parametrize("change, key", [
    ({"shift_h": None}, "shift_h"),
    ({"live": 1.2}, "live"),
    ({"live": 0.5, "machine": 0.4, "busy": 0.2}, "live"),
    ({"live": {"from": 0.2}}, "live"),
    ({"agents": [[1, 5]]}, "agents"),
    ({"agents": [[0, 5.5]]}, "agents"),
    ({"agents": [[0, "x"]]}, "agents[0][1]"),
    ({"talk": {"mean_s": 0, "cv": 0.8}}, "talk.mean_s"),
    ({"talk": {"mean_s": 10}}, "talk.cv"),
    ({"wrap": None}, "wrap"),
    ({"amd": {"false_positive": 0.02}}, "amd.false_negative"),
    ({"amd": {"false_positive": 0.02, "false_negative": 0.1, "typo": 1}}, "amd.typo"),
    ({"breaks": {"per_agent": 1, "minutes": 10, "between_h": [5, 2]}}, "breaks.between_h[1]"),
    ({"colour": "blue"}, "colour"),
    ({"machine_handling_s": -1}, "machine_handling_s"),
])
def test_invalid_scenario_names_the_key(change, key):
    data = {**BASE, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(scenarios.ScenarioError) as info:
        scenarios.parse(data)
    assert info.value.key == key and key in str(info.value)


def test_unreadable_file_is_a_scenario_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("shift_h = = 8")
    with pytest.raises(scenarios.ScenarioError) as info:
        scenarios.load(bad)
    assert info.value.key == "scenario" and info.value.is_input_error
