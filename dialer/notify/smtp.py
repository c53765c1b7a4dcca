"""E-mail through SMTP, with the standard library's ``smtplib``.

Why ``smtplib`` and not ``aiosmtplib``: the dispatcher is synchronous (sync
SQLAlchemy sessions, run by an APScheduler 3.x interval job in a worker
thread), one connection per message is plenty at a call centre's volume, and
the standard library adds no dependency.  Every step has ``timeout_s``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import smtplib
import ssl
from email import policy as email_policy
from email.message import EmailMessage

from dialer.notify import config, errors

logger = logging.getLogger(__name__)

# Fold headers only at RFC 5322's hard limit: the standard library's folding at 78
# leaves a space before an encoded word that readers unfold into two spaces.
_POLICY = email_policy.SMTP.clone(max_line_length=998)


class SmtpSender:
    """Sends one plain-text message per connection to the configured server."""

    def __init__(self, settings: config.SmtpSettings) -> None:
        self.settings = settings

    def build(self, *, to: str, subject: str, body: str, language: str, now: dt.datetime,
              event: str = "") -> EmailMessage:
        """The message as it is sent (UTF-8 text, ``Content-Language`` from the template)."""
        message = EmailMessage(policy=_POLICY)
        message["From"] = self.settings.from_address
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = email.utils.format_datetime(now.astimezone(dt.UTC))
        domain = self.settings.from_address.rpartition("@")[2] or None
        message["Message-ID"] = email.utils.make_msgid(domain=domain)
        if event:
            message["X-Dialer-Event"] = event
        message.set_content(body, charset="utf-8")
        # after set_content, which replaces every Content-* header
        message["Content-Language"] = language
        return message

    def send(self, *, to: str, subject: str, body: str, language: str, now: dt.datetime,
             event: str = "") -> None:
        """Send one message.

        Raises
        ------
        dialer.notify.errors.DeliveryError
            The server could not be reached or refused; ``is_permanent`` for a 5xx answer.
        """
        message = self.build(to=to, subject=subject, body=body, language=language, now=now,
                             event=event)
        try:
            self._send(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            raise errors.DeliveryError(f"SMTP refused the recipient: {_describe(exc.recipients)}",
                                       is_permanent=all(c >= 500 for c in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise errors.DeliveryError(f"SMTP {exc.smtp_code} {text}".strip(),
                                       is_permanent=exc.smtp_code >= 500) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise errors.DeliveryError(f"SMTP server: {exc}", is_permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise errors.DeliveryError(f"SMTP {self.settings.host}:{self.settings.port}: "
                                       f"{type(exc).__name__}: {exc}") from exc

    def _send(self, message: EmailMessage) -> None:
        section = self.settings
        with smtplib.SMTP(section.host, section.port, timeout=section.timeout_s) as client:
            if section.starttls:
                client.starttls(context=ssl.create_default_context())
            if section.username:
                client.login(section.username, section.password)
            client.send_message(message)


def _describe(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address}: {code} {text.decode('utf-8', 'replace')}"
                     for address, (code, text) in recipients.items())
