"""``dialer list recycle``: another pass over unfinished records, capped; closed lists refused."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from campaigns import db, models
from campaigns.enums import CallOutcome, RecordStatus, RetryStatus

NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


def _load(cli, tmp_path) -> None:
    assert cli("campaign", "create", "c").code == 0
    path = tmp_path / "l.csv"
    path.write_text("name,phone\n" + "".join(f"P{i},(212) 555-01{i:02d}\n" for i in range(6)))
    assert cli("list", "load", "--campaign", "c", str(path), "--name", "l").code == 0


def _history(url: str) -> list[int]:
    engine = db.make_engine(url)
    with db.unit_of_work(db.make_sessionmaker(engine)) as session:
        records = session.scalars(select(models.Record).order_by(models.Record.id)).all()
        plan = [(RecordStatus.RETRY, CallOutcome.BUSY), (RecordStatus.EXHAUSTED, CallOutcome.NO_ANSWER),
                (RecordStatus.DONE_FAILURE, CallOutcome.BUSY), (RecordStatus.RETRY, CallOutcome.MACHINE),
                (RecordStatus.EXHAUSTED, CallOutcome.BUSY)]
        for record, (status, outcome) in zip(records, plan):
            record.status, record.attempts_count = status, 3
            session.add(models.Attempt(campaign_id=record.campaign_id, record_id=record.id,
                                       number_e164="+12125550100", started_at=NOW, outcome=outcome))
            if status is RecordStatus.RETRY:
                session.add(models.Retry(campaign_id=record.campaign_id, record_id=record.id,
                                         earliest_at=NOW, created_at=NOW))
        ids = [r.id for r in records]
    engine.dispose()
    return ids


@pytest.mark.req("D7")
def test_recycle_requeues_unfinished_records_with_those_outcomes(cli, tmp_path) -> None:
    _load(cli, tmp_path)
    ids = _history(cli.db_url)
    result = cli("list", "recycle", "l", "--outcomes", "busy,no_answer", "--json")
    assert result.code == 0, result.err
    assert result.json()["requeued"] == 3 and result.json()["pass"] == 2
    engine = db.make_engine(cli.db_url)
    with engine.connect() as connection:
        status = dict(connection.execute(select(models.Record.id, models.Record.status)).all())
        counts = dict(connection.execute(select(models.Record.id, models.Record.attempts_count)).all())
        retries = connection.execute(select(models.Retry.record_id, models.Retry.status)).all()
    engine.dispose()
    assert [status[i] for i in ids] == ["new", "new", "done_failure", "retry", "new", "new"]
    assert counts[ids[0]] == 0 and counts[ids[3]] == 3
    assert dict(retries)[ids[0]] == RetryStatus.CANCELLED.value
    assert dict(retries)[ids[3]] == RetryStatus.PENDING.value


@pytest.mark.req("D7")
def test_recycle_is_capped_and_skips_closed_lists(cli, tmp_path) -> None:
    _load(cli, tmp_path)
    assert cli("list", "recycle", "l", "--outcomes", "busy", "--max-passes", "2").code == 0
    capped = cli("list", "recycle", "l", "--outcomes", "busy", "--max-passes", "2", "--json")
    assert capped.code == 2 and capped.json()["error"]["id"] == "max-passes-reached"
    assert cli("list", "deactivate", "l").code == 0
    inactive = cli("list", "recycle", "l", "--outcomes", "busy", "--json")
    assert inactive.code == 2 and inactive.json()["error"]["id"] == "list-inactive"
    assert cli("list", "activate", "l").code == 0
    assert cli("list", "update", "l", "--expires", "2020-01-01").code == 0
    expired = cli("list", "recycle", "l", "--outcomes", "busy", "--json")
    assert expired.code == 2 and expired.json()["error"]["id"] == "list-expired"
    unknown = cli("list", "recycle", "l", "--outcomes", "teleported")
    assert unknown.code == 2
