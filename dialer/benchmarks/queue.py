"""``dialer bench queue``: the retry/callback queue at scale, each figure beside its baseline (D11).

In one run (see :mod:`dialer.queue_bench`, :mod:`dialer.queue_release_bench`
and :mod:`dialer.queue_lateness`):

* ``queue_adds_per_s``: ``pending`` rows added through the queue's insert path
  (:func:`campaigns.store.retry_queue.add_retries`, ``--batch`` rows a
  transaction) vs ``aps_adds_per_s``: APScheduler 3's ``SQLAlchemyJobStore``
  taking ``--aps-jobs`` date jobs in a SQLite file.  Target: ≥ 100 ×.
  ``single_adds_per_s``: 2,000 of the rows added one per transaction (what
  one call end costs on SQLite today, where each is its own transaction).
* ``release_rows_per_s``: timer passes releasing the ``--due`` due rows with
  the compliance check vs ``release_baseline_rows_per_s``: a raw driver
  ``executemany`` UPDATE of the same rows.  Target: ≥ 0.2 ×.
* ``rebuild_s``: from the engine's start on that database (in that fresh
  process) until its timer is armed with the next due instant.  Target: ≤ 5 s.
* ``lateness_p99_s``: ``--callbacks`` callbacks due within ``--horizon-s``
  among ``--lateness-pending`` pending rows, run by the real engine on the
  real clock.  Target: ≤ 1 s.
* ``rss_mb``: the engine's peak resident memory: the real engine started
  alone in a fresh process on the full database, its timer armed, then one
  release pass (up to its limit of due rows, ``engine_pass_rows``) an hour
  past the armed instant.  Target: < 500 MB.  ``bench_rss_mb``: this
  process's own peak (the build's generated rows and id sets, the checks).

SQLite in a temporary directory by default; ``--db URL`` runs it on that
database instead (a throwaway one: the benchmark's campaigns are deleted at
the end).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import click
from sqlalchemy import text

from dialer import queue_bench, queue_lateness, queue_release_bench
from dialer.cli import common


@click.command("queue")
@click.option("--pending", default=1_000_000, show_default=True, type=click.IntRange(min=10),
              help="Pending retry and callback rows.")
@click.option("--due", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="How many of them are due at the release instant.")
@click.option("--batch", default=queue_bench.ADD_BATCH, show_default=True,
              type=click.IntRange(min=1), help="Rows added per transaction.")
@click.option("--aps-jobs", default=10_000, show_default=True, type=click.IntRange(min=1),
              help="Date jobs added to APScheduler's SQLAlchemy job store (the baseline).")
@click.option("--lateness-pending", default=100_000, show_default=True,
              type=click.IntRange(min=1), help="Pending rows of the lateness run.")
@click.option("--callbacks", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Callbacks coming due during the lateness run.")
@click.option("--horizon-s", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="The callbacks come due within this many seconds.")
@click.option("--agents", default=40, show_default=True, type=click.IntRange(min=1),
              help="Simulated agents of the lateness run.")
@click.option("--tick-s", default=1.0, show_default=True, type=click.FloatRange(0.05, 10),
              help="The engine's pacing tick in the lateness run (as dialer run --tick-s).")
@click.option("--seed", default=1, show_default=True, help="Random seed.")
@common.common_options
def command(pending: int, due: int, batch: int, aps_jobs: int, lateness_pending: int,
            callbacks: int, horizon_s: float, agents: int, tick_s: float, seed: int) -> None:
    """Queue adds, release, rebuild and lateness at scale, beside their baselines (D11)."""
    app = common.app()
    if due > pending:
        raise common.usage_error("--due cannot exceed --pending", "due")
    if callbacks > lateness_pending:
        raise common.usage_error("--callbacks cannot exceed --lateness-pending", "callbacks")
    given = app.options.get("db")
    with tempfile.TemporaryDirectory(prefix="dialer-bench-queue-") as where:
        url = given or f"sqlite:///{Path(where) / 'queue.db'}"
        lateness_url = given or f"sqlite:///{Path(where) / 'lateness.db'}"
        report = run(url, lateness_url, pending=pending, due=due, batch=batch,
                     aps_jobs=aps_jobs, lateness_pending=lateness_pending, callbacks=callbacks,
                     horizon_s=horizon_s, agents=agents, tick_s=tick_s, seed=seed)
    app.emit(report, lambda: json.dumps(report, indent=2))


def run(url: str, lateness_url: str, *, pending: int, due: int, batch: int, aps_jobs: int,
        lateness_pending: int, callbacks: int, horizon_s: float, agents: int, tick_s: float,
        seed: int) -> dict[str, Any]:
    """Every phase in order; the report."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    built = queue_bench.build(url, pending, due, now, seed=seed, batch=batch)
    aps = queue_bench.aps_adds(aps_jobs, now)
    released = queue_release_bench.release(built)
    expected = queue_release_bench.next_due(url)
    engine = queue_release_bench.rebuild(url)
    armed_for = engine["armed_for"]
    _drop(url, built.campaign_id)
    late = queue_lateness.lateness(lateness_url, pending=lateness_pending, callbacks=callbacks,
                                   horizon_s=horizon_s, agents=agents, tick_s=tick_s, seed=seed)
    adds_per_s = built.adds / built.add_s if built.add_s else 0.0
    return {
        "db": url.split(":", 1)[0].split("+", 1)[0], "pending": pending, "due": due,
        "queue_adds_per_s": round(adds_per_s), "aps_adds_per_s": round(aps, 1),
        "adds_ratio": round(adds_per_s / aps, 1) if aps else None, "add_batch": batch,
        "single_adds_per_s": round(built.single_adds / built.single_s) if built.single_s else 0,
        "release_rows_per_s": released["release_rows_per_s"],
        "release_baseline_rows_per_s": released["release_baseline_rows_per_s"],
        "release_ratio": round(released["release_rows_per_s"]
                               / released["release_baseline_rows_per_s"], 3)
        if released["release_baseline_rows_per_s"] else None,
        "lateness_p99_s": late["lateness_p99_s"], "rebuild_s": round(engine["rebuild_s"], 3),
        "rebuild_armed_for": armed_for.isoformat() if armed_for else None,
        "rebuild_expected": expected.isoformat() if expected else None,
        "rss_mb": engine["rss_mb"],
        "bench_rss_mb": queue_release_bench.peak_rss_mb(),
        "engine_pass_rows": engine.get("engine_pass_rows"),
        "engine_pass_s": engine.get("engine_pass_s"), "release": released, "lateness": late}


def _drop(url: str, campaign_id: int) -> None:
    """Delete the benchmark's big campaign (its rows go with it)."""
    engine = queue_bench.make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM campaign WHERE id = :id"), {"id": campaign_id})
    finally:
        engine.dispose()
