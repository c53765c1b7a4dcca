"""APScheduler 3 as our clock, not our queue: one timer that fires at the next due instant.

Retry and callback rows in the database are the truth; this module never puts
them in a job store.  It keeps date jobs armed for the earliest due instant the
database reports; when one fires it runs ``on_due(now)`` (which releases due
rows to the hopper and hands missed callbacks to their ladder) in a worker
thread, then re-arms from the database.  A slow safety interval re-reads the
database too, so a row written by another process is never forgotten.

The scheduler is an :class:`~apscheduler.schedulers.asyncio.AsyncIOScheduler`
on the engine's event loop: every scheduler call happens on that one thread
(calls from other threads go through ``call_soon_threadsafe``), so jobs are
never added and removed concurrently.  Settings chosen on purpose (the
defaults drop late jobs):

- a :class:`~apscheduler.jobstores.memory.MemoryJobStore` owned by this
  scheduler alone (a job store must never be shared by two schedulers);
- ``coalesce=True``: several missed firings run once, since one pass releases
  every row that is due;
- ``misfire_grace_time=None``: a late firing still runs, however late (the
  default 1 s grace silently dropped a quarter of a burst of due jobs);
- ``max_instances=1``: passes never overlap.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

logger = logging.getLogger(__name__)

UTC = dt.UTC
_DUE_JOB = "dialer-due"
_SAFETY_JOB = "dialer-safety"


class DueTimer:
    """Runs ``on_due(now)`` at every instant ``next_due()`` names, re-arming after each pass.

    ``next_due`` and ``on_due`` may block (database work): they run in the loop's
    default executor, one at a time.
    """

    def __init__(self, next_due: Callable[[], dt.datetime | None],
                 on_due: Callable[[dt.datetime], None], *,
                 safety_interval: dt.timedelta = dt.timedelta(seconds=30),
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC)) -> None:
        self._next_due = next_due
        self._on_due = on_due
        self._now = now
        self._safety = safety_interval
        #: armed date jobs: id -> instant (touched on the loop thread only).
        self._pending: dict[str, dt.datetime] = {}
        self._generation = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self.passes = 0
        #: the pass running now in the executor (stop() lets it finish its unit of work).
        self._inflight: asyncio.Future[None] | None = None
        self._is_stopping = False
        #: the start's rebuild is done (armed from the database, or nothing was due).
        self.is_rebuilt = False
        #: the instant the start armed the timer for (None: nothing was due then).
        self.rebuilt_for: dt.datetime | None = None

    @property
    def armed_for(self) -> dt.datetime | None:
        """The instant the timer will fire next (None: nothing is due)."""
        return min(self._pending.values(), default=None)

    async def start(self) -> None:
        """Start on the running loop and arm from the database (the rebuild after a restart)."""
        self._loop = asyncio.get_running_loop()
        self._scheduler = AsyncIOScheduler(
            event_loop=self._loop, jobstores={"default": MemoryJobStore()}, timezone=UTC,
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1})
        self._scheduler.start()
        self._scheduler.add_job(self._fire, IntervalTrigger(
            seconds=self._safety.total_seconds(), timezone=UTC), id=_SAFETY_JOB)
        self.rebuilt_for = await self.rearm()
        self.is_rebuilt = True

    async def stop(self) -> None:
        """Stop firing; a pass in progress finishes first (its database work is not cut off)."""
        self._is_stopping = True
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)  # cancels a running _fire, not its pass
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            await asyncio.wait([inflight])
            if not inflight.cancelled() and inflight.exception() is not None:
                logger.error("releasing due work failed while stopping",
                             exc_info=inflight.exception())
        self._pending.clear()

    async def rearm(self) -> dt.datetime | None:
        """Arm for the earliest due instant the database reports now."""
        assert self._loop is not None, "start() first"
        due = await self._loop.run_in_executor(None, self._next_due)
        if due is not None:
            self._arm(due)
        return due

    def poke(self, at: dt.datetime) -> None:
        """A row became due at ``at`` (a new retry or callback): fire earlier if needed.

        Safe to call from any thread.
        """
        assert self._loop is not None, "start() first"
        self._loop.call_soon_threadsafe(self._arm, at)

    def _arm(self, due: dt.datetime) -> None:
        # Jobs are only ever added, each with its own id; a job armed for a later
        # instant that is no longer needed fires once and makes a harmless extra pass.
        if self._scheduler is None or not self._scheduler.running:
            return
        if any(at <= due for at in self._pending.values()):
            return
        self._generation += 1
        job_id = f"{_DUE_JOB}-{self._generation}"
        self._pending[job_id] = due
        # A date in the past fires at once (misfire_grace_time=None keeps it).
        self._scheduler.add_job(self._fire, DateTrigger(run_date=due, timezone=UTC), id=job_id,
                                args=[job_id])

    async def _fire(self, job_id: str | None = None) -> None:
        self._pending.pop(job_id, None)
        if self._is_stopping:
            return
        now = self._now()
        self._inflight = asyncio.get_running_loop().run_in_executor(None, self._on_due, now)
        try:
            await asyncio.shield(self._inflight)
        except asyncio.CancelledError:  # the scheduler is shutting down: stop() awaits the pass
            return
        except Exception:  # the outermost loop of the timer: log with context and carry on
            logger.exception("releasing due work failed at %s", now.isoformat())
        self.passes += 1
        if not self._is_stopping:
            await self.rearm()
