"""``dialer callbacks …``: every callback workflow without the web UI (E19).

Times are given as a date and a local window (``--date 2026-11-24 --from 14:00
--until 15:00``) in ``--tz`` (default: the callback's zone, or the customer's
for a new one).  ``--now`` (hidden) replays a command at another instant.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import click

from campaigns import callbacks, errors, models
from campaigns.db import utcnow
from campaigns.enums import CallbackStatus
from campaigns.store import audit
from campaigns.store import callbacks as store
from campaigns.store import campaigns as campaign_store
from campaigns.store import users as user_store
from dialer import (
    callbacks_config,
    callbacks_engine,
    callbacks_messages,
    callbacks_report,
    callbacks_slots,
)
from dialer import callbacks_service as service
from dialer.cli import common

_STATUSES = [s.value for s in CallbackStatus]


def _now(text: str | None) -> dt.datetime:
    if not text:
        return utcnow()
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise common.usage_error(f"--now {text!r} is not an ISO instant", "now") from None
    if value.tzinfo is None:
        raise common.usage_error("--now needs an offset (e.g. 2026-11-24T15:00:00Z)", "now")
    return value.astimezone(dt.UTC)


def _window(day: str, start: str, end: str, tz: str) -> tuple[dt.datetime, dt.datetime]:
    try:
        on = dt.date.fromisoformat(day)
    except ValueError:
        raise common.usage_error(f"--date {day!r} must look like 2026-11-24", "date") from None
    return callbacks.local_window(on, _time(start), _time(end), tz)


def _time(text: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise common.usage_error(f"{text!r} is not a time (HH:MM)", "window") from None


def _slot(text: str, tz: str) -> tuple[dt.datetime, dt.datetime]:
    parts = text.split()
    if len(parts) != 2 or "-" not in parts[1]:
        raise common.usage_error(f"--slot {text!r} must look like '2026-11-24 14:00-14:30'", "slot")
    start, _, end = parts[1].partition("-")
    return _window(parts[0], start, end, tz)


def _notify_options(func: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option("--message", default="", help="A message to the customer."),
        click.option("--channel", "channels", multiple=True, type=click.Choice(["email", "sms"]),
                     help="Send on this channel only (repeatable; default: every known contact)."),
        click.option("--email", default="", help="E-mail address for this message only."),
        click.option("--sms-to", default="", help="Number for this message's SMS only."),
        click.option("--no-notify", is_flag=True, help="Do not tell the customer."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _how(message: str, channels: tuple[str, ...], email: str, sms_to: str,
         no_notify: bool) -> callbacks_messages.Notify:
    addresses = {k: v for k, v in (("email", email), ("sms", sms_to)) if v}
    return callbacks_messages.Notify(not no_notify, list(channels) or None, addresses or None, message)


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--now", "now_text", hidden=True)(func)
    func = click.option("--by", "actor", default="cli", show_default=True,
                        help="Who does it (audited).")(func)
    return common.common_options(func)


def _run(action: Callable[..., Any], *args: Any, text: str = "", **kwargs: Any) -> None:
    """Run one unit of work and print the callback it returns."""
    app = common.app()
    cfg = callbacks_config.settings_of(app.settings)
    with app.session() as session:
        callback = action(session, cfg, *args, **kwargs)
        shown = service.show(session, callback)
    app.emit(shown, lambda: text.format(**shown) if text else _describe(shown))


def _describe(shown: dict[str, Any]) -> str:
    clipped = f" (clipped; earliest legal {shown['earliest_legal_at']})" if shown["is_clipped"] \
        else ""
    return (f"callback {shown['id']}: {shown['status']}, {shown['number']}, "
            f"{shown['window_start_at']} - {shown['window_end_at']} ({shown['tz']}), "
            f"owner {shown['owner'] or '(anyone)'}{clipped}")


@click.group("callbacks")
def command() -> None:
    """Callbacks: appointments with customers, from request to completion."""


@command.command("list")
@click.option("--campaign", "campaign_name", help="Only this campaign's callbacks.")
@click.option("--status", "statuses", multiple=True, type=click.Choice(_STATUSES))
@click.option("--owner", help="Only this agent's callbacks.")
@click.option("--record", "record_id", type=int, help="Only this record's callbacks.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True)
@common.common_options
def list_(campaign_name: str | None, statuses: tuple[str, ...], owner: str | None,
          record_id: int | None, limit: int) -> None:
    """List callbacks by window start."""
    app = common.app()
    with app.session() as session:
        campaign_id = campaign_store.get_by_name(session, campaign_name).id \
            if campaign_name else None
        owner_id = user_store.get_by_name(session, owner).id if owner else None
        rows = [service.show(session, c)
                for c in store.list_callbacks(session, campaign_id=campaign_id,
                                              statuses=[CallbackStatus(s) for s in statuses],
                                              owner_id=owner_id, record_id=record_id,
                                              limit=limit)]
    app.emit({"callbacks": rows}, lambda: common.echo_table(
        rows, ["id", "status", "record_id", "number", "window_start_at", "window_end_at", "tz",
               "owner", "is_clipped"]))


@command.command("show")
@click.argument("callback_id", type=int)
@common.common_options
def show(callback_id: int) -> None:
    """Show a callback with its history and internal notes."""
    app = common.app()
    with app.session() as session:
        shown = service.show(session, store.get(session, callback_id))
    app.emit(shown)


@command.command("schedule")
@click.option("--record", "record_id", type=int, required=True, help="The customer's record id.")
@click.option("--date", "day", required=True, help="Date of the window (YYYY-MM-DD).")
@click.option("--from", "start", required=True, help="Window start, local HH:MM.")
@click.option("--until", "end", required=True, help="Window end, local HH:MM.")
@click.option("--tz", default="", help="IANA zone of the window (default: the customer's).")
@click.option("--number", default="", help="Number to call (default: the record's first).")
@click.option("--owner", default=None, help="Owning agent (default: anyone in the campaign).")
@click.option("--note", default="", help="A note on the callback.")
@click.option("--customer-requested", is_flag=True,
              help="The customer asked for this time (consent is recorded).")
@_notify_options
@_common
def schedule(record_id: int, day: str, start: str, end: str, tz: str, number: str,
             owner: str | None, note: str, customer_requested: bool, message: str,
             channels: tuple[str, ...], email: str, sms_to: str, no_notify: bool, actor: str,
             now_text: str | None) -> None:
    """Schedule a callback for a record (validated against calling hours, clipped)."""
    now = _now(now_text)

    def action(session: Any, cfg: Any) -> Any:
        zone = tz
        if not zone:
            record = session.get(models.Record, record_id)
            if record is None:
                raise errors.NotFound("record", record_id)
            campaign = session.get(models.Campaign, record.campaign_id)
            e164, _ = service.resolve_number(record, number)
            zone = service.zone_of(session, campaign, record, e164, now)
        start_at, end_at = _window(day, start, end, zone)
        return service.schedule(session, cfg, record_id=record_id, actor=actor, now=now,
                                start_at=start_at, end_at=end_at, tz=zone, number=number,
                                owner=owner, note=note, is_customer_requested=customer_requested,
                                how=_how(message, channels, email, sms_to, no_notify))

    _run(action)


def _callback_tz(callback_id: int, tz: str) -> Callable[[Any], str]:
    return lambda session: tz or store.get(session, callback_id).tz


@command.command("reschedule")
@click.argument("callback_id", type=int)
@click.option("--date", "day", required=True)
@click.option("--from", "start", required=True)
@click.option("--until", "end", required=True)
@click.option("--tz", default="", help="Zone of the new window (default: the callback's).")
@_notify_options
@_common
def reschedule(callback_id: int, day: str, start: str, end: str, tz: str, message: str,
               channels: tuple[str, ...], email: str, sms_to: str, no_notify: bool, actor: str,
               now_text: str | None) -> None:
    """Move a callback to a new window; the customer gets cancel and reschedule links."""
    now = _now(now_text)

    def action(session: Any, cfg: Any) -> Any:
        zone = _callback_tz(callback_id, tz)(session)
        start_at, end_at = _window(day, start, end, zone)
        return service.reschedule(session, cfg, callback_id, actor=actor, now=now,
                                  start_at=start_at, end_at=end_at, tz=zone,
                                  how=_how(message, channels, email, sms_to, no_notify))

    _run(action)


@command.command("request")
@click.argument("callback_id", type=int)
@_notify_options
@_common
def request(callback_id: int, message: str, channels: tuple[str, ...], email: str, sms_to: str,
            no_notify: bool, actor: str, now_text: str | None) -> None:
    """Ask the customer to pick a new time (e-mail/SMS with a link)."""
    _run(service.request_reschedule, callback_id, actor=actor, now=_now(now_text),
         how=_how(message, channels, email, sms_to, no_notify))


@command.command("propose")
@click.argument("callback_id", type=int)
@click.option("--slot", "slot_texts", multiple=True, required=True,
              help="'YYYY-MM-DD HH:MM-HH:MM' in the callback's zone (repeatable, at most 30).")
@_notify_options
@_common
def propose(callback_id: int, slot_texts: tuple[str, ...], message: str,
            channels: tuple[str, ...], email: str, sms_to: str, no_notify: bool, actor: str,
            now_text: str | None) -> None:
    """Offer the customer slots to choose from."""
    now = _now(now_text)

    def action(session: Any, cfg: Any) -> Any:
        zone = store.get(session, callback_id).tz
        return service.propose(session, cfg, callback_id, actor=actor, now=now,
                               slots=[_slot(t, zone) for t in slot_texts],
                               how=_how(message, channels, email, sms_to, no_notify))

    _run(action)


@command.command("accept")
@click.argument("callback_id", type=int)
@_notify_options
@_common
def accept(callback_id: int, message: str, channels: tuple[str, ...], email: str, sms_to: str,
           no_notify: bool, actor: str, now_text: str | None) -> None:
    """Accept the time the customer suggested."""
    _run(service.accept, callback_id, actor=actor, now=_now(now_text),
         how=_how(message, channels, email, sms_to, no_notify))


@command.command("cancel")
@click.argument("callback_id", type=int)
@click.option("--reason", required=True, help="Why (one of [callbacks] cancel_reasons if set).")
@_notify_options
@_common
def cancel(callback_id: int, reason: str, message: str, channels: tuple[str, ...], email: str,
           sms_to: str, no_notify: bool, actor: str, now_text: str | None) -> None:
    """Cancel with a reason and a message to the customer."""
    _run(service.cancel, callback_id, actor=actor, now=_now(now_text), reason=reason,
         how=_how(message, channels, email, sms_to, no_notify))


@command.command("complete")
@click.argument("callback_id", type=int)
@click.option("--outcome", required=True, help="Outcome remark.")
@click.option("--reason", default="", help="Reason.")
@click.option("--time-taken", "time_taken_s", type=click.IntRange(0), help="Seconds the call took.")
@_common
def complete(callback_id: int, outcome: str, reason: str, time_taken_s: int | None, actor: str,
             now_text: str | None) -> None:
    """Complete a callback with the time taken, a reason and an outcome remark."""
    _run(service.complete, callback_id, actor=actor, now=_now(now_text), outcome=outcome,
         reason=reason, time_taken_s=time_taken_s)


@command.command("no-show")
@click.argument("callback_id", type=int)
@click.option("--why", default="")
@_common
def no_show(callback_id: int, why: str, actor: str, now_text: str | None) -> None:
    """The customer did not show up."""
    _run(service.no_show, callback_id, actor=actor, now=_now(now_text), why=why)


@command.command("miss")
@click.argument("callback_id", type=int)
@click.option("--why", default="this call did not happen")
@_common
def miss(callback_id: int, why: str, actor: str, now_text: str | None) -> None:
    """"This call did not happen": mark missed; the escalation ladder applies."""
    _run(lambda session, cfg: callbacks_engine.on_missed(
        session, cfg, callback_id, now=_now(now_text), actor=actor, why=why))


@command.command("reassign")
@click.argument("callback_id", type=int)
@click.option("--to", "to", help="The colleague (scheduled and free at that time).")
@click.option("--available", is_flag=True, help="Only list the agents it can go to.")
@_notify_options
@_common
def reassign(callback_id: int, to: str | None, available: bool, message: str,
             channels: tuple[str, ...], email: str, sms_to: str, no_notify: bool, actor: str,
             now_text: str | None) -> None:
    """Give a callback to a colleague scheduled and free at its time."""
    if available or not to:
        app = common.app()
        cfg = callbacks_config.settings_of(app.settings)
        with app.session() as session:
            names = [a.name for a in callbacks_slots.available_agents(session, cfg,
                                                              store.get(session, callback_id))]
        app.emit({"available": names}, "\n".join(names) or "(nobody)")
        return
    _run(service.reassign, callback_id, to=to, actor=actor, now=_now(now_text),
         how=_how(message, channels, email, sms_to, no_notify))


@command.command("reopen")
@click.argument("callback_id", type=int)
@click.option("--why", default="")
@_common
def reopen(callback_id: int, why: str, actor: str, now_text: str | None) -> None:
    """Reopen a completed (or cancelled, no-show) callback."""
    _run(service.reopen, callback_id, actor=actor, now=_now(now_text), why=why)


@command.command("notes")
@click.argument("callback_id", type=int)
@click.option("--add", "add_text", help="Add an internal note.")
@click.option("--edit", "note_id", type=int, help="Edit this note (with --text).")
@click.option("--text", default="", help="The new text of the edited note.")
@_common
def notes(callback_id: int, add_text: str | None, note_id: int | None, text: str, actor: str,
          now_text: str | None) -> None:
    """List, add or edit internal notes (never shown to the customer)."""
    app = common.app()
    now = _now(now_text)
    with app.session() as session:
        if add_text is not None:
            service.add_note(session, callback_id, body=add_text, actor=actor, now=now)
        if note_id is not None:
            if store.get_note(session, note_id).callback_id != callback_id:
                raise errors.NotFound("note", note_id)
            service.edit_note(session, note_id, body=text, actor=actor, now=now)
        rows = store.notes(session, callback_id)
    app.emit({"callback_id": callback_id, "notes": rows},
             lambda: common.echo_table(rows, ["id", "author", "updated_at", "body"]))


@command.command("link")
@click.argument("callback_id", type=int)
@_common
def link(callback_id: int, actor: str, now_text: str | None) -> None:
    """Print the customer's self-service URL of a callback."""
    app = common.app()
    cfg = callbacks_config.settings_of(app.settings)
    if not cfg.link_secret:
        raise errors.InvalidInput("set [callbacks] link_secret to make customer links",
                                  fields={"callbacks.link_secret": "empty"},
                                  error_id="link-secret-missing")
    with app.session() as session:
        url = callbacks_messages.link_url(cfg, store.get(session, callback_id), _now(now_text))
    app.emit({"callback_id": callback_id, "url": url}, url)


