"""One dispatch pass: claim due messages and webhook deliveries, send, record each result.

``deliver_due`` is what a scheduler job (or ``dialer notifications send-due``)
calls periodically.  Each claim and each result is its own short transaction,
so no transaction is open while a server is being talked to.  A failed attempt
is retried with exponential back-off (:mod:`dialer.notify.retry`) until
``max_attempts``, then marked failed with its last error; a channel without a
configured sender is not claimed, so its messages wait in the outbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from campaigns import db
from campaigns.enums import Channel, MessageStatus
from campaigns.store import outbox
from campaigns.store import webhooks as webhook_store
from dialer.notify import config, errors, retry, sms, smtp, webhooks

logger = logging.getLogger(__name__)


class EmailSender(Protocol):
    def send(self, *, to: str, subject: str, body: str, language: str, now: dt.datetime,
             event: str = "") -> None: ...


@dataclass
class Senders:
    """The configured senders; ``None`` turns a channel (or webhooks) off."""

    email: EmailSender | None = None
    sms: sms.SmsProvider | None = None
    webhooks: webhooks.WebhookPoster | None = None

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(c for c, s in ((Channel.EMAIL, self.email), (Channel.SMS, self.sms)) if s)

    def close(self) -> None:
        for sender in (self.sms, self.webhooks):
            if sender is not None:
                sender.close()


@dataclass(frozen=True)
class DispatchReport:
    """What one pass did: counts of messages and of webhook deliveries by result."""

    messages: dict[str, int]
    deliveries: dict[str, int]

    def as_dict(self) -> dict[str, dict[str, int]]:
        return dataclasses.asdict(self)


def build_senders(settings: config.NotificationSettings) -> Senders:
    """Senders for the configured channels (e-mail and SMS only when enabled)."""
    return Senders(
        email=smtp.SmtpSender(settings.smtp) if settings.smtp.is_enabled else None,
        sms=sms.TwilioSmsProvider(settings.sms) if settings.sms.is_enabled else None,
        webhooks=webhooks.WebhookPoster(settings.webhooks))


def policy_of(settings: config.NotificationSettings) -> retry.RetryPolicy:
    section = settings.retry
    return retry.RetryPolicy(section.max_attempts, section.base_delay, section.max_delay)


def deliver_due(session_factory: sessionmaker[Session], senders: Senders, now: dt.datetime, *,
                settings: config.NotificationSettings | None = None) -> DispatchReport:
    """Send every due message and webhook delivery once; record each result.

    Parameters
    ----------
    session_factory:
        Makes the sessions; each claim and each result commits on its own.
    senders:
        E-mail, SMS and webhook senders (``None`` = not configured).
    now:
        The pass's instant (aware UTC): what is due, and when retries are scheduled.
    settings:
        Retry policy, batch size and claim lease (defaults when ``None``).
    """
    settings = settings or config.NotificationSettings()
    policy = policy_of(settings)
    lease = dt.timedelta(seconds=settings.claim_lease_s)
    with db.unit_of_work(session_factory) as session:
        claimed = outbox.claim_due(session, now=now, lease=lease, limit=settings.batch_size,
                                   channels=senders.channels)
    messages = _tally()
    for message in claimed:
        _count(messages, _send_message(session_factory, senders, message, now, policy))
    deliveries = _tally()
    if senders.webhooks is not None:
        with db.unit_of_work(session_factory) as session:
            due = webhook_store.claim_due(session, now=now, lease=lease,
                                          limit=settings.batch_size)
        started = time.monotonic()
        for delivery in due:
            # Sign with the moment of sending, not of the pass: receivers check the age.
            t = int(now.timestamp() + (time.monotonic() - started))
            _count(deliveries, _post(session_factory, senders.webhooks, delivery, now, t,
                                     policy))
    return DispatchReport(messages, deliveries)


def _tally() -> dict[str, int]:
    return {s.value: 0 for s in (MessageStatus.SENT, MessageStatus.RETRYING,
                                 MessageStatus.FAILED)} | {"lost_claim": 0}


def _count(tally: dict[str, int], outcome: str) -> None:
    tally[outcome] += 1


def _attempt(action: Callable[[], object]) -> tuple[object, errors.DeliveryError | None]:
    try:
        return action(), None
    except errors.DeliveryError as exc:
        return None, exc
    except Exception as exc:  # a sender's bug must not stop the pass nor lose the message
        logger.exception("sender failed unexpectedly")
        return None, errors.DeliveryError(f"{type(exc).__name__}: {exc}")


def _send_message(session_factory: sessionmaker[Session], senders: Senders,
                  message: outbox.ClaimedMessage, now: dt.datetime,
                  policy: retry.RetryPolicy) -> str:
    if message.channel is Channel.EMAIL:
        email_sender = senders.email
        assert email_sender is not None  # only configured channels are claimed
        _result, error = _attempt(lambda: email_sender.send(
            to=message.recipient, subject=message.subject, body=message.body,
            language=message.language, now=now, event=message.event))
    else:
        sms_sender = senders.sms
        assert sms_sender is not None
        _result, error = _attempt(lambda: sms_sender.send(message.recipient, message.body))
    extra = {"message_id": message.id, "channel": message.channel.value,
             "campaign_id": message.campaign_id, "callback_id": message.callback_id}
    with db.unit_of_work(session_factory) as session:
        if error is None:
            is_current = outbox.mark_sent(session, message.id, attempt=message.attempt, now=now)
            outcome = MessageStatus.SENT
        else:
            decision = retry.decide(message.attempt, policy, now, is_permanent=error.is_permanent)
            outcome = decision.status
            if decision.status is MessageStatus.FAILED:
                is_current = outbox.mark_failed(session, message.id, attempt=message.attempt,
                                                error=error.message)
            else:
                assert decision.next_attempt_at is not None
                is_current = outbox.mark_retrying(session, message.id, attempt=message.attempt,
                                                  error=error.message,
                                                  next_attempt_at=decision.next_attempt_at)
    _log(outcome, error, message.attempt, _masked(message), extra)
    return outcome.value if is_current else "lost_claim"


def _post(session_factory: sessionmaker[Session], poster: webhooks.WebhookPoster,
          delivery: webhook_store.ClaimedDelivery, now: dt.datetime, t: int,
          policy: retry.RetryPolicy) -> str:
    status, error = _attempt(lambda: poster.post(url=delivery.url, secret=delivery.secret,
                                                 body=delivery.body, event=delivery.event, t=t))
    extra = {"delivery_id": delivery.id, "endpoint_id": delivery.endpoint_id}
    with db.unit_of_work(session_factory) as session:
        if error is None:
            assert isinstance(status, int)
            is_current = webhook_store.mark_delivered(session, delivery.id,
                                                      attempt=delivery.attempt,
                                                      response_status=status, now=now)
            outcome = MessageStatus.SENT
        else:
            decision = retry.decide(delivery.attempt, policy, now,
                                    is_permanent=error.is_permanent)
            outcome = decision.status
            if decision.status is MessageStatus.FAILED:
                is_current = webhook_store.mark_failed(
                    session, delivery.id, attempt=delivery.attempt, error=error.message,
                    response_status=error.response_status)
            else:
                assert decision.next_attempt_at is not None
                is_current = webhook_store.mark_retrying(
                    session, delivery.id, attempt=delivery.attempt, error=error.message,
                    response_status=error.response_status,
                    next_attempt_at=decision.next_attempt_at)
    _log(outcome, error, delivery.attempt, delivery.url, extra)
    return outcome.value if is_current else "lost_claim"


def _masked(message: outbox.ClaimedMessage) -> str:
    """The recipient as it may appear in logs at INFO: a number's last four digits only."""
    if message.channel is Channel.SMS:
        return "…" + message.recipient[-4:]
    return message.recipient


def _log(outcome: MessageStatus, error: errors.DeliveryError | None, attempt: int, to: str,
         extra: dict[str, object]) -> None:
    if error is None:
        logger.info("sent to %s (attempt %d)", to, attempt, extra=extra)
    elif outcome is MessageStatus.FAILED:
        logger.error("gave up on %s after attempt %d: %s", to, attempt, error.message,
                     extra=extra)
    else:
        logger.warning("attempt %d to %s failed, will retry: %s", attempt, to, error.message,
                       extra=extra)
