"""``dialer db``: create or migrate the schema."""

from __future__ import annotations

import click

from campaigns import schema
from dialer.cli import common


@click.group("db")
def command() -> None:
    """Database schema."""


@command.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@common.common_options
def upgrade(revision: str) -> None:
    """Create or migrate the schema to the newest revision."""
    app = common.app()
    before = schema.current_revision(app.engine)
    schema.upgrade(app.engine, revision)
    after = schema.current_revision(app.engine)
    app.emit({"from": before, "to": after, "url": app.engine.url.render_as_string()},
             f"database at revision {after} (was {before or 'empty'})")


@command.command("current")
@common.common_options
def current() -> None:
    """Print the schema revision of the database."""
    app = common.app()
    revision = schema.current_revision(app.engine)
    app.emit({"revision": revision, "head": schema.head_revision()},
             f"{revision or 'empty'} (head {schema.head_revision()})")
