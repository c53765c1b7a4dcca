"""Live estimates for the pacer (pure): when calls answer, talk and wrap times, abandons.

Everything here is learned from what a real backend reports (when a call was
answered or ended, and how) and from agent state changes; nothing from the
simulator.  :class:`PacingEstimator` keeps sliding windows of recent calls and
durations and publishes a frozen :class:`Estimates` table, refreshed every so
often so that one pacing decision is a handful of list look-ups.
:class:`AbandonController` turns the abandons seen so far into the overflow
target the predictive pacer aims at (slow down before the cap, not after).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

#: longest ring age tracked (s); older calls count as the last bin.
MAX_RING_S = 90
#: longest time in a call or wrap-up tracked (s).
MAX_BUSY_S = 900
#: wrap-up quantiles used when adding wrap-up to a talk's remainder.
_WRAP_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)
#: how many equal-probability points of the dial-to-answer delay a new call is looked at.
ANSWER_POINTS = 6
#: the controller's goal without AMD, as a share of the cap.
GOAL_FRACTION = 0.85
#: the overflow target never exceeds this multiple of the goal until the day has
#: :data:`ENGINE_DAY_ANSWERS` answers; then the multiple grows as their square root, up to
#: :data:`LARGE_DAY_CEILING`.  A large team needs room: its overflow curve is steep, so the
#: marginal call may be far likelier to overflow than the average one (S3, 200 agents, with the
#: first, single-horizon pacer: 6 x the goal left the day at 0.0004 abandons, 20 x at 0.007
#: with 3 % more contacts; the pacer of answer times predicts the answers an agent misses
#: several times too often there, and the goal is met under 20 x); on a small day the same
#: room lets a burst of luck buy a burst of abandons (S1, 10 agents,
#: 30 days at 20 x: one day at 0.031).  Near 1 / goal every call passes and the slack swings.
TARGET_CEILING = 6.0
LARGE_DAY_CEILING, ENGINE_DAY_ANSWERS = 20.0, 8000
#: standard deviations of the false-positive count kept in reserve, and the fewest live
#: answers that margin is computed for (early in the day it is widest).
_FP_Z, _MIN_LIVE = 2.5, 300
#: without AMD the engine counts abandons over every answer, machines included, and cannot
#: tell which abandoned answers were live people, so the day's true rate wanders around the
#: counted one by about sqrt(rate / answers); the goal keeps this many of those standard
#: deviations (computed for at least :data:`_MIX_MIN_ANSWERS` answers, a small day) in
#: reserve.  A 5-agent campaign (S6) broke the cap on 2 days of 30 without it (0.0385).
_MIX_Z, _MIX_MIN_ANSWERS = 2.0, 1500


@dataclass(frozen=True)
class Estimates:
    """A snapshot of the live estimates (1-second bins).

    A call dialled now is answered (if it is) at one of ``answer_points_s``,
    each as likely: the midpoints of equal-probability slices of the recent
    dial-to-answer delays.  For each point ``k`` the tables say what happens
    by then: ``connect_within[k][i]`` is P(a call still ringing at age ``i`` s
    is answered within ``answer_points_s[k]``), ``on_call_free_by[k][i]`` and
    ``in_wrap_free_by[k][i]`` are P(an agent ``i`` s into a call, or into
    wrap-up, is ready by then).  Ages past a table's end use its last entry.
    """

    #: calls resolved (answered, machine-detected or ended unanswered) in the window.
    resolved: int
    #: share of dialled calls that end up needing an agent (``answered``).
    connect_rate: float
    answer_points_s: tuple[float, ...]
    connect_within: tuple[tuple[float, ...], ...]
    on_call_free_by: tuple[tuple[float, ...], ...]
    in_wrap_free_by: tuple[tuple[float, ...], ...]
    talk_samples: int
    mean_talk_s: float
    mean_wrap_s: float


class PacingEstimator:
    """Sliding windows of recent resolutions and durations."""

    def __init__(self, *, window: int = 3000, durations: int = 1500) -> None:
        self._resolutions: deque[tuple[int, bool]] = deque()
        self._window = window
        self._answered_at = [0] * (MAX_RING_S + 1)
        self._resolved_at = [0] * (MAX_RING_S + 1)
        self._connect_delays: deque[float] = deque(maxlen=durations)
        self._talks: deque[float] = deque(maxlen=durations)
        self._wraps: deque[float] = deque(maxlen=durations)

    @property
    def resolved(self) -> int:
        return len(self._resolutions)

    def record_resolution(self, age_s: float, is_connect: bool) -> None:
        """A call stopped ringing ``age_s`` after the dial: answered (needs an agent) or not."""
        age = min(int(age_s), MAX_RING_S)
        self._resolutions.append((age, is_connect))
        self._resolved_at[age] += 1
        self._answered_at[age] += is_connect
        if is_connect:
            self._connect_delays.append(age_s)
        if len(self._resolutions) > self._window:
            old_age, old_connect = self._resolutions.popleft()
            self._resolved_at[old_age] -= 1
            self._answered_at[old_age] -= old_connect

    def record_talk(self, seconds: float) -> None:
        self._talks.append(seconds)

    def record_wrap(self, seconds: float) -> None:
        self._wraps.append(seconds)

    def snapshot(self, on_call_s: Sequence[float] = (), in_wrap_s: Sequence[float] = ()) -> Estimates:
        """The current tables; ``on_call_s``/``in_wrap_s``: elapsed times of calls and wrap-ups
        still running (censored durations)."""
        resolved = len(self._resolutions)
        connects = sum(self._answered_at)
        delays = sorted(self._connect_delays)
        points = tuple(delays[int((k + 0.5) / ANSWER_POINTS * len(delays))]
                       for k in range(ANSWER_POINTS)) if delays else (10.0,)
        talks, wraps = sorted(self._talks), sorted(self._wraps)
        wrap_quantiles = [wraps[int(q * len(wraps))] for q in _WRAP_QUANTILES] if wraps else [0.0]
        talk_left, wrap_left = _survival(talks, on_call_s), _survival(wraps, in_wrap_s)
        return Estimates(
            resolved=resolved, connect_rate=connects / resolved if resolved else 0.0,
            answer_points_s=points,
            connect_within=tuple(_answered_within(self._answered_at, self._resolved_at,
                                                  max(1, round(point))) for point in points),
            on_call_free_by=tuple(_free_within(talk_left, point, wrap_quantiles)
                                  for point in points),
            in_wrap_free_by=tuple(_free_within(wrap_left, point, [0.0]) for point in points),
            talk_samples=len(talks), mean_talk_s=_mean(talks, 0.0), mean_wrap_s=_mean(wraps, 0.0))


def _mean(values, default: float) -> float:
    return sum(values) / len(values) if values else default


def _answered_within(hits: list[int], totals: list[int], span: int) -> tuple[float, ...]:
    """``sum(hits[i:i + span]) / sum(totals[i:])`` for every ``i`` (0 where nothing is left).

    >>> _answered_within([0, 2, 1, 0], [1, 2, 1, 4], 2)
    (0.25, 0.42857142857142855, 0.2, 0.0)
    """
    cumulative = [0]
    for hit in hits:
        cumulative.append(cumulative[-1] + hit)
    out = [0.0] * len(hits)
    total_sum = 0
    for i in range(len(hits) - 1, -1, -1):
        total_sum += totals[i]
        if total_sum:
            out[i] = (cumulative[min(len(hits), i + span)] - cumulative[i]) / total_sum
    return tuple(out)


def _survival(samples: Sequence[float], censored: Sequence[float]) -> list[float]:
    """Kaplan-Meier ``P(duration >= k)`` on 1-second bins (``[]`` without samples).

    ``samples`` are finished durations, ``censored`` the elapsed times of those
    still running (without them, the first minutes would see only the short
    calls and over-dial).
    """
    if not samples:
        return []
    top = min(MAX_BUSY_S, int(max(max(samples), max(censored, default=0.0))) + 1)
    deaths, at_risk = [0] * (top + 2), [0] * (top + 2)
    for value in samples:
        deaths[min(top, int(value))] += 1
        at_risk[min(top, int(value))] += 1
    for value in censored:
        at_risk[min(top, int(value))] += 1
    for k in range(top, -1, -1):  # at risk in bin k: everything that reached bin k
        at_risk[k] += at_risk[k + 1]
    survival = [1.0] * (top + 2)
    for k in range(top + 1):
        hazard = deaths[k] / at_risk[k] if at_risk[k] else 0.0
        survival[k + 1] = survival[k] * (1.0 - hazard)
    return survival


def _free_within(survival: list[float], horizon: float,
                 extra: Sequence[float]) -> tuple[float, ...]:
    """P(duration < elapsed + horizon - extra | duration >= elapsed), averaged over ``extra``.

    >>> _free_within(_survival([10.0, 20.0], []), 5.0, [0.0])[:3]
    (0.0, 0.0, 0.0)
    >>> _free_within(_survival([10.0, 20.0], []), 5.0, [0.0])[6]
    0.5
    """
    if not survival:
        return (0.0,)
    top = len(survival) - 2
    lags = [round(horizon - lag) for lag in extra]
    out: list[float] = []
    for elapsed in range(top + 1):
        alive = survival[elapsed]
        if alive <= 1e-12:
            out.append(out[-1] if out else 1.0)
            continue
        total = 0.0
        for lag in lags:
            if lag > 0:
                total += 1.0 - survival[min(top + 1, elapsed + lag)] / alive
        out.append(total / len(lags))
    return tuple(out)


class AbandonController:
    """Aims the predictive pacer's overflow target so that the day's abandons meet a goal.

    The target is the share of answers that the pacer accepts to see wait
    longer than the connect deadline.  It follows the day's *slack*, the
    abandons still allowed (``goal × live answers - abandons``): each connected
    answer raises it a little, each abandon lowers it a lot, and budget left
    unspent early in the day is spent later.  The goal is the cap minus the AMD
    false-positive estimate (abandons the engine does not see) minus a safety
    margin: ``1 - goal_fraction`` of the cap for the engine's own abandons and,
    added as an independent error, ``2.5`` standard deviations of the day's
    false-positive count, which shrink as the day's live answers grow.  Without
    AMD (``is_amd=False``), 2 standard deviations of the gap between the true
    rate and the counted one are added the same way.
    """

    def __init__(self, cap: float = 0.03, *, amd_fp_estimate: float = 0.0,
                 goal_fraction: float = GOAL_FRACTION, gain: float = 0.3,
                 ceiling: float = TARGET_CEILING, is_amd: bool = True) -> None:
        self.cap = cap
        self.amd_fp_estimate = amd_fp_estimate
        self.is_amd = is_amd
        self._fraction, self._gain, self._ceiling = goal_fraction, gain, ceiling
        self.live = 0
        self.abandoned = 0

    @property
    def goal(self) -> float:
        """The abandon rate (seen by the engine) aimed at for the day, now."""
        fp = self.amd_fp_estimate
        fp_noise = _FP_Z * math.sqrt(fp * (1 - fp) / max(self.live, _MIN_LIVE))
        own = self.cap * (1 - self._fraction)
        if not self.is_amd:  # live and machine answers mixed in the engine's count
            own = math.hypot(own, _MIX_Z * math.sqrt(self.cap / max(self.live, _MIX_MIN_ANSWERS)))
        margin = math.hypot(own, fp_noise)  # independent errors
        return max(0.002, self.cap - fp - margin)

    @property
    def overflow_target(self) -> float:
        goal = self.goal
        slack = goal * self.live - self.abandoned
        # the ceiling keeps a burst of luck from buying a burst of abandons
        ceiling = min(LARGE_DAY_CEILING,
                      self._ceiling * math.sqrt(max(1.0, self.live / ENGINE_DAY_ANSWERS)))
        exponent = min(math.log(ceiling), max(math.log(1 / 30), self._gain * slack))
        return goal * math.exp(exponent)

    def record_live(self, is_abandoned: bool) -> None:
        """A live answer was connected (False) or abandoned (True)."""
        self.live += 1
        self.abandoned += is_abandoned
