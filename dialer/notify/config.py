"""``[notifications]``: SMTP, the SMS provider, retries and webhooks.

An empty ``smtp.host`` or ``sms.url`` turns that channel off: its messages stay
queued in the outbox (listed, never dropped) until a sender is configured.
Webhooks need no settings beyond their timeout: each endpoint is data in the
database, configured per campaign.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: values that mark a secret nobody replaced.
_PLACEHOLDERS = {"changeme", "change-me", "change_me", "secret", "password"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _refuse_placeholder(value: str) -> str:
    if value.strip().lower() in _PLACEHOLDERS:
        raise ValueError("is a placeholder: set the real secret (or leave it empty)")
    return value


class SmtpSettings(_Section):
    """``[notifications.smtp]``: where e-mail is sent."""

    #: SMTP server host name; empty turns e-mail off.
    host: str = ""
    #: 587 for STARTTLS submission, 25 for a local relay.
    port: int = Field(default=587, ge=1, le=65535)
    #: login name; empty sends without AUTH.
    username: str = ""
    password: str = ""
    #: the From: address of every message.
    from_address: str = ""
    #: upgrade the connection with STARTTLS before logging in.
    starttls: bool = True
    #: seconds to wait for the server at each step.
    timeout_s: float = Field(default=30.0, gt=0, le=600)

    @field_validator("password")
    @classmethod
    def _real_password(cls, value: str) -> str:
        return _refuse_placeholder(value)

    @model_validator(mode="after")
    def _from_needed(self) -> SmtpSettings:
        if self.host and "@" not in self.from_address:
            raise ValueError("from_address must be an e-mail address when host is set")
        return self

    @property
    def is_enabled(self) -> bool:
        return bool(self.host)


class SmsSettings(_Section):
    """``[notifications.sms]``: a Twilio-style REST provider."""

    #: base URL, e.g. ``https://api.twilio.com``; empty turns SMS off.
    url: str = ""
    account_sid: str = ""
    auth_token: str = ""
    #: the sender number (E.164) or a messaging service id.
    from_number: str = ""
    #: seconds to wait for the provider.
    timeout_s: float = Field(default=15.0, gt=0, le=600)

    @field_validator("auth_token")
    @classmethod
    def _real_token(cls, value: str) -> str:
        return _refuse_placeholder(value)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _complete(self) -> SmsSettings:
        if self.url and not (self.account_sid and self.auth_token and self.from_number):
            raise ValueError("account_sid, auth_token and from_number are needed when url is set")
        return self

    @property
    def is_enabled(self) -> bool:
        return bool(self.url)


class RetrySettings(_Section):
    """``[notifications.retry]``: exponential back-off of messages and webhook deliveries."""

    #: attempts in all (the first one included) before a message is marked failed.
    max_attempts: int = Field(default=6, ge=1, le=100)
    #: wait after the first failure; each further failure doubles it.
    base_delay_s: float = Field(default=60.0, ge=0)
    #: the longest wait between two attempts.
    max_delay_s: float = Field(default=3600.0, ge=0)

    @property
    def base_delay(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.base_delay_s)

    @property
    def max_delay(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.max_delay_s)


class WebhookSettings(_Section):
    """``[notifications.webhooks]``."""

    #: seconds to wait for a receiver's answer.
    timeout_s: float = Field(default=10.0, gt=0, le=600)


class NotificationSettings(_Section):
    """``[notifications]``: how the outbox and the webhook deliveries are sent."""

    smtp: SmtpSettings = SmtpSettings()
    sms: SmsSettings = SmsSettings()
    retry: RetrySettings = RetrySettings()
    webhooks: WebhookSettings = WebhookSettings()
    #: messages and deliveries claimed by one dispatch pass, of each kind.
    batch_size: int = Field(default=50, ge=1, le=1000)
    #: a claimed item is not claimed again for this long (a crashed pass is retried after it).
    claim_lease_s: float = Field(default=600.0, gt=0)


def settings_of(settings: Any) -> NotificationSettings:
    """The ``[notifications]`` section of the application's settings (defaults when absent).

    >>> settings_of(object()).smtp.is_enabled
    False
    """
    section = getattr(settings, "notifications", None)
    return section if isinstance(section, NotificationSettings) else NotificationSettings()
