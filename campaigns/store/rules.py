"""Disposition rules of a campaign: replace the set, read it back."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from campaigns import dispositions, models


def replace(session: Session, campaign: models.Campaign, rules: list[dispositions.Rule]) -> int:
    """Replace the campaign's rules with ``rules`` (all or nothing, in the caller's transaction)."""
    session.execute(delete(models.DispositionRule)
                    .where(models.DispositionRule.campaign_id == campaign.id))
    for rule in rules:
        session.add(models.DispositionRule(
            campaign_id=campaign.id, code=rule.code, label=rule.label, source=rule.source,
            action=rule.action, delay_s=rule.delay_s, backoff=rule.backoff,
            max_delay_s=rule.max_delay_s, max_per_record=rule.max_per_record, on_cap=rule.on_cap,
            counts_as_attempt=rule.counts_as_attempt, is_contact=rule.is_contact))
    session.flush()
    return len(rules)


def for_campaign(session: Session, campaign_id: int) -> dict[str, dispositions.Rule]:
    """The campaign's rules by code."""
    rows = session.scalars(select(models.DispositionRule)
                           .where(models.DispositionRule.campaign_id == campaign_id)
                           .order_by(models.DispositionRule.id))
    return {row.code: dispositions.Rule(
        code=row.code, source=row.source, action=row.action, label=row.label,
        delay_s=row.delay_s, backoff=row.backoff, max_delay_s=row.max_delay_s,
        max_per_record=row.max_per_record, on_cap=row.on_cap,
        counts_as_attempt=row.counts_as_attempt, is_contact=row.is_contact) for row in rows}