@command.command("report")
@click.option("--campaign", "campaign_name", help="Only this campaign.")
@click.option("--since", help="Only callbacks whose window starts on or after this date.")
@common.common_options
def report(campaign_name: str | None, since: str | None) -> None:
    """KPIs per campaign and agent: kept on time, lateness, missed, rescheduled, no-show."""
    app = common.app()
    since_at = None
    if since:
        try:
            since_at = dt.datetime.combine(dt.date.fromisoformat(since), dt.time(),
                                           dt.UTC)
        except ValueError:
            raise common.usage_error(f"--since {since!r} must be a date", "since") from None
    with app.session() as session:
        campaign_id = campaign_store.get_by_name(session, campaign_name).id \
            if campaign_name else None
        shown = callbacks_report.report(session, campaign_id=campaign_id, since=since_at)
    rows = [{"campaign": c["campaign"], **a} for c in shown["campaigns"] for a in c["agents"]]
    app.emit(shown, lambda: common.echo_table(
        rows, ["campaign", "agent", "callbacks", "completed", "kept_on_time", "missed",
               "rescheduled", "no_show", "cancelled"]))


@command.command("policy")
@click.argument("campaign_name")
@click.option("--set", "assignments", multiple=True, metavar="KEY=JSON",
              help="Override a [callbacks] key for this campaign (repeatable), e.g. "
                   "ladder_retry_after_s=300 or 'cancel_reasons=[\"duplicate\"]'.")
