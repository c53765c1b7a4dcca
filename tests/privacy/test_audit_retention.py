"""The append-only audit and retention periods (F4), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy import exc as sa_exc

from campaigns import models
from campaigns.enums import CallOutcome, Channel, MessageStatus
from campaigns.store import audit, outcomes, retention
from dialer import retention_config
from tests.callbacks.conftest import NOW, make_world

DAY = dt.timedelta(days=1)


def _event(session, at=NOW, action="campaign.update"):
    return audit.record(session, action=action, entity="campaign", entity_id=1, actor="boss",
                        at=at)


@pytest.mark.req("F4")
def test_the_orm_refuses_to_change_or_delete_an_audit_event(session):
    event = _event(session)
    event.actor = "someone else"
    with pytest.raises(audit.AppendOnly):
        session.flush()
    session.rollback()
    event = _event(session)
    session.delete(event)
    with pytest.raises(audit.AppendOnly):
        session.flush()
    session.rollback()
    _event(session)
    for statement in (update(models.AuditEvent).values(actor="x"), delete(models.AuditEvent)):
        with pytest.raises(audit.AppendOnly):
            session.execute(statement)
    assert [e.actor for e in session.scalars(select(models.AuditEvent))] == ["boss"]


@pytest.mark.postgres
@pytest.mark.req("F4")
def test_postgresql_refuses_it_too_below_the_orm(pg_url):
    from campaigns import db

    engine = db.make_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_event (at, actor, action, entity, entity_id, "
                              "details) VALUES (now(), 'boss', 'x', 'campaign', '1', '{}')"))
        for sql in ("UPDATE audit_event SET actor = 'y'", "DELETE FROM audit_event",
                    "TRUNCATE audit_event"):
            with pytest.raises(sa_exc.DBAPIError, match="append-only"), \
                    engine.begin() as conn:
                conn.execute(text(sql))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT actor FROM audit_event")).scalars().all() == ["boss"]
    finally:
        engine.dispose()


def _old_data(session, tmp_path):
    """Attempts, messages, deliveries, audit events and an import's files, old and new."""
    world = make_world(session)
    phone = world.record.phones[0]
    ages = {"old": NOW - 6 * 365 * DAY, "recent": NOW - 30 * DAY}
    for name, at in ages.items():
        attempt = outcomes.open_attempt(session, campaign_id=world.campaign.id,
                                        record_id=world.record.id, phone_number_id=phone.id,
                                        number_e164=phone.e164, caller_id="", started_at=at)
        outcomes.close_attempt(session, attempt, outcome=CallOutcome.BUSY, ended_at=at)
        for status in (MessageStatus.SENT, MessageStatus.QUEUED):
            session.add(models.OutboxMessage(campaign_id=world.campaign.id, channel=Channel.EMAIL,
                                             recipient="ana@example.com", event=f"{name}",
                                             status=status, created_at=at))
        _event(session, at=at, action=f"campaign.{name}")
    live = outcomes.open_attempt(session, campaign_id=world.campaign.id,  # still in progress
                                 record_id=world.record.id, phone_number_id=phone.id,
                                 number_e164=phone.e164, caller_id="", started_at=ages["old"])
    rejects, upload = tmp_path / "up.rejects.csv", tmp_path / "up.csv"
    rejects.write_text("phone,reject_reason\n1,no_valid_number\n")
    upload.write_text("phone\n1\n")
    session.add(models.ImportJob(campaign_id=world.campaign.id, list_name="l", filename="up.csv",
                                 path=str(upload), reject_file=str(rejects), status="done",
                                 created_at=ages["old"], finished_at=ages["old"]))
    session.flush()
    return live.id, (rejects, upload)


@pytest.mark.req("F4")
def test_retention_deletes_what_is_past_its_period_and_keeps_the_rest(session, tmp_path):
    live_id, files = _old_data(session, tmp_path)
    settings = retention_config.RetentionSettings()

    dry = retention.run(session, settings, now=NOW, is_dry_run=True)
    assert dry["deleted"] == {"attempts": 1, "notifications": 1, "webhook_deliveries": 0,
                              "reject_files": 2, "audit": 0}
    assert all(f.exists() for f in files)
    assert len(session.scalars(select(models.Attempt)).all()) == 3

    done = retention.run(session, settings, now=NOW, actor="cli")
    assert done["deleted"] == dry["deleted"]
    assert done["cutoffs"]["attempts"] == "2021-11-24T15:00:00Z"  # five years of 365 days
    assert done["cutoffs"]["audit"] is None  # kept forever by default
    session.expire_all()
    started = sorted(a.started_at for a in session.scalars(select(models.Attempt)))
    assert len(started) == 2 and session.get(models.Attempt, live_id) is not None
    assert sorted((m.event, m.status.value) for m in session.scalars(
        select(models.OutboxMessage))) == [("old", "queued"), ("recent", "queued"),
                                           ("recent", "sent")]
    assert not any(f.exists() for f in files)
    job = session.scalars(select(models.ImportJob)).one()
    assert (job.path, job.reject_file) == ("", "")
    assert [e.action for e in session.scalars(select(models.AuditEvent).where(
        models.AuditEvent.action == "retention.run"))] == ["retention.run"]


@pytest.mark.req("F4")
def test_audit_events_are_purged_only_by_retention_and_only_when_configured(session, tmp_path):
    _old_data(session, tmp_path)
    settings = retention_config.RetentionSettings(audit_days=365)
    assert retention.run(session, settings, now=NOW)["deleted"]["audit"] == 1
    actions = session.scalars(select(models.AuditEvent.action)).all()
    assert "campaign.old" not in actions and "campaign.recent" in actions
    with pytest.raises(audit.AppendOnly):  # and the guard is back on afterwards
        session.execute(delete(models.AuditEvent))
