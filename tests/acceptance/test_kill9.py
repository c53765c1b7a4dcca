"""D15: ``kill -9`` the engine mid-campaign, start it again, and lose nothing.

``dialer run`` (simulated carrier and agents) dials a campaign of scripted
numbers; it is killed while calls are up, then started again with the same
engine id: the attempts it left open are closed as failed with cause
``engine_restart`` and retried, no record is lost or dialled twice at once, no
attempt is counted twice, and the campaign runs to its end.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaigns import db, models
from campaigns.enums import CallOutcome, RecordStatus, RetryStatus
from tests.acceptance.engine_process import EngineProcess, wait_until
from tests.engine import campaign_data as data

ARGS = ("--engine-id", "kill9-engine", "--agents", "8", "--dispositions", "sale=1",
        "--tick-s", "0.1", "--status-poll-s", "0.2")


@pytest.mark.req("D15")
def test_kill9_mid_campaign_then_restart_loses_nothing(db_url: str, tmp_path: Path) -> None:
    engine = db.make_engine(db_url)
    factory = db.make_sessionmaker(engine)
    numbers = [data.scripted(area, s) for area in data.AREAS for s in ("02", "03", "08")]
    campaign_id = data.create_campaign(factory, "kill9", numbers)

    def counts() -> tuple[int, int]:
        with factory() as session:
            row = session.execute(select(
                func.count(), func.count().filter(models.Attempt.ended_at.is_(None)))
                .where(models.Attempt.campaign_id == campaign_id)).one()
        return int(row[0]), int(row[1])

    first = EngineProcess(tmp_path, "first", db_url, *ARGS)
    try:
        wait_until(lambda: counts()[0] >= 6 and counts()[1] >= 1, "calls in flight", 60, first)
        first.kill9()
    finally:
        first.stop()
    in_flight = counts()[1]
    assert in_flight >= 1
    killed_at = dt.datetime.now(dt.UTC)

    second = EngineProcess(tmp_path, "second", db_url, *ARGS, "--until-idle")
    try:
        assert second.wait(120) == 0, second.stderr()[-3000:]
    finally:
        second.stop()
    assert second.report()["recovered_attempts"] == in_flight

    with factory() as session:
        by_record = data.attempts_by_record(session, campaign_id)
        records = session.scalars(select(models.Record)
                                  .where(models.Record.campaign_id == campaign_id)).all()
        assert len(by_record) == len(records) == len(numbers)  # no record lost
        restarted = [a for attempts in by_record.values() for a in attempts
                     if a.cause == "engine_restart"]
        assert len(restarted) == in_flight
        assert all(a.outcome is CallOutcome.FAILED and a.disposition == "failed"
                   for a in restarted)
        for record in records:
            attempts = by_record[record.id]
            assert record.status not in (RecordStatus.NEW, RecordStatus.RETRY), record.id
            assert all(a.ended_at is not None and a.disposition for a in attempts)
            assert not data.overlapping(attempts)  # never dialled twice at once
            assert record.attempts_count == sum(a.counts_as_attempt for a in attempts)
            assert record.claimed_by is None
        for attempt in restarted:  # each killed call was dialled again after the restart
            assert any(a.started_at > killed_at for a in by_record[attempt.record_id])
        retries_after = session.scalar(select(func.count()).select_from(models.Retry).where(
            models.Retry.campaign_id == campaign_id, models.Retry.created_at > killed_at))
        assert retries_after > 0
        assert session.scalar(select(func.count()).select_from(models.Retry).where(
            models.Retry.campaign_id == campaign_id,
            models.Retry.status.in_([RetryStatus.PENDING, RetryStatus.CLAIMED]))) == 0
    engine.dispose()
