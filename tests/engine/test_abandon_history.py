"""Pacing keeps the 30-day abandon cap across engine restarts: it starts from the stored counts."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from campaigns import models
from campaigns.enums import CallOutcome
from dialer import app

NOW = dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC)


@pytest.mark.req("B15")
def test_runner_reads_the_last_30_days_of_live_answers_and_abandons(session) -> None:
    campaign = models.Campaign(name="c", created_at=NOW, updated_at=NOW)
    session.add(campaign)
    session.flush()

    def attempt(days_ago: float, *, abandoned: bool) -> models.Attempt:
        at = NOW - dt.timedelta(days=days_ago)
        return models.Attempt(campaign_id=campaign.id, number_e164="+12125550100", started_at=at,
                              answered_at=at, outcome=CallOutcome.ANSWERED, is_abandoned=abandoned)

    session.add_all([attempt(1, abandoned=False), attempt(2, abandoned=False),
                     attempt(3, abandoned=True), attempt(40, abandoned=True)])
    session.flush()
    runner = SimpleNamespace(engine=SimpleNamespace(clock=SimpleNamespace(now=lambda: NOW)),
                             campaign=SimpleNamespace(id=campaign.id))
    assert app.CampaignRunner._abandon_history_30d(runner, session) == (3, 1)
