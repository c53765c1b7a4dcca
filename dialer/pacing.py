"""How many calls to place now (pure): progressive, power and predictive pacing.

:func:`calls_to_place` takes a frozen :class:`PacingStats` — what the engine
sees now: ready agents, the calls still ringing and for how long, agents on
calls and in wrap-up and for how long, answered calls waiting, the abandons of
the day and of 30 days, and the live :class:`dialer.estimators.Estimates` —
and a :class:`PacingParams`, and returns a count.

Predictive pacing looks at each new call where it would be answered.  The
recent dial-to-answer delays give a few equally likely answer times ``t``; a
call answered at ``t`` is served if the agents free by then (ready ones, plus
calls and wrap-ups that should have ended, by their elapsed times) outnumber
the answers before it (calls waiting, calls already ringing that should answer
by ``t`` given how long they have rung, and the other new calls that answer
sooner).  Both are sums of independent Bernoulli variables; with their normal
approximation, the chance that the call's answer finds no agent is averaged
over ``t``.  The pacer places the most calls for which the last one's chance
stays under the target that :class:`dialer.estimators.AbandonController` sets:
the abandon budget goes where an abandon is unlikely, and none is spent on a
call that would most likely be abandoned because other calls are cheap.  The
variance makes a small team cautious by itself; when the day's (or 30 days')
abandon rate, counting the estimated AMD false positives, nears the cap, it
falls back to progressive.  It never dials fewer calls than progressive would.

This module imports nothing from the simulator (a test checks it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from campaigns.enums import DialingMode
from dialer import estimators


#: the most calls one decision places (a bound for the search, never reached in practice).
_MAX_CALLS = 1 << 16


@dataclass(frozen=True)
class PacingParams:
    """A campaign's pacing settings."""

    mode: DialingMode = DialingMode.PREDICTIVE
    #: calls ringing per ready agent (power).
    ratio: float = 2.0
    #: abandoned / live answers, per day and per 30 days.
    abandon_cap: float = 0.03
    #: the campaign's estimate of live answers judged machine by AMD (abandoned unseen).
    amd_fp_estimate: float = 0.0
    #: share of the cap at which predictive falls back to progressive.
    fallback_fraction: float = 0.9
    #: resolved calls needed before the estimates are trusted.
    min_resolved: int = 60
    #: lines the campaign may use (None: no limit).
    max_lines: int | None = None


@dataclass(frozen=True)
class PacingStats:
    """What the engine sees now."""

    ready_agents: int
    #: seconds since each unanswered call was dialled.
    ringing_ages_s: Sequence[float] = ()
    #: seconds each agent on a call has been talking.
    on_call_elapsed_s: Sequence[float] = ()
    #: seconds each agent in wrap-up has been in it.
    wrap_elapsed_s: Sequence[float] = ()
    #: answered calls waiting for an agent.
    waiting_calls: int = 0
    #: calls in progress (ringing, answered, connected).
    lines_in_use: int = 0
    live_today: int = 0
    abandoned_today: int = 0
    live_30d: int = 0
    abandoned_30d: int = 0
    estimates: estimators.Estimates | None = None
    #: the chance that the last new call's answer finds no agent the predictive pacer accepts.
    overflow_target: float = 0.02


def calls_to_place(stats: PacingStats, params: PacingParams) -> int:
    """How many new calls to dial now.

    >>> calls_to_place(PacingStats(ready_agents=4, ringing_ages_s=(3.0,)),
    ...                PacingParams(mode=DialingMode.PROGRESSIVE))
    3
    >>> calls_to_place(PacingStats(ready_agents=4, ringing_ages_s=(3.0,)),
    ...                PacingParams(mode=DialingMode.POWER, ratio=2.0))
    7
    """
    progressive = stats.ready_agents - len(stats.ringing_ages_s) - stats.waiting_calls
    if params.mode in (DialingMode.PROGRESSIVE, DialingMode.PREVIEW):
        wanted = progressive
    elif params.mode is DialingMode.POWER:
        wanted = round(params.ratio * stats.ready_agents) - len(stats.ringing_ages_s)
    elif is_cap_at_risk(stats, params) or not _has_estimates(stats, params):
        wanted = progressive
    else:
        wanted = max(progressive, _predictive(stats))
    return _within_lines(wanted, stats, params)


