"""Release and rebuild of the queue benchmark (D11), on the database :mod:`dialer.queue_bench` built.

:func:`release` runs timer passes (:func:`campaigns.store.retry_queue.release_due`)
at the build's ``now`` until nothing is due, then times the baseline, a raw
driver ``executemany`` UPDATE writing the values the passes left into the same
rows, and checks the passes: every due row handled exactly once, none released
before it was due, moved rows at the next legal instant the per-record path
(:func:`campaigns.store.compliance.load_target`) gives, on a sample.

:func:`rebuild` starts the real :class:`dialer.app.Engine` in a fresh process and
times how long it takes from start until its timer is armed with the next due
instant; that process's peak memory is the engine's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import random
import resource
import sqlite3
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from campaigns import calling_hours, calling_rules, db, models
from campaigns.enums import RetryStatus
from campaigns.store import compliance, retry_queue
from dialer import queue_bench

UTC = dt.UTC
SAMPLE = 100


def release(built: queue_bench.Built, *,
            limit: int = retry_queue.PASS_LIMIT) -> dict[str, Any]:
    """Passes until nothing is due (timed), the raw baseline, and the checks.

    ``limit`` rows a pass: the engine's timer passes, by default.
    """
    engine = queue_bench.make_engine(built.url)
    factory = db.make_sessionmaker(engine)
    rules = calling_rules.default_rules()
    released: list[int] = []
    passes = moved = cancelled = 0
    started = time.perf_counter()
    while True:
        with db.unit_of_work(factory) as session:
            report = retry_queue.release_due(session, built.now, rules=rules, limit=limit)
        handled = report.ready + report.moved + report.cancelled
        if not handled:
            break
        passes += 1
        released += report.released_ids
        moved, cancelled = moved + report.moved, cancelled + report.cancelled
    elapsed = time.perf_counter() - started
    rows = len(released) + moved + cancelled
    checks = _checks(factory, built, released, rules)
    baseline_name, baseline_s = _baseline(built.url, sorted(built.due_ids))
    engine.dispose()
    return {"due": len(built.due_ids), "released": len(released), "moved": moved,
            "cancelled": cancelled, "passes": passes, "release_s": round(elapsed, 3),
            "release_rows_per_s": round(rows / elapsed) if elapsed else 0,
            "baseline": baseline_name,
            "release_baseline_rows_per_s": round(len(built.due_ids) / baseline_s)
            if baseline_s else 0, "checks": checks}


def _checks(factory: Any, built: queue_bench.Built, released: list[int],
            rules: calling_rules.RuleSet) -> dict[str, int]:
    """What the release passes did, counted against what was due."""
    rt = models.Retry
    with db.unit_of_work(factory) as session:
        rows = session.execute(select(rt.id, rt.status, rt.claimed_by, rt.earliest_at)
                               .where(rt.campaign_id == built.campaign_id)).all()
        states = {row[0]: row[1:] for row in rows}
        is_moved = {i for i, (status, by, at) in states.items()
                    if i in built.due_ids and status is RetryStatus.PENDING and by is None
                    and at > built.now}
        is_cancelled = {i for i, (status, _by, _at) in states.items()
                        if status is RetryStatus.CANCELLED}
        marked = {i for i, (_s, by, _at) in states.items() if by == retry_queue.RELEASED}
        handled = set(released) | is_moved | is_cancelled
        sample_moved = random.Random(1).sample(sorted(is_moved), min(SAMPLE, len(is_moved)))
        sample_released = random.Random(2).sample(sorted(set(released)),
                                                  min(SAMPLE, len(set(released))))
        wrong = _wrong_moves(session, built, sample_moved, states, rules)
        wrong += _wrong_releases(session, built, sample_released, rules)
    return {"released_twice": len(released) - len(set(released)),
            "released_not_due": len(set(released) - built.due_ids),
            "marked_not_released": len(marked - set(released)),
            "due_not_handled": len(built.due_ids - handled),
            "not_due_handled": len((is_cancelled | marked) - built.due_ids),
            "sampled": len(sample_moved) + len(sample_released),
            "sample_disagreements": wrong}


def _target(session: Any, retry_id: int, now: dt.datetime,
            rules: calling_rules.RuleSet) -> calling_hours.Target:
    retry = session.get(models.Retry, retry_id)
    phone = session.get(models.PhoneNumber, retry.phone_number_id)
    campaign = session.get(models.Campaign, retry.campaign_id)
    return compliance.load_target(session, campaign, now, phone=phone, rules=rules)


def _wrong_moves(session: Any, built: queue_bench.Built, ids: list[int],
                 states: dict[int, tuple[Any, ...]], rules: calling_rules.RuleSet) -> int:
    """Moved rows whose new instant is not the per-record path's next legal instant."""
    wrong = 0
    for retry_id in ids:
        target = _target(session, retry_id, built.now, rules)
        opening = calling_hours.next_dialable_at(target, built.now, retry_queue.HORIZON)
        if calling_hours.may_dial(target, built.now).is_allowed or opening != states[retry_id][2]:
            wrong += 1
    return wrong


def _wrong_releases(session: Any, built: queue_bench.Built, ids: list[int],
                    rules: calling_rules.RuleSet) -> int:
    """Released rows the per-record path would not dial at the release instant."""
    return sum(not calling_hours.may_dial(_target(session, i, built.now, rules), built.now)
               .is_allowed for i in ids)


