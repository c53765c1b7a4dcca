"""Clocks: the wall clock (demos, live calls) and a virtual clock (benchmarks: a day in seconds).

Everything that waits goes through a :class:`Clock`: ``now()`` (aware UTC),
``monotonic()`` (seconds, for durations), ``sleep()`` and ``call_later()``.

:class:`VirtualClock` is discrete-event: it runs its coroutine on an asyncio
event loop whose time is virtual.  When every task is waiting, the loop's
selector does not block: time jumps straight to the next scheduled timer.  So
``asyncio.sleep``, ``asyncio.wait_for`` and ``loop.call_later`` all become
virtual, and code written for the real clock runs unchanged on it.  A virtual
run with nothing scheduled and nothing ready would wait forever; it raises
:class:`ClockStalled` instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import selectors
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

UTC = dt.UTC


class Timer(Protocol):
    """A scheduled callback that can be cancelled (``asyncio.TimerHandle`` is one)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """What code that waits needs from time."""

    def now(self) -> dt.datetime:
        """The current instant, aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for durations)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""

    def call_later(self, delay_s: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` after ``delay_s`` seconds, on the running loop."""

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        """Run ``main`` to completion on an event loop that keeps this clock's time."""


class ClockStalled(RuntimeError):
    """The virtual clock has nothing scheduled and nothing ready: the run would wait forever."""


class RealClock:
    """The wall clock: asyncio's own loop and time."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_later(self, delay_s: float, callback: Callable[..., Any], *args: Any) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay_s), callback, *args)

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        return asyncio.run(main)


class VirtualClock:
    """Discrete-event time: starts at ``start`` and jumps to the next timer when all tasks wait.

    >>> clock = VirtualClock(dt.datetime(2026, 1, 5, 8, tzinfo=UTC))
    >>> async def day():
    ...     await clock.sleep(8 * 3600)
    ...     return clock.now()
    >>> clock.run(day()).hour
    16
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("the virtual clock's start must be an aware datetime")
        self._origin = start.astimezone(UTC)
        self._t = 0.0

    def now(self) -> dt.datetime:
        return self._origin + dt.timedelta(seconds=self._t)

    def monotonic(self) -> float:
        return self._t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_later(self, delay_s: float, callback: Callable[..., Any], *args: Any) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay_s), callback, *args)

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        with asyncio.Runner(loop_factory=lambda: _VirtualEventLoop(self)) as runner:
            return runner.run(main)

    def _advance(self, seconds: float) -> None:
        self._t += seconds


class _VirtualSelector(selectors.BaseSelector):
    """Polls the real selector without blocking; a wait becomes a jump of the virtual time."""

    def __init__(self, clock: VirtualClock) -> None:
        self._inner = selectors.DefaultSelector()
        self._clock = clock

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._inner.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise ClockStalled("virtual clock: every task waits and no timer is scheduled")
        self._clock._advance(timeout)
        return ready

    def get_map(self) -> Any:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()


class _VirtualEventLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock) -> None:
        self._virtual_clock = clock
        super().__init__(selector=_VirtualSelector(clock))

    def time(self) -> float:
        return self._virtual_clock._t
