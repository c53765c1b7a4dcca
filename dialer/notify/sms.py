"""Text messages: the ``SmsProvider`` protocol and a Twilio-style REST provider (httpx).

The provider POSTs ``{url}/2010-04-01/Accounts/{account_sid}/Messages.json``
with form fields ``To``, ``From`` and ``Body`` and HTTP basic auth
(account SID, auth token), as Twilio's Messages API and its look-alikes expect.
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from dialer.notify import config, errors

logger = logging.getLogger(__name__)


class SmsProvider(Protocol):
    """Sends one text message; returns the provider's message id."""

    def send(self, to: str, body: str) -> str:
        """Raises :class:`dialer.notify.errors.DeliveryError` when not accepted."""
        ...

    def close(self) -> None: ...


class TwilioSmsProvider:
    """The Twilio Messages REST call (any provider speaking the same API)."""

    def __init__(self, settings: config.SmsSettings, *,
                 client: httpx.Client | None = None) -> None:
        self.settings = settings
        self._client = client or httpx.Client(timeout=settings.timeout_s, follow_redirects=False)

    @property
    def endpoint(self) -> str:
        return (f"{self.settings.url}/2010-04-01/Accounts/{self.settings.account_sid}"
                "/Messages.json")

    def send(self, to: str, body: str) -> str:
        """Send ``body`` to ``to`` (E.164).

        Raises
        ------
        dialer.notify.errors.DeliveryError
            Network failure, 429 or 5xx (transient), or another 4xx (permanent).
        """
        form = {"To": to, "From": self.settings.from_number, "Body": body}
        try:
            response = self._client.post(self.endpoint, data=form,
                                         auth=(self.settings.account_sid,
                                               self.settings.auth_token))
        except httpx.HTTPError as exc:
            raise errors.DeliveryError(f"SMS provider: {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return str(_json(response).get("sid", ""))
        detail = _json(response).get("message") or response.text[:200]
        transient = response.status_code == 429 or response.status_code >= 500
        raise errors.DeliveryError(f"SMS provider HTTP {response.status_code}: {detail}",
                                   is_permanent=not transient,
                                   response_status=response.status_code)

    def close(self) -> None:
        self._client.close()


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
