"""Lateness of due callbacks through the real engine, on the real clock (D11).

A research campaign (legal at every hour in :data:`AREAS`) holds ``pending``
records: ``callbacks`` of them have a callback whose window opens within the
next ``horizon_s`` seconds, the rest a retry due days later.  The real
:class:`dialer.app.Engine` runs it (due timer, release passes, database
hopper, orchestrator, the simulated carrier with every callee answering and
hanging up after 0.3 s, ``agents`` simulated agents with 0.1 s of wrap-up) until
every callback has been dialled or the deadline passes.

Lateness of a callback = its first attempt's start - max(window opening, first
instant an agent and a line were free).  The run gives the campaign far more
agents and lines than the callbacks need (1,000 callbacks in 60 s keep about
ten agents busy at 0.6 s a call; 40 by default), so the second term is the
opening itself.  The windows are written after the pending rows, opening from
``LEAD_S`` seconds later, and the engine is started at once: it is running when
they come due (its start on the database is ``rebuild_s``'s measure).  Should
the start outlast the lead, a window that opened before it counts from the
engine's start and ``opened_before_engine_start`` says how many did.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import statistics
import time
from typing import Any

from sqlalchemy import func, insert, select

from campaigns import db, dispositions, models
from campaigns.enums import CallbackStatus, CallCategory, CampaignStatus, DialingMode
from campaigns.store import campaigns as campaign_store
from campaigns.store import retry_queue
from campaigns.store import rules as rule_store
from dialer import queue_bench

UTC = dt.UTC
#: area codes where a research call is legal at every hour.
AREAS = ("212", "617", "713", "206", "404", "503", "602", "201", "202", "203")
LEAD_S = 5.0


def lateness(url: str, *, pending: int, callbacks: int, horizon_s: float, agents: int = 40,
             tick_s: float = 1.0, seed: int = 1) -> dict[str, Any]:
    """Run the engine over the callbacks; lateness percentiles in seconds."""
    engine = queue_bench.make_engine(url)
    factory = db.make_sessionmaker(engine)
    try:
        campaign_id, numbers = _load(factory, pending, callbacks, horizon_s, seed)
        started = time.perf_counter()
        engine_start = dt.datetime.now(UTC)
        dialled: dict[str, dt.datetime] = {}
        summary = _run(url, factory, campaign_id, numbers, dialled, agents=agents, tick_s=tick_s,
                       deadline_s=LEAD_S + horizon_s + 60)
        late, early = _lateness(factory, campaign_id, engine_start, dialled)
        running = sorted(late[cid] for cid in late if cid not in early)
    finally:
        engine.dispose()
    values = sorted(late.values())
    return {"pending": pending, "callbacks": callbacks, "horizon_s": horizon_s,
            "agents": agents, "tick_s": tick_s, "dialled": len(values),
            "dialled_early": sum(v < 0 for v in values),
            "opened_before_engine_start": len(early),
            # the callbacks whose window opened while the engine ran (its start-up excluded)
            "lateness_p99_running_s": _pct(running, 0.99),
            "lateness_p50_s": _pct(values, 0.50), "lateness_p99_s": _pct(values, 0.99),
            "lateness_max_s": round(values[-1], 3) if values else None,
            "lateness_mean_s": round(statistics.fmean(values), 3) if values else None,
            "timer_passes": summary.get("timer_passes"),
            "run_s": round(time.perf_counter() - started, 1)}


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)


def number(index: int) -> str:
    area = AREAS[index % len(AREAS)]
    serial = index // len(AREAS)
    return f"+1{area}{200 + serial // 10_000 % 800}{serial % 10_000:04d}"


def _load(factory: Any, pending: int, callbacks: int, horizon_s: float,
          seed: int) -> tuple[int, list[str]]:
    rng = random.Random(seed)
    now = dt.datetime.now(UTC)
    numbers = [number(i) for i in range(pending)]
    with db.unit_of_work(factory) as session:
        campaign = campaign_store.create(
            session, f"bench-lateness-{int(time.time() * 1000)}", now=now,
            call_category=CallCategory.RESEARCH, dialing_mode=DialingMode.PROGRESSIVE,
            status=CampaignStatus.ACTIVE, centre_tz="UTC", schedule_start=dt.time(0),
            schedule_end=dt.time(0), ring_timeout_s=15, caller_id="+12125550000")
        rule_store.replace(session, campaign, dispositions.parse_rules(
            dispositions.default_rules_text()))
        campaign_id = campaign.id
    record_ids, phone_ids = queue_bench.load_records(factory, campaign_id, pending, now,
                                                     numbers=number)
    chosen = sorted(rng.sample(range(pending), callbacks))
    with db.unit_of_work(factory) as session:
        session.execute(models.Record.__table__.update().where(
            models.Record.id.in_([record_ids[i] for i in chosen])).values(status="callback"))
        rest = sorted(set(range(pending)) - set(chosen))
        for first in range(0, len(rest), 5000):
            retry_queue.add_retries(session, [retry_queue.NewRetry(
                campaign_id, record_ids[i], phone_ids[i],
                now + dt.timedelta(days=1, seconds=rng.uniform(0, 6 * 86400)), "busy")
                for i in rest[first:first + 5000]], now)
    # The windows are placed last, from LEAD_S after the load: the engine starts in that lead.
    written = dt.datetime.now(UTC)
    opening = written + dt.timedelta(seconds=LEAD_S)
    with db.unit_of_work(factory) as session:
        session.execute(insert(models.Callback), [
            {"campaign_id": campaign_id, "record_id": record_ids[i], "phone_number_id": phone_ids[i],
             "number_e164": numbers[i], "tz": "UTC", "status": CallbackStatus.SCHEDULED.value,
             "window_start_at": (start := opening + dt.timedelta(seconds=rng.uniform(0, horizon_s))),
             "window_end_at": start + dt.timedelta(hours=2), "created_at": written,
             "updated_at": written} for i in chosen])
    return campaign_id, [numbers[i] for i in chosen]


def _run(url: str, factory: Any, campaign_id: int, numbers: list[str], dialled: dict[str, Any], *,
         agents: int, tick_s: float, deadline_s: float) -> dict[str, Any]:
    """The real engine until every callback has an attempt (or the deadline); ``dialled``
    gets each number's first dial instant."""
    from dialer import app
    from dialer import settings as settings_mod
    from telephony import clock as clockmod
    from telephony import sim

    settings = settings_mod.load_settings(overrides={
        "database": {"url": url},
        "telephony": {"backend": "sim", "sim": {"wrap_mean_s": 0.1, "wrap_cv": 0.0}}}, environ={})
    clock = clockmod.RealClock()
    backend = sim.SimulatedBackend(clock, scripted={n: "live_hangs_up" for n in numbers},
                                   scripted_ring_s=0.1, scripted_talk_s=0.3)
    options = app.EngineOptions(engine_id="bench-queue-lateness", sim_agents=agents,
                                tick_s=tick_s, sim_dispositions={"sale": 1.0})
    originate = backend.originate

    async def dial(request: Any) -> Any:
        # the instant the carrier is asked: after the claim, its checks and the attempt's row
        dialled.setdefault(request.number, dt.datetime.now(UTC))
        return await originate(request)

    backend.originate = dial  # type: ignore[method-assign]

    async def main() -> dict[str, Any]:
        runner = app.Engine(settings, options, session_factory=factory, clock=clock,
                            backend=backend)
        task = asyncio.create_task(runner.run())
        deadline = time.monotonic() + deadline_s
        try:
            while not task.done() and time.monotonic() < deadline:
                await asyncio.sleep(1.0)
                left = await asyncio.to_thread(_undialled, factory, campaign_id)
                if left == 0:
                    break
        finally:
            runner.request_stop()
            summary = await asyncio.wait_for(task, 60)
        return summary

    return asyncio.run(main())


def _undialled(factory: Any, campaign_id: int) -> int:
    with db.unit_of_work(factory) as session:
        return session.scalar(select(func.count()).select_from(models.Callback).where(
            models.Callback.campaign_id == campaign_id,
            models.Callback.status.in_([CallbackStatus.SCHEDULED, CallbackStatus.DUE]))) or 0


def _lateness(factory: Any, campaign_id: int, engine_start: dt.datetime,
              dialled: dict[str, dt.datetime]) -> tuple[dict[int, float], set[int]]:
    """Callback id -> seconds from its opening (or the engine's start, if later) to the first
    dial of its number; and the callbacks whose window opened before the engine's start."""
    cb = models.Callback
    with db.unit_of_work(factory) as session:
        rows = session.execute(select(cb.id, cb.window_start_at, cb.number_e164)
                               .where(cb.campaign_id == campaign_id)).all()
    late = {cid: (dialled[number] - max(start, engine_start)).total_seconds()
            for cid, start, number in rows if number in dialled}
    return late, {cid for cid, start, _number in rows if start < engine_start}
