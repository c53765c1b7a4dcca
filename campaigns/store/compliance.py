"""Compliance queries: resolve a calling-hours target, registry scrubs, suspensions, abandonment.

:func:`load_target` turns a campaign and a phone number (or a bare number) into
a :class:`campaigns.calling_hours.Target`: attempts and abandons inside the
longest frequency or redial window, DNC entries (global and campaign),
registry scrub dates and suspensions.  Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from campaigns import abandonment, calling_hours, calling_rules, errors, models
from campaigns.enums import CallOutcome
from campaigns.store import audit

#: agent dispositions that record a refusal (they start ``after = "refusal"`` redial blocks).
REFUSAL_DISPOSITIONS = ("not_interested", "refused", "refusal")
_DAY_NAMES = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def history_span(rules: calling_rules.RuleSet) -> dt.timedelta:
    """The longest frequency or redial window of ``rules`` (how far back attempts matter)."""
    hours = [r.per_hours or 0 for r in rules.rules if r.kind == "frequency"]
    hours += [r.block_hours or 0 for r in rules.rules if r.kind == "redial_block"]
    return dt.timedelta(hours=max(hours, default=0))


def is_dnc(session: Session, e164: str, campaign_id: int | None, now: dt.datetime) -> bool:
    """Is ``e164`` on the global list or this campaign's, unexpired at ``now``?"""
    scopes = ["global"] + ([f"campaign:{campaign_id}"] if campaign_id is not None else [])
    query = select(models.DncEntry.id).where(
        models.DncEntry.e164 == e164, models.DncEntry.scope.in_(scopes),
        or_(models.DncEntry.expires_at.is_(None), models.DncEntry.expires_at > now))
    return session.scalars(query.limit(1)).first() is not None


def latest_scrubs(session: Session) -> dict[str, dt.datetime]:
    """Registry source -> instant of its latest import (``dialer dnc import --source``)."""
    query = select(models.RegistryScrub.source, func.max(models.RegistryScrub.imported_at)) \
        .group_by(models.RegistryScrub.source)
    out = {}
    for source, imported_at in session.execute(query):
        out[source] = _aware(imported_at)
    return out


def campaign_countries(session: Session, campaign_id: int) -> set[str]:
    """The regions of the campaign's numbers (for :func:`calling_hours.registry_block`)."""
    query = select(models.PhoneNumber.region).where(
        models.PhoneNumber.campaign_id == campaign_id).distinct()
    return {region for region in session.scalars(query) if region}


def add_suspension(session: Session, jurisdiction: str, from_at: dt.datetime, to_at: dt.datetime,
                   *, reason: str, created_by: str, now: dt.datetime) -> models.HoursSuspension:
    """Switch a suspension on (audited, flushed).

    Raises
    ------
    campaigns.errors.InvalidInput
        When ``to_at`` is not after ``from_at`` or the reason is empty.
    """
    if to_at <= from_at:
        raise errors.InvalidInput(f"suspension ends ({to_at.isoformat()}) before it starts "
                                  f"({from_at.isoformat()})", fields={"to": "before from"},
                                  error_id="window-end-before-start")
    if not reason.strip():
        raise errors.InvalidInput("a suspension needs a reason", fields={"reason": "empty"})
    row = models.HoursSuspension(jurisdiction=jurisdiction, from_at=from_at, to_at=to_at,
                                 reason=reason, created_by=created_by, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, action="hours.suspend", entity="hours_suspension", entity_id=row.id,
                 actor=created_by, at=now, details={
                     "jurisdiction": jurisdiction, "from_at": from_at.isoformat(),
                     "to_at": to_at.isoformat(), "reason": reason})
    return row


def suspensions(session: Session, now: dt.datetime,
                jurisdictions: Iterable[str] | None = None) -> list[calling_hours.Suspension]:
    """Suspensions not yet over at ``now`` (optionally for some jurisdictions), by start."""
    query = select(models.HoursSuspension).where(models.HoursSuspension.to_at > now)
    if jurisdictions is not None:
        query = query.where(models.HoursSuspension.jurisdiction.in_(list(jurisdictions)))
    rows = session.scalars(query.order_by(models.HoursSuspension.from_at,
                                         models.HoursSuspension.id))
    return [calling_hours.Suspension(r.jurisdiction, _aware(r.from_at), _aware(r.to_at), r.reason)
            for r in rows]


