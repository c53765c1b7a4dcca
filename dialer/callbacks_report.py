"""Callback KPIs per campaign and per agent (E18): kept on time, lateness, missed, rescheduled,
no-show, cancelled.

A completed callback was kept on time when its call started (completion
minus the time taken) before its window ended; otherwise its lateness is how
long after the window's end the call started.  ``missed`` counts callbacks that
were missed at least once (by the engine or by hand).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from campaigns import models
from campaigns.enums import CallbackStatus as S
from campaigns.store import callbacks as store

#: upper bounds of the lateness buckets, in minutes (the last bucket is open).
LATENESS_BUCKETS = (15, 60, 240)


def lateness_bucket(late: dt.timedelta) -> str:
    """``on_time``, ``<=15m``, ``<=60m``, ``<=240m`` or ``>240m``.

    >>> lateness_bucket(dt.timedelta(0)), lateness_bucket(dt.timedelta(minutes=20))
    ('on_time', '<=60m')
    """
    if late <= dt.timedelta(0):
        return "on_time"
    minutes = late.total_seconds() / 60
    for bound in LATENESS_BUCKETS:
        if minutes <= bound:
            return f"<={bound}m"
    return f">{LATENESS_BUCKETS[-1]}m"


def _empty() -> dict[str, Any]:
    buckets = {"on_time": 0, **{f"<={b}m": 0 for b in LATENESS_BUCKETS},
               f">{LATENESS_BUCKETS[-1]}m": 0}
    return {"callbacks": 0, "completed": 0, "kept_on_time": 0, "lateness": buckets,
            "missed": 0, "rescheduled": 0, "no_show": 0, "cancelled": 0, "open": 0}


def _count(row: dict[str, Any], callback: models.Callback) -> None:
    status = S(callback.status)
    row["callbacks"] += 1
    row["rescheduled"] += callback.reschedule_count
    row["missed"] += callback.missed_at is not None or status is S.MISSED
    row["no_show"] += status is S.NO_SHOW
    row["cancelled"] += status is S.CANCELLED
    row["open"] += status not in (S.COMPLETED, S.NO_SHOW, S.CANCELLED, S.MISSED)
    if status is S.COMPLETED and callback.completed_at is not None:
        row["completed"] += 1
        started = callback.completed_at - dt.timedelta(seconds=callback.time_taken_s or 0)
        bucket = lateness_bucket(started - callback.window_end_at)
        row["lateness"][bucket] += 1
        row["kept_on_time"] += bucket == "on_time"


def report(session: Session, *, campaign_id: int | None = None,
           since: dt.datetime | None = None) -> dict[str, Any]:
    """KPIs per campaign and, inside each, per owning agent (``(anyone)`` for campaign-owned)."""
    campaigns = store.campaign_names(session)
    names = store.user_names(session)
    per_campaign: dict[int, dict[str, Any]] = defaultdict(_empty)
    per_agent: dict[tuple[int, str], dict[str, Any]] = defaultdict(_empty)
    for callback in store.report_rows(session, campaign_id=campaign_id, since=since):
        owner = names.get(callback.owner_id, "(anyone)") if callback.owner_id else "(anyone)"
        _count(per_campaign[callback.campaign_id], callback)
        _count(per_agent[(callback.campaign_id, owner)], callback)
    out = []
    for cid, totals in sorted(per_campaign.items()):
        agents = [{"agent": owner, **row} for (c, owner), row in sorted(per_agent.items())
                  if c == cid]
        out.append({"campaign_id": cid, "campaign": campaigns.get(cid, str(cid)), **totals,
                    "agents": agents})
    return {"campaigns": out}
