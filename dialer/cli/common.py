"""What every command shares: ``--config``, ``--db`` and ``--json``, settings, sessions, output.

A command module under ``dialer/cli/`` exposes a click command or group named
``command``; the main group finds it by itself.  Commands decorate themselves
with :func:`common_options` and reach the shared state with :func:`app`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from campaigns import db as dbmod
from dialer import errors, logs
from dialer import settings as settings_mod

_KEY = "dialer.options"


class App:
    """Lazily built settings, database engine and sessions for one command."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self._settings: settings_mod.Settings | None = None
        self._engine: Engine | None = None

    @property
    def is_json(self) -> bool:
        return bool(self.options.get("json"))

    @property
    def settings(self) -> settings_mod.Settings:
        if self._settings is None:
            overrides: dict[str, Any] = {}
            if self.options.get("db"):
                overrides["database"] = {"url": self.options["db"]}
            self._settings = settings_mod.load_settings(self.options.get("config"),
                                                        overrides=overrides)
            logs.configure(self._settings.logging)
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            section = self.settings.database
            self._engine = dbmod.make_engine(section.url, busy_timeout_s=section.busy_timeout_s,
                                             pool_size=section.pool_size)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work on the configured database (schema created or migrated first)."""
        from campaigns import schema

        schema.ensure_current(self.engine)
        with dbmod.unit_of_work(dbmod.make_sessionmaker(self.engine)) as session:
            yield session

    def emit(self, payload: Any, text: str | Callable[[], str] | None = None) -> None:
        """Print ``payload`` as one JSON object with ``--json``, else ``text``."""
        if self.is_json:
            click.echo(json.dumps(payload, default=_json_default, ensure_ascii=False))
            return
        if callable(text):
            text = text()
        if text is None:
            text = json.dumps(payload, default=_json_default, indent=2, ensure_ascii=False)
        click.echo(text)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _json_default(value: Any) -> Any:
    import datetime as dt
    import enum

    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        options = ctx.find_root().meta.setdefault(_KEY, {})
        if value not in (None, False) or name not in options:
            options[name] = value
        return value

    return callback


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--config FILE``, ``--db URL`` and ``--json`` to a command."""
    decorators = [
        click.option("--config", "config", type=click.Path(dir_okay=False), expose_value=False,
                     callback=_store("config"), is_eager=True,
                     help="TOML configuration file (default $DIALER_CONFIG)."),
        click.option("--db", "db", metavar="URL", expose_value=False, callback=_store("db"),
                     is_eager=True, help="SQLAlchemy database URL (overrides [database] url)."),
        click.option("--json", "json", is_flag=True, expose_value=False, callback=_store("json"),
                     is_eager=True, help="Print one JSON object."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def app() -> App:
    """The shared state of the running command."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    if "dialer.app" not in root.meta:
        root.meta["dialer.app"] = App(root.meta.setdefault(_KEY, {}))
        root.call_on_close(root.meta["dialer.app"].close)
    return root.meta["dialer.app"]


def usage_error(message: str, field: str | None = None) -> errors.UsageError:
    """An input error for a command-line value (exit 2)."""
    return errors.UsageError(message, fields={field: message} if field else None)


def json_requested(argv: list[str]) -> bool:
    return "--json" in argv


def print_error(error_id: str, message: str, fields: dict[str, str], as_json: bool) -> None:
    """One line on stderr; with ``--json`` also the error object on stdout."""
    line = " ".join(message.split())
    click.echo(f"dialer: {line}", err=True)
    if as_json:
        click.echo(json.dumps({"error": {"id": error_id, "message": line, "fields": fields}}))


def echo_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain text table of ``rows`` (for the non-JSON output)."""
    if not rows:
        return "(none)"
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)
