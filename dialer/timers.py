"""APScheduler 3 as our clock, not our queue: one timer that fires at the next due instant.

Retry and callback rows in the database are the truth; this module never puts
them in a job store.  It keeps one date job, armed for the earliest due
instant the database reports; when it fires it calls ``on_due(now)`` (which
releases due rows to the hopper and hands missed callbacks to their ladder),
then re-arms itself from the database again.  A slow safety interval re-reads
the database too, so a row written by another process is never forgotten.

Settings chosen on purpose (APScheduler's defaults drop late jobs):

- a :class:`~apscheduler.jobstores.memory.MemoryJobStore` owned by this
  scheduler alone (a job store must never be shared by two schedulers);
- ``coalesce=True``: several missed firings run once, since one pass releases
  every row that is due;
- ``misfire_grace_time=None``: a late firing still runs, however late (the
  default 1 s grace silently dropped a quarter of a burst of due jobs);
- ``max_instances=1``: passes never overlap.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Callable

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
_DUE_JOB = "dialer-due"
_SAFETY_JOB = "dialer-safety"


class DueTimer:
    """Calls ``on_due(now)`` at every instant ``next_due()`` names, re-arming after each pass."""

    def __init__(self, next_due: Callable[[], dt.datetime | None],
                 on_due: Callable[[dt.datetime], None], *,
                 safety_interval: dt.timedelta = dt.timedelta(seconds=30),
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC)) -> None:
        self._next_due = next_due
        self._on_due = on_due
        self._now = now
        self._safety = safety_interval
        self._lock = threading.Lock()
        self._armed_for: dt.datetime | None = None
        self.passes = 0
        self._scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()}, timezone=UTC,
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1})

    @property
    def armed_for(self) -> dt.datetime | None:
        """The instant the timer will fire next (None: nothing is due)."""
        return self._armed_for

    def start(self) -> None:
        """Start the scheduler and arm the timer from the database (rebuild after a restart)."""
        self._scheduler.start()
        self._scheduler.add_job(self._fire, IntervalTrigger(seconds=self._safety.total_seconds(),
                                                            timezone=UTC),
                                id=_SAFETY_JOB, replace_existing=True)
        self.rearm()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def rearm(self) -> dt.datetime | None:
        """Arm the timer for the earliest due instant the database reports now."""
        due = self._next_due()
        with self._lock:
            self._arm(due)
        return due

    def poke(self, at: dt.datetime) -> None:
        """A row became due at ``at`` (new retry or callback): fire earlier if needed."""
        with self._lock:
            if self._armed_for is None or at < self._armed_for:
                self._arm(at)

    def _arm(self, due: dt.datetime | None) -> None:
        self._armed_for = due
        if due is None:
            if self._scheduler.get_job(_DUE_JOB):
                self._scheduler.remove_job(_DUE_JOB)
            return
        # APScheduler refuses nothing in the past: a date trigger in the past fires at once.
        self._scheduler.add_job(self._fire, DateTrigger(run_date=due, timezone=UTC), id=_DUE_JOB,
                                replace_existing=True)

    def _fire(self) -> None:
        now = self._now()
        try:
            self._on_due(now)
        except Exception:  # the outermost loop of the timer: log with context and carry on
            logger.exception("releasing due work failed at %s", now.isoformat())
        finally:
            self.passes += 1
            self.rearm()
