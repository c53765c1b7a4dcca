"""The retry/callback queue at scale (D11): build, add, release, rebuild, each beside its baseline.

:func:`build` loads one debt-collection campaign with ``pending`` records, each
with a pending retry (added through :func:`campaigns.store.retry_queue.add_retries`
in engine-sized batches: that is the timed ``queue_adds_per_s``) or, for one
in twenty, a scheduled callback.  ``due`` retries are due at ``now``
(their numbers spread over US zones, Canada and the UK, some on the DNC list,
some at their frequency limit), the rest later within a week.

:func:`aps_adds` is the baseline of the adds: APScheduler 3's
``SQLAlchemyJobStore`` taking 10,000 date jobs in a SQLite file.  The release
and rebuild phases are in :mod:`dialer.queue_release_bench`, the lateness run
in :mod:`dialer.queue_lateness`.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from campaigns import db, models, phones, schema
from campaigns.enums import CallbackStatus, CallCategory, CampaignStatus, DialingMode, PhoneKind
from campaigns.store import retry_queue

UTC = dt.UTC
#: area codes over every US zone (Hawaii and Alaska too), Canada; then UK numbers.
AREAS = ("212", "305", "312", "713", "303", "602", "415", "206", "907", "808", "416", "604")
ADD_BATCH = 500
SINGLE_ADDS = 2000
_INSERT_CHUNK = 20_000


@dataclass
class Built:
    """The database :func:`build` made."""

    url: str
    campaign_id: int
    now: dt.datetime
    due_ids: set[int] = field(default_factory=set)
    adds: int = 0
    add_s: float = 0.0
    #: rows added one per transaction (the engine's SQLite path: one call end, one commit).
    single_adds: int = 0
    single_s: float = 0.0


def number(index: int) -> str:
    """A distinct valid number for ``index`` (NANP over :data:`AREAS`, one in ten British)."""
    if index % 10 == 9:
        return f"+4420{7000_0000 + index // 10:08d}"
    npa = AREAS[index % len(AREAS)]
    serial = index // len(AREAS)
    return f"+1{npa}{200 + serial // 10_000 % 800}{serial % 10_000:04d}"


def make_engine(url: str) -> Engine:
    engine = db.make_engine(url)
    schema.ensure_current(engine)
    return engine


def build(url: str, pending: int, due: int, now: dt.datetime, *, seed: int = 1,
          batch: int = ADD_BATCH) -> Built:
    """Load the campaign, its records and numbers, then add the pending rows (timed)."""
    engine = make_engine(url)
    factory = db.make_sessionmaker(engine)
    with db.unit_of_work(factory) as session:
        campaign_id = _campaign(session, now)
    record_ids, phone_ids = load_records(factory, campaign_id, pending, now)
    rng = random.Random(seed)
    callbacks = set(rng.sample(range(due, pending), (pending - due) // 20)) if pending > due else set()
    built = Built(url, campaign_id, now)
    chunk: list[retry_queue.NewRetry] = []
    for index in range(pending):
        if index in callbacks:
            continue
        at = now - dt.timedelta(seconds=rng.uniform(0, 3600)) if index < due \
            else now + dt.timedelta(seconds=rng.uniform(60, 7 * 86400))
        retry = retry_queue.NewRetry(campaign_id, record_ids[index], phone_ids[index], at, "busy")
        if index >= due and built.single_adds < SINGLE_ADDS:
            built.single_s += _add(factory, [retry], now)
            built.single_adds += 1
            continue
        chunk.append(retry)
        if len(chunk) >= batch:
            built.add_s += _add(factory, chunk, now)
            built.adds += len(chunk)
            chunk = []
    built.add_s += _add(factory, chunk, now)
    built.adds += len(chunk)
    _callbacks(factory, campaign_id, [(record_ids[i], phone_ids[i], number(i)) for i in
                                      sorted(callbacks)], now, rng)
    _history(factory, campaign_id, [(record_ids[i], number(i)) for i in range(due)], now, rng)
    with db.unit_of_work(factory) as session:
        built.due_ids = set(session.scalars(select(models.Retry.id).where(
            models.Retry.campaign_id == campaign_id, models.Retry.earliest_at <= now)))
    engine.dispose()
    return built


def _add(factory: sessionmaker[Session], chunk: list[retry_queue.NewRetry],
         now: dt.datetime) -> float:
    """One transaction of adds, as the engine's database thread runs it; its seconds."""
    started = time.perf_counter()
    if chunk:
        with db.unit_of_work(factory) as session:
            retry_queue.add_retries(session, chunk, now)
    return time.perf_counter() - started


def _campaign(session: Session, now: dt.datetime) -> int:
    campaign = models.Campaign(
        name=f"bench-queue-{int(time.time() * 1000)}", call_category=CallCategory.DEBT_COLLECTION,
        dialing_mode=DialingMode.PROGRESSIVE, status=CampaignStatus.DRAFT, centre_tz="UTC",
        schedule_start=dt.time(0), schedule_end=dt.time(0), created_at=now, updated_at=now)
    session.add(campaign)
    session.flush()
    return campaign.id


