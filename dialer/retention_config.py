"""``[retention]``: how long each kind of data is kept before ``dialer retention run``
deletes it (F4).  A period of 0 days keeps that kind forever.

Attempt records are kept 5 years by default, as US telemarketing rules expect
call records to be (the TSR's record-keeping rule, 16 CFR 310.5, asks for
24 months; state rules and litigation holds run longer).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class RetentionSettings(BaseModel):
    """``[retention]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: call attempts (outcome, times, caller ID), in days; 0 = forever.
    attempts_days: int = Field(default=5 * 365, ge=0)
    #: sent or failed e-mail and SMS messages of the outbox, in days.
    notifications_days: int = Field(default=365, ge=0)
    #: delivered or failed webhook deliveries, in days.
    webhook_deliveries_days: int = Field(default=90, ge=0)
    #: reject files (and uploads) of finished background list imports, in days.
    reject_files_days: int = Field(default=30, ge=0)
    #: audit events, in days; 0 = forever (the audit is otherwise append-only).
    audit_days: int = Field(default=0, ge=0)

    def period(self, kind: str) -> dt.timedelta | None:
        """How long ``kind`` is kept; None when kept forever.

        >>> RetentionSettings().period("attempts").days, RetentionSettings().period("audit")
        (1825, None)
        """
        days = getattr(self, f"{kind}_days")
        return dt.timedelta(days=days) if days else None
