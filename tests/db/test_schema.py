"""Schema: migrations equal the models, UTC instants on both engines, every entity stored."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from campaigns import db, models, schema
from campaigns.enums import (
    CallbackStatus,
    CallOutcome,
    DispositionSource,
    PhoneKind,
    RetryStatus,
    Role,
    RuleAction,
)

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


@pytest.mark.req("A7")
@pytest.mark.req("A9")
def test_migrations_match_the_models(engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, models.Base.metadata)
    assert diff == []
    assert schema.current_revision(engine) == schema.head_revision()


@pytest.mark.req("A7")
def test_instants_come_back_aware_utc(session) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    created = dt.datetime(2026, 3, 29, 3, 30, tzinfo=paris)
    campaign = models.Campaign(name="utc", created_at=created, updated_at=created)
    session.add(campaign)
    session.commit()
    session.expire_all()
    loaded = session.scalars(select(models.Campaign).where(models.Campaign.name == "utc")).one()
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset() == dt.timedelta(0)
    assert loaded.created_at == created


@pytest.mark.req("A7")
def test_naive_instants_are_refused(session) -> None:
    session.add(models.Campaign(name="naive", created_at=dt.datetime(2026, 1, 1),
                                updated_at=NOW))
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()


@pytest.mark.req("A7")
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url) -> None:
    engine = db.make_engine(sqlite_url, busy_timeout_s=7)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 7000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA cache_size")).scalar() == -db.CACHE_KIB
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 10_000
    engine.dispose()


@pytest.mark.req("A7")
def test_db_upgrade_command_creates_then_is_idempotent(cli, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = cli("db", "upgrade", "--db", url, "--json", db=False)
    assert first.code == 0, first.err
    assert first.json()["from"] is None and first.json()["to"] == schema.head_revision()
    second = cli("db", "upgrade", "--db", url, "--json", db=False)
    assert second.json()["from"] == schema.head_revision()


@pytest.mark.req("A8")
@pytest.mark.req("A9")
def test_every_entity_round_trips(session) -> None:
    campaign = models.Campaign(name="c", created_at=NOW, updated_at=NOW)
    session.add(campaign)
    session.flush()
    calling_list = models.CallingList(campaign_id=campaign.id, name="l", priority=2,
                                      expires_on=dt.date(2027, 1, 1), created_at=NOW)
    session.add(calling_list)
    session.flush()
    record = models.Record(campaign_id=campaign.id, list_id=calling_list.id, first_name="Ann",
                           raw_state="FL", raw_zip="32301", raw_tz="", language="es",
                           custom_fields={"plan": "gold"}, created_at=NOW, updated_at=NOW)
    session.add(record)
    session.flush()
    phone = models.PhoneNumber(record_id=record.id, campaign_id=campaign.id, e164="+18505550100",
                               kind=PhoneKind.PRIMARY, line_type="fixed_line_or_mobile",
                               region="US", zones=["America/Chicago", "America/New_York"],
                               created_at=NOW)
    agent = models.User(name="ann", role=Role.AGENT, phone_address="sip:1001@127.0.0.1",
                        tz="America/Chicago", created_at=NOW)
    session.add_all([phone, agent])
    session.flush()
    agent.shifts.append(models.WorkShift(weekday=0, start=dt.time(9), end=dt.time(17)))
    agent.exceptions.append(models.ShiftException(on_date=dt.date(2026, 12, 24)))
    session.add_all([
        models.Attempt(campaign_id=campaign.id, record_id=record.id, phone_number_id=None,
                       number_e164=phone.e164, started_at=NOW, outcome=CallOutcome.BUSY,
                       sip_status=486, agent_id=agent.id, disposition="busy"),
        models.Retry(campaign_id=campaign.id, record_id=record.id, earliest_at=NOW,
                     tz="America/Chicago", reason="busy", created_at=NOW),
        models.Callback(campaign_id=campaign.id, record_id=record.id, number_e164=phone.e164,
                        window_start_at=NOW, window_end_at=NOW + dt.timedelta(hours=1),
                        tz="America/Chicago", owner_id=agent.id, created_at=NOW, updated_at=NOW),
        models.DispositionRule(campaign_id=campaign.id, code="busy", source=DispositionSource.SYSTEM,
                               action=RuleAction.RETRY, delay_s=60),
        models.DncEntry(e164="+18505550199", scope="global", added_at=NOW),
        models.AuditEvent(at=NOW, action="x", entity="campaign", entity_id="1"),
    ])
    session.commit()
    session.expire_all()
    loaded = session.get(models.Record, record.id)
    assert loaded.phones[0].zones == ["America/Chicago", "America/New_York"]
    assert loaded.custom_fields == {"plan": "gold"}
    assert session.scalars(select(models.Retry)).one().status is RetryStatus.PENDING
    assert session.scalars(select(models.Callback)).one().status is CallbackStatus.SCHEDULED
    assert session.scalars(select(models.Attempt)).one().outcome is CallOutcome.BUSY
    stored = session.execute(text("SELECT outcome FROM attempt")).scalar()
    assert stored == "busy"  # enums are persisted as their lowercase values
    assert session.get(models.User, agent.id).shifts[0].end == dt.time(17)
    # Deleting the campaign removes what hangs from it.
    session.delete(session.get(models.Campaign, campaign.id))
    session.commit()
    assert session.scalars(select(models.Record)).all() == []
    assert session.scalars(select(models.Retry)).all() == []


@pytest.mark.req("D11")
@pytest.mark.req("A7")
def test_the_day_slots_migration_goes_down_and_up_with_rows_in_place(engine) -> None:
    """d11c7a8b9c0d: a far row's slot is its day's first hour after the upgrade, its own
    hour before it and after the downgrade."""
    from alembic import command

    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    far, near = now + dt.timedelta(days=4, hours=8, minutes=30), now + dt.timedelta(hours=3)
    factory = db.make_sessionmaker(engine)
    with db.unit_of_work(factory) as session:
        campaign = models.Campaign(name="slots", created_at=now, updated_at=now)
        session.add(campaign)
        session.flush()
        calling_list = models.CallingList(campaign_id=campaign.id, name="l", created_at=now)
        session.add(calling_list)
        session.flush()
        for at in (far, near):
            record = models.Record(campaign_id=campaign.id, list_id=calling_list.id,
                                   created_at=now, updated_at=now)
            session.add(record)
            session.flush()
            session.add(models.Retry(campaign_id=campaign.id, record_id=record.id, earliest_at=at,
                                     created_at=now))

    def slots() -> list[int]:
        with engine.connect() as connection:
            return list(connection.scalars(text("SELECT due_hour FROM retry ORDER BY id")))

    def hour(at: dt.datetime) -> int:
        return int(at.timestamp()) // 3600

    day_of_far = hour(far.replace(hour=0, minute=0))
    assert slots() == [day_of_far, hour(near)]
    config = schema.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "d11b5e6f7a8b")
    assert slots() == [hour(far), hour(near)]
    schema.upgrade(engine)
    assert slots() == [day_of_far, hour(near)]
    assert schema.current_revision(engine) == schema.head_revision()
