"""``dialer run``: the engine, for every active campaign, with the configured telephony backend."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import click

from campaigns import db as dbmod
from campaigns import schema
from dialer import app as engine_app
from dialer.api import serve
from dialer.cli import common


@click.command("run")
@click.option("--campaign", "campaigns", multiple=True, metavar="NAME",
              help="Run only these campaigns (repeatable; default: every active campaign).")
@click.option("--until-idle", is_flag=True,
              help="Stop once the campaigns have nothing left to dial (no new record, no open "
                   "retry or callback, no live call).")
@click.option("--agents", "sim_agents", default=0, show_default=True, type=click.IntRange(0, 500),
              help="Simulated agents per campaign (sim backend).")
@click.option("--dispositions", "dispositions", default="", metavar="CODE=WEIGHT,...",
              help="What the simulated agents answer, e.g. sale=0.3,not_interested=0.7.")
@click.option("--engine-id", default="", metavar="ID",
              help="This engine's id (default hostname-pid); pass the same id after a crash so "
                   "its in-flight attempts are closed at start.")
@click.option("--seed", default=1, show_default=True, type=int,
              help="Seed of the simulated agents' draws.")
@click.option("--status-poll-s", default=2.0, show_default=True, type=click.FloatRange(0.05, 60),
              help="How often campaign status changes (start, pause, stop) are read.")
@click.option("--tick-s", default=1.0, show_default=True, type=click.FloatRange(0.05, 10),
              help="How often the pacer decides.")
@click.option("--web/--no-web", "web", default=None,
              help="Serve the web application beside the engine (default: [web] "
                   "serve_with_engine, except with --until-idle).")
@click.option("--host", default=None, metavar="HOST", help="Web address (default: [web] host).")
@click.option("--port", default=None, type=click.IntRange(0, 65535),
              help="Web port (default: [web] port; 0 = any free port).")
@common.common_options
def command(campaigns: tuple[str, ...], until_idle: bool, sim_agents: int, dispositions: str,
            engine_id: str, seed: int, status_poll_s: float, tick_s: float, web: bool | None,
            host: str | None, port: int | None) -> None:
    """Start the engine: dial every active campaign until SIGTERM/SIGINT (or --until-idle).

    The web application (API, consoles, agent desktop, customer pages) is served from the same
    process, so agents logging in through it join the engine's campaigns.
    """
    app = common.app()
    settings = app.settings
    if sim_agents and settings.telephony.backend != "sim":
        raise common.usage_error("--agents needs telephony.backend = \"sim\"", "agents")
    options = engine_app.EngineOptions(
        engine_id=engine_id or engine_app.default_engine_id(), campaigns=campaigns,
        is_until_idle=until_idle, sim_agents=sim_agents,
        sim_dispositions=_distribution(dispositions) or None, seed=seed,
        status_poll_s=status_poll_s, tick_s=tick_s)
    schema.ensure_current(app.engine)
    factory = dbmod.make_sessionmaker(app.engine)
    is_web = (settings.web.serve_with_engine and not until_idle) if web is None else web
    address = (host or settings.web.host, settings.web.port if port is None else port)
    report = asyncio.run(_serve(settings, options, factory, web=address if is_web else None,
                                emit=_announce))
    app.emit(report, lambda: _text(report))


async def _serve(settings: Any, options: engine_app.EngineOptions, factory: Any, *,
                 web: tuple[str, int] | None = None, emit: Any = None) -> dict[str, Any]:
    engine = engine_app.Engine(settings, options, session_factory=factory)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, engine.request_stop)
    server = None
    try:
        if web is not None:
            server = await serve.start_web(settings, factory, engine, *web)
            if emit is not None:
                emit(server.url)
        return await engine.run()
    finally:
        if server is not None:
            await server.stop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _announce(url: str) -> None:
    """The web address, on stderr (stdout keeps the one JSON report of --json)."""
    click.echo(f"SERVING url={url}", err=True)
    sys.stderr.flush()


def _distribution(text: str) -> dict[str, float]:
    """``sale=0.3,not_interested=0.7`` -> weights.

    >>> _distribution("sale=1, callback=0.5")
    {'sale': 1.0, 'callback': 0.5}
    """
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        code, _, weight = part.partition("=")
        try:
            weights[code.strip()] = float(weight)
        except ValueError:
            raise common.usage_error(f"--dispositions {part!r}: CODE=WEIGHT, e.g. sale=0.3",
                                     "dispositions") from None
    if weights and (min(weights.values()) < 0 or sum(weights.values()) <= 0):
        raise common.usage_error("--dispositions: weights must be positive", "dispositions")
    return weights


def _text(report: dict[str, Any]) -> str:
    head = (f"engine {report['engine_id']}: closed {report['recovered_attempts']} attempts "
            "left open at start")
    lines = [head]
    for campaign in report["campaigns"]:
        lines.append(f"  {campaign['name']}: {campaign['dials']} dials, {campaign['connected']} "
                     f"connected, {campaign['abandoned']} abandoned")
    if not report["campaigns"]:
        lines.append("  (no campaign ran)")
    return "\n".join(lines)