def load_records(factory: sessionmaker[Session], campaign_id: int, count: int,
                 now: dt.datetime, numbers: Callable[[int], str] | None = None
                 ) -> tuple[list[int], list[int]]:
    """Bulk load ``count`` records with one stored number each (as the list loader stores it).

    Returns the record ids and phone ids, in the order of ``numbers(0..count-1)``.
    """
    numbers = numbers or number
    normaliser = phones.Normaliser("US")
    with db.unit_of_work(factory) as session:
        calling_list = models.CallingList(campaign_id=campaign_id, name="bench", created_at=now)
        session.add(calling_list)
        session.flush()
        list_id = calling_list.id
    for first in range(0, count, _INSERT_CHUNK):
        rows = range(first, min(count, first + _INSERT_CHUNK))
        with db.unit_of_work(factory) as session:
            session.execute(insert(models.Record), [
                {"campaign_id": campaign_id, "list_id": list_id, "source_row": i, "fields": {},
                 "custom_fields": {}, "status": "new", "priority": 0, "attempts_count": 0,
                 "first_name": "", "last_name": "", "email": "", "language": "",
                 "raw_state": "", "raw_zip": "", "raw_tz": "", "created_at": now,
                 "updated_at": now} for i in rows])
            ids = session.scalars(select(models.Record.id).where(
                models.Record.list_id == list_id, models.Record.source_row >= first)
                .order_by(models.Record.id)).all()
            session.execute(insert(models.PhoneNumber), [
                _phone(normaliser(numbers(i)), campaign_id, record_id, now)
                for i, record_id in zip(rows, ids, strict=True)])
    with db.unit_of_work(factory) as session:
        pairs = session.execute(select(models.PhoneNumber.record_id, models.PhoneNumber.id)
                                .where(models.PhoneNumber.campaign_id == campaign_id)
                                .order_by(models.PhoneNumber.record_id)).all()
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _phone(found: phones.Number, campaign_id: int, record_id: int,
           now: dt.datetime) -> dict[str, Any]:
    return {"record_id": record_id, "campaign_id": campaign_id, "e164": found.e164, "raw": "",
            "kind": PhoneKind.PRIMARY.value, "position": 0, "line_type": found.line_type,
            "region": found.region, "zones": list(found.zones), "is_valid": found.is_valid,
            "created_at": now}


def _callbacks(factory: sessionmaker[Session], campaign_id: int,
               rows: list[tuple[int, int, str]], now: dt.datetime, rng: random.Random) -> None:
    for first in range(0, len(rows), _INSERT_CHUNK):
        values = []
        for record_id, phone_id, e164 in rows[first:first + _INSERT_CHUNK]:
            start = now + dt.timedelta(seconds=rng.uniform(3600, 7 * 86400))
            values.append({
                "campaign_id": campaign_id, "record_id": record_id, "phone_number_id": phone_id,
                "number_e164": e164, "window_start_at": start,
                "window_end_at": start + dt.timedelta(hours=1), "tz": "UTC",
                "status": CallbackStatus.SCHEDULED.value, "created_at": now, "updated_at": now})
        with db.unit_of_work(factory) as session:
            session.execute(insert(models.Callback), values)


def _history(factory: sessionmaker[Session], campaign_id: int, due: list[tuple[int, str]],
             now: dt.datetime, rng: random.Random) -> None:
    """DNC entries for 2 % of the due numbers, 7 attempts in 7 days for 3 % of them."""
    entries, attempts = [], []
    for record_id, e164 in due:
        draw = rng.random()
        if draw < 0.02:
            entries.append({"e164": e164, "scope": "global", "source": "bench", "added_at": now})
        elif draw < 0.05:
            attempts += [{"campaign_id": campaign_id, "record_id": record_id, "number_e164": e164,
                          "caller_id": "", "started_at": now - dt.timedelta(days=day, hours=1),
                          "outcome": "no_answer", "ended_at": now - dt.timedelta(days=day)}
                         for day in range(7)]
    with db.unit_of_work(factory) as session:
        if entries:
            session.execute(insert(models.DncEntry), entries)
        if attempts:
            session.execute(insert(models.Attempt), attempts)


# -------------------------------------------------------------------------- baselines


def aps_adds(jobs: int, now: dt.datetime) -> float:
    """APScheduler 3's ``SQLAlchemyJobStore.add_job``: date jobs per second into a SQLite file."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger

    with tempfile.TemporaryDirectory(prefix="dialer-aps-") as where:
        store = SQLAlchemyJobStore(url=f"sqlite:///{Path(where) / 'jobs.db'}")
        scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
        scheduler.start(paused=True)
        try:
            started = time.perf_counter()
            for index in range(jobs):
                scheduler.add_job(_aps_job, DateTrigger(
                    run_date=now + dt.timedelta(hours=1, seconds=index), timezone=UTC),
                    id=f"retry-{index}", args=[index])
            elapsed = time.perf_counter() - started
        finally:
            scheduler.shutdown(wait=False)
            store.engine.dispose()
    return jobs / elapsed


def _aps_job(index: int) -> None:
    """What an APScheduler job would run (never run here)."""
