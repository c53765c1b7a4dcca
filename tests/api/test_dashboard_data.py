"""The live dashboard's data (F8) on SQLite and PostgreSQL: agents, calls, hourly counts,
abandon rates, callbacks due and "why is it not dialing", from the database and from a desk."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from campaigns import db, models
from campaigns.enums import AgentState, CallbackStatus, CallOutcome, CampaignStatus
from dialer import dashboard
from tests.api.conftest import NOW

UK = "+442079460101"


def add_records(session: Any, campaign_id: int, count: int = 2,
                list_name: str = "") -> list[models.Record]:
    """``count`` UK customers in a fresh list of the campaign."""
    calling_list = models.CallingList(campaign_id=campaign_id, name=list_name or f"l{campaign_id}",
                                      created_at=NOW)
    session.add(calling_list)
    session.flush()
    records = []
    for n in range(count):
        record = models.Record(campaign_id=campaign_id, list_id=calling_list.id,
                               first_name=f"Ada{n}", last_name="Lovelace", raw_tz="Europe/London",
                               created_at=NOW, updated_at=NOW)
        e164 = f"{UK[:-2]}{calling_list.id % 10}{n}"
        record.phones.append(models.PhoneNumber(campaign_id=campaign_id, e164=e164,
                                                region="GB", zones=["Europe/London"],
                                                line_type="fixed_line", created_at=NOW))
        session.add(record)
        records.append(record)
    session.flush()
    return records


def add_attempt(session: Any, record: models.Record, started_at: dt.datetime, *,
                outcome: CallOutcome | None = CallOutcome.NO_ANSWER, is_abandoned: bool = False,
                ended: bool = True, agent_id: int | None = None,
                connected: bool = False) -> models.Attempt:
    answered = outcome is CallOutcome.ANSWERED
    attempt = models.Attempt(campaign_id=record.campaign_id, record_id=record.id,
                             number_e164=record.phones[0].e164, started_at=started_at,
                             answered_at=started_at + dt.timedelta(seconds=5) if answered
                             or connected else None,
                             connected_at=started_at + dt.timedelta(seconds=6) if connected
                             else None,
                             ended_at=started_at + dt.timedelta(seconds=60) if ended else None,
                             outcome=outcome if ended else None, is_abandoned=is_abandoned,
                             agent_id=agent_id)
    session.add(attempt)
    session.flush()
    return attempt


def set_state(session: Any, user_id: int, state: AgentState, at: dt.datetime,
              campaign_id: int | None = None, reason: str = "") -> None:
    session.add(models.AgentStateChange(user_id=user_id, campaign_id=campaign_id, state=state,
                                        reason=reason, at=at))
    session.flush()


def add_callback(session: Any, record: models.Record, start: dt.datetime, *,
                 owner_id: int | None = None, hours: int = 2,
                 status: CallbackStatus = CallbackStatus.SCHEDULED) -> models.Callback:
    callback = models.Callback(campaign_id=record.campaign_id, record_id=record.id,
                               number_e164=record.phones[0].e164, window_start_at=start,
                               window_end_at=start + dt.timedelta(hours=hours),
                               tz="Europe/London", owner_id=owner_id, status=status,
                               created_at=NOW, updated_at=NOW)
    session.add(callback)
    session.flush()
    return callback


def seed(web: Any) -> dict[str, Any]:
    """alpha: two records, three calls today (one answered, one abandoned), one live call,
    agent1 ready and agent2 on a call in beta; a callback of alpha due within the hour."""
    with db.unit_of_work(web.factory) as session:
        alpha = session.get(models.Campaign, web.ids["alpha"])
        alpha.status = CampaignStatus.ACTIVE
        first, second = add_records(session, web.ids["alpha"])
        [other] = add_records(session, web.ids["beta"], 1)
        add_attempt(session, first, NOW - dt.timedelta(hours=2), outcome=CallOutcome.ANSWERED)
        add_attempt(session, first, NOW - dt.timedelta(hours=1), outcome=CallOutcome.ANSWERED,
                    is_abandoned=True)
        add_attempt(session, second, NOW - dt.timedelta(minutes=30))
        add_attempt(session, second, NOW - dt.timedelta(days=3), outcome=CallOutcome.ANSWERED)
        live = add_attempt(session, other, NOW - dt.timedelta(seconds=40), ended=False,
                           agent_id=web.ids["agent2"], connected=True)
        set_state(session, web.ids["agent1"], AgentState.NOT_READY, NOW - dt.timedelta(hours=1))
        set_state(session, web.ids["agent1"], AgentState.READY, NOW - dt.timedelta(seconds=90),
                  web.ids["alpha"])
        set_state(session, web.ids["agent2"], AgentState.ON_CALL, NOW - dt.timedelta(seconds=30),
                  web.ids["beta"])
        callback = add_callback(session, second, NOW + dt.timedelta(minutes=30),
                                owner_id=web.ids["agent1"])
        add_callback(session, first, NOW + dt.timedelta(days=2))
        return {"live": live.id, "callback": callback.id}


def _snapshot(web: Any, **kwargs: Any) -> dict[str, Any]:
    with db.unit_of_work(web.factory) as session:
        return dashboard.snapshot(session, now=NOW, **kwargs)


@pytest.mark.req("F8")
def test_a_campaign_snapshot_from_the_database(web) -> None:
    seeded = seed(web)
    shown = _snapshot(web, campaign_ids=[web.ids["alpha"]])
    assert shown["source"] == "database" and shown["at"] == NOW.isoformat()
    assert [c["name"] for c in shown["campaigns"]] == ["alpha"]
    [agent] = shown["agents"]
    assert (agent["name"], agent["state"], agent["seconds_in_state"]) == ("agent1", "ready", 90.0)
    assert shown["calls"] == {"ringing": 0, "waiting": 0, "connected": 0, "live": []}
    assert shown["dials_today"] == 3
    hours = {h["hour"]: h for h in shown["hourly"]}
    assert (hours[13]["dials"], hours[13]["answers"]) == (1, 1)
    assert (hours[14]["dials"], hours[14]["abandons"]) == (2, 1)
    assert shown["abandon"]["today"] == pytest.approx(0.5)
    assert shown["abandon"]["d30"] == pytest.approx(1 / 3)
    assert shown["abandon"]["is_over_cap"] is True and shown["abandon"]["cap"] == 0.03
    [due] = shown["callbacks_due"]
    assert (due["id"], due["owner"], due["customer"]) == (seeded["callback"], "agent1",
                                                         "Ada1 Lovelace")
    reasons = {r["reason"] for r in shown["not_dialing"]["campaigns"]}
    assert "abandon_cap_reached" in reasons and "campaign_not_active" not in reasons
    assert "no_agent_ready" not in reasons
    assert sum(shown["not_dialing"]["records"].values()) + shown["hopper_depth"] <= 2


@pytest.mark.req("F8")
def test_live_calls_and_the_call_each_agent_is_on(web) -> None:
    seeded = seed(web)
    shown = _snapshot(web, campaign_ids=[web.ids["beta"]])
    [agent] = shown["agents"]
    assert agent["name"] == "agent2" and agent["call_id"] == str(seeded["live"])
    assert agent["number"] == "***0120"
    assert shown["calls"]["connected"] == 1 and shown["calls"]["live"][0]["agent_id"] \
        == web.ids["agent2"]
    hidden = _snapshot(web, campaign_ids=[web.ids["beta"]], with_calls=False)
    assert hidden["agents"][0]["call_id"] is None and hidden["calls"]["live"][0]["number"] is None
    reasons = {r["reason"] for r in hidden["not_dialing"]["campaigns"]}
    assert {"campaign_not_active", "no_agent_ready"} <= reasons


@pytest.mark.req("F8")
def test_every_campaign_at_once_sums_the_counts(web) -> None:
    seed(web)
    shown = _snapshot(web)
    assert {c["name"] for c in shown["campaigns"]} == {"alpha", "beta"}
    assert {a["name"] for a in shown["agents"]} == {"agent1", "agent2"}
    assert shown["dials_today"] == 4 and shown["calls"]["connected"] == 1
    assert len(shown["abandon"]["campaigns"]) == 2


class FakeDesk:
    """The engine's agent desk as the dashboard reads it."""

    def __init__(self, agents: list[dict[str, Any]], calls: list[dict[str, Any]]) -> None:
        self.agents, self.calls = agents, calls

    def snapshot(self) -> list[dict[str, Any]]:
        return self.agents

    def live_calls(self) -> list[dict[str, Any]]:
        return self.calls


