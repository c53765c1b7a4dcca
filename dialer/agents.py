"""The agent state machine (pure): states, explicit transitions, the kept history, selection.

States: ``logged_out``, ``ready``, ``not_ready`` (with a reason code),
``reserved`` (a call is being connected), ``on_call``, ``wrap_up`` (with a
limit, then ``ready`` or ``not_ready`` as configured).  Each agent's current
status is a frozen :class:`AgentStatus`; :func:`transition` returns a new one
or raises :class:`InvalidTransition`.  :class:`AgentBoard` holds a team's
statuses and the append-only log of every change, and picks the longest-idle
ready agent.  Time is always passed in (``now``, aware UTC).

A pause or logout asked while the agent is busy (reserved, on a call, in
wrap-up) is kept as pending and applied when the wrap-up ends; supervisors use
the same path (:meth:`AgentBoard.force_not_ready`, :meth:`AgentBoard.force_logout`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterator
from dataclasses import dataclass

from dialer import errors


class AgentState(str, enum.Enum):
    """Where an agent stands."""

    #: not working.
    LOGGED_OUT = "logged_out"
    #: waiting for a call.
    READY = "ready"
    #: logged in but not taking calls (``reason`` says why: break, training, forced...).
    NOT_READY = "not_ready"
    #: chosen for an answered call that is being connected.
    RESERVED = "reserved"
    #: talking to a customer.
    ON_CALL = "on_call"
    #: after the call: disposition and notes.
    WRAP_UP = "wrap_up"


S = AgentState

#: every allowed change of state.
TRANSITIONS: dict[AgentState, frozenset[AgentState]] = {
    S.LOGGED_OUT: frozenset({S.READY, S.NOT_READY}),
    S.READY: frozenset({S.RESERVED, S.NOT_READY, S.LOGGED_OUT}),
    S.NOT_READY: frozenset({S.READY, S.NOT_READY, S.LOGGED_OUT}),
    S.RESERVED: frozenset({S.ON_CALL, S.READY}),
    S.ON_CALL: frozenset({S.WRAP_UP}),
    S.WRAP_UP: frozenset({S.READY, S.NOT_READY, S.LOGGED_OUT}),
}

BUSY_STATES = frozenset({S.RESERVED, S.ON_CALL, S.WRAP_UP})


class InvalidTransition(errors.DialerError):
    """This change of agent state is not allowed."""

    error_id = "invalid-agent-transition"

    def __init__(self, agent_id: int, current: AgentState, wanted: AgentState) -> None:
        super().__init__(f"agent {agent_id} cannot go from {current.value} to {wanted.value}",
                         fields={"agent_id": str(agent_id), "state": current.value})
        self.agent_id, self.current, self.wanted = agent_id, current, wanted


class UnknownAgent(errors.DialerError, LookupError):
    """No such agent."""

    error_id = "no-such-agent"

    def __init__(self, agent_id: int) -> None:
        super().__init__(f"agent {agent_id} is not known", fields={"agent_id": str(agent_id)})
        self.agent_id = agent_id


@dataclass(frozen=True)
class AgentStatus:
    """An agent's current state."""

    agent_id: int
    state: AgentState = S.LOGGED_OUT
    #: when the current state began.
    since: dt.datetime | None = None
    #: not-ready reason code.
    reason: str = ""
    #: the call being connected, talked or wrapped up.
    call_id: str | None = None
    campaign_ids: frozenset[int] = frozenset()
    #: applied when the current wrap-up ends: a not-ready reason, or "logout".
    pending: str = ""

    def elapsed_s(self, now: dt.datetime) -> float:
        """Seconds in the current state."""
        return (now - self.since).total_seconds() if self.since else 0.0


@dataclass(frozen=True)
class StateChange:
    """One kept change of state."""

    agent_id: int
    state: AgentState
    at: dt.datetime
    reason: str = ""
    call_id: str | None = None


