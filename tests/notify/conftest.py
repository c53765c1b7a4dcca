"""Fixtures of the notification tests: a real SMTP server, an HTTP recorder, a campaign."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from campaigns import db
from campaigns.store import campaigns as campaign_store
from tests import pg
from tests.notify import servers

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def smtp_server() -> Iterator[servers.SmtpServer]:
    server = servers.SmtpServer(pg.free_port()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_recorder() -> Iterator[servers.HttpRecorder]:
    recorder = servers.HttpRecorder().start()
    try:
        yield recorder
    finally:
        recorder.stop()


@pytest.fixture
def factory(engine):
    return db.make_sessionmaker(engine)


@pytest.fixture
def campaign_id(factory) -> int:
    with db.unit_of_work(factory) as session:
        return campaign_store.create(session, "Spring renewals", now=NOW).id
