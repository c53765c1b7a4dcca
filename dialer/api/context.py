"""What every request can reach: settings, sessions, the clock, and the engine when it runs.

:class:`WebContext` is built by the composition root (``dialer serve``, ``dialer run``,
``dialer demo``, the tests) and stored on ``app.state.ctx``.  The engine is optional:
``dialer serve`` alone serves the database; what needs live calls (the agent desk, the live
dashboard's agents and calls) answers ``engine-not-running`` then.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from campaigns import db as dbmod
from dialer import errors as dialer_errors

T = TypeVar("T")


class EngineNotRunning(dialer_errors.DialerError):
    """No dialing engine runs in this server: start it with `dialer run`."""

    error_id = "engine-not-running"


@dataclass
class WebContext:
    """The application's shared state (one per server)."""

    settings: Any
    factory: sessionmaker[Session]
    #: the current instant, aware UTC (a test passes its own clock).
    now: Callable[[], dt.datetime] = dbmod.utcnow
    #: the running :class:`dialer.app.Engine`, when this server runs one.
    engine: Any = None
    #: anything a feature keeps for the server's life (import jobs, rate limits, ...).
    services: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with dbmod.unit_of_work(self.factory) as session:
            yield session

    async def run(self, fn: Callable[[Session], T]) -> T:
        """``fn(session)`` in one unit of work on a worker thread (for async routes)."""
        def work() -> T:
            with self.unit_of_work() as session:
                return fn(session)

        return await run_in_threadpool(work)

    @property
    def desk(self) -> Any:
        """The engine's agent desk, or ``engine-not-running``."""
        desk = getattr(self.engine, "desk", None)
        if desk is None:
            raise EngineNotRunning()
        return desk

    async def on_engine(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """``await fn(desk)`` on the engine's loop (the server may run on another one, as under
        the tests' ``TestClient``); ``engine-not-running`` without an engine."""
        desk = self.desk
        loop = getattr(self.engine, "_loop", None)
        if loop is None or loop is asyncio.get_running_loop():
            return await fn(desk)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fn(desk), loop))

    def engine_view(self, fn: Callable[[Any], T]) -> T:
        """``fn(desk)`` for a synchronous read (snapshot, state): cheap, no await."""
        return fn(self.desk)

    @property
    def upload_dir(self) -> Path:
        path = Path(self.settings.web.upload_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def service(self, name: str, build: Callable[[], T]) -> T:
        """The server-wide object ``name``, built on first use."""
        if name not in self.services:
            self.services[name] = build()
        return self.services[name]
