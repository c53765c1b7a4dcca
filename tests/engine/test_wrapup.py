"""The web desktop's entry point: an agent's disposition applied once, in one unit of work."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from campaigns import db, models
from campaigns.enums import CallOutcome, RecordStatus
from campaigns.store import outcomes
from dialer import wrapup
from tests.engine import campaign_data as data


@pytest.mark.req("D5")
def test_submit_disposition_applies_the_agents_code_once(db_url: str) -> None:
    engine = db.make_engine(db_url)
    factory = db.make_sessionmaker(engine)
    campaign_id = data.create_campaign(factory, "wrapup", [data.scripted("212", "08")])
    now = dt.datetime.now(dt.UTC)
    with db.unit_of_work(factory) as session:
        record = session.scalars(select(models.Record)).one()
        attempt = outcomes.open_attempt(session, campaign_id=campaign_id, record_id=record.id,
                                        phone_number_id=None, number_e164="+12125550108",
                                        caller_id="", started_at=now, engine_id="e")
        outcomes.close_attempt(session, attempt, outcome=CallOutcome.ANSWERED, ended_at=now,
                               answered_at=now, connected_at=now)
        attempt_id, record_id = attempt.id, record.id

    applied = wrapup.submit_disposition(factory, attempt_id, "sale", "bought the premium plan")

    assert applied.record_status is RecordStatus.DONE_SUCCESS
    with factory() as session:
        stored = session.get(models.Attempt, attempt_id)
        assert (stored.disposition, stored.notes) == ("sale", "bought the premium plan")
        assert session.get(models.Record, record_id).status is RecordStatus.DONE_SUCCESS
    with pytest.raises(wrapup.AlreadyDisposed):
        wrapup.submit_disposition(factory, attempt_id, "not_interested")
    engine.dispose()
