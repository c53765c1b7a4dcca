"""Fixtures of the data-protection tests: the callbacks tests' world, with a person's
whole trail (attempt, callback, note, notification, webhook delivery, audit)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from campaigns import dispositions, models
from campaigns.enums import CallOutcome
from campaigns.store import outcomes, webhooks
from campaigns.store import rules as rule_store
from dialer import callbacks_messages
from dialer import callbacks_service as service
from tests.callbacks.conftest import CFG, NOW, World, make_world, ny


@dataclass
class Trail:
    world: World
    attempt_id: int
    callback_id: int
    other_attempt_id: int


def make_trail(session) -> Trail:
    world = make_world(session)
    rule_store.replace(session, world.campaign,
                       dispositions.parse_rules(dispositions.default_rules_text()))
    webhooks.add_endpoint(session, campaign_id=world.campaign.id, url="http://127.0.0.1:9/h",
                          secret="s" * 32, now=NOW)
    attempts = []
    for record in (world.record, world.other):
        phone = record.phones[0]
        attempt = outcomes.open_attempt(session, campaign_id=world.campaign.id,
                                        record_id=record.id, phone_number_id=phone.id,
                                        number_e164=phone.e164, caller_id="+12125550000",
                                        started_at=NOW)
        outcomes.close_attempt(session, attempt, outcome=CallOutcome.ANSWERED, ended_at=NOW,
                               agent_id=world.bob.id)
        attempt.notes = "spoke to the customer"
        attempts.append(attempt.id)
    callback = service.schedule(session, CFG, record_id=world.record.id, actor="admin",
                                now=NOW, start_at=ny(24, 10), end_at=ny(24, 12),
                                number="+12125550199", note="call after ten",
                                how=callbacks_messages.Notify(channels=["email"]))
    service.add_note(session, callback.id, body="prefers Spanish", actor="bob", now=NOW)
    session.flush()
    return Trail(world, attempts[0], callback.id, attempts[1])


@pytest.fixture
def trail(session) -> Trail:
    return make_trail(session)


@pytest.fixture
def cli_db(db_url: str, tmp_path, monkeypatch):
    """The ``dialer`` command in-process on ``db_url`` (SQLite and PostgreSQL)."""
    from tests.clirunner import CliRunner

    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DIALER_") and "__" in name or name == "DIALER_CONFIG":
            monkeypatch.delenv(name)
    return CliRunner(db_url)


__all__ = ["Trail", "make_trail", "models"]
