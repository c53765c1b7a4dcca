"""``/api/calendar`` (callbacks by day and week) and ``/api/reports`` per campaign and agent (F9).

- ``GET /api/calendar?from=&to=&agent=&campaign_id=``: callbacks whose window meets the days
  ``from``..``to`` (dates in the viewer's zone, default the 7 days from today), each with its
  time in the customer's zone and in the viewer's.  Agents see their own callbacks and the
  unowned ones of their campaigns.
- ``GET /api/reports/campaigns/{id}?from=&to=`` and ``GET /api/reports/agents?campaign_id=``:
  attempts, contacts (calls connected to an agent), dispositions by code, talk time, abandon
  rate and the callback KPIs of ``dialer callbacks report``; ``?format=csv`` (or the same path
  ending in ``.csv``) downloads them as CSV.  Supervisors and administrators.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from campaigns import errors as campaign_errors
from campaigns import models, zones
from campaigns.enums import CallbackStatus, Role
from campaigns.store import campaigns as campaign_store
from dialer import callbacks_report
from dialer.api import auth, errors

router = APIRouter(tags=["reports"])

#: the longest range a calendar or a report covers, in days.
MAX_DAYS = 366
#: the ``from`` and ``to`` query parameters (dates; Python cannot name a parameter ``from``).
FromDate = Annotated[dt.date | None, Query(alias="from")]
ToDate = Annotated[dt.date | None, Query(alias="to")]
#: callback KPI columns of the CSV exports.
KPI_KEYS = ("callbacks", "completed", "kept_on_time", "missed", "rescheduled", "no_show",
            "cancelled", "open")


def day_range(start: dt.date | None, end: dt.date | None, tz: str, now: dt.datetime,
              default_days: int) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """The dates ``start``..``end`` (inclusive) in ``tz`` and their bounds as UTC instants.

    >>> now = dt.datetime(2026, 11, 21, 15, tzinfo=dt.timezone.utc)
    >>> first, last, a, b = day_range(None, None, "America/New_York", now, 7)
    >>> str(first), str(last), a.isoformat(), b.isoformat()
    ('2026-11-21', '2026-11-27', '2026-11-21T05:00:00+00:00', '2026-11-28T05:00:00+00:00')
    """
    zone = ZoneInfo(tz)
    start = start or now.astimezone(zone).date()
    end = end or start + dt.timedelta(days=default_days - 1)
    if end < start:
        raise errors.ApiError("the range ends before it starts", fields={"to": "before from"},
                              error_id="invalid-range")
    if (end - start).days >= MAX_DAYS:
        raise errors.ApiError(f"the range is longer than {MAX_DAYS} days",
                              fields={"to": "too far from from"}, error_id="invalid-range")
    first = dt.datetime.combine(start, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return start, end, first, after.astimezone(dt.UTC)


def _zone(tz: str) -> str:
    try:
        zones.zone(tz)
        return tz
    except (campaign_errors.CampaignError, LookupError, ValueError):
        return "UTC"


# --------------------------------------------------------------------------- calendar


def _agent_id(session: Session, agent: str | None) -> int | None:
    if not agent:
        return None
    query = select(models.User.id).where(models.User.name == agent)
    if agent.isdigit():
        query = select(models.User.id).where(or_(models.User.id == int(agent),
                                                 models.User.name == agent))
    found = session.scalar(query)
    if found is None:
        raise errors.NotFound("user", agent)
    return found


def calendar(session: Session, user: auth.Principal, *, start: dt.datetime, end: dt.datetime,
             campaign_id: int | None, owner_id: int | None, tz: str,
             include_cancelled: bool) -> list[dict[str, Any]]:
    """Callbacks whose window meets ``[start, end)``, as the viewer may see them."""
    cb, record = models.Callback, models.Record
    query = (select(cb, record.first_name, record.last_name, models.User.name,
                    models.Campaign.name)
             .join(record, record.id == cb.record_id)
             .join(models.Campaign, models.Campaign.id == cb.campaign_id)
             .outerjoin(models.User, models.User.id == cb.owner_id)
             .where(cb.window_start_at < end, cb.window_end_at > start)
             .order_by(cb.window_start_at, cb.id))
    if campaign_id is not None:
        query = query.where(cb.campaign_id == campaign_id)
    if owner_id is not None:
        query = query.where(cb.owner_id == owner_id)
    if not include_cancelled:
        query = query.where(cb.status != CallbackStatus.CANCELLED)
    if not user.is_staff:
        query = query.where(cb.campaign_id.in_(list(user.campaign_ids)),
                            or_(cb.owner_id.is_(None), cb.owner_id == user.user_id))
    return [_entry(row, f"{first} {last}".strip(), owner, campaign, tz)
            for row, first, last, owner, campaign in session.execute(query)]


def _entry(row: models.Callback, customer: str, owner: str | None, campaign: str,
           tz: str) -> dict[str, Any]:
    viewer, theirs = ZoneInfo(tz), ZoneInfo(_zone(row.tz))
    start, end = row.window_start_at, row.window_end_at

    def shown(zone: ZoneInfo) -> str:
        return f"{start.astimezone(zone):%H:%M}–{end.astimezone(zone):%H:%M}"

    return {"id": row.id, "campaign_id": row.campaign_id, "campaign": campaign,
            "record_id": row.record_id, "customer": customer, "owner": owner,
            "status": row.status.value, "window_start_at": start.isoformat(),
            "window_end_at": end.isoformat(), "day": start.astimezone(viewer).date().isoformat(),
            "customer_tz": row.tz, "customer_time": shown(theirs),
            "customer_day": start.astimezone(theirs).date().isoformat(),
            "viewer_tz": tz, "viewer_time": shown(viewer)}


@router.get("/api/calendar")
def get_calendar(user: auth.AnyUser, session: auth.Db, ctx: auth.Ctx,
                 start: FromDate = None,
                 end: ToDate = None, agent: str | None = None,
                 campaign_id: int | None = None, include_cancelled: bool = False,
                 tz: str | None = None) -> dict[str, Any]:
    """Callbacks by day for the calendar (dates in the viewer's zone, or ``tz``)."""
    if campaign_id is not None:
        user.check_campaign(campaign_id)
        campaign_store.get(session, campaign_id)
    zone = _zone(tz or user.tz)
    first, last, lo, hi = day_range(start, end, zone, ctx.now(), 7)
    owner_id = _agent_id(session, agent)
    if owner_id is not None and user.role is Role.AGENT and owner_id != user.user_id:
        raise errors.Forbidden("agents see only their own callbacks", fields={"agent": agent or ""})
    entries = calendar(session, user, start=lo, end=hi, campaign_id=campaign_id,
                       owner_id=owner_id, tz=zone, include_cancelled=include_cancelled)
    days = [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    return {"from": first.isoformat(), "to": last.isoformat(), "tz": zone, "days": days,
            "callbacks": entries}


# --------------------------------------------------------------------------- reports


def _attempt_rows(session: Session, start: dt.datetime, end: dt.datetime,
                  campaign_id: int | None) -> list[Any]:
    a = models.Attempt
    query = (select(a.campaign_id, a.agent_id, a.disposition, a.outcome, a.is_abandoned,
                    a.connected_at, a.ended_at, a.counts_as_attempt, a.started_at)
             .where(a.is_test.is_(False), a.started_at >= start, a.started_at < end))
    if campaign_id is not None:
        query = query.where(a.campaign_id == campaign_id)
    return list(session.execute(query))


def _empty() -> dict[str, Any]:
    return {"dials": 0, "attempts": 0, "contacts": 0, "abandoned": 0, "talk_time_s": 0,
            "dispositions": collections.Counter()}


def _add(tally: dict[str, Any], row: Any) -> None:
    tally["dials"] += 1
    tally["attempts"] += bool(row.counts_as_attempt)
    tally["abandoned"] += bool(row.is_abandoned)
    if row.connected_at is not None:
        tally["contacts"] += 1
        if row.ended_at is not None:
            tally["talk_time_s"] += max(0, int((row.ended_at - row.connected_at).total_seconds()))
    if row.disposition:
        tally["dispositions"][row.disposition] += 1


def _done(tally: dict[str, Any]) -> dict[str, Any]:
    live = tally["contacts"] + tally["abandoned"]
    return {**tally, "dispositions": dict(sorted(tally["dispositions"].items())),
            "abandon_rate": tally["abandoned"] / live if live else 0.0,
            "average_talk_s": tally["talk_time_s"] / tally["contacts"] if tally["contacts"]
            else 0.0}


def campaign_report(session: Session, campaign: models.Campaign, *, first: dt.date,
                    last: dt.date, start: dt.datetime, end: dt.datetime,
                    tz: str) -> dict[str, Any]:
    """The campaign's totals over ``[start, end)``, per day, and its callback KPIs."""
    total, daily = _empty(), {}
    zone = ZoneInfo(tz)
    for n in range((last - first).days + 1):
        daily[(first + dt.timedelta(days=n)).isoformat()] = _empty()
    for row in _attempt_rows(session, start, end, campaign.id):
        _add(total, row)
        _add(daily[row.started_at.astimezone(zone).date().isoformat()], row)
    kpis = callbacks_report.report(session, campaign_id=campaign.id, since=start)["campaigns"]
    callbacks = {k: v for k, v in kpis[0].items() if k != "agents"} if kpis else {}
    return {"campaign_id": campaign.id, "campaign": campaign.name, "from": first.isoformat(),
            "to": last.isoformat(), "tz": tz, **_done(total), "callbacks": callbacks,
            "daily": [{"day": day, **_done(t)} for day, t in daily.items()]}


def agents_report(session: Session, *, campaign_id: int | None, start: dt.datetime,
                  end: dt.datetime) -> list[dict[str, Any]]:
    """Per agent: calls handled, contacts, dispositions, talk time, callback KPIs."""
    names = dict(session.execute(select(models.User.id, models.User.name)).all())
    tallies: dict[str, dict[str, Any]] = collections.defaultdict(_empty)
    for row in _attempt_rows(session, start, end, campaign_id):
        if row.agent_id is not None:
            _add(tallies[names.get(row.agent_id, str(row.agent_id))], row)
    kpis: dict[str, dict[str, Any]] = {}
    for campaign in callbacks_report.report(session, campaign_id=campaign_id,
                                            since=start)["campaigns"]:
        for row in campaign["agents"]:
            _merge(kpis.setdefault(row["agent"], {}), row)
    agents = sorted(set(tallies) | {a for a in kpis if a != "(anyone)"})
    return [{"agent": name, **_done(tallies[name] if name in tallies else _empty()),
             "callbacks": kpis.get(name, {})} for name in agents]


def _merge(into: dict[str, Any], row: dict[str, Any]) -> None:
    for key, value in row.items():
        if key == "agent":
            continue
        if isinstance(value, dict):
            bucket = into.setdefault(key, {})
            for name, count in value.items():
                bucket[name] = bucket.get(name, 0) + count
        else:
            into[key] = into.get(key, 0) + value


def to_csv(rows: list[dict[str, Any]], filename: str) -> Response:
    """Report rows as a CSV download (dispositions and callback KPIs as columns)."""
    codes = sorted({code for row in rows for code in row["dispositions"]})
    header = ["name", "dials", "attempts", "contacts", "abandoned", "abandon_rate",
              "talk_time_s", "average_talk_s", *[f"disposition:{c}" for c in codes],
              *[f"callbacks:{k}" for k in KPI_KEYS]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row["name"], row["dials"], row["attempts"], row["contacts"],
                         row["abandoned"], f"{row['abandon_rate']:.4f}", row["talk_time_s"],
                         f"{row['average_talk_s']:.1f}",
                         *[row["dispositions"].get(c, 0) for c in codes],
                         *[row["callbacks"].get(k, 0) for k in KPI_KEYS]])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _wants_csv(fmt: str | None, suffix: bool) -> bool:
    if fmt not in (None, "json", "csv"):
        raise errors.ApiError("format is json or csv", fields={"format": str(fmt)},
                              error_id="invalid-input")
    return suffix or fmt == "csv"


def _campaign_route(user: auth.Principal, session: Session, ctx: Any, campaign_id: int,
                    start: dt.date | None, end: dt.date | None, is_csv: bool) -> Any:
    user.check_campaign(campaign_id)
    campaign = campaign_store.get(session, campaign_id)
    tz = _zone(campaign.centre_tz or "UTC")
    first, last, lo, hi = day_range(start, end, tz, ctx.now() - dt.timedelta(days=6), 7)
    report = campaign_report(session, campaign, first=first, last=last, start=lo, end=hi, tz=tz)
    if not is_csv:
        return report
    rows = [{**d, "name": d["day"], "callbacks": {}} for d in report["daily"]]
    rows.append({**report, "name": "total"})
    return to_csv(rows, f"campaign-{campaign.name}-{first}-{last}.csv")


# The ".csv" path first: "{campaign_id}" would take "3.csv" and refuse it.
@router.get("/api/reports/campaigns/{campaign_id}.csv")
def report_campaign_csv(campaign_id: int, user: auth.Staff, session: auth.Db, ctx: auth.Ctx,
                        start: FromDate = None,
                        end: ToDate = None) -> Any:
    """The campaign's report as CSV: one row per day and a total."""
    return _campaign_route(user, session, ctx, campaign_id, start, end, True)


@router.get("/api/reports/campaigns/{campaign_id}")
def report_campaign(campaign_id: int, user: auth.Staff, session: auth.Db, ctx: auth.Ctx,
                    start: FromDate = None,
                    end: ToDate = None,
                    format: str | None = None) -> Any:
    """One campaign's report (default: the last 7 days in the campaign's zone)."""
    return _campaign_route(user, session, ctx, campaign_id, start, end, _wants_csv(format, False))


def _agents_route(user: auth.Principal, session: Session, ctx: Any, campaign_id: int | None,
                  start: dt.date | None, end: dt.date | None, is_csv: bool) -> Any:
    if campaign_id is not None:
        user.check_campaign(campaign_id)
        campaign_store.get(session, campaign_id)
    tz = _zone(user.tz)
    first, last, lo, hi = day_range(start, end, tz, ctx.now() - dt.timedelta(days=6), 7)
    agents = agents_report(session, campaign_id=campaign_id, start=lo, end=hi)
    if is_csv:
        return to_csv([{**a, "name": a["agent"]} for a in agents],
                      f"agents-{campaign_id or 'all'}-{first}-{last}.csv")
    return {"campaign_id": campaign_id, "from": first.isoformat(), "to": last.isoformat(),
            "tz": tz, "agents": agents}


@router.get("/api/reports/agents")
def report_agents(user: auth.Staff, session: auth.Db, ctx: auth.Ctx,
                  campaign_id: int | None = None,
                  start: FromDate = None,
                  end: ToDate = None,
                  format: str | None = None) -> Any:
    """Per agent (default: the last 7 days in your zone, every campaign)."""
    return _agents_route(user, session, ctx, campaign_id, start, end, _wants_csv(format, False))


@router.get("/api/reports/agents.csv")
def report_agents_csv(user: auth.Staff, session: auth.Db, ctx: auth.Ctx,
                      campaign_id: int | None = None,
                      start: FromDate = None,
                      end: ToDate = None) -> Any:
    """The agents' report as CSV."""
    return _agents_route(user, session, ctx, campaign_id, start, end, True)
