"""D16: two ``dialer run`` processes share one campaign on PostgreSQL and never dial a record twice.

Both engines claim from the same campaign with ``FOR UPDATE SKIP LOCKED`` and a
lease, through the full engine path (dial-time compliance, caller ID, attempt
opened, simulated call, outcome recorded, system disposition applied).  Every
simulated call fails fast and the campaign allows one attempt per record, so a
second attempt on any record would be a double dial.

Scale: RECORDS claims (not the issue's 20,000) so the test stays under about a
minute here; ``dialer bench claims --processes 1,2,4`` measures 20,000 claims of
the same query without the telephony path.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaigns import db, models
from campaigns.enums import RecordStatus
from tests.acceptance.engine_process import EngineProcess
from tests.engine import campaign_data as data

RECORDS = 1000
#: every simulated call fails after 0.5 s (the carrier's profile, not scripted numbers).
FAST_FAILURES = "live = 0.0\nmachine = 0.0\nbusy = 0.0\nrejected = 0.0\nfailed = 1.0\n"
ARGS = ("--agents", "30", "--tick-s", "0.05", "--status-poll-s", "0.2", "--until-idle")


@pytest.mark.postgres
@pytest.mark.req("D16")
@pytest.mark.req("D2")
def test_two_engines_on_one_postgresql_never_dial_a_record_twice(pg_url: str,
                                                                 tmp_path: Path) -> None:
    engine = db.make_engine(pg_url)
    factory = db.make_sessionmaker(engine)
    numbers = [f"+1212{2000000 + i}" for i in range(RECORDS)]
    campaign_id = data.create_campaign(factory, "two-engines", numbers, max_attempts=1)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    started = dt.datetime.now(dt.UTC)
    engines = [EngineProcess(tmp_path / name, name, pg_url, "--engine-id", f"engine-{name}",
                             *ARGS, config=FAST_FAILURES) for name in ("a", "b")]
    try:
        for process in engines:
            assert process.wait(90) == 0, process.stderr()[-3000:]
    finally:
        for process in engines:
            process.stop()
    elapsed = (dt.datetime.now(dt.UTC) - started).total_seconds()

    with factory() as session:
        per_record = session.execute(
            select(models.Attempt.record_id, func.count()).where(
                models.Attempt.campaign_id == campaign_id).group_by(models.Attempt.record_id)
        ).all()
        by_engine = dict(session.execute(
            select(models.Attempt.engine_id, func.count()).where(
                models.Attempt.campaign_id == campaign_id).group_by(models.Attempt.engine_id)
        ).all())
        statuses = dict(session.execute(
            select(models.Record.status, func.count()).where(
                models.Record.campaign_id == campaign_id).group_by(models.Record.status)).all())
        open_attempts = session.scalar(select(func.count()).select_from(models.Attempt).where(
            models.Attempt.campaign_id == campaign_id, models.Attempt.ended_at.is_(None)))
    assert len(per_record) == RECORDS  # every record dialled
    assert max(n for _, n in per_record) == 1  # and none twice
    assert set(by_engine) == {"engine-a", "engine-b"} and min(by_engine.values()) > 0
    assert statuses == {RecordStatus.EXHAUSTED: RECORDS}
    assert open_attempts == 0
    reports = [p.report() for p in engines]
    assert sum(r["campaigns"][0]["dials"] for r in reports) == RECORDS
    print(f"two engines: {RECORDS} claims in {elapsed:.1f} s, split {by_engine}")
    engine.dispose()
