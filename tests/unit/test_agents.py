"""The agent state machine (D3)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dialer import agents
from dialer.agents import AgentBoard, AgentStatus, WrapPolicy
from dialer.agents import AgentState as S

pytestmark = pytest.mark.req("D3")

T0 = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)  # the night the UK changes clocks


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


ALLOWED = [(a, b) for a, targets in agents.TRANSITIONS.items() for b in targets]
FORBIDDEN = [(a, b) for a in S for b in S if b not in agents.TRANSITIONS[a]]


@pytest.mark.parametrize("start, end", ALLOWED)
def test_allowed_transition_is_timestamped(start, end):
    status = AgentStatus(1, state=start, since=at(0))
    moved = agents.transition(status, end, at(5), reason="break")
    assert moved.state is end and moved.since == at(5)
    assert moved.reason == ("break" if end is S.NOT_READY else "")


@pytest.mark.parametrize("start, end", FORBIDDEN)
def test_forbidden_transition_raises(start, end):
    with pytest.raises(agents.InvalidTransition) as info:
        agents.transition(AgentStatus(1, state=start, since=at(0)), end, at(5))
    assert info.value.fields == {"agent_id": "1", "state": start.value}


def test_status_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        AgentStatus(1).state = S.READY  # type: ignore[misc]


def test_a_call_cycle_keeps_every_change():
    board = AgentBoard()
    board.login(7, at(0))
    board.reserve(7, "c1", at(10))
    board.connect(7, at(10.2))
    board.start_wrap(7, at(100))
    board.finish_wrap(7, at(115))
    assert [(c.state, c.at) for c in board.history] == [
        (S.READY, at(0)), (S.RESERVED, at(10)), (S.ON_CALL, at(10.2)), (S.WRAP_UP, at(100)),
        (S.READY, at(115))]
    assert [c.call_id for c in board.history] == [None, "c1", "c1", "c1", None]


def test_longest_idle_agent_gets_the_call():
    board = AgentBoard()
    for agent_id, since in ((1, 30), (2, 10), (3, 20)):
        board.login(agent_id, at(since))
    assert board.longest_idle().agent_id == 2
    board.reserve(2, "c", at(40))
    assert board.longest_idle().agent_id == 3


def test_longest_idle_respects_campaigns():
    board = AgentBoard()
    board.login(1, at(0), campaign_ids=frozenset({5}))
    board.login(2, at(10), campaign_ids=frozenset({6}))
    assert board.longest_idle(campaign_id=6).agent_id == 2
    assert board.longest_idle(campaign_id=7) is None


@pytest.mark.parametrize("then, expected", [(S.READY, S.READY), (S.NOT_READY, S.NOT_READY)])
def test_wrap_limit_leads_to_the_configured_state(then, expected):
    board = AgentBoard(WrapPolicy(limit_s=30, then=then))
    board.login(1, at(0))
    board.reserve(1, "c", at(1))
    board.connect(1, at(1))
    board.start_wrap(1, at(60))
    status = board.finish_wrap(1, at(90), is_limit=True)
    assert status.state is expected
    if expected is S.NOT_READY:
        assert status.reason == "wrap_limit"


def test_agent_finishing_wrap_is_ready_even_when_limit_policy_is_not_ready():
    board = AgentBoard(WrapPolicy(limit_s=30, then=S.NOT_READY))
    board.login(1, at(0))
    board.reserve(1, "c", at(1))
    board.connect(1, at(1))
    board.start_wrap(1, at(60))
    assert board.finish_wrap(1, at(70)).state is S.READY


def test_pause_while_on_call_applies_after_wrap_up():
    board = AgentBoard()
    board.login(1, at(0))
    board.reserve(1, "c", at(1))
    board.connect(1, at(1))
    assert board.pause(1, "break", at(5)).state is S.ON_CALL
    board.start_wrap(1, at(60))
    status = board.finish_wrap(1, at(70))
    assert (status.state, status.reason) == (S.NOT_READY, "break")


def test_not_ready_carries_its_reason_code():
    board = AgentBoard()
    board.login(1, at(0))
    status = board.pause(1, "training", at(5))
    assert (status.state, status.reason, status.since) == (S.NOT_READY, "training", at(5))
    assert board.ready(1, at(60)).reason == ""


def test_supervisor_forces_not_ready_and_logout():
    board = AgentBoard()
    board.login(1, at(0))
    board.login(2, at(0))
    assert board.force_not_ready(1, at(5)).reason == "supervisor"
    board.reserve(2, "c", at(6))
    board.connect(2, at(6))
    assert board.force_logout(2, at(7)).pending == "logout"
    board.start_wrap(2, at(60))
    assert board.finish_wrap(2, at(61)).state is S.LOGGED_OUT


def test_unknown_agent_is_a_lookup_error():
    with pytest.raises(LookupError):
        AgentBoard().get(42)


def test_reservation_released_returns_to_ready():
    board = AgentBoard()
    board.login(1, at(0))
    board.reserve(1, "c", at(3))
    assert board.release(1, at(4)).state is S.READY


def test_time_in_states_and_idle_waits_from_the_history():
    board = AgentBoard()
    board.login(1, at(0))
    board.reserve(1, "c", at(10))
    board.connect(1, at(10))
    board.start_wrap(1, at(70))
    board.finish_wrap(1, at(80))
    board.logout(1, at(100))
    times = board.time_in_states(at(200))
    assert times[S.READY] == 30 and times[S.ON_CALL] == 60 and times[S.WRAP_UP] == 10
    assert times[S.LOGGED_OUT] == 100
    assert board.idle_waits_s() == [10.0]
    window = board.time_in_states(at(75), since=at(5))  # intervals clipped to [5, 75]
    assert window[S.READY] == 5 and window[S.ON_CALL] == 60 and window[S.WRAP_UP] == 5
    assert sum(window.values()) == 70