def _baseline(url: str, ids: list[int]) -> tuple[str, float]:
    """A raw driver UPDATE of the due rows, writing the values they hold now (seconds)."""
    if not ids:
        return "none", 0.0
    parsed = make_url(db.normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database)
        mark = "?"
        name = "sqlite3 executemany UPDATE retry ... WHERE id = ?"
    else:
        import psycopg

        connection = psycopg.connect(parsed.set(drivername="postgresql")
                                     .render_as_string(hide_password=False))
        mark = "%s"
        name = "psycopg executemany UPDATE retry ... WHERE id = %s"
    try:
        cursor = connection.cursor()
        values = []
        for first in range(0, len(ids), 900):
            chunk = ids[first:first + 900]
            cursor.execute(f"SELECT earliest_at, claimed_by, claimed_until, id FROM retry "
                           f"WHERE id IN ({', '.join([mark] * len(chunk))})", chunk)
            values += cursor.fetchall()
        connection.commit()
        started = time.perf_counter()
        cursor.executemany(f"UPDATE retry SET earliest_at = {mark}, claimed_by = {mark}, "
                           f"claimed_until = {mark} WHERE id = {mark}", values)
        connection.commit()
        return name, time.perf_counter() - started
    finally:
        connection.close()


# -------------------------------------------------------------------------- rebuild


def rebuild(url: str, *, pass_after: dt.timedelta = dt.timedelta(hours=1),
            timeout_s: float = 120.0) -> dict[str, Any]:
    """The engine alone, in a fresh process: its rebuild, one full timer pass, its peak memory.

    A ``spawn`` child (nothing of this process's build is in it) starts the real
    :class:`dialer.app.Engine` on ``url``; ``rebuild_s`` runs from the start
    until its timer is armed.  The engine's database thread then makes one
    release pass at ``pass_after`` past the armed instant (as after an outage:
    up to a pass's limit of due rows).  ``rss_mb`` is that process's peak
    resident memory.
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_engine_child, args=(url, pass_after, timeout_s, sender),
                            name="bench-queue-engine")
    child.start()
    sender.close()
    try:
        if not receiver.poll(3 * timeout_s):
            raise RuntimeError(f"the engine process gave no answer in {3 * timeout_s:.0f} s")
        result = receiver.recv()
    finally:
        child.join(timeout_s)
        if child.is_alive():
            child.kill()
            child.join()
    if "error" in result:
        raise RuntimeError(f"the engine process failed: {result['error']}")
    return result


def _engine_child(url: str, pass_after: dt.timedelta, timeout_s: float, sender: Any) -> None:
    """The spawned process: :func:`_engine_run`, its peak RSS, sent back."""
    try:
        result = asyncio.run(_engine_run(url, pass_after, timeout_s))
        result["rss_mb"] = peak_rss_mb()
    except Exception as exc:  # noqa: BLE001 - the child's outermost frame: the parent reports it
        result = {"error": f"{type(exc).__name__}: {exc}"}
    sender.send(result)
    sender.close()


def peak_rss_mb() -> float:
    """This process's peak resident memory (MB) since its last ``exec``.

    Linux's ``ru_maxrss`` keeps the high-water mark of the process before
    ``exec`` (a spawned child would report its parent's); ``VmHWM`` does not.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def _engine_run(url: str, pass_after: dt.timedelta, timeout_s: float) -> dict[str, Any]:
    from dialer import app
    from dialer import settings as settings_mod

    settings = settings_mod.load_settings(overrides={
        "database": {"url": url}, "telephony": {"backend": "sim"}}, environ={})
    engine = db.make_engine(url)
    runner = app.Engine(settings, app.EngineOptions(engine_id="bench-queue-rebuild",
                                                    campaigns=("none",)),
                        session_factory=db.make_sessionmaker(engine))
    started = time.perf_counter()
    task = asyncio.create_task(runner.run())
    try:
        while runner.timer is None or not runner.timer.is_rebuilt:
            if task.done() or time.perf_counter() - started > timeout_s:
                break
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - started
        # What the start armed it for (a past instant fires at once and re-arms).
        armed = runner.timer.rebuilt_for if runner.timer is not None else None
        passed = await _engine_pass(runner, armed + pass_after) if armed is not None else {}
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, timeout_s)
        engine.dispose()
    return {"rebuild_s": elapsed, "armed_for": armed, **passed}


async def _engine_pass(runner: Any, at: dt.datetime) -> dict[str, Any]:
    """One release pass at ``at`` on the engine's database thread, as its timer runs it."""
    started = time.perf_counter()
    report = await runner.database.call(
        lambda session: retry_queue.release_due(session, at, rules=runner.rules))
    return {"engine_pass_at": at, "engine_pass_s": round(time.perf_counter() - started, 3),
            "engine_pass_rows": report.ready + report.moved + report.cancelled}


def next_due(url: str) -> dt.datetime | None:
    """What the database says the timer should be armed for."""
    engine = db.make_engine(url)
    try:
        with db.unit_of_work(db.make_sessionmaker(engine)) as session:
            return retry_queue.next_due_at(session)
    finally:
        engine.dispose()
