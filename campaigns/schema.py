"""Create or migrate the schema with Alembic, from the package's own revisions."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from campaigns import db

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.normalise_url(url).replace("%", "%%"))
    config.set_main_option("file_template",
                           "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision``."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has none."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with the package."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


_checked: set[int] = set()


def ensure_current(engine: Engine) -> None:
    """Create the schema of an empty database; refuse one that needs ``dialer db upgrade``.

    Raises
    ------
    campaigns.errors.CampaignError
        When the database is at an older revision (migrating a shared database is
        an administrator's decision, not a side effect of another command).
    """
    if id(engine) in _checked:
        return
    current = current_revision(engine)
    if current is None:
        upgrade(engine)
    elif current != head_revision():
        from campaigns import errors

        raise errors.CampaignError(
            f"the database is at revision {current}, this version needs {head_revision()}: "
            "run 'dialer db upgrade'", error_id="schema-outdated")
    _checked.add(id(engine))
