"""How many calls to place now (pure): progressive, power and predictive pacing.

:func:`calls_to_place` takes a frozen :class:`PacingStats` — what the engine
sees now: ready agents, the calls still ringing and for how long, agents on
calls and in wrap-up and for how long, answered calls waiting, the abandons of
the day and of 30 days, and the live :class:`dialer.estimators.Estimates` —
and a :class:`PacingParams`, and returns a count.

Predictive pacing balances, over the horizon in which a call dialled now would
be answered, the expected *demand* (answers still to come from the ringing
calls, plus the new calls') against the expected *supply* (ready agents, plus
agents whose call or wrap-up should end within the horizon).  Demand and
supply are sums of independent Bernoulli variables; with their normal
approximation, the expected overflow ``E[(demand - supply)+]`` is the expected
number of answers that will find no agent.  It keeps dialling while the *next*
call's share of that overflow (how much it adds, per answer it brings) stays
under the target that :class:`dialer.estimators.AbandonController` sets: the
abandon budget goes where an abandon is unlikely, and none is spent on a call
that would most likely be abandoned because other calls are cheap.  The
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
    #: expected overflow per expected answer the predictive pacer accepts.
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
    """The most new calls whose expected overflow per answer stays under the target."""
    est = stats.estimates
    assert est is not None
    demand, demand_var = _bernoulli_sum(stats.ringing_ages_s, est.connect_by_age)
    demand += stats.waiting_calls
    on_call, on_call_var = _bernoulli_sum(stats.on_call_elapsed_s, est.free_on_call)
    in_wrap, in_wrap_var = _bernoulli_sum(stats.wrap_elapsed_s, est.free_in_wrap)
    supply = stats.ready_agents + on_call + in_wrap
    supply_var = on_call_var + in_wrap_var
    p_new = est.connect_rate

    def overflow(n: int) -> float:
        return expected_excess(demand + n * p_new - supply,
                               demand_var + n * p_new * (1 - p_new) + supply_var)

    def is_within(n: int) -> bool:  # the n-th new call's answer is unlikely enough to overflow
        return overflow(n) - overflow(n - 1) <= stats.overflow_target * p_new

    low, high = 0, max(1, int((supply + 4 * math.sqrt(supply_var + 1) + 2) / p_new))
    while low < high:  # largest n with is_within(n); is_within is monotone in n
        mid = (low + high + 1) // 2
        if is_within(mid):
            low = mid
        else:
            high = mid - 1
    return low


def _bernoulli_sum(ages: Sequence[float], table: Sequence[float]) -> tuple[float, float]:
    """Mean and variance of a sum of Bernoulli variables whose p is ``table[int(age)]``."""
    size, tail = len(table), table[-1]
    probabilities = [table[int(age)] if age < size else tail for age in ages]
    mean = sum(probabilities)
    return mean, mean - sum(p * p for p in probabilities)


def expected_excess(mean: float, variance: float) -> float:
    """``E[max(X, 0)]`` for ``X ~ Normal(mean, variance)``.

    >>> round(expected_excess(0.0, 1.0), 4)
    0.3989
    >>> expected_excess(-3.0, 0.0)
    0.0
    """
    if variance <= 1e-12:
        return max(mean, 0.0)
    sd = math.sqrt(variance)
    z = mean / sd
    cdf = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return mean * cdf + sd * pdf
