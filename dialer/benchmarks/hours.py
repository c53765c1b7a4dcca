"""``dialer bench hours``: calling-hours decisions per second against an ``astimezone`` baseline.

Builds a few thousand resolved targets (US numbers across the area-code table
with and without addresses, Canadian, British, French, Australian and German
numbers; every call category; preview and predictive campaigns), draws
(target, instant) pairs over two years, then times in the same run:

* the baseline: one ``instant.astimezone(ZoneInfo(zone))`` per pair, and the
  same with the ``ZoneInfo`` objects built beforehand (``ZoneInfo(name)`` keeps
  only 8 zones in its fast cache, so with many zones the first is slow; the
  second ratio is the honest one);
* :func:`campaigns.calling_hours.may_dial` over the same pairs;
* :func:`campaigns.calling_hours.next_dialable_at` (14-day horizon) over a tenth of them;
* target resolution (:func:`campaigns.calling_hours.resolve_target`) on its own.

Target: ``ratio_to_baseline`` (may_dial / baseline) >= 0.2.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import random
import time
from zoneinfo import ZoneInfo

import click

from campaigns import calling_hours, zones
from dialer.cli import common

_FOREIGN = ["+442079460{:03d}", "+447911123{:03d}", "+33142685{:03d}", "+61212345{:03d}",
            "+4930123456{:02d}", "+1416555{:04d}", "+1604555{:04d}", "+1514555{:04d}"]
_CATEGORIES = ["telemarketing"] * 6 + ["debt_collection", "research", "informational",
                                       "securities_solicitation"]


def _specs(rng: random.Random, count: int) -> list[dict[str, object]]:
    us_codes = [npa for npa, (region, subs) in zones.area_codes().items()
                if region == "US" and subs]
    states = ["FL", "TX", "CA", "NY", "UT", "LA", "PA", "AL", "MS", "KY", "WA", "OK", "RI", "AZ"]
    specs = []
    for index in range(count):
        spec: dict[str, object] = {"category": rng.choice(_CATEGORIES),
                                   "dialing_mode": rng.choice(["preview", "predictive"])}
        if rng.random() < 0.8:
            spec["number"] = f"+1{rng.choice(us_codes)}555{rng.randrange(100, 200):04d}"
            if rng.random() < 0.3:
                spec["state"] = rng.choice(states)
        else:
            pattern = rng.choice(_FOREIGN)
            spec["number"] = pattern.format(index % (100 if "{:02d}" in pattern else 1000))
        specs.append(spec)
    return specs


def _resolve(specs: list[dict[str, object]]) -> list[calling_hours.Target]:
    out = []
    for spec in specs:
        try:
            out.append(calling_hours.resolve_target(**spec))  # type: ignore[arg-type]
        except calling_hours.errors.InvalidInput:
            continue
    return out


_CHUNK = 20_000


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run(pairs: int, seed: int = 1) -> dict[str, float]:
    """Measure and return the figures (see the module docstring)."""
    rng = random.Random(seed)
    specs = _specs(rng, 3000)
    _resolve(specs)  # warm the zone, rule and table caches once
    started = time.perf_counter()
    targets = _resolve(specs)
    resolve_per_s = _rate(len(specs), time.perf_counter() - started)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    span = 2 * 365 * 86400
    work = [(targets[rng.randrange(len(targets))],
             base + dt.timedelta(seconds=rng.randrange(span))) for _ in range(pairs)]
    names = [t.zones[0] if t.zones else "UTC" for t, _at in work]
    # ZoneInfo(name) keeps only 8 zones in its fast cache, so with many zones the
    # baseline is slow; the same loop with the ZoneInfo objects built beforehand is
    # reported beside it.  The three loops alternate over chunks of the pairs, so
    # that a busy machine slows them alike.
    prebuilt = {name: ZoneInfo(name) for name in set(names)}
    may_dial = calling_hours.may_dial
    spent = [0.0, 0.0, 0.0]
    gc.collect()
    gc.disable()
    try:
        for first in range(0, pairs, _CHUNK):
            chunk = work[first:first + _CHUNK]
            zone_names = names[first:first + _CHUNK]
            started = time.perf_counter()
            for (_target, at), name in zip(chunk, zone_names):
                at.astimezone(ZoneInfo(name))
            spent[0] += time.perf_counter() - started
            started = time.perf_counter()
            for (_target, at), name in zip(chunk, zone_names):
                at.astimezone(prebuilt[name])
            spent[1] += time.perf_counter() - started
            started = time.perf_counter()
            for target, at in chunk:
                may_dial(target, at)
            spent[2] += time.perf_counter() - started
        baseline, prebuilt_rate, decisions = (_rate(pairs, t) for t in spent)
        sample = work[: max(1, pairs // 10)]
        horizon = dt.timedelta(days=14)
        started = time.perf_counter()
        for target, at in sample:
            calling_hours.next_dialable_at(target, at, horizon)
        following = _rate(len(sample), time.perf_counter() - started)
    finally:
        gc.enable()
    return {"pairs": pairs, "targets": len(targets), "may_dial_per_s": round(decisions),
            "next_dialable_at_per_s": round(following),
            "astimezone_baseline_per_s": round(baseline),
            "ratio_to_baseline": round(decisions / baseline, 3),
            "astimezone_prebuilt_per_s": round(prebuilt_rate),
            "ratio_to_prebuilt": round(decisions / prebuilt_rate, 3),
            "resolve_per_s": round(resolve_per_s)}


@click.command("hours")
@click.option("--pairs", default=1_000_000, show_default=True, type=click.IntRange(min=1),
              help="(target, instant) pairs to decide.")
@click.option("--seed", default=1, show_default=True, help="Random seed.")
@common.common_options
def command(pairs: int, seed: int) -> None:
    """Calling-hours decisions per second, beside an astimezone baseline (B18)."""
    report = run(pairs, seed)
    common.app().emit(report, lambda: json.dumps(report, indent=2))