def load_target(session: Session, campaign: models.Campaign, now: dt.datetime, *,
                phone: models.PhoneNumber | None = None, number: str = "", state: str = "",
                zip_code: str = "", tz: str = "", rules: calling_rules.RuleSet | None = None,
                is_prerecorded: bool = False, is_customer_requested: bool = False,
                requested_window: tuple[dt.datetime, dt.datetime] | None = None,
                is_registry_checked: bool = True) -> calling_hours.Target:
    """The :class:`calling_hours.Target` of a stored phone (or a bare ``number``) in ``campaign``.

    A stored record's raw zone, ZIP and state are read leniently (a bad value
    is ignored, a bad zone leaves ``zone_unknown``); explicit ``state``,
    ``zip_code`` and ``tz`` arguments are input and strict.

    Raises
    ------
    campaigns.errors.InvalidInput
        For a bad number or (explicit) address values.
    """
    rules = rules or calling_rules.default_rules()
    record = phone.record if phone is not None else None
    e164 = phone.e164 if phone is not None else number
    is_strict = record is None
    if record is not None and not (state or zip_code or tz):
        state, zip_code, tz = record.raw_state, record.raw_zip, record.raw_tz
    where = calling_hours.resolve_target(
        e164, tz=tz, zip_code=zip_code, state=state, is_strict=is_strict, rules=rules)
    e164 = where.e164
    since = now - history_span(rules)
    record_id = record.id if record is not None else None
    attempts = _attempts(session, e164, record_id, since)
    own = tuple(a.started_at for a in attempts if a.campaign_id == campaign.id
                and a.counts_as_attempt)
    other = tuple(a.started_at for a in attempts if a.campaign_id != campaign.id
                  and a.counts_as_attempt and a.number_e164 == e164)
    abandoned = tuple(a.started_at for a in attempts if a.is_abandoned and a.number_e164 == e164)
    refused = tuple(a.started_at for a in attempts if a.disposition in REFUSAL_DISPOSITIONS
                    and a.campaign_id == campaign.id)
    window = (campaign.window_start, campaign.window_end) \
        if campaign.window_start is not None and campaign.window_end is not None else None
    return calling_hours.Target(
        e164, where.zones, where.jurisdictions, _value(campaign.call_category),
        _value(campaign.dialing_mode) != "preview" or is_prerecorded, window,
        schedule(campaign), tuple(sorted(own)), tuple(sorted(other)), tuple(sorted(abandoned)),
        tuple(sorted(refused)), is_dnc(session, e164, campaign.id, now),
        tuple(sorted(latest_scrubs(session).items())) if is_registry_checked else None,
        tuple(suspensions(session, now, where.jurisdictions)), frozenset(),
        is_customer_requested, requested_window,
        bool(campaign.allow_requested_callbacks_outside_hours), rules)


def decide(session: Session, campaign: models.Campaign, phone: models.PhoneNumber,
           now: dt.datetime, *, rules: calling_rules.RuleSet | None = None
           ) -> calling_hours.Decision:
    """May ``phone`` be dialled for ``campaign`` at ``now``?  (load the target, then judge it)

    For the hopper when it queues a record and the orchestrator right before it
    dials: a DNC entry or suspension added in between is seen.
    """
    return calling_hours.may_dial(load_target(session, campaign, now, phone=phone, rules=rules),
                                  now)


def _attempts(session: Session, e164: str, record_id: int | None,
              since: dt.datetime) -> list[Any]:
    who = models.Attempt.number_e164 == e164
    if record_id is not None:
        who = or_(who, models.Attempt.record_id == record_id)
    query = select(models.Attempt.campaign_id, models.Attempt.number_e164,
                   models.Attempt.started_at, models.Attempt.counts_as_attempt,
                   models.Attempt.is_abandoned, models.Attempt.disposition) \
        .where(who, models.Attempt.started_at >= since, models.Attempt.is_test.is_(False))
    return [_Row(*row) for row in session.execute(query)]


class _Row:
    __slots__ = (
        "campaign_id",
        "counts_as_attempt",
        "disposition",
        "is_abandoned",
        "number_e164",
        "started_at",
    )

    def __init__(self, campaign_id: int | None, number_e164: str, started_at: dt.datetime,
                 counts_as_attempt: bool, is_abandoned: bool, disposition: str | None) -> None:
        self.campaign_id, self.number_e164 = campaign_id, number_e164
        self.started_at = _aware(started_at)
        self.counts_as_attempt, self.is_abandoned = counts_as_attempt, is_abandoned
        self.disposition = disposition


def schedule(campaign: models.Campaign) -> calling_hours.Schedule:
    """The campaign's operating schedule (no days configured = every day)."""
    days = tuple(sorted({_DAY_NAMES[str(d).lower()[:3]] for d in campaign.schedule_days or []
                         if str(d).lower()[:3] in _DAY_NAMES})) or tuple(range(7))
    return calling_hours.Schedule(campaign.centre_tz or "UTC", days, campaign.schedule_start,
                                  campaign.schedule_end, campaign.start_date, campaign.end_date)


def abandonment_counts(session: Session, campaign_id: int, start: dt.datetime,
                       end: dt.datetime) -> abandonment.Counts:
    """Connected, abandoned and machine-detected calls started in ``[start, end)``."""
    in_range = and_(models.Attempt.campaign_id == campaign_id,
                    models.Attempt.started_at >= start, models.Attempt.started_at < end,
                    models.Attempt.is_test.is_(False))
    abandoned = func.sum(_case(models.Attempt.is_abandoned.is_(True)))
    connected = func.sum(_case(and_(models.Attempt.is_abandoned.is_(False),
                                    models.Attempt.outcome == CallOutcome.ANSWERED,
                                    models.Attempt.answered_at.is_not(None))))
    machine = func.sum(_case(models.Attempt.outcome == CallOutcome.MACHINE))
    row = session.execute(select(connected, abandoned, machine).where(in_range)).one()
    return abandonment.Counts(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def abandonment_report(session: Session, campaign: models.Campaign,
                       now: dt.datetime) -> dict[str, object]:
    """US and UK rates of ``campaign``: today (its zone's midnight to midnight) and 30 days."""
    day = abandonment.local_day(now, campaign.centre_tz or "UTC")
    start, end = abandonment.day_bounds(day, campaign.centre_tz or "UTC")
    today = abandonment_counts(session, campaign.id, start, end)
    period = abandonment_counts(session, campaign.id, now - abandonment.US_PERIOD, now)
    out = abandonment.report(today, period, campaign.amd_false_positive_rate, campaign.abandon_cap)
    out["day_date"] = day.isoformat()
    return out


def _case(condition: Any) -> Any:
    from sqlalchemy import case

    return case((condition, 1), else_=0)


def _value(value: Any) -> str:
    return str(getattr(value, "value", value))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