def transition(status: AgentStatus, state: AgentState, now: dt.datetime, *, reason: str = "",
               call_id: str | None = None) -> AgentStatus:
    """The status after moving to ``state`` at ``now``.

    Raises
    ------
    InvalidTransition
        when ``TRANSITIONS`` does not allow it.

    >>> t0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.timezone.utc)
    >>> transition(AgentStatus(7), AgentState.READY, t0).state.value
    'ready'
    """
    if state not in TRANSITIONS[status.state]:
        raise InvalidTransition(status.agent_id, status.state, state)
    keep_call = state in (S.ON_CALL, S.WRAP_UP)
    return AgentStatus(
        status.agent_id, state, now, reason if state is S.NOT_READY else "",
        call_id if call_id is not None else (status.call_id if keep_call else None),
        status.campaign_ids, status.pending if state in BUSY_STATES else "")


@dataclass(frozen=True)
class WrapPolicy:
    """How long wrap-up may last and what follows it."""

    limit_s: float = 120.0
    #: READY or NOT_READY once wrap-up ends (by the agent or by the limit).
    then: AgentState = S.READY


class AgentBoard:
    """A team's agent statuses and the history of every change (pure: ``now`` is passed in)."""

    def __init__(self, wrap: WrapPolicy | None = None) -> None:
        self.wrap = wrap or WrapPolicy()
        self._agents: dict[int, AgentStatus] = {}
        #: ready agents, longest idle first (kept in order as agents become ready).
        self._ready: dict[int, dt.datetime] = {}
        self.history: list[StateChange] = []

    def __iter__(self) -> Iterator[AgentStatus]:
        return iter(self._agents.values())

    def get(self, agent_id: int) -> AgentStatus:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def add(self, agent_id: int, campaign_ids: frozenset[int] = frozenset()) -> AgentStatus:
        """Make an agent known (logged out)."""
        status = self._agents.setdefault(agent_id, AgentStatus(agent_id, campaign_ids=campaign_ids))
        return status

    # -- transitions -------------------------------------------------------------------------

    def _move(self, agent_id: int, state: AgentState, now: dt.datetime, *, reason: str = "",
              call_id: str | None = None) -> AgentStatus:
        status = transition(self.get(agent_id), state, now, reason=reason, call_id=call_id)
        self._agents[agent_id] = status
        self._ready.pop(agent_id, None)
        if state is S.READY:
            self._queue_ready(agent_id, now)
        self.history.append(StateChange(agent_id, state, now, status.reason, status.call_id))
        return status

    def login(self, agent_id: int, now: dt.datetime, *, is_ready: bool = True,
              campaign_ids: frozenset[int] = frozenset()) -> AgentStatus:
        self.add(agent_id, campaign_ids)
        if campaign_ids:
            self._agents[agent_id] = dataclasses.replace(self._agents[agent_id],
                                                         campaign_ids=campaign_ids)
        if is_ready:
            return self._move(agent_id, S.READY, now)
        return self._move(agent_id, S.NOT_READY, now, reason="login")

    def ready(self, agent_id: int, now: dt.datetime) -> AgentStatus:
        return self._move(agent_id, S.READY, now)

    def reserve(self, agent_id: int, call_id: str, now: dt.datetime) -> AgentStatus:
        return self._move(agent_id, S.RESERVED, now, call_id=call_id)

    def release(self, agent_id: int, now: dt.datetime) -> AgentStatus:
        """A reservation fell through (the call ended first): back to ready, then to the
        pending pause or logout asked meanwhile, if any."""
        pending = self.get(agent_id).pending
        status = self._move(agent_id, S.READY, now)
        if pending == "logout":
            return self._move(agent_id, S.LOGGED_OUT, now)
        if pending:
            return self._move(agent_id, S.NOT_READY, now, reason=pending)
        return status

    def connect(self, agent_id: int, now: dt.datetime) -> AgentStatus:
        return self._move(agent_id, S.ON_CALL, now)

    def start_wrap(self, agent_id: int, now: dt.datetime) -> AgentStatus:
        return self._move(agent_id, S.WRAP_UP, now)

    def finish_wrap(self, agent_id: int, now: dt.datetime, *, is_limit: bool = False) -> AgentStatus:
        """Wrap-up ends: pending pause or logout first, else the policy (limit) or ready."""
        status = self.get(agent_id)
        if status.state is not S.WRAP_UP:
            raise InvalidTransition(agent_id, status.state, S.READY)
        if status.pending == "logout":
            return self._move(agent_id, S.LOGGED_OUT, now)
        if status.pending:
            return self._move(agent_id, S.NOT_READY, now, reason=status.pending)
        if is_limit and self.wrap.then is S.NOT_READY:
            return self._move(agent_id, S.NOT_READY, now, reason="wrap_limit")
        return self._move(agent_id, S.READY, now)

    def pause(self, agent_id: int, reason: str, now: dt.datetime) -> AgentStatus:
        """Not ready now if idle, else once the current wrap-up ends."""
        status = self.get(agent_id)
        if status.state in BUSY_STATES:
            return self._set_pending(agent_id, reason or "not_ready")
        return self._move(agent_id, S.NOT_READY, now, reason=reason or "not_ready")

    def logout(self, agent_id: int, now: dt.datetime) -> AgentStatus:
        """Logged out now if idle, else once the current wrap-up ends."""
        status = self.get(agent_id)
        if status.state in BUSY_STATES:
            return self._set_pending(agent_id, "logout")
        if status.state is S.LOGGED_OUT:
            return status
        return self._move(agent_id, S.LOGGED_OUT, now)

    def force_not_ready(self, agent_id: int, now: dt.datetime) -> AgentStatus:
        """A supervisor takes the agent off calls (after the current one)."""
        return self.pause(agent_id, "supervisor", now)

    def force_logout(self, agent_id: int, now: dt.datetime) -> AgentStatus:
        """A supervisor logs the agent out (after the current call)."""
        return self.logout(agent_id, now)

    def _queue_ready(self, agent_id: int, now: dt.datetime) -> None:
        last = next(reversed(self._ready.values()), None) if self._ready else None
        self._ready[agent_id] = now
        if last is not None and now < last:  # out of order (explicit times): re-sort
            self._ready = dict(sorted(self._ready.items(), key=lambda kv: (kv[1], kv[0])))

    def _set_pending(self, agent_id: int, pending: str) -> AgentStatus:
        status = dataclasses.replace(self.get(agent_id), pending=pending)
        self._agents[agent_id] = status
        return status

    # -- queries -----------------------------------------------------------------------------

    def longest_idle(self, campaign_id: int | None = None) -> AgentStatus | None:
        """The ready agent who has waited longest (for ``campaign_id`` when given)."""
        for agent_id in self._ready:
            status = self._agents[agent_id]
            if campaign_id is None or not status.campaign_ids or campaign_id in status.campaign_ids:
                return status
        return None

    def ready_in_order(self, campaign_id: int | None = None) -> list[AgentStatus]:
        """Every ready agent (for ``campaign_id`` when given), longest idle first."""
        statuses = (self._agents[agent_id] for agent_id in self._ready)
        return [s for s in statuses
                if campaign_id is None or not s.campaign_ids or campaign_id in s.campaign_ids]

    def count(self, state: AgentState) -> int:
        if state is S.READY:
            return len(self._ready)
        return sum(1 for s in self._agents.values() if s.state is state)

    def time_in_states(self, until: dt.datetime,
                       since: dt.datetime | None = None) -> dict[AgentState, float]:
        """Seconds every agent spent in each state, from the history, up to ``until``
        (and from ``since``, if given)."""
        totals = {state: 0.0 for state in AgentState}
        last: dict[int, StateChange] = {}

        def add(state: AgentState, start: dt.datetime, end: dt.datetime) -> None:
            if since is not None:
                start = max(start, since)
            totals[state] += max(0.0, (min(end, until) - start).total_seconds())

        for change in self.history:
            previous = last.get(change.agent_id)
            if previous is not None:
                add(previous.state, previous.at, change.at)
            last[change.agent_id] = change
        for change in last.values():
            add(change.state, change.at, until)
        return totals

    def idle_waits_s(self) -> list[float]:
        """Each wait of an agent in ``ready`` that ended with a call (reserved)."""
        waits: list[float] = []
        ready_since: dict[int, dt.datetime] = {}
        for change in self.history:
            if change.state is S.READY:
                ready_since[change.agent_id] = change.at
            elif change.state is S.RESERVED and change.agent_id in ready_since:
                waits.append((change.at - ready_since.pop(change.agent_id)).total_seconds())
            else:
                ready_since.pop(change.agent_id, None)
        return waits
