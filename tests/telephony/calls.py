"""Helpers for telephony tests: run a backend, record its events, wait for conditions."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

from telephony import base

#: the contract cases: the same numbers mean the same thing to sipp, the fake AMI server,
#: the test dialplan of a real Asterisk and (through ``scripted``) the simulated carrier.
NUMBERS = {
    "answer_far_hangup": "+15550000200",
    "answer_stay": "+15550000999",
    "early_media": "+15550000183",
    "busy": "+15550000486",
    "rejected": "+15550000603",
    "invalid_number": "+15550000404",
    "congestion": "+15550000503",
    "ring": "+15550000180",
    "machine": "+15550000777",
}

#: the same cases for the simulated carrier's ``scripted`` option.
SIM_SCRIPT = {
    NUMBERS["answer_far_hangup"]: "live_hangs_up",
    NUMBERS["answer_stay"]: "live",
    NUMBERS["early_media"]: "live_hangs_up",
    NUMBERS["busy"]: "busy",
    NUMBERS["rejected"]: "rejected",
    NUMBERS["invalid_number"]: "invalid_number",
    NUMBERS["congestion"]: "congestion",
    NUMBERS["ring"]: "no_answer",
    NUMBERS["machine"]: "machine",
}


class Recorder:
    """Collects every event of a backend, by call id."""

    def __init__(self, backend: base.Backend) -> None:
        self.backend = backend
        self.by_call: dict[str, list[base.CallEvent]] = defaultdict(list)
        self.all: list[base.CallEvent] = []
        self._changed = asyncio.Event()

    async def run(self) -> None:
        async for event in self.backend.events():
            self.by_call[event.call_id].append(event)
            self.all.append(event)
            self._changed.set()

    def kinds(self, call_id: str) -> list[base.EventKind]:
        return [e.kind for e in self.by_call.get(call_id, [])]

    async def wait(self, predicate: Callable[[], Any], timeout_s: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy; its value, or AssertionError at the deadline."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met in {timeout_s} s; events: {self.all}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass

    async def event(self, call_id: str, kind: base.EventKind,
                    timeout_s: float = 10.0) -> base.CallEvent:
        def found() -> base.CallEvent | None:
            return next((e for e in self.by_call.get(call_id, []) if e.kind is kind), None)
        return await self.wait(found, timeout_s)

    async def ended(self, call_id: str, timeout_s: float = 10.0) -> base.CallEvent:
        return await self.event(call_id, base.EventKind.ENDED, timeout_s)


@contextlib.asynccontextmanager
async def running(backend: base.Backend) -> AsyncIterator[Recorder]:
    """Start ``backend`` and record its events; close it (and stop recording) afterwards."""
    await backend.start()
    recorder = Recorder(backend)
    task = asyncio.create_task(recorder.run())
    try:
        yield recorder
    finally:
        await backend.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def run(coro: Any, timeout_s: float = 60.0) -> Any:
    """Run one test coroutine on a fresh loop with a deadline."""
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout_s)
    return asyncio.run(bounded())


async def wait_until(predicate: Callable[[], Any], timeout_s: float = 10.0,
                     interval_s: float = 0.05) -> Any:
    """Poll ``predicate`` until truthy (for state outside a recorder: processes, files)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout_s} s")
        await asyncio.sleep(interval_s)


def wait_until_sync(predicate: Callable[[], Any], timeout_s: float = 10.0,
                    interval_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout_s} s")
        time.sleep(interval_s)
