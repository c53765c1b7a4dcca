"""Why a campaign may not start: configuration and compliance checks run at start."""

from __future__ import annotations

import datetime as dt
from typing import Any

from campaigns import calling_hours, calling_rules
from campaigns.store import compliance
from dialer import errors


class CampaignNotStartable(errors.DialerError):
    """The campaign cannot start."""

    error_id = "campaign-not-startable"
    is_input_error = True


def refuse_unstartable(campaign: Any, settings: Any, *, session: Any,
                       now: dt.datetime) -> None:
    """Raise :class:`CampaignNotStartable` naming the key that prevents ``campaign`` starting.

    - AMD on with a backend that has none (pjsua2) — C7;
    - a telemarketing campaign whose national do-not-call registry import is missing
      or older than the rule's ``registry_max_age_days`` — B9.
    """
    backend = settings.telephony.backend
    if campaign.amd and backend == "sip":
        raise CampaignNotStartable(
            f"campaign {campaign.name!r} has amd on, but telephony.backend = \"sip\" has no "
            "answering-machine detection: turn amd off or use the ami backend",
            fields={"amd": "not supported by the sip backend", "telephony.backend": "sip"})
    reason = calling_hours.registry_block(
        campaign.call_category.value, compliance.latest_scrubs(session),
        calling_rules.load(settings.compliance), now,
        compliance.campaign_countries(session, campaign.id))
    if reason is not None:
        kind, _, rule = reason.partition(":")
        state = "has never been imported" if kind == "registry_missing" else "is too old"
        raise CampaignNotStartable(
            f"campaign {campaign.name!r} calls numbers covered by rule {rule}, whose national "
            f"do-not-call registry {state}: import it with 'dialer dnc import --source ...'",
            fields={"registry": reason}, error_id="registry-scrub-required")
