"""A small campaign for engine tests: scripted numbers, fast retry rules, a caller-ID pool.

Numbers ending in ``55501dd`` behave by their last two digits in the simulated
carrier (``telephony.sim``): 01 machine, 02 busy, 03 no answer, 04 rejected,
07 failed, 08 live (talks ``scripted_talk_s``, then hangs up).  The campaign is
a research campaign open all day, so calling hours never block a test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from typing import Any

from sqlalchemy import insert, select

from campaigns import caller_ids, db, dispositions, models
from campaigns.enums import CallCategory, CampaignStatus, DialingMode, PhoneKind
from campaigns.store import caller_ids as caller_id_store
from campaigns.store import rules as rule_store

UTC = dt.UTC
#: area codes where a research call is legal at every hour (so no test depends on the time of day).
AREAS = ("212", "617", "713", "206", "404", "503", "602", "201", "202", "203")


def scripted(area: str, suffix: str) -> str:
    return f"+1{area}55501{suffix}"


def fast_rules(delay_s: int = 1) -> list[dispositions.Rule]:
    """The shipped rules with every retry delay cut to ``delay_s`` and no backoff."""
    return [dataclasses.replace(rule, delay_s=delay_s if rule.delay_s else 0, backoff=1.0,
                                max_delay_s=None)
            for rule in dispositions.parse_rules(dispositions.default_rules_text())]


def create_campaign(factory: Any, name: str, numbers: list[str], *, max_attempts: int = 3,
                    status: CampaignStatus = CampaignStatus.ACTIVE, ring_timeout_s: int = 1,
                    pool: tuple[caller_ids.PoolNumber, ...] = (), delay_s: int = 1) -> int:
    """A progressive research campaign over ``numbers`` (one record each); its id."""
    now = dt.datetime.now(UTC)
    with db.unit_of_work(factory) as session:
        campaign = models.Campaign(
            name=name, dialing_mode=DialingMode.PROGRESSIVE, call_category=CallCategory.RESEARCH,
            ring_timeout_s=ring_timeout_s, max_attempts=max_attempts, centre_tz="UTC",
            schedule_start=dt.time(0), schedule_end=dt.time(0), status=status,
            caller_id="+12125550000", created_at=now, updated_at=now)
        session.add(campaign)
        session.flush()
        rule_store.replace(session, campaign, fast_rules(delay_s))
        for number in pool:
            caller_id_store.add(session, campaign.id, number)
        calling_list = models.CallingList(campaign_id=campaign.id, name="list", created_at=now)
        session.add(calling_list)
        session.flush()
        load_records(session, campaign.id, calling_list.id, numbers, now)
        return campaign.id


def load_records(session: Any, campaign_id: int, list_id: int, numbers: list[str],
                 now: dt.datetime) -> None:
    """Bulk insert one record and one primary number per entry of ``numbers``."""
    session.execute(insert(models.Record), [
        {"campaign_id": campaign_id, "list_id": list_id, "source_row": i, "fields": {},
         "custom_fields": {}, "status": "new", "priority": 0, "attempts_count": 0,
         "first_name": "", "last_name": "", "email": "", "language": "", "raw_state": "",
         "raw_zip": "", "raw_tz": "", "created_at": now, "updated_at": now}
        for i in range(len(numbers))])
    ids = session.scalars(select(models.Record.id).where(models.Record.list_id == list_id)
                          .order_by(models.Record.id)).all()
    session.execute(insert(models.PhoneNumber), [
        {"record_id": record_id, "campaign_id": campaign_id, "e164": number, "raw": "",
         "kind": PhoneKind.PRIMARY.value, "position": 0, "line_type": "", "region": "US",
         "zones": [], "is_valid": True, "created_at": now}
        for record_id, number in zip(ids, numbers, strict=True)])


def attempts_by_record(session: Any, campaign_id: int) -> dict[int, list[models.Attempt]]:
    rows = session.scalars(select(models.Attempt).where(models.Attempt.campaign_id == campaign_id)
                           .order_by(models.Attempt.id)).all()
    out: dict[int, list[models.Attempt]] = {}
    for attempt in rows:
        out.setdefault(attempt.record_id, []).append(attempt)
    return out


def overlapping(attempts: list[models.Attempt]) -> bool:
    """Did two attempts of one record overlap in time (dialled twice at once)?"""
    ordered = sorted(attempts, key=lambda a: a.started_at)
    return any(later.started_at < (earlier.ended_at or dt.datetime.max.replace(tzinfo=UTC))
               for earlier, later in itertools.pairwise(ordered))
