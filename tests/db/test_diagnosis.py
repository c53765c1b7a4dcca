""""Why is it not dialing?": records by blocker, next opening, penetration."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import models
from campaigns.enums import AgentState, CampaignStatus, PhoneKind, RecordStatus, Role
from campaigns.store import diagnosis

# Monday 11:00 in New York, 06:00 in Honolulu.
NOW = dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC)


def _setup(session):
    campaign = models.Campaign(name="c", status=CampaignStatus.ACTIVE, max_attempts=3,
                               centre_tz="America/New_York",
                               schedule_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                               schedule_start=dt.time(0, 0), schedule_end=dt.time(23, 59),
                               created_at=NOW, updated_at=NOW)
    session.add(campaign)
    session.flush()
    live = models.CallingList(campaign_id=campaign.id, name="live", created_at=NOW)
    off = models.CallingList(campaign_id=campaign.id, name="off", is_active=False, created_at=NOW)
    session.add_all([live, off])
    session.flush()

    def record(number, *, calling_list=live, **values):
        rec = models.Record(campaign_id=campaign.id, list_id=calling_list.id, created_at=NOW,
                            updated_at=NOW, **values)
        session.add(rec)
        session.flush()
        session.add(models.PhoneNumber(record_id=rec.id, campaign_id=campaign.id, e164=number,
                                       kind=PhoneKind.PRIMARY, created_at=NOW))
        session.flush()
        return rec

    record("+12125550101")                                   # dialable / no ready agent
    record("+18085550123")                                   # 06:00 in Honolulu
    record("+12125550103", status=RecordStatus.DONE_SUCCESS)
    retry = record("+12125550104", status=RecordStatus.RETRY, attempts_count=1)
    session.add(models.Retry(campaign_id=campaign.id, record_id=retry.id,
                             earliest_at=NOW + dt.timedelta(hours=2), created_at=NOW))
    record("+12125550105", attempts_count=3)
    record("+12125550106", calling_list=off)
    record("+12125550107", status=RecordStatus.DNC)
    record("+12125550108")
    session.add(models.DncEntry(e164="+12125550108", scope="global", added_at=NOW))
    session.add(models.RegistryScrub(source="us-national", imported_at=NOW - dt.timedelta(days=1),
                                     numbers=1000))
    agent = models.User(name="ann", role=Role.AGENT, created_at=NOW)
    session.add(agent)
    session.flush()
    session.add(models.CampaignMember(campaign_id=campaign.id, user_id=agent.id))
    session.flush()
    return campaign, agent


@pytest.mark.req("D8")
def test_every_record_is_counted_under_its_blocker(session) -> None:
    campaign, agent = _setup(session)
    report = diagnosis.diagnose(session, campaign, NOW)
    blocked = {k: v for k, v in report["blocked"].items() if v}
    assert blocked == {"no_ready_agent": 1, "outside_calling_hours": 1, "final": 1,
                       "retry_not_due": 1, "attempt_cap": 1, "list_inactive_or_expired": 1,
                       "dnc": 2}
    assert sum(report["blocked"].values()) == report["records"] == 8
    # Honolulu opens at 08:00 HST = 18:00 UTC.
    assert report["next_opening_at"] == dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)
    session.add(models.AgentStateChange(user_id=agent.id, state=AgentState.READY, at=NOW))
    session.flush()
    assert diagnosis.diagnose(session, campaign, NOW)["blocked"]["dialable"] == 1
    campaign.status = CampaignStatus.PAUSED
    session.flush()
    assert diagnosis.diagnose(session, campaign, NOW)["blocked"]["paused"] == 1


@pytest.mark.req("D8")
@pytest.mark.req("B9")
def test_a_stale_registry_scrub_shows_as_the_blocker(session) -> None:
    campaign, agent = _setup(session)
    session.query(models.RegistryScrub).delete()
    session.add(models.RegistryScrub(source="us-national", imported_at=NOW - dt.timedelta(days=40),
                                     numbers=1000))
    session.add(models.AgentStateChange(user_id=agent.id, state=AgentState.READY, at=NOW))
    session.flush()
    report = diagnosis.diagnose(session, campaign, NOW)
    assert report["blocked"]["registry_scrub"] == 1 and report["blocked"]["dialable"] == 0


@pytest.mark.req("D8")
def test_penetration_fractions(session) -> None:
    campaign, _ = _setup(session)
    from campaigns import dispositions
    from campaigns.store import rules as rule_store

    rule_store.replace(session, campaign, dispositions.parse_rules(dispositions.default_rules_text()))
    records = session.query(models.Record).order_by(models.Record.id).all()
    session.add_all([
        models.Attempt(campaign_id=campaign.id, record_id=records[0].id, number_e164="+1",
                       started_at=NOW, disposition="sale"),
        models.Attempt(campaign_id=campaign.id, record_id=records[1].id, number_e164="+1",
                       started_at=NOW, disposition="busy"),
    ])
    session.flush()
    pen = diagnosis.penetration(session, campaign.id)
    assert pen == {"dialed": 2 / 8, "contacted": 1 / 8, "final": 2 / 8}


@pytest.mark.req("D8")
def test_diagnose_command(cli) -> None:
    assert cli("campaign", "create", "c").code == 0
    result = cli("campaign", "diagnose", "c", "--json")
    assert result.code == 0, result.err
    shown = result.json()
    assert shown["records"] == 0 and set(shown["penetration"]) == {"dialed", "contacted", "final"}
