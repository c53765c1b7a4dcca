"""The APScheduler-driven due timer: fires at the next due instant, re-arms, rebuilds, pokes."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import pytest

from dialer import timers

UTC = dt.UTC


async def _wait(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


class Queue:
    """A stand-in for the database rows: due instants, released when due."""

    def __init__(self, due: list[dt.datetime]) -> None:
        self.due = sorted(due)
        self.released: list[tuple[dt.datetime, dt.datetime]] = []
        self.lock = threading.Lock()

    def next_due(self) -> dt.datetime | None:
        with self.lock:
            return self.due[0] if self.due else None

    def on_due(self, now: dt.datetime) -> None:
        with self.lock:
            ready = [d for d in self.due if d <= now]
            self.due = [d for d in self.due if d > now]
            self.released += [(d, now) for d in ready]


def _run(body) -> None:
    asyncio.run(asyncio.wait_for(body(), timeout=60))


@pytest.mark.req("D9")
def test_fires_at_each_due_instant_and_rearms() -> None:
    async def body() -> None:
        start = dt.datetime.now(UTC)
        queue = Queue([start + dt.timedelta(milliseconds=ms) for ms in (200, 450, 700)])
        timer = timers.DueTimer(queue.next_due, queue.on_due)
        await timer.start()
        try:
            await _wait(lambda: len(queue.released) == 3)
        finally:
            await timer.stop()
        lateness = [(at - due).total_seconds() for due, at in queue.released]
        assert all(0 <= late < 1.0 for late in lateness), lateness

    _run(body)


@pytest.mark.req("D9")
def test_rows_already_due_at_start_fire_at_once_none_dropped() -> None:
    async def body() -> None:
        past = dt.datetime.now(UTC) - dt.timedelta(hours=1)
        queue = Queue([past + dt.timedelta(seconds=i) for i in range(1000)])
        timer = timers.DueTimer(queue.next_due, queue.on_due)
        assert not timer.is_rebuilt
        await timer.start()
        # the rebuild's answer stays readable after the past instant fired at once
        assert timer.is_rebuilt and timer.rebuilt_for == past
        try:
            await _wait(lambda: len(queue.released) == 1000)
            await _wait(lambda: timer.armed_for is None)
        finally:
            await timer.stop()
        assert sorted(due for due, _ in queue.released) == [
            past + dt.timedelta(seconds=i) for i in range(1000)]
        assert timer.passes >= 1

    _run(body)


@pytest.mark.req("D9")
def test_poke_from_another_thread_fires_earlier_than_the_armed_instant() -> None:
    async def body() -> None:
        later = dt.datetime.now(UTC) + dt.timedelta(hours=1)
        queue = Queue([later])
        timer = timers.DueTimer(queue.next_due, queue.on_due)
        await timer.start()
        try:
            assert timer.armed_for == later
            soon = dt.datetime.now(UTC) + dt.timedelta(milliseconds=100)
            with queue.lock:
                queue.due.insert(0, soon)
            threading.Thread(target=timer.poke, args=(soon,)).start()
            await _wait(lambda: len(queue.released) == 1)
            await _wait(lambda: timer.armed_for == later)
        finally:
            await timer.stop()
        assert queue.released[0][0] == soon

    _run(body)


@pytest.mark.req("D9")
def test_a_failing_pass_is_logged_and_the_timer_keeps_going(caplog) -> None:
    async def body() -> None:
        calls = []
        due = [dt.datetime.now(UTC)]

        def on_due(now):
            calls.append(now)
            if len(calls) == 1:
                raise RuntimeError("database away")
            due.clear()

        timer = timers.DueTimer(lambda: due[0] if due else None, on_due)
        await timer.start()
        try:
            await _wait(lambda: len(calls) >= 2)
        finally:
            await timer.stop()

    _run(body)
    assert "releasing due work failed" in caplog.text


@pytest.mark.req("D9")
def test_stop_lets_a_pass_in_progress_finish_and_logs_no_cancelled_job(caplog) -> None:
    entered, proceed = threading.Event(), threading.Event()
    finished: list[dt.datetime] = []

    def on_due(now: dt.datetime) -> None:
        entered.set()
        assert proceed.wait(30)
        finished.append(now)

    async def body() -> None:
        past = dt.datetime.now(UTC) - dt.timedelta(seconds=1)
        timer = timers.DueTimer(lambda: past, on_due)
        await timer.start()
        await _wait(entered.is_set)
        stopping = asyncio.create_task(timer.stop())
        done, _ = await asyncio.wait([stopping], timeout=0.3)
        assert not done, "stop() returned while the pass was still running"
        proceed.set()
        await stopping
        assert len(finished) == 1 and timer.armed_for is None

    with caplog.at_level("ERROR"):
        _run(body)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], caplog.text
