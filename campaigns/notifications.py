"""What a customer or an agent is told, in which language, and on which channels (pure).

Templates live in ``campaigns/data/notifications-<language>.toml`` (English and
Spanish ship), one table per :class:`Event` with an e-mail ``subject`` and
``body`` and a short ``sms``; they are ``string.Template`` texts.  The
language comes from the record (``es-MX`` -> ``es``) and falls back to
English.  Times are written in the zone of the context (the customer's, or the
agent's for the agent reminder).  :func:`channels_for` turns the known contact
details and an optional per-message choice into routes (channel + recipient).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from campaigns import errors, localtime
from campaigns.enums import Channel

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "es")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
#: line types that receive text messages best, in order of preference.
_SMS_LINE_TYPES = ("mobile", "fixed_line_or_mobile")


class Event(str, enum.Enum):
    """A callback event that sends a notification (the template's name)."""

    CALLBACK_SCHEDULED = "callback_scheduled"
    CALLBACK_RESCHEDULED = "callback_rescheduled"
    #: the customer is asked to pick a time or cancel.
    RESCHEDULE_REQUESTED = "reschedule_requested"
    SLOTS_PROPOSED = "slots_proposed"
    SUGGESTION_ACCEPTED = "suggestion_accepted"
    CALLBACK_CANCELLED = "callback_cancelled"
    CALLBACK_REASSIGNED = "callback_reassigned"
    #: "we missed you, pick a new time".
    CALLBACK_MISSED = "callback_missed"
    #: the reminder to the customer.
    CALLBACK_REMINDER = "callback_reminder"
    #: the reminder to the owning agent.
    CALLBACK_REMINDER_AGENT = "callback_reminder_agent"


@dataclass(frozen=True)
class Message:
    """A rendered notification: ``subject`` is empty for SMS."""

    subject: str
    body: str
    language: str


@dataclass(frozen=True)
class MessageContext:
    """What a template may say.  Instants are aware; they are written in ``tz``."""

    customer_name: str = ""
    company_name: str = ""
    campaign_name: str = ""
    agent_name: str = ""
    #: the reader's IANA zone (the customer's; the agent's for the agent reminder).
    tz: str = "UTC"
    window_start_at: dt.datetime | None = None
    window_end_at: dt.datetime | None = None
    previous_window_start_at: dt.datetime | None = None
    previous_window_end_at: dt.datetime | None = None
    #: proposed (start, end) windows, for slots_proposed.
    slots: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    #: the self-service page; reschedule and cancel links default to it.
    manage_url: str = ""
    reschedule_url: str = ""
    cancel_url: str = ""
    #: a free message from the agent or administrator.
    message: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Phone:
    """A number of the record: E.164 and phonenumbers' line type (``mobile``...)."""

    e164: str
    line_type: str = ""


@dataclass(frozen=True)
class Contacts:
    """The contact details known for a customer (or an agent)."""

    email: str = ""
    phones: tuple[Phone, ...] = ()


@dataclass(frozen=True)
class Route:
    """Send on ``channel`` to ``recipient``."""

    channel: Channel
    recipient: str


def choose_language(requested: str | None) -> str:
    """The shipped language for a record's language tag, English when there is none.

    >>> choose_language("es-MX"), choose_language("ES"), choose_language("fr"), choose_language("")
    ('es', 'es', 'en', 'en')
    """
    primary = re.split(r"[-_]", (requested or "").strip().lower(), maxsplit=1)[0]
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


@lru_cache(maxsize=len(LANGUAGES))
def _catalogue(language: str) -> dict[str, Any]:
    text = (resources.files("campaigns") / "data" / f"notifications-{language}.toml").read_text(
        "utf-8")
    return tomllib.loads(text)


def render(event: Event | str, language: str | None, context: MessageContext, *,
           channel: Channel = Channel.EMAIL) -> Message:
    """The message for ``event`` in the record's language (English fallback).

    Parameters
    ----------
    event:
        An :class:`Event` or its value.
    language:
        The record's language tag (``es``, ``es-MX``...); unknown ones fall back to English.
    context:
        Names, times and links the templates use.
    channel:
        ``email`` gives a subject and a body, ``sms`` a short body and no subject.

    Raises
    ------
    campaigns.errors.InvalidInput
        When ``event`` names no template (error id ``unknown-event``).

    >>> when = dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.timezone.utc)
    >>> ctx = MessageContext(customer_name="Ana", company_name="Acme", tz="America/New_York",
    ...                      window_start_at=when, window_end_at=when + dt.timedelta(minutes=30),
    ...                      manage_url="https://x.test/l/abc")
    >>> render("callback_scheduled", "es-MX", ctx).subject
    'Su llamada con Acme: martes 24 de noviembre de 2026, 14:00–14:30 (America/New_York)'
    >>> render(Event.CALLBACK_MISSED, "en", ctx, channel=Channel.SMS).body
    'Acme: we missed you. Pick a new time: https://x.test/l/abc'
    """
    name = _event_name(event)
    language = choose_language(language)
    catalogue = _catalogue(language)
    template = catalogue[name]
    values = _values(catalogue["format"], context)
    if Channel(channel) is Channel.SMS:
        return Message("", _fill(template["sms"], values).strip(), language)
    return Message(_fill(template["subject"], values).strip(),
                   _fill(template["body"], values).strip() + "\n", language)


def _event_name(event: Event | str) -> str:
    try:
        return Event(event).value
    except ValueError:
        raise errors.InvalidInput(f"no notification template for event {event!r}",
                                  fields={"event": "unknown"}, error_id="unknown-event") from None


def _fill(text: str, values: Mapping[str, str]) -> str:
    # substitute (not safe_substitute): a template naming an unknown variable is a bug.
    return string.Template(text).substitute(values)


def _values(fmt: Mapping[str, Any], ctx: MessageContext) -> dict[str, str]:
    manage = ctx.manage_url
    values = {
        "customer_name": ctx.customer_name.strip() or fmt["greeting_fallback"],
        "company_name": ctx.company_name or ctx.campaign_name,
        "campaign_name": ctx.campaign_name or ctx.company_name,
        "agent_name": ctx.agent_name,
        "tz": ctx.tz,
        "when": _window(fmt, ctx.window_start_at, ctx.window_end_at, ctx.tz),
        "previous_when": _window(fmt, ctx.previous_window_start_at, ctx.previous_window_end_at,
                                 ctx.tz),
        "slot_lines": "".join(f"- {_window(fmt, start, end, ctx.tz)}\n"
                              for start, end in ctx.slots),
        "manage_url": manage,
        "reschedule_url": ctx.reschedule_url or manage,
        "cancel_url": ctx.cancel_url or manage,
        "message": ctx.message.strip(),
        "reason": ctx.reason.strip(),
    }
    values["message_block"] = _fill(fmt["message"], values) if values["message"] else ""
    values["reason_block"] = _fill(fmt["reason"], values) if values["reason"] else ""
    return values


def _window(fmt: Mapping[str, Any], start: dt.datetime | None, end: dt.datetime | None,
            tz: str) -> str:
    """``Tuesday 24 November 2026, 14:00–14:30 (America/New_York)`` in the given language."""
    if start is None:
        return ""
    local_start = localtime.to_local(start, tz)
    local_end = localtime.to_local(end, tz) if end is not None else local_start
    end_text = f"{local_end:%H:%M}"
    if local_end.date() != local_start.date():
        end_text = f"{local_end.day} {fmt['months'][local_end.month - 1]} {end_text}"
    return _fill(fmt["window"], {
        "weekday": fmt["weekdays"][local_start.weekday()], "day": str(local_start.day),
        "month": fmt["months"][local_start.month - 1], "year": str(local_start.year),
        "start": f"{local_start:%H:%M}", "end": end_text, "tz": tz,
    })


def channels_for(contacts: Contacts, requested: Sequence[Channel | str] | None = None, *,
                 addresses: Mapping[Channel | str, str] | None = None) -> list[Route]:
    """Where to send a message: every channel whose contact is known, or the ones asked for.

    Parameters
    ----------
    contacts:
        The record's e-mail and numbers; SMS goes to a mobile number when there is one,
        else to the first number.
    requested:
        ``None``: every channel with a known contact (email, then sms).  A list: exactly
        those channels (an empty list sends nothing).
    addresses:
        Recipients entered by hand for this message; they win over the record's.

    Raises
    ------
    campaigns.errors.InvalidInput
        A requested channel has no contact (``no-contact-for-channel``), or a
        recipient is malformed (``invalid-recipient``).

    >>> both = Contacts("ana@example.com", (Phone("+12025550100", "fixed_line"),
    ...                                     Phone("+12025550199", "mobile")))
    >>> [(r.channel.value, r.recipient) for r in channels_for(both)]
    [('email', 'ana@example.com'), ('sms', '+12025550199')]
    >>> [r.channel.value for r in channels_for(both, ["sms"])]
    ['sms']
    >>> channels_for(Contacts(), None)
    []
    """
    manual = {Channel(key): value.strip() for key, value in (addresses or {}).items()
              if value and value.strip()}
    known = {Channel.EMAIL: manual.get(Channel.EMAIL) or contacts.email.strip(),
             Channel.SMS: manual.get(Channel.SMS) or _sms_number(contacts.phones)}
    if requested is None:
        channels = [channel for channel in Channel if known[channel]]
    else:
        channels = list(dict.fromkeys(Channel(c) for c in requested))
    routes = []
    for channel in channels:
        recipient = known[channel]
        if not recipient:
            raise errors.InvalidInput(f"no {channel.value} contact is known for this message",
                                      fields={"channels": f"{channel.value}: no contact"},
                                      error_id="no-contact-for-channel")
        routes.append(Route(channel, _checked(channel, recipient)))
    return routes


def _sms_number(phones: Sequence[Phone]) -> str:
    for line_type in _SMS_LINE_TYPES:
        for phone in phones:
            if phone.line_type == line_type:
                return phone.e164
    return phones[0].e164 if phones else ""


def _checked(channel: Channel, recipient: str) -> str:
    pattern = _EMAIL if channel is Channel.EMAIL else _E164
    if not pattern.match(recipient):
        kind = "an e-mail address" if channel is Channel.EMAIL else "an E.164 number"
        raise errors.InvalidInput(f"{recipient!r} is not {kind}",
                                  fields={channel.value: "malformed recipient"},
                                  error_id="invalid-recipient")
    return recipient
