"""Posting a webhook delivery: the exact JSON body, signed, with a timeout (httpx).

Redirects are not followed (a receiver that moved must be reconfigured), and
any answer but 2xx is a failed attempt that the dispatcher retries.
"""

from __future__ import annotations

import httpx

from campaigns import webhook_signing
from dialer.notify import config, errors

USER_AGENT = "campaign-dialer-webhooks/1"


class WebhookPoster:
    """POSTs signed bodies to receivers."""

    def __init__(self, settings: config.WebhookSettings, *,
                 client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(timeout=settings.timeout_s, follow_redirects=False)

    def post(self, *, url: str, secret: str, body: str, event: str, t: int) -> int:
        """POST ``body`` signed at unix time ``t``; returns the 2xx status.

        Raises
        ------
        dialer.notify.errors.DeliveryError
            Network failure or a non-2xx answer (``response_status`` set).
        """
        headers = {
            "Content-Type": "application/json",
            webhook_signing.HEADER: webhook_signing.sign(secret, body, t),
            "X-Dialer-Event": event,
            "User-Agent": USER_AGENT,
        }
        try:
            response = self._client.post(url, content=body.encode("utf-8"), headers=headers)
        except httpx.HTTPError as exc:
            raise errors.DeliveryError(f"webhook {url}: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise errors.DeliveryError(f"webhook {url}: HTTP {response.status_code} "
                                       f"{response.text[:200]}".strip(),
                                       response_status=response.status_code)
        return response.status_code

    def close(self) -> None:
        self._client.close()
