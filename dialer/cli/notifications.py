"""``dialer notifications list|show|send-due|retry|test-email``: the outbox on the command line.

``send-due`` runs one dispatch pass (what the scheduler does periodically):
due e-mail and SMS messages and webhook deliveries are sent and each result
recorded.  The SMTP and SMS settings come from the ``[notifications]`` section.
"""

from __future__ import annotations

from typing import Any

import click

from campaigns import db as dbmod
from campaigns import models, schema
from campaigns.db import utcnow
from campaigns.enums import Channel, MessageStatus
from campaigns.store import audit, outbox
from campaigns.store import campaigns as campaign_store
from dialer import errors
from dialer.cli import common
from dialer.notify import config, dispatcher, smtp
from dialer.notify import errors as notify_errors

_STATUSES = [s.value for s in MessageStatus]


def as_dict(message: models.OutboxMessage, *, with_body: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": message.id, "campaign_id": message.campaign_id, "callback_id": message.callback_id,
        "channel": message.channel.value, "recipient": message.recipient, "event": message.event,
        "language": message.language, "subject": message.subject, "status": message.status.value,
        "attempts": message.attempts, "last_error": message.last_error,
        "next_attempt_at": message.next_attempt_at, "created_at": message.created_at,
        "sent_at": message.sent_at,
    }
    if with_body:
        shown["body"] = message.body
    return shown


@click.group("notifications")
def command() -> None:
    """Notifications: the outbox of e-mail and SMS messages, and sending it."""


@command.command("list")
@click.option("--status", type=click.Choice(_STATUSES), help="Only messages with this status.")
@click.option("--campaign", "campaign_name", help="Only messages of this campaign.")
@click.option("--callback", "callback_id", type=int, help="Only messages about this callback.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True)
@common.common_options
def list_(status: str | None, campaign_name: str | None, callback_id: int | None,
          limit: int) -> None:
    """List outbox messages, newest first."""
    app = common.app()
    with app.session() as session:
        campaign_id = (campaign_store.get_by_name(session, campaign_name).id
                       if campaign_name else None)
        rows = [as_dict(m) for m in outbox.list_messages(
            session, status=MessageStatus(status) if status else None, campaign_id=campaign_id,
            callback_id=callback_id, limit=limit)]
    app.emit({"messages": rows}, lambda: common.echo_table(
        rows, ["id", "channel", "recipient", "event", "status", "attempts", "next_attempt_at",
               "last_error"]))


@command.command("show")
@click.argument("message_id", type=int)
@common.common_options
def show(message_id: int) -> None:
    """Show one message with its body."""
    app = common.app()
    with app.session() as session:
        shown = as_dict(outbox.get(session, message_id), with_body=True)
    app.emit(shown)


@command.command("retry")
@click.argument("message_id", type=int)
@common.common_options
def retry(message_id: int) -> None:
    """Queue a failed message again (its attempts start over)."""
    app = common.app()
    now = utcnow()
    with app.session() as session:
        message = outbox.requeue(session, message_id, now=now)
        audit.record(session, action="notification.requeue", entity="outbox_message",
                     entity_id=message_id, at=now)
        shown = as_dict(message)
    app.emit(shown, f"message {message_id} queued again")


@command.command("send-due")
@common.common_options
def send_due() -> None:
    """Run one dispatch pass: send due messages and webhook deliveries, record the results."""
    app = common.app()
    settings = config.settings_of(app.settings)
    schema.ensure_current(app.engine)
    factory = dbmod.make_sessionmaker(app.engine)
    senders = dispatcher.build_senders(settings)
    now = utcnow()
    try:
        report = dispatcher.deliver_due(factory, senders, now, settings=settings)
    finally:
        senders.close()
    with dbmod.unit_of_work(factory) as session:
        pending = outbox.count_pending(session, now=now)
    waiting = {c.value: n for c, n in pending.items() if c not in senders.channels}
    payload = {**report.as_dict(), "waiting_for_sender": waiting}
    app.emit(payload, lambda: _describe(payload))


def _describe(payload: dict[str, Any]) -> str:
    messages, deliveries = payload["messages"], payload["deliveries"]
    lines = [f"messages: {messages['sent']} sent, {messages['retrying']} to retry, "
             f"{messages['failed']} failed",
             f"webhooks: {deliveries['sent']} delivered, {deliveries['retrying']} to retry, "
             f"{deliveries['failed']} failed"]
    for channel, count in sorted(payload["waiting_for_sender"].items()):
        lines.append(f"{count} {channel} message(s) wait: no {channel} sender is configured "
                     "in [notifications]")
    return "\n".join(lines)


@command.command("test-email")
@click.argument("address")
@click.option("--language", default="en", show_default=True, help="Template language.")
@common.common_options
def send_test_email(address: str, language: str) -> None:
    """Send a sample message to ADDRESS through the configured SMTP server, now."""
    from campaigns import notifications

    app = common.app()
    settings = config.settings_of(app.settings)
    if not settings.smtp.is_enabled:
        raise errors.ConfigError("no SMTP server is configured ([notifications.smtp] host)",
                                 fields={"notifications.smtp.host": "empty"})
    [route] = notifications.channels_for(notifications.Contacts(), [Channel.EMAIL],
                                         addresses={Channel.EMAIL: address})
    now = utcnow()
    context = notifications.MessageContext(customer_name="Test", company_name="Dialer",
                                           tz="UTC", window_start_at=now, window_end_at=now,
                                           manage_url="https://example.invalid/test")
    message = notifications.render(notifications.Event.CALLBACK_REMINDER, language, context)
    try:
        smtp.SmtpSender(settings.smtp).send(to=route.recipient, subject=message.subject,
                                            body=message.body, language=message.language,
                                            now=now, event="test")
    except notify_errors.DeliveryError as exc:
        raise errors.DialerError(str(exc), error_id="smtp-test-failed") from exc
    app.emit({"sent": True, "to": route.recipient}, f"test message sent to {route.recipient}")
