"""Fixtures of the callback tests: a campaign in New York with agents on shift, a customer,
the ``[callbacks]`` settings, a real SMTP server and a delivery helper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from campaigns import models, shifts
from campaigns.enums import PhoneKind, Role
from campaigns.store import users as user_store
from dialer.callbacks_config import CallbacksSettings
from dialer.notify import config as notify_config
from dialer.notify import dispatcher, smtp
from tests import pg
from tests.notify import servers

#: Monday 23 November 2026, 10:00 in New York (EST, UTC-5).
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
TZ = "America/New_York"
SECRET = "k" * 40
CFG = CallbacksSettings(public_base_url="https://dialer.test", link_secret=SECRET)


def ny(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    """A New York wall-clock time in 2026 as an aware UTC instant."""
    from campaigns import localtime

    return localtime.localize(dt.datetime(2026, month, day, hour, minute), TZ)


@dataclass
class World:
    campaign: models.Campaign
    record: models.Record
    other: models.Record
    ana: models.User
    bob: models.User
    carl: models.User


def _record(session, campaign, calling_list, first, email, numbers) -> models.Record:
    record = models.Record(campaign_id=campaign.id, list_id=calling_list.id, first_name=first,
                           email=email, language="en", raw_tz=TZ, created_at=NOW,
                           updated_at=NOW)
    session.add(record)
    session.flush()
    for position, (e164, line_type) in enumerate(numbers):
        session.add(models.PhoneNumber(
            record_id=record.id, campaign_id=campaign.id, e164=e164, position=position,
            kind=PhoneKind.PRIMARY if position == 0 else PhoneKind.ALTERNATE,
            line_type=line_type, region="US", zones=[TZ], created_at=NOW))
    session.flush()
    session.refresh(record)
    return record


def _agent(session, campaign, name, week: str) -> models.User:
    user = user_store.create(session, name, role=Role.AGENT, now=NOW, tz=TZ,
                             email=f"{name}@acme.test", full_name=name.title())
    user_store.set_shifts(session, user, shifts.parse_shift(week), [])
    user_store.join(session, user, campaign)
    return user


@pytest.fixture
def world(session) -> World:
    return make_world(session)


def make_world(session) -> World:
    campaign = models.Campaign(name="Spring renewals", centre_tz=TZ, created_at=NOW,
                               updated_at=NOW)
    session.add(campaign)
    session.flush()
    calling_list = models.CallingList(campaign_id=campaign.id, name="base", created_at=NOW)
    session.add(calling_list)
    session.flush()
    record = _record(session, campaign, calling_list, "Ana", "ana@example.com",
                     [("+12125550100", "fixed_line"), ("+12125550199", "mobile")])
    other = _record(session, campaign, calling_list, "Zoe", "zoe@example.com",
                    [("+12125550177", "fixed_line")])
    ana = _agent(session, campaign, "ana.agent", "mon-fri 09:00-17:00")
    bob = _agent(session, campaign, "bob", "mon-fri 09:00-17:00")
    carl = _agent(session, campaign, "carl", "mon-fri 13:00-17:00")
    return World(campaign, record, other, ana, bob, carl)


@pytest.fixture
def smtp_server() -> Iterator[servers.SmtpServer]:
    server = servers.SmtpServer(pg.free_port()).start()
    try:
        yield server
    finally:
        server.stop()


def deliver(session, server: servers.SmtpServer, now: dt.datetime) -> list:
    """Commit, then run one real dispatch pass against ``server``; the messages it received."""
    from campaigns import db

    session.commit()
    factory = db.make_sessionmaker(session.get_bind())
    sender = smtp.SmtpSender(notify_config.SmtpSettings(
        host="127.0.0.1", port=server.port, starttls=False, from_address="callbacks@acme.test",
        timeout_s=5))
    before = len(server.handler.messages)
    dispatcher.deliver_due(factory, dispatcher.Senders(email=sender), now,
                           settings=notify_config.NotificationSettings())
    return server.handler.messages[before:]


@pytest.fixture
def lite(sqlite_url: str):
    """A session on SQLite only (workflow tests; the store runs on both engines elsewhere)."""
    from campaigns import db

    engine = db.make_engine(sqlite_url)
    factory = db.make_sessionmaker(engine)
    with factory() as sess:
        yield sess
        sess.rollback()
    engine.dispose()


@pytest.fixture
def lworld(lite) -> World:
    return make_world(lite)
