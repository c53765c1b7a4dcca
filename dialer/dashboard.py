"""The live dashboard's data (F8): one snapshot of one campaign, or of several, as plain JSON.

A snapshot holds the agents by state with their time in state (and, for supervisors, the call
each is on), the calls ringing and connected, the hopper depth (records the law lets us dial now,
as ``dialer campaign diagnose`` counts them), dials / answers / abandons per hour of today, the
abandon rate today and over 30 days against the campaign's cap, the callbacks due in the next
hours, and "why is it not dialing": the diagnosis counts by blocking reason plus the
campaign-level reasons (not active, outside its operating schedule, no agent ready, abandon cap
reached).

Agents and live calls come from the engine's agent desk when an engine runs in this server
(``desk.snapshot()`` and ``desk.live_calls()``); without one, from the database: the last
``agent_state_change`` of each agent and the attempts that have not ended.  No HTTP here.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns import abandonment, calling_hours, models
from campaigns.enums import AgentState, CallbackStatus, CallOutcome, CampaignStatus, Role
from campaigns.store import compliance
from campaigns.store import diagnosis as diagnosis_store
from dialer import logs

#: callback statuses that still wait for a call.
OPEN_CALLBACKS = (CallbackStatus.SCHEDULED, CallbackStatus.DUE, CallbackStatus.REOPENED)
#: diagnosis categories of records the law lets us dial now (the campaign may still not).
DIALABLE = ("dialable", "paused", "no_ready_agent")
#: live call states counted apart (``waiting``: answered, no agent free yet).
CALL_STATES = ("ringing", "waiting", "connected")
#: attempts older than this without an end are not live calls (left by a crash).
STALE_CALL = dt.timedelta(hours=2)
#: campaign-level reasons of "why is it not dialing", in the order shown.
ENGINE_REASONS = ("campaign_not_active", "outside_operating_schedule", "no_agent_ready",
                  "abandon_cap_reached")

Diagnose = Callable[[Session, models.Campaign, dt.datetime], dict[str, Any]]


def snapshot(session: Session, *, now: dt.datetime, campaign_ids: Iterable[int] | None = None,
             desk: Any = None, tz: str = "UTC", callback_hours: int = 4,
             with_calls: bool = True, diagnose: Diagnose | None = None) -> dict[str, Any]:
    """The dashboard of ``campaign_ids`` (None: every campaign) at ``now``.

    Parameters
    ----------
    desk
        The engine's agent desk, or None to read agents and calls from the database.
    tz
        The zone whose "today" the hourly chart shows.
    with_calls
        Show which call each agent is on (supervisors and administrators).
    diagnose
        ``fn(session, campaign, now)`` -> the diagnosis report (default: the store's).
    """
    campaigns = _campaigns(session, campaign_ids)
    ids = {c.id for c in campaigns}
    agents, calls, source = _live(session, now, ids, desk)
    if not with_calls:
        agents = [{**a, "call_id": None, "number": None} for a in agents]
        calls = [{**c, "number": None} for c in calls]
    diagnosis = _diagnoses(session, campaigns, now, diagnose)
    abandon = _abandon(session, campaigns, now)
    hourly = hourly_counts(session, ids, now, tz)
    return {
        "at": _iso(now), "source": source, "tz": tz,
        "campaigns": [{"id": c.id, "name": c.name, "status": c.status.value} for c in campaigns],
        "agents": agents,
        "calls": {**{state: sum(c["state"] == state for c in calls) for state in CALL_STATES},
                  "live": calls},
        "hopper_depth": sum(d["blocked"].get(k, 0) for d in diagnosis.values() for k in DIALABLE),
        "hourly": hourly, "dials_today": sum(h["dials"] for h in hourly),
        "abandon": abandon,
        "callbacks_due": callbacks_due(session, ids, now, dt.timedelta(hours=callback_hours)),
        "callback_hours": callback_hours,
        "not_dialing": not_dialing(campaigns, diagnosis, abandon, agents, now,
                                   has_desk=source == "engine"),
    }


def _campaigns(session: Session, campaign_ids: Iterable[int] | None) -> list[models.Campaign]:
    query = select(models.Campaign).order_by(models.Campaign.name)
    if campaign_ids is not None:
        query = query.where(models.Campaign.id.in_(list(campaign_ids)))
    return list(session.scalars(query))


# --------------------------------------------------------------------------- agents and calls


def _live(session: Session, now: dt.datetime, ids: set[int],
          desk: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    if desk is not None:
        agents = [_agent(row, now) for row in desk.snapshot()]
        calls = [_call(row, now) for row in desk.live_calls()]
        names = _user_names(session, {a["user_id"] for a in agents if not a["name"]})
        for agent in agents:
            agent["name"] = agent["name"] or names.get(agent["user_id"], str(agent["user_id"]))
        source = "engine"
    else:
        agents, calls, source = stored_agents(session, now), stored_calls(session, now), "database"
    members = _members(session, ids)
    agents = [a for a in agents if set(a["campaign_ids"]) & ids
              or (not a["campaign_ids"] and a["user_id"] in members)]
    calls = [c for c in calls if c["campaign_id"] in ids]
    return sorted(agents, key=lambda a: a["name"]), calls, source


def _agent(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """One agent of the desk's snapshot, in the dashboard's shape."""
    since = _instant(row.get("since"))
    campaign_ids = row.get("campaign_ids")
    if campaign_ids is None:
        campaign_ids = [row["campaign_id"]] if row.get("campaign_id") is not None else []
    state = row.get("state")
    return {"user_id": int(row["user_id"]), "name": str(row.get("name") or ""),
            "state": str(getattr(state, "value", state)), "since": _iso(since),
            "seconds_in_state": _seconds(since, now), "reason": row.get("reason") or "",
            "campaign_ids": sorted(int(c) for c in campaign_ids),
            "call_id": row.get("call_id"), "number": row.get("number")}


def _call(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    since = _instant(row.get("since"))
    agent = row.get("agent", row.get("agent_id", row.get("user_id")))
    return {"call_id": str(row.get("call_id")), "campaign_id": row.get("campaign_id"),
            "state": str(row.get("state")), "agent_id": agent, "since": _iso(since),
            "seconds": _seconds(since, now), "number": row.get("number")}


def stored_agents(session: Session, now: dt.datetime) -> list[dict[str, Any]]:
    """Agents whose last saved state is not ``logged_out`` (no engine in this server)."""
    change = models.AgentStateChange
    latest = (select(change.user_id, func.max(change.id).label("id"))
              .group_by(change.user_id).subquery())
    rows = session.execute(select(change, models.User.name)
                           .join(latest, latest.c.id == change.id)
                           .join(models.User, models.User.id == change.user_id))
    found = []
    for row, name in rows:
        if row.state is AgentState.LOGGED_OUT:
            continue
        found.append({"user_id": row.user_id, "name": name, "state": row.state.value,
                      "since": _iso(row.at), "seconds_in_state": _seconds(row.at, now),
                      "reason": row.reason, "campaign_ids":
                          [row.campaign_id] if row.campaign_id is not None else [],
                      "call_id": None, "number": None})
    calls = {c["agent_id"]: c for c in stored_calls(session, now) if c["agent_id"]}
    for agent in found:
        call = calls.get(agent["user_id"])
        if call is not None:
            agent["call_id"], agent["number"] = call["call_id"], call["number"]
    return found


def stored_calls(session: Session, now: dt.datetime) -> list[dict[str, Any]]:
    """Attempts started lately that have not ended: ringing, or connected once answered."""
    a = models.Attempt
    rows = session.scalars(select(a).where(a.ended_at.is_(None), a.is_test.is_(False),
                                           a.started_at > now - STALE_CALL,
                                           a.started_at <= now).order_by(a.started_at))
    calls = []
    for row in rows:
        is_connected = row.connected_at is not None or row.answered_at is not None
        since = row.connected_at or row.answered_at or row.started_at
        calls.append({"call_id": str(row.id), "campaign_id": row.campaign_id,
                      "state": "connected" if is_connected else "ringing",
                      "agent_id": row.agent_id, "since": _iso(since),
                      "seconds": _seconds(since, now),
                      "number": logs.mask_number(row.number_e164)})
    return calls


def _members(session: Session, ids: set[int]) -> set[int]:
    return set(session.scalars(select(models.CampaignMember.user_id)
                               .where(models.CampaignMember.campaign_id.in_(list(ids)))))


def _user_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(session.execute(select(models.User.id, models.User.name)
                                .where(models.User.id.in_(list(user_ids)))).all())


# --------------------------------------------------------------------------- counts


def hourly_counts(session: Session, campaign_ids: set[int], now: dt.datetime,
                  tz: str) -> list[dict[str, Any]]:
    """Dials, answers (a person answered) and abandons per hour of today in ``tz``."""
    day = abandonment.local_day(now, tz)
    start, end = abandonment.day_bounds(day, tz)
    a = models.Attempt
    rows = session.execute(select(a.started_at, a.outcome, a.is_abandoned)
                           .where(a.campaign_id.in_(list(campaign_ids)), a.is_test.is_(False),
                                  a.started_at >= start, a.started_at < end))
    zone = ZoneInfo(tz)
    hours = [{"hour": h, "label": f"{h:02d}:00", "dials": 0, "answers": 0, "abandons": 0}
             for h in range(24)]
    for started_at, outcome, is_abandoned in rows:
        bucket = hours[_instant(started_at).astimezone(zone).hour]
        bucket["dials"] += 1
        bucket["answers"] += outcome is CallOutcome.ANSWERED
        bucket["abandons"] += bool(is_abandoned)
    return hours


def _abandon(session: Session, campaigns: list[models.Campaign],
             now: dt.datetime) -> dict[str, Any]:
    """Abandon rates per campaign (as ``compliance.abandonment_report``) and over them all."""
    per = []
    day, period = abandonment.Counts(), abandonment.Counts()
    for campaign in campaigns:
        report = compliance.abandonment_report(session, campaign, now)
        per.append({"campaign_id": campaign.id, "campaign": campaign.name,
                    "today": report["us_rate_day"], "d30": report["us_rate_30d"],
                    "uk_today": report["uk_rate_day"], "cap": report["cap"],
                    "is_over_cap": report["is_over_cap"]})
        day, period = _add(day, report["day"]), _add(period, report["period_30d"])
    cap = min((c.abandon_cap for c in campaigns), default=0.03)
    return {"today": abandonment.us_rate(day), "d30": abandonment.us_rate(period), "cap": cap,
            "is_over_cap": any(p["is_over_cap"] for p in per), "campaigns": per}


def _add(total: abandonment.Counts, counts: Any) -> abandonment.Counts:
    return abandonment.Counts(total.connected + counts["connected"],
                              total.abandoned + counts["abandoned"],
                              total.machine + counts["machine"])


def callbacks_due(session: Session, campaign_ids: set[int], now: dt.datetime,
                  ahead: dt.timedelta) -> list[dict[str, Any]]:
    """Open callbacks whose window opens before ``now + ahead`` and has not closed."""
    cb, record = models.Callback, models.Record
    rows = session.execute(
        select(cb, record.first_name, record.last_name, models.User.name)
        .join(record, record.id == cb.record_id)
        .outerjoin(models.User, models.User.id == cb.owner_id)
        .where(cb.campaign_id.in_(list(campaign_ids)), cb.status.in_(OPEN_CALLBACKS),
               cb.window_start_at < now + ahead, cb.window_end_at > now)
        .order_by(cb.window_start_at, cb.id))
    return [{"id": row.id, "campaign_id": row.campaign_id, "record_id": row.record_id,
             "customer": f"{first} {last}".strip(), "owner": owner,
             "status": row.status.value, "window_start_at": _iso(row.window_start_at),
             "window_end_at": _iso(row.window_end_at), "tz": row.tz,
             "is_due": _instant(row.window_start_at) <= now}
            for row, first, last, owner in rows]


# --------------------------------------------------------------------------- not dialing


def _diagnoses(session: Session, campaigns: list[models.Campaign], now: dt.datetime,
               diagnose: Diagnose | None) -> dict[int, dict[str, Any]]:
    run = diagnose or (lambda s, c, n: diagnosis_store.diagnose(s, c, n))
    return {c.id: run(session, c, now) for c in campaigns}


def not_dialing(campaigns: list[models.Campaign], diagnosis: dict[int, dict[str, Any]],
                abandon: dict[str, Any], agents: list[dict[str, Any]], now: dt.datetime, *,
                has_desk: bool) -> dict[str, Any]:
    """Records by what blocks them (summed over campaigns) and the campaign-level reasons."""
    records: collections.Counter[str] = collections.Counter()
    for report in diagnosis.values():
        records.update({k: v for k, v in report["blocked"].items() if v and k != "dialable"})
    over_cap = {p["campaign_id"] for p in abandon["campaigns"] if p["is_over_cap"]}
    reasons = []
    for campaign in campaigns:
        if has_desk:
            has_ready = any(a["state"] == AgentState.READY.value
                            and campaign.id in a["campaign_ids"] for a in agents)
        else:
            has_ready = bool(diagnosis[campaign.id].get("ready_agents"))
        found = {"campaign_not_active": campaign.status is not CampaignStatus.ACTIVE,
                 "outside_operating_schedule": not is_operating(campaign, now),
                 "no_agent_ready": not has_ready,
                 "abandon_cap_reached": campaign.id in over_cap}
        reasons += [{"reason": r, "campaign_id": campaign.id, "campaign": campaign.name}
                    for r in ENGINE_REASONS if found[r]]
    return {"records": dict(sorted(records.items(), key=lambda kv: -kv[1])),
            "campaigns": reasons}


def is_operating(campaign: models.Campaign, now: dt.datetime) -> bool:
    """Is ``now`` inside the campaign's operating schedule (days, hours, dates)?"""
    schedule = compliance.schedule(campaign)
    return in_schedule(schedule, now)


def in_schedule(schedule: calling_hours.Schedule, now: dt.datetime) -> bool:
    """Whether ``now`` falls in ``schedule`` (an end of 00:00 means midnight).

    >>> s = calling_hours.Schedule("Europe/London", (0, 1, 2, 3, 4), dt.time(9), dt.time(17))
    >>> in_schedule(s, dt.datetime(2026, 11, 23, 10, tzinfo=dt.timezone.utc))
    True
    >>> in_schedule(s, dt.datetime(2026, 11, 22, 10, tzinfo=dt.timezone.utc))  # a Sunday
    False
    """
    local = now.astimezone(ZoneInfo(schedule.tz))
    if schedule.start_date and local.date() < schedule.start_date:
        return False
    if schedule.end_date and local.date() > schedule.end_date:
        return False
    if local.weekday() not in schedule.days:
        return False
    is_after_end = schedule.end != dt.time(0) and local.time() >= schedule.end
    return local.time() >= schedule.start and not is_after_end


# --------------------------------------------------------------------------- helpers


def agent_names(session: Session) -> dict[int, str]:
    """Every agent's name (for filters)."""
    return dict(session.execute(select(models.User.id, models.User.name)
                                .where(models.User.role == Role.AGENT)
                                .order_by(models.User.name)).all())


def _instant(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _iso(value: Any) -> str | None:
    instant = _instant(value)
    return instant.astimezone(dt.UTC).isoformat() if instant is not None else None


def _seconds(since: Any, now: dt.datetime) -> float | None:
    instant = _instant(since)
    return max(0.0, round((now - instant).total_seconds(), 1)) if instant is not None else None
