"""Errors of the notification senders."""

from __future__ import annotations

from dialer import errors


class NotifyError(errors.DialerError):
    """A notification could not be sent."""

    error_id = "notify-error"


class DeliveryError(NotifyError):
    """The receiving server refused or could not be reached.

    ``is_permanent`` says that trying again cannot help (an SMTP 5xx, an SMS
    provider's 4xx); ``response_status`` is the HTTP status when there was one.
    """

    error_id = "delivery-failed"

    def __init__(self, message: str, *, is_permanent: bool = False,
                 response_status: int | None = None) -> None:
        super().__init__(message)
        self.is_permanent = is_permanent
        self.response_status = response_status
