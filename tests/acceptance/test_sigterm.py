"""SIGTERM stops ``dialer run`` cleanly: no new call, the rest ended and recorded, a report."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaigns import db, models
from campaigns.enums import RecordStatus
from tests.acceptance.engine_process import EngineProcess, wait_until
from tests.engine import campaign_data as data


@pytest.mark.req("D1")
def test_sigterm_ends_calls_records_them_and_exits(sqlite_url: str, tmp_path: Path) -> None:
    engine = db.make_engine(sqlite_url)
    factory = db.make_sessionmaker(engine)
    numbers = [data.scripted(area, s) for area in data.AREAS for s in ("02", "03", "08")]
    campaign_id = data.create_campaign(factory, "sigterm", numbers, delay_s=60)

    def open_attempts() -> int:
        with factory() as session:
            return session.scalar(select(func.count()).select_from(models.Attempt).where(
                models.Attempt.campaign_id == campaign_id, models.Attempt.ended_at.is_(None)))

    process = EngineProcess(tmp_path, "engine", sqlite_url, "--engine-id", "sigterm", "--agents",
                            "4", "--tick-s", "0.1", "--status-poll-s", "0.2")
    try:
        wait_until(lambda: open_attempts() >= 1, "calls in flight", 60, process)
        assert process.terminate(60) == 0, process.stderr()[-3000:]
    finally:
        process.stop()
    report = process.report()
    assert report["campaigns"][0]["dials"] >= 1
    assert report["database_failures"] == 0
    with factory() as session:
        attempts = session.scalars(select(models.Attempt)
                                   .where(models.Attempt.campaign_id == campaign_id)).all()
        assert attempts and all(a.ended_at is not None for a in attempts)
        assert session.scalar(select(func.count()).select_from(models.Record).where(
            models.Record.campaign_id == campaign_id,
            models.Record.claimed_by.is_not(None),
            models.Record.status == RecordStatus.NEW)) == 0
    engine.dispose()