@click.option("--unset", "removals", multiple=True, metavar="KEY", help="Drop an override.")
@_common
def policy(campaign_name: str, assignments: tuple[str, ...], removals: tuple[str, ...],
           actor: str, now_text: str | None) -> None:
    """Show or change a campaign's callback policy (ladder, reminders, cancel reasons...)."""
    app = common.app()
    cfg = callbacks_config.settings_of(app.settings)
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, campaign_name, for_update=True)
        updated = dict(campaign.callback_policy or {})
        for text in assignments:
            key, sep, raw = text.partition("=")
            if not sep:
                raise common.usage_error(f"--set {text!r} must look like KEY=VALUE", "set")
            try:
                updated[key.strip()] = json.loads(raw)
            except json.JSONDecodeError:
                updated[key.strip()] = raw
        for key in removals:
            updated.pop(key, None)
        effective = callbacks_config.for_campaign(cfg, updated)
        if updated != campaign.callback_policy:
            audit.record(session, action="campaign.callback_policy", entity="campaign",
                         entity_id=campaign.id, actor=actor, at=_now(now_text),
                         details={"before": campaign.callback_policy, "after": updated})
            campaign.callback_policy = updated
        shown = {"campaign": campaign.name, "policy": updated,
                 "effective": {k: v for k, v in effective.model_dump().items()
                               if k in callbacks_config.POLICY_KEYS}}
    app.emit(shown)


@command.command("sweep")
@_common
def sweep(actor: str, now_text: str | None) -> None:
    """Mark overdue callbacks missed and run the due steps of the missed ladder."""
    app = common.app()
    cfg = callbacks_config.settings_of(app.settings)
    with app.session() as session:
        counts = callbacks_engine.sweep(session, cfg, _now(now_text))
    app.emit(counts, f"missed {counts['missed']}, ladder steps {counts['ladder_steps']}")
