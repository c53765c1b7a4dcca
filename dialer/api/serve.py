"""Serving the web application on the running asyncio loop, beside the engine when there is one.

uvicorn normally owns the process's signals; here the command owns them (SIGTERM and SIGINT
stop the engine and the server together), so :class:`WebServer` runs uvicorn without its
signal capture and is stopped by :meth:`WebServer.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import uvicorn

logger = logging.getLogger(__name__)


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the command handles signals
        yield


class WebServer:
    """uvicorn serving ``app`` on ``host:port`` (port 0: any free port) as a task of this loop."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                                access_log=False, proxy_headers=False)
        self.server = _QuietServer(config)
        self.host = host
        self.task: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 10.0) -> str:
        """Start serving; returns the base URL once the socket listens."""
        self.task = asyncio.create_task(self.server.serve(), name="web-server")
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not self.server.started:
            if self.task.done():
                self.task.result()  # raises why it could not start (port in use, ...)
                raise RuntimeError("the web server stopped at start")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the web server did not start")
            await asyncio.sleep(0.02)
        return self.url

    @property
    def port(self) -> int:
        for server in self.server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop accepting, finish open requests (briefly), and wait for the task."""
        if self.task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 5.0)
        except TimeoutError:
            self.server.force_exit = True
            await asyncio.wait_for(self.task, 5.0)


async def start_web(settings: Any, factory: Any, engine: Any, host: str, port: int) -> WebServer:
    """The web application serving ``engine`` on this loop (stop it with ``await server.stop()``)."""
    from dialer.api import context, server

    ctx = context.WebContext(settings, factory, now=engine.clock.now, engine=engine)
    web = WebServer(server.create_app(ctx), host, port)
    await web.start()
    return web
