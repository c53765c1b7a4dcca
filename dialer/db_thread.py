"""The engine's database work: one unit of work at a time, off the event loop, in order.

Every write of a running engine (claims, attempts opened and closed,
dispositions, timer passes, agent history) goes through one
:class:`DatabaseThread`.  Each job is a function ``fn(session) -> result`` run
in a worker thread (``asyncio.to_thread``), and jobs run strictly in submission
order: an attempt is closed before the agent's disposition of the same call is
applied, whatever the database.  One writer per engine also keeps SQLite (one
writer at a time) free of lock waits.

On PostgreSQL the jobs queued together share one transaction, each in its own
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

from sqlalchemy.orm import Session, sessionmaker

from campaigns import db

logger = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[Session], Any]


class DatabaseThread:
    """Runs jobs one by one, each in its own transaction, in a worker thread."""

    def __init__(self, factory: sessionmaker[Session], *, batch_size: int = 50) -> None:
        self.factory = factory
        self.batch_size = batch_size
        bind = factory.kw.get("bind")
        self._is_postgresql = bind is not None and bind.dialect.name == "postgresql"
        self._queue: asyncio.Queue[tuple[Job, asyncio.Future[Any] | None] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._serve(), name="dialer-db")

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
        with db.unit_of_work(self.factory) as session:
            for fn in fns:
                try:
                    with session.begin_nested():
                        outcomes.append((True, fn(session)))
                except Exception as exc:  # noqa: BLE001 - rolled back alone; its caller gets it
                    outcomes.append((False, exc))
        return outcomes

    def _run_one(self, fn: Job) -> tuple[bool, Any]:
        try:
            with db.unit_of_work(self.factory) as session:
                return True, fn(session)
        except Exception as exc:  # noqa: BLE001 - handed to the job's caller
            return False, exc
