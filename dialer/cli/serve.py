"""``dialer serve``: the API, consoles and customer pages alone, without a dialing engine."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import click

from campaigns import db as dbmod
from campaigns import schema
from dialer.cli import common


@click.command("serve")
@click.option("--host", default=None, metavar="HOST",
              help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(0, 65535),
              help="Port to listen on (default: [web] port; 0 = any free port).")
@common.common_options
def command(host: str | None, port: int | None) -> None:
    """Serve the web application until SIGTERM/SIGINT (the engine runs with `dialer run`)."""
    app = common.app()
    settings = app.settings
    schema.ensure_current(app.engine)
    factory = dbmod.make_sessionmaker(app.engine)
    host = host or settings.web.host
    port = settings.web.port if port is None else port
    asyncio.run(serve_until_signal(settings, factory, host, port, emit=app.emit))


async def serve_until_signal(settings: Any, factory: Any, host: str, port: int, *,
                             emit: Any, engine: Any = None) -> None:
    """Serve until a signal; prints ``SERVING url=…`` once the socket listens."""
    from dialer.api import context, serve, server

    ctx = context.WebContext(settings, factory, engine=engine)
    web = serve.WebServer(server.create_app(ctx), host, port)
    url = await web.start()
    emit({"url": url}, f"SERVING url={url}")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([waiter, web.task], return_when=asyncio.FIRST_COMPLETED)  # type: ignore[list-item]
        waiter.cancel()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await web.stop()
