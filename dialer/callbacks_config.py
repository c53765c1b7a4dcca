"""``[callbacks]``: customer links, slots and capacity, reminders, the missed ladder, reasons.

Read through :func:`settings_of`, which falls back to the defaults while the
section is not yet part of :class:`dialer.settings.Settings`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from campaigns import callbacks

#: values that mark a secret nobody replaced.
_PLACEHOLDERS = {"changeme", "change-me", "change_me", "secret", "password"}


class CallbacksSettings(BaseModel):
    """``[callbacks]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: where the customer self-service page is served; links are <base>/c/<token>.
    public_base_url: str = "http://localhost:8000"
    #: HMAC key of customer links (at least 32 characters); empty = links cannot be made.
    link_secret: str = ""
    #: a link expires at the window's end + link_grace_s, and at most this many days after issue.
    link_max_age_days: int = Field(default=14, ge=1, le=14)
    link_grace_s: int = Field(default=24 * 3600, ge=0)
    #: length of a bookable slot (E8).
    slot_minutes: int = Field(default=30, ge=5, le=240)
    #: callbacks one scheduled agent can take in one slot.
    callbacks_per_agent_slot: int = Field(default=1, ge=1, le=100)
    #: how many days ahead the customer page offers slots.
    slot_horizon_days: int = Field(default=7, ge=1, le=60)
    #: reminders before the window opens, in seconds (to the customer and the owning agent).
    reminder_offsets_s: list[int] = Field(default_factory=lambda: [86400, 3600])
    #: send agent reminders too.
    remind_agents: bool = True
    #: missed ladder: retry inside the window this long after a miss.
    ladder_retry_after_s: int = Field(default=600, ge=0)
    #: missed ladder: an owner-only callback goes to anyone this long after its window opens.
    ladder_handoff_after_s: int = Field(default=900, ge=0)
    #: missed ladder: close this long after telling the customer we missed them.
    ladder_close_after_s: int = Field(default=7 * 86400, ge=0)
    #: allowed cancel reasons; empty = any free text.
    cancel_reasons: list[str] = Field(default_factory=list)
    #: tell the customer when a callback is reassigned to another agent.
    notify_on_reassign: bool = False

    @field_validator("link_secret")
    @classmethod
    def _real_secret(cls, value: str) -> str:
        if value.strip().lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder: set a real random secret")
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def slot_length(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.slot_minutes)

    @property
    def reminder_offsets(self) -> list[dt.timedelta]:
        return [dt.timedelta(seconds=s) for s in sorted(set(self.reminder_offsets_s),
                                                        reverse=True) if s > 0]

    @property
    def ladder(self) -> callbacks.Ladder:
        return callbacks.Ladder(dt.timedelta(seconds=self.ladder_retry_after_s),
                                dt.timedelta(seconds=self.ladder_handoff_after_s),
                                dt.timedelta(seconds=self.ladder_close_after_s))


def settings_of(settings: Any) -> CallbacksSettings:
    """The ``[callbacks]`` section of the application settings (defaults when absent)."""
    return getattr(settings, "callbacks", None) or CallbacksSettings()


#: ``[callbacks]`` keys a campaign may override in its ``callback_policy``.
POLICY_KEYS = frozenset({"reminder_offsets_s", "remind_agents", "ladder_retry_after_s",
                         "ladder_handoff_after_s", "ladder_close_after_s", "cancel_reasons",
                         "notify_on_reassign", "callbacks_per_agent_slot", "slot_minutes"})


def for_campaign(cfg: CallbacksSettings, policy: dict[str, Any] | None) -> CallbacksSettings:
    """``cfg`` with a campaign's overrides applied (validated like the file).

    Raises
    ------
    campaigns.errors.InvalidInput
        An unknown key or an invalid value (``invalid-callback-policy``).

    >>> for_campaign(CallbacksSettings(), {"ladder_retry_after_s": 60}).ladder.retry_after
    datetime.timedelta(seconds=60)
    """
    from pydantic import ValidationError

    from campaigns import errors

    policy = dict(policy or {})
    unknown = sorted(set(policy) - POLICY_KEYS)
    if unknown:
        raise errors.InvalidInput(f"callback policy keys not allowed: {', '.join(unknown)} "
                                  f"(allowed: {', '.join(sorted(POLICY_KEYS))})",
                                  fields={k: "unknown" for k in unknown},
                                  error_id="invalid-callback-policy")
    if not policy:
        return cfg
    try:
        return CallbacksSettings(**{**cfg.model_dump(), **policy})
    except ValidationError as exc:
        raise errors.InvalidInput(f"invalid callback policy: {exc.errors()[0]['msg']}",
                                  fields={str(e["loc"][0]): e["msg"] for e in exc.errors()},
                                  error_id="invalid-callback-policy") from None
