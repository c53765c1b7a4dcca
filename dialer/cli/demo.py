"""``dialer demo`` (what ``make demo`` runs): the whole product on embedded defaults.

A fresh SQLite database, a sample campaign with the default disposition rules, an
administrator and two agents, demo registry extracts and two sample lists loaded through the
list loader (:mod:`dialer.demo`); then the engine on the simulated carrier with a few
simulated agents, and the web application on 127.0.0.1.  It prints one line::

    DEMO url=http://127.0.0.1:8000 admin=admin:<password> agent=agent1:<password>

and runs until Ctrl-C.  ``--setup-only`` builds the database, prints the summary and exits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import click

from campaigns import campaign_fields
from campaigns import db as dbmod
from campaigns.db import utcnow
from dialer import demo
from dialer.cli import common

DEMO_DB = "dialer-demo.db"


@click.command("demo")
@click.option("--port", default=None, type=click.IntRange(0, 65535),
              help="Web port (default: [web] port, 8000; 0 = any free port).")
@click.option("--agents", "sim_agents", default=3, show_default=True, type=click.IntRange(0, 50),
              help="Simulated agents taking calls beside the people who log in.")
@click.option("--list", "list_files", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Calling lists to load (repeatable; default: the sample lists in config/).")
@click.option("--keep", is_flag=True, help="Keep an existing demo database (default: start fresh).")
@click.option("--setup-only", is_flag=True, help="Build the demo database, print it, and exit.")
@common.common_options
def command(port: int | None, sim_agents: int, list_files: tuple[Path, ...], keep: bool,
            setup_only: bool) -> None:
    """Run the demo: database, campaign, agents and lists; engine and web on 127.0.0.1."""
    app = common.app()
    if not app.options.get("db"):
        if not keep:
            for suffix in ("", "-wal", "-shm"):
                Path(DEMO_DB + suffix).unlink(missing_ok=True)
        app.options["db"] = f"sqlite:///{DEMO_DB}"
    files = list_files or demo.SAMPLE_LISTS
    for path in files:
        if not path.is_file():
            raise common.usage_error(f"list {path} is missing", "list")
    passwords = {"admin": secrets.token_urlsafe(9), "agent": secrets.token_urlsafe(9)}
    now = utcnow()
    with app.session() as session:
        made = demo.build(session, now=now, admin_password=passwords["admin"],
                          agent_password=passwords["agent"], list_files=tuple(files),
                          region=app.settings.lists.default_region,
                          reject_dir=Path(DEMO_DB).resolve().parent, is_active=not setup_only)
        payload = _payload(app, made, passwords)
    if setup_only:
        app.emit(payload, lambda: _text(payload))
        return
    host = app.settings.web.host
    chosen = app.settings.web.port if port is None else port
    _serve(app, host, chosen or _free_port(host), sim_agents, payload)


def _payload(app: common.App, made: dict[str, Any], passwords: dict[str, str]) -> dict[str, Any]:
    loads = made["lists"]
    return {"database": app.settings.database.url,
            "campaign": campaign_fields.as_dict(made["campaign"]), "users": made["users"],
            "registries": made["registries"], "lists": loads,
            "list": {key: loads[0][key] for key in ("rows", "imported", "rejected",
                                                    "reject_file", "list_id")},
            "dialable": made["dialable"], "admin": f"admin:{passwords['admin']}",
            "agent": f"agent1:{passwords['agent']}"}


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


#: a livelier simulated carrier than the default (short rings and talks), so the demo moves.
DEMO_PACE = {"answer_delay_mean_s": 4.0, "talk_mean_s": 30.0, "wrap_mean_s": 6.0, "live": 0.35}


def _demo_settings(settings: Any, url: str) -> Any:
    """The configuration with customer links on (a fresh secret) pointing at this server, and
    the simulated carrier at the demo's pace."""
    callbacks = settings.callbacks.model_copy(update={
        "public_base_url": url,
        "link_secret": settings.callbacks.link_secret or secrets.token_urlsafe(40)})
    telephony = settings.telephony.model_copy(update={
        "sim": settings.telephony.sim.model_copy(update=DEMO_PACE)})
    return settings.model_copy(update={"callbacks": callbacks, "telephony": telephony})


def _serve(app: common.App, host: str, port: int, sim_agents: int,
           payload: dict[str, Any]) -> None:
    from dialer import app as engine_app
    from dialer.api import serve

    url = f"http://{host}:{port}"
    settings = _demo_settings(app.settings, url)
    options = engine_app.EngineOptions(sim_agents=sim_agents, status_poll_s=1.0,
                                       sim_callback_delay=dt.timedelta(minutes=10))
    factory = dbmod.make_sessionmaker(app.engine)

    async def main() -> dict[str, Any]:
        engine = engine_app.Engine(settings, options, session_factory=factory)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, engine.request_stop)
        server = await serve.start_web(settings, factory, engine, host, port)
        try:
            click.echo(_text(payload), err=True)
            click.echo(f"DEMO url={server.url} admin={payload['admin']} agent={payload['agent']}")
            sys.stdout.flush()
            return await engine.run()
        finally:
            await server.stop()

    report = asyncio.run(main())
    click.echo(f"demo stopped: {report['campaigns']}", err=True)


def _text(payload: dict[str, Any]) -> str:
    ready = payload["dialable"]
    waiting = ", ".join(f"{n} {reason}" for reason, n in sorted(ready["waiting"].items()))
    schedule = payload["campaign"]["schedule"]
    lines = [f"demo database: {payload['database']}",
             f"campaign 'demo' ({payload['campaign']['mode']}, {payload['campaign']['category']}), "
             f"operating {schedule['start']}-{schedule['end']} {payload['campaign']['centre_tz']}"]
    for load in payload["lists"]:
        lines.append(f"list {load['name']!r}: {load['rows']} rows, {load['imported']} imported, "
                     f"{load['rows'] - load['imported']} rejected -> {load['reject_file']}")
    lines.append(f"dialable now: {ready['allowed_now']}" + (f"; waiting: {waiting}" if waiting else ""))
    lines.append(f"DEMO admin={payload['admin']} agent={payload['agent']}")
    return "\n".join(lines)
