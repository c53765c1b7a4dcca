"""Sending what the outbox and the webhook log hold: SMTP, SMS, signed webhook posts."""
