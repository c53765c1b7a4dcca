"""Shared fixtures: databases (SQLite and a throwaway PostgreSQL), sessions, the CLI runner."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from sqlalchemy import text

from campaigns import db, schema
from tests import needs, pg

hsettings.register_profile("ci", max_examples=60, deadline=None,
                           suppress_health_check=[HealthCheck.too_slow])
hsettings.register_profile("dev", max_examples=100, deadline=None)
hsettings.load_profile("ci" if needs.is_ci() else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[tuple[str, str]]:
    """A PostgreSQL server and a template database migrated to head: (server URL, template)."""
    external = os.environ.get("DIALER_TEST_DATABASE_URL")
    if external:
        server_url, cluster = external, None
    else:
        bindir = pg.find_bindir()
        if bindir is None:
            needs.missing("PostgreSQL (Debian package postgresql)")
        cluster = pg.Cluster(bindir)
        cluster.start()
        server_url = cluster.url()
    template = f"dialer_tmpl_{os.getpid()}"
    admin = db.make_engine(server_url)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{template}"'))
            conn.execute(text(f'CREATE DATABASE "{template}"'))
        engine = db.make_engine(_with_database(server_url, template))
        schema.upgrade(engine)
        engine.dispose()
        yield server_url, template
    finally:
        admin.dispose()
        if cluster is not None:
            cluster.stop()


def _with_database(url: str, database: str) -> str:
    base = url.rsplit("/", 1)[0]
    return f"{base}/{database}"


def _clone_pg(server_url: str, template: str) -> str:
    name = f"dialer_t{os.getpid()}_{next(_counter)}"
    admin = db.make_engine(server_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return _with_database(server_url, name)


@pytest.fixture
def pg_url(pg_template: tuple[str, str]) -> Iterator[str]:
    """A fresh PostgreSQL database at head, for one test (dropped after it)."""
    url = _clone_pg(*pg_template)
    yield url
    # Dropped at once, not with the cluster: a thousand clones left behind are gigabytes
    # for the disk to hold and for the session's end to delete.
    admin = db.make_engine(pg_template[0])
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" '
                              "WITH (FORCE)"))
    finally:
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'dialer.db'}"
    engine = db.make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh database at head, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str):
    eng = db.make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine) -> Iterator:
    factory = db.make_sessionmaker(engine)
    with factory() as sess:
        yield sess
        sess.rollback()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``dialer`` in-process: ``cli("campaign", "list", "--json")`` -> (code, stdout, stderr)."""
    from tests.clirunner import CliRunner

    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DIALER_") and "__" in name or name == "DIALER_CONFIG":
            monkeypatch.delenv(name)
    return CliRunner(f"sqlite:///{tmp_path / 'cli.db'}")
