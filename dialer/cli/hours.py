"""``dialer hours …``: may a number be called now, its legal windows, the rules, suspensions.

``check`` and ``windows`` need no database unless ``--campaign`` is given:
without it they judge a telemarketing campaign in preview mode with no window
of its own.  Instants are printed in UTC as ``YYYY-MM-DDTHH:MM:SSZ``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from campaigns import calling_hours, calling_rules, errors, zones
from campaigns.store import campaigns as campaign_store
from campaigns.store import compliance as compliance_store
from dialer.cli import common

#: how far ``check`` looks for the next allowed instant.
NEXT_HORIZON = dt.timedelta(days=90)


@click.group("hours")
def command() -> None:
    """Calling hours and compliance: check a number, its windows, the rules, suspensions."""


def parse_instant(text: str, option: str) -> dt.datetime:
    """An ISO 8601 instant that carries ``Z`` or an offset (a naive time is refused).

    >>> parse_instant("2026-07-01T12:00:00Z", "--at").isoformat()
    '2026-07-01T12:00:00+00:00'
    """
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise common.usage_error(f"{option} {text!r} is not an ISO 8601 instant",
                                 option.lstrip("-")) from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise common.usage_error(f"{option} {text!r} has no zone: add Z or an offset such as "
                                 "+02:00", option.lstrip("-"))
    return value


def iso(value: dt.datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` or None."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _address_options(func: Any) -> Any:
    for decorator in reversed([
        click.option("--state", default="", help="State or province of the address."),
        click.option("--zip", "zip_code", default="", help="US ZIP or Canadian postal code."),
        click.option("--tz", default="", help="Explicit IANA zone of the callee."),
        click.option("--campaign", "campaign_name", default=None,
                     help="Judge for this campaign (reads the database)."),
    ]):
        func = decorator(func)
    return func


def _target(app: common.App, number: str, state: str, zip_code: str, tz: str,
            campaign_name: str | None, now: dt.datetime) -> calling_hours.Target:
    rules = calling_rules.load(app.settings.compliance)
    if campaign_name is None:
        return calling_hours.resolve_target(number, tz=tz, zip_code=zip_code, state=state,
                                            rules=rules)
    with app.session() as session:
        campaign = campaign_store.get_by_name(session, campaign_name)
        return compliance_store.load_target(session, campaign, now, number=number, state=state,
                                            zip_code=zip_code, tz=tz, rules=rules)


@command.command("check")
@click.argument("number")
@click.option("--at", "at_text", required=True, help="ISO 8601 instant with Z or an offset.")
@_address_options
@common.common_options
def check(number: str, at_text: str, state: str, zip_code: str, tz: str,
          campaign_name: str | None) -> None:
    """May NUMBER be dialled at --at?  Exit 0 for any decision."""
    app = common.app()
    at = parse_instant(at_text, "--at")
    target = _target(app, number, state, zip_code, tz, campaign_name, at)
    decision = calling_hours.may_dial(target, at)
    following = at if decision.is_allowed else calling_hours.next_dialable_at(target, at,
                                                                              NEXT_HORIZON)
    payload = {"allowed": decision.is_allowed, "zones": list(target.zones),
               "jurisdictions": list(target.jurisdictions), "reasons": list(decision.reasons),
               "next_allowed_at": iso(following)}

    def text() -> str:
        verdict = "allowed" if decision.is_allowed else "not allowed"
        lines = [f"{target.e164} at {iso(at)}: {verdict}",
                 f"zones: {', '.join(target.zones) or '(unknown)'}",
                 f"jurisdictions: {', '.join(target.jurisdictions) or '(none)'}"]
        if decision.reasons:
            lines.append(f"reasons: {', '.join(decision.reasons)}")
        lines.append(f"next allowed at: {iso(following) or '(none within 90 days)'}")
        return "\n".join(lines)

    app.emit(payload, text)


@command.command("windows")
@click.argument("number")
@click.option("--from", "from_text", required=True, help="ISO 8601 instant with Z or an offset.")
@click.option("--to", "to_text", required=True, help="ISO 8601 instant with Z or an offset.")
@_address_options
@common.common_options
def windows(number: str, from_text: str, to_text: str, state: str, zip_code: str, tz: str,
            campaign_name: str | None) -> None:
    """The legal windows of NUMBER between --from and --to (UTC, half-open)."""
    app = common.app()
    start, end = parse_instant(from_text, "--from"), parse_instant(to_text, "--to")
    if end <= start:
        raise common.usage_error(f"--to {to_text!r} is not after --from {from_text!r}", "to")
    target = _target(app, number, state, zip_code, tz, campaign_name, start)
    found = calling_hours.dialable_windows(target, start, end)
    payload = {"zones": list(target.zones), "jurisdictions": list(target.jurisdictions),
               "windows": [{"start": iso(a), "end": iso(b)} for a, b in found]}
    app.emit(payload, lambda: "\n".join(f"{iso(a)}  {iso(b)}" for a, b in found))


@command.command("rules")
@click.option("--jurisdiction", default=None, help="Only the rules that apply there (with parents).")
@common.common_options
def rules_command(jurisdiction: str | None) -> None:
    """The effective calling rules: shipped file plus [compliance] overrides."""
    app = common.app()
    rules = calling_rules.load(app.settings.compliance)
    selected = list(rules.rules)
    if jurisdiction is not None:
        code = jurisdiction.strip().upper()
        if not rules.is_known_jurisdiction(code):
            raise errors.InvalidInput(f"jurisdiction {jurisdiction!r} has no rules "
                                      f"(known: {', '.join(sorted(rules.jurisdictions))})",
                                      fields={"jurisdiction": "unknown"},
                                      error_id="unknown-jurisdiction")
        wanted = set(rules.lineage(code))
        selected = [r for r in selected if r.jurisdiction in wanted]
    payload = {"rules": [r.to_dict() for r in selected], "disabled": sorted(rules.disabled),
               "compiled": str(rules.meta.get("compiled", ""))}
    rows = [{"id": r.id, "jurisdiction": r.jurisdiction, "kind": r.kind, "status": r.status,
             "scope": sorted(r.scope), "as_of": r.as_of, "origin": r.origin} for r in selected]
    app.emit(payload, lambda: common.echo_table(
        rows, ["id", "jurisdiction", "kind", "status", "scope", "as_of", "origin"]))


@command.command("suspend")
@click.argument("jurisdiction")
@click.option("--from", "from_text", required=True, help="ISO 8601 instant with Z or an offset.")
@click.option("--to", "to_text", required=True, help="ISO 8601 instant with Z or an offset.")
@click.option("--reason", required=True, help="Why (e.g. the governor's declaration).")
@click.option("--by", "created_by", default="cli", help="Who switches it on (audited).")
@common.common_options
def suspend(jurisdiction: str, from_text: str, to_text: str, reason: str, created_by: str) -> None:
    """Switch a suspension on: no calls into JURISDICTION (e.g. US-LA) between --from and --to."""
    app = common.app()
    start, end = parse_instant(from_text, "--from"), parse_instant(to_text, "--to")
    code = _jurisdiction(jurisdiction, calling_rules.load(app.settings.compliance))
    now = dt.datetime.now(dt.UTC)
    with app.session() as session:
        row = compliance_store.add_suspension(session, code, start, end, reason=reason,
                                              created_by=created_by, now=now)
        payload = {"id": row.id, "jurisdiction": code, "from": iso(start), "to": iso(end),
                   "reason": reason, "created_by": created_by}
    app.emit(payload, lambda: f"suspended {code} from {iso(start)} to {iso(end)} ({reason})")


@command.command("suspensions")
@common.common_options
def suspensions_command() -> None:
    """Suspensions not yet over."""
    app = common.app()
    now = dt.datetime.now(dt.UTC)
    with app.session() as session:
        found = compliance_store.suspensions(session, now)
    rows = [{"jurisdiction": s.jurisdiction, "from": iso(s.from_at), "to": iso(s.to_at),
             "reason": s.reason} for s in found]
    app.emit({"suspensions": rows}, lambda: common.echo_table(
        rows, ["jurisdiction", "from", "to", "reason"]))


def _jurisdiction(text: str, rules: calling_rules.RuleSet) -> str:
    """A jurisdiction code from input: a rule-file code, a country, a state or province."""
    code = text.strip().upper()
    if rules.is_known_jurisdiction(code) or (len(code) == 2 and code.isalpha()
                                             and code in _countries()):
        return code
    try:
        return zones.subdivision(code.split("-", 1)[1] if "-" in code else code)
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(f"jurisdiction {text!r} is not known (use e.g. US-LA, CA-ON, GB)",
                                  fields={"jurisdiction": "unknown"},
                                  error_id="unknown-jurisdiction") from exc


def _countries() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)