def desk_for(web: Any) -> FakeDesk:
    since = NOW - dt.timedelta(seconds=12)
    return FakeDesk(
        [{"user_id": web.ids["agent1"], "name": "agent1", "campaign_ids": [web.ids["alpha"]],
          "state": "on_call", "since": since, "reason": "", "call_id": "c-1",
          "number": "***0101"},
         {"user_id": web.ids["agent2"], "name": "", "campaign_id": web.ids["beta"],
          "state": "ready", "since": since.isoformat(), "reason": "", "call_id": None,
          "number": None}],
        [{"call_id": "c-1", "campaign_id": web.ids["alpha"], "state": "connected",
          "agent": web.ids["agent1"], "since": since, "number": "***0101"},
         {"call_id": "c-2", "campaign_id": web.ids["alpha"], "state": "ringing", "agent": None,
          "since": since, "number": "***0102"},
         {"call_id": "c-3", "campaign_id": web.ids["alpha"], "state": "waiting", "user_id": None,
          "since": since, "number": "***0103"}])


@pytest.mark.req("F8")
def test_agents_and_calls_come_from_the_engine_desk_when_it_runs(web) -> None:
    seed(web)
    shown = _snapshot(web, campaign_ids=[web.ids["alpha"]], desk=desk_for(web))
    assert shown["source"] == "engine"
    [agent] = shown["agents"]
    assert (agent["state"], agent["call_id"], agent["seconds_in_state"]) == ("on_call", "c-1",
                                                                             12.0)
    assert (shown["calls"]["ringing"], shown["calls"]["waiting"], shown["calls"]["connected"]) \
        == (1, 1, 1)
    reasons = {r["reason"] for r in shown["not_dialing"]["campaigns"]}
    assert "no_agent_ready" in reasons  # the desk says agent1 is on a call
    beta = _snapshot(web, campaign_ids=[web.ids["beta"]], desk=desk_for(web))
    assert [a["name"] for a in beta["agents"]] == ["agent2"]  # the name comes from the users


@pytest.mark.req("F8")
def test_outside_the_operating_schedule_is_a_reason(web) -> None:
    with db.unit_of_work(web.factory) as session:
        alpha = session.get(models.Campaign, web.ids["alpha"])
        alpha.schedule_days, alpha.centre_tz = ["sat", "sun"], "Europe/London"  # NOW: a Saturday
        beta = session.get(models.Campaign, web.ids["beta"])
        beta.schedule_days = ["mon"]
    shown = _snapshot(web)
    outside = {r["campaign"] for r in shown["not_dialing"]["campaigns"]
               if r["reason"] == "outside_operating_schedule"}
    assert outside == {"beta"}
