"""``dialer bench pacing --scenario FILE.toml [--seeds 1-3] [--days 1] --json`` (D18-D21).

The runs live in :mod:`dialer.pacing_bench`; this module is the command line.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import click

from dialer import pacing_bench
from dialer.cli import common


def parse_seeds(text: str) -> list[int]:
    """``1-3`` or ``1,4,7`` (or a mix) -> seeds.

    >>> parse_seeds("1-3,7")
    [1, 2, 3, 7]
    """
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise common.usage_error(f"bad seed list {text!r} (e.g. 1-3 or 1,2,5)", "seeds")
        seeds.extend(range(int(first), int(last or first) + 1))
    if not seeds:
        raise common.usage_error("no seed given", "seeds")
    return seeds


def _text(report: dict[str, Any], elapsed_s: float) -> str:
    rows = []
    for name, figures in report["policies"].items():
        rows.append({"policy": name, "ratio": figures.get("ratio"),
                     "rpc/agent-h": f"{figures['rpc_per_agent_hour']:.2f}",
                     "occupancy": f"{figures['occupancy']:.3f}",
                     "max daily abandon": f"{figures['max_daily_abandon_rate']:.4f}",
                     "dials": figures["dials"]})
    head = (f"scenario {report['scenario']}, seeds {report['seeds']}, days {report['days']}, "
            f"ceiling {report['ceiling_rpc_per_agent_hour']:.2f} contacts/agent-hour "
            f"({elapsed_s:.0f} s)")
    return head + "\n" + common.echo_table(rows, list(rows[0]))


@click.command("pacing")
@click.option("--scenario", "scenario_path", required=True,
              type=click.Path(exists=True, dir_okay=False), help="Scenario TOML file.")
@click.option("--seeds", default="1-3", show_default=True, help="Seeds: 1-3 or 1,2,5.")
@click.option("--days", default=1, show_default=True, type=click.IntRange(1, 365))
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes (default: one per core).")
@common.common_options
def command(scenario_path: str, seeds: str, days: int, workers: int | None) -> None:
    """Pacing quality on a simulated campaign: predictive vs progressive, power, r*, ceiling."""
    seed_list = parse_seeds(seeds)
    started = time.perf_counter()
    report = pacing_bench.benchmark(str(Path(scenario_path)), seed_list, days, workers or os.cpu_count() or 1)
    elapsed = time.perf_counter() - started
    report = _finite(report)
    common.app().emit(report, lambda: _text(report, elapsed))


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
