"""The engine's database work: one unit of work at a time, off the event loop, in order.

Every write of a running engine (claims, attempts opened and closed,
dispositions, timer passes, agent history) goes through one
:class:`DatabaseThread`.  Each job is a function ``fn(session) -> result`` run
in a worker thread (``asyncio.to_thread``) inside its own transaction, and jobs
run strictly in submission order: an attempt is closed before the agent's
disposition of the same call is applied, whatever the database.  One writer
per engine also keeps SQLite (one writer at a time) free of lock waits.
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

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
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
            item = await self._queue.get()
            if item is None:
                return
            fn, future = item
            try:
                result = await asyncio.to_thread(self._run, fn)
            except Exception as exc:  # the writer's outermost loop: report and carry on
                self.failures += 1
                if future is None:
                    logger.exception("database job %s failed", getattr(fn, "__name__", fn))
                elif not future.done():
                    future.set_exception(exc)
                continue
            if future is not None and not future.done():
                future.set_result(result)

    def _run(self, fn: Job) -> Any:
        with db.unit_of_work(self.factory) as session:
            return fn(session)
