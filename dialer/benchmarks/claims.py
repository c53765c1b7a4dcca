"""``dialer bench claims``: claim throughput of 1, 2, 4… engine processes on one database.

Each process claims batches through :func:`campaigns.store.hopper.claim` (the
engine's own query: ``FOR UPDATE SKIP LOCKED`` with a lease on PostgreSQL) and
"dials" every claimed record by writing an attempt row, as the engine does
before it asks the backend.  Afterwards the attempts are counted per record:
``double_dials`` is the number of records dialled more than once (must be 0).
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import time
from typing import Any

import click
from sqlalchemy import func, select, text

from campaigns import db, models, schema
from campaigns.enums import PhoneKind
from dialer.cli import common

UTC = dt.UTC


@click.command("claims")
@click.option("--processes", default="1,2,4", show_default=True,
              help="Comma-separated process counts to measure.")
@click.option("--records", default=20_000, show_default=True, type=click.IntRange(min=10),
              help="Records per measurement.")
@click.option("--batch", default=20, show_default=True, type=click.IntRange(min=1),
              help="Records claimed per transaction.")
@common.common_options
def command(processes: str, records: int, batch: int) -> None:
    """Claims per second and double dials for each process count (PostgreSQL for more than one)."""
    app = common.app()
    counts = _counts(processes)
    url = app.settings.database.url
    if max(counts) > 1 and not url.startswith("postgres"):
        raise common.usage_error("several engine processes need PostgreSQL: pass --db "
                                 "postgresql://…", "db")
    results = [measure(url, n, records, batch) for n in counts]
    report = {"db": url.split(":", 1)[0], "records": records, "batch": batch, "runs": results,
              "double_dials": sum(r["double_dials"] for r in results)}
    app.emit(report, lambda: json.dumps(report, indent=2))


def _counts(text_value: str) -> list[int]:
    try:
        counts = [int(part) for part in text_value.split(",") if part.strip()]
    except ValueError:
        raise common.usage_error(f"--processes {text_value!r}: whole numbers, e.g. 1,2,4",
                                 "processes") from None
    if not counts or min(counts) < 1 or max(counts) > 32:
        raise common.usage_error("--processes: between 1 and 32", "processes")
    return counts


def measure(url: str, processes: int, records: int, batch: int) -> dict[str, Any]:
    """Load ``records`` fresh records, let ``processes`` claim them all, count the dials."""
    engine = db.make_engine(url)
    schema.ensure_current(engine)
    factory = db.make_sessionmaker(engine)
    now = dt.datetime.now(UTC)
    name = f"bench-claims-{os.getpid()}-{processes}-{int(time.time() * 1000)}"
    with db.unit_of_work(factory) as session:
        campaign_id = _load(session, name, records, now)
    engine.dispose()
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(processes + 1)
    results = context.Queue()
    workers = [context.Process(target=_claimer, daemon=True,
                               args=(url, campaign_id, f"engine-{i}", batch, ready, results))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    try:
        ready.wait(timeout=120)
        started = time.perf_counter()
        claimed = [results.get(timeout=3600) for _ in workers]
        elapsed = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    engine = db.make_engine(url)
    with engine.connect() as connection:
        per_record = (select(models.Attempt.record_id, func.count().label("n"))
                      .where(models.Attempt.campaign_id == campaign_id)
                      .group_by(models.Attempt.record_id).subquery())
        double = connection.scalar(select(func.count()).select_from(per_record)
                                   .where(per_record.c.n > 1))
        dialed = connection.scalar(select(func.count()).select_from(per_record))
    _drop(engine, campaign_id)
    engine.dispose()
    return {"processes": processes, "claims": sum(claimed), "dialed_records": dialed,
            "claims_per_s": sum(claimed) / elapsed if elapsed else 0.0,
            "double_dials": int(double or 0), "seconds": round(elapsed, 3)}


def _load(session: Any, name: str, records: int, now: dt.datetime) -> int:
    campaign = models.Campaign(name=name, created_at=now, updated_at=now)
    session.add(campaign)
    session.flush()
    calling_list = models.CallingList(campaign_id=campaign.id, name="bench", created_at=now)
    session.add(calling_list)
    session.flush()
    session.execute(models.Record.__table__.insert(), [
        {"campaign_id": campaign.id, "list_id": calling_list.id, "source_row": i, "fields": {},
         "custom_fields": {}, "status": "new", "priority": 0, "attempts_count": 0,
         "first_name": "", "last_name": "", "email": "", "language": "", "raw_state": "",
         "raw_zip": "", "raw_tz": "", "created_at": now, "updated_at": now}
        for i in range(records)])
    ids = session.scalars(select(models.Record.id).where(models.Record.list_id == calling_list.id)
                          .order_by(models.Record.id)).all()
    session.execute(models.PhoneNumber.__table__.insert(), [
        {"record_id": record_id, "campaign_id": campaign.id, "e164": f"+1212{i:07d}",
         "raw": "", "kind": PhoneKind.PRIMARY.value, "position": 0, "line_type": "", "region": "US",
         "zones": [], "is_valid": True, "created_at": now} for i, record_id in enumerate(ids)])
    return campaign.id


def _claimer(url: str, campaign_id: int, engine_id: str, batch: int, ready: Any,
             results: Any) -> None:
    from campaigns.store import hopper

    engine = db.make_engine(url, pool_size=1)
    factory = db.make_sessionmaker(engine)
    claimed = 0
    ready.wait(timeout=120)
    while True:
        now = dt.datetime.now(UTC)
        with db.unit_of_work(factory) as session:
            work = hopper.claim(session, campaign_id, engine_id=engine_id, now=now,
                                lease=dt.timedelta(minutes=10), limit=batch)
            session.add_all([models.Attempt(
                campaign_id=campaign_id, record_id=item.record_id,
                phone_number_id=item.phone_number_id, number_e164=item.number_e164,
                caller_id="", started_at=now, engine_id=engine_id) for item in work])
        if not work:
            break
        claimed += len(work)
    engine.dispose()
    results.put(claimed)


def _drop(engine: Any, campaign_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM campaign WHERE id = :id"), {"id": campaign_id})
