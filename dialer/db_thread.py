"""The engine's database work: one unit of work at a time, off the event loop, in order.

Every write of a running engine (claims, attempts opened and closed,
dispositions, timer passes, agent history) goes through one
:class:`DatabaseThread`.  Each job is a function ``fn(session) -> result`` run
in a worker thread (``asyncio.to_thread``), and jobs run strictly in submission
order: an attempt is closed before the agent's disposition of the same call is
applied, whatever the database.  One writer per engine also keeps SQLite (one
writer at a time) free of lock waits.

On PostgreSQL several lanes run side by side (jobs keyed by attempt id keep
their order: an attempt's close and its disposition share a lane), and the jobs
queued together in a lane share one transaction, each in its own
savepoint (a failing job rolls back alone): one commit for a burst of call
ends instead of one each.  On SQLite each job is its own transaction (pysqlite
savepoints would release, i.e. commit, the outer transaction), which WAL makes
cheap.  A job's result is delivered only after its commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from campaigns import db

logger = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[Session], Any]


class DatabaseThread:
    """Runs jobs in order in worker threads: one lane on SQLite, ``lanes`` on PostgreSQL.

    Jobs with the same ``key`` (an attempt id) always share a lane, so they run
    in submission order; jobs without a key go to the first lane.  One lane is
    the default: on the two-core test machine the engine is CPU-bound and four
    lanes measured no faster (1,000 claims by two engines: 46 s either way).
    """

    def __init__(self, factory: sessionmaker[Session], *, batch_size: int = 50,
                 lanes: int = 1) -> None:
        bind = factory.kw.get("bind")
        is_postgresql = bind is not None and bind.dialect.name == "postgresql"
        count = lanes if is_postgresql else 1
        self._lanes = [_Lane(factory, batch_size, is_postgresql, index) for index in range(count)]

    @property
    def failures(self) -> int:
        return sum(lane.failures for lane in self._lanes)

    def _lane(self, key: int | None) -> _Lane:
        return self._lanes[0 if key is None else key % len(self._lanes)]

    def start(self) -> None:
        for lane in self._lanes:
            lane.start()

    async def call(self, fn: Callable[[Session], T], *, key: int | None = None) -> T:
        """Run ``fn`` after every job of its lane submitted before it; its result once committed."""
        return await self._lane(key).call(fn)

    def submit(self, fn: Job, *, key: int | None = None) -> None:
        """Queue ``fn`` (fire and forget; a failure is logged with its context)."""
        self._lane(key).submit(fn)

    async def drain(self) -> None:
        """Wait until every job submitted so far, on every lane, has run."""
        await asyncio.gather(*(lane.drain() for lane in self._lanes))

    async def stop(self) -> None:
        """Run what is queued, then stop."""
        await asyncio.gather(*(lane.stop() for lane in self._lanes))


class _Lane:
    """One worker: jobs one by one (or one batch per transaction on PostgreSQL), in order."""

    def __init__(self, factory: sessionmaker[Session], batch_size: int, is_postgresql: bool,
                 index: int) -> None:
        self.factory = factory
        self.batch_size = batch_size
        self.index = index
        self._is_postgresql = is_postgresql
        self._queue: asyncio.Queue[tuple[Job, asyncio.Future[Any] | None] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._serve(), name=f"dialer-db-{self.index}")

    async def call(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` after every job submitted before it; its result once committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((fn, future))
        return await future

    def submit(self, fn: Job) -> None:
        """Queue ``fn`` (fire and forget; a failure is logged with its context)."""
        self._queue.put_nowait((fn, None))

    async def drain(self) -> None:
        """Wait until every job submitted so far has run."""
        await self.call(lambda _session: None)

    async def stop(self) -> None:
        """Run what is queued, then stop."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        await self._task
        self._task = None

    async def _serve(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.batch_size and not self._queue.empty() and batch[-1] is not None:
                batch.append(self._queue.get_nowait())
            is_last = batch[-1] is None
            jobs = [item for item in batch if item is not None]
            if jobs:
                await self._run_batch(jobs)
            if is_last:
                return

    async def _run_batch(self, jobs: list[tuple[Job, asyncio.Future[Any] | None]]) -> None:
        try:
            outcomes = await asyncio.to_thread(self._run, [fn for fn, _ in jobs])
        except Exception as exc:  # noqa: BLE001 - the commit failed: each job's caller gets it
            outcomes = [(False, exc)] * len(jobs)
        for (fn, future), (is_ok, value) in zip(jobs, outcomes, strict=True):
            if not is_ok:
                self.failures += 1
                if future is None:
                    logger.error("database job %s failed", getattr(fn, "__name__", fn),
                                 exc_info=value)
            if future is not None and not future.done():
                if is_ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _run(self, fns: list[Job]) -> list[tuple[bool, Any]]:
        """Run ``fns`` in one transaction, each in a savepoint (PostgreSQL), or one by one."""
        if len(fns) == 1 or not self._is_postgresql:
            return [self._run_one(fn) for fn in fns]
        outcomes: list[tuple[bool, Any]] = []
        try:
            with db.unit_of_work(self.factory) as session:
                for fn in fns:
                    try:
                        with session.begin_nested():
                            outcomes.append((True, fn(session)))
                    except Exception as exc:  # noqa: BLE001 - rolled back alone; its caller gets it
                        outcomes.append((False, exc))
        except sa_exc.OperationalError:  # the commit failed (a deadlock victim...): one by one
            logger.warning("database batch of %d jobs failed at commit; running them one by one",
                           len(fns), exc_info=True)
            return [self._run_one(fn) for fn in fns]
        return outcomes

    def _run_one(self, fn: Job) -> tuple[bool, Any]:
        try:
            with db.unit_of_work(self.factory) as session:
                return True, fn(session)
        except Exception as exc:  # noqa: BLE001 - handed to the job's caller
            return False, exc
