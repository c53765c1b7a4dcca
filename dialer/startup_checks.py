"""Why a campaign may not start: configuration and compliance checks run at start."""

from __future__ import annotations

from typing import Any

from dialer import errors


class CampaignNotStartable(errors.DialerError):
    """The campaign cannot start."""

    error_id = "campaign-not-startable"
    is_input_error = True


def refuse_unstartable(campaign: Any, settings: Any, *, session: Any = None) -> None:
    """Raise :class:`CampaignNotStartable` naming the key that prevents ``campaign`` starting.

    - AMD on with a backend that has none (pjsua2) — C7.
    """
    backend = settings.telephony.backend
    if campaign.amd and backend == "sip":
        raise CampaignNotStartable(
            f"campaign {campaign.name!r} has amd on, but telephony.backend = \"sip\" has no "
            "answering-machine detection: turn amd off or use the ami backend",
            fields={"amd": "not supported by the sip backend", "telephony.backend": "sip"})