def is_cap_at_risk(stats: PacingStats, params: PacingParams) -> bool:
    """Is the day's or the 30 days' abandon rate (with AMD false positives) near the cap?"""
    limit = params.abandon_cap * params.fallback_fraction
    for live, abandoned in ((stats.live_today, stats.abandoned_today),
                            (stats.live_30d, stats.abandoned_30d)):
        if live and (abandoned + params.amd_fp_estimate * live) / live >= limit:
            return True
    return False


def _has_estimates(stats: PacingStats, params: PacingParams) -> bool:
    est = stats.estimates
    return (est is not None and est.resolved >= params.min_resolved and est.connect_rate > 0
            and est.talk_samples >= 10)


def _within_lines(wanted: int, stats: PacingStats, params: PacingParams) -> int:
    if params.max_lines is not None:
        wanted = min(wanted, params.max_lines - stats.lines_in_use)
    return max(0, wanted)


def _predictive(stats: PacingStats) -> int:
    """The most new calls whose last one's answer would find no agent less often than the target.

    Supply is counted at the answer itself: counting agents who free up in the
    2 s an answer may wait too lost 1-2 % of contacts with 5 and 10 agents
    (S6, S1) and gained nothing with 200 (S3).
    """
    est = stats.estimates
    assert est is not None
    points = len(est.answer_points_s)
    p_new = est.connect_rate
    gaps: list[tuple[float, float, float]] = []  # per point: mean, variance, a new call's share
    for k in range(points):
        answers, answers_var = _bernoulli_sum(stats.ringing_ages_s, est.connect_within[k])
        on_call, on_call_var = _bernoulli_sum(stats.on_call_elapsed_s, est.on_call_free_by[k])
        in_wrap, in_wrap_var = _bernoulli_sum(stats.wrap_elapsed_s, est.in_wrap_free_by[k])
        gaps.append((stats.waiting_calls + answers - stats.ready_agents - on_call - in_wrap,
                     answers_var + on_call_var + in_wrap_var,
                     p_new * (k + 0.5) / points))  # another new call answers before point k

    def p_no_agent(n: int) -> float:  # the n-th new call's answer finds no agent
        total = 0.0
        for mean, variance, share in gaps:  # answers before it >= agents free (+0.5: integers)
            total += p_positive(mean + (n - 1) * share + 0.5,
                                variance + (n - 1) * share * (1 - share))
        return total / points

    target = stats.overflow_target
    low, high = 0, 1  # p_no_agent grows with n: find the last n at or under the target
    while p_no_agent(high) <= target and high < _MAX_CALLS:
        low, high = high, 2 * high
    while low + 1 < high:
        mid = (low + high) // 2
        if p_no_agent(mid) <= target:
            low = mid
        else:
            high = mid
    return low


def _bernoulli_sum(ages: Sequence[float], table: Sequence[float]) -> tuple[float, float]:
    """Mean and variance of a sum of Bernoulli variables whose p is ``table[int(age)]``."""
    size, tail = len(table), table[-1]
    probabilities = [table[int(age)] if age < size else tail for age in ages]
    mean = sum(probabilities)
    return mean, mean - sum(p * p for p in probabilities)


def p_positive(mean: float, variance: float) -> float:
    """``P(X > 0)`` for ``X ~ Normal(mean, variance)``.

    >>> p_positive(0.0, 1.0)
    0.5
    >>> round(p_positive(1.0, 1.0), 4)
    0.8413
    >>> p_positive(-3.0, 0.0)
    0.0
    """
    if variance <= 1e-12:
        return 1.0 if mean > 0 else 0.0
    return 0.5 * (1.0 + math.erf(mean / math.sqrt(2.0 * variance)))
