"""Disposition rules as data: parse and validate a rules file, and decide what comes next.

Pure: no database, no clock.  A rules file is TOML with one ``[[disposition]]``
table per code (see ``campaigns/data/dispositions.toml``).  A bad file is
refused whole, with the line and the reason.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from campaigns import errors
from campaigns.enums import CallOutcome, DispositionSource, RuleAction

#: the system dispositions every rules file must cover.
REQUIRED_SYSTEM_CODES: tuple[str, ...] = tuple(o.value for o in CallOutcome) + (
    "abandoned", "amd_hangup")

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_KEYS = {"code", "label", "source", "action", "delay_s", "backoff", "max_delay_s",
         "max_per_record", "on_cap", "counts_as_attempt", "is_contact"}


@dataclass(frozen=True)
class Rule:
    """What one disposition code leads to."""

    code: str
    source: DispositionSource
    action: RuleAction
    label: str = ""
    delay_s: int = 0
    backoff: float = 1.0
    max_delay_s: int | None = None
    max_per_record: int | None = None
    on_cap: RuleAction = RuleAction.FINAL_FAILURE
    counts_as_attempt: bool = True
    is_contact: bool = False


@dataclass(frozen=True)
class Decision:
    """The next step for a record after a disposition."""

    action: RuleAction
    #: for ``retry``: when the next attempt may happen.
    earliest_at: dt.datetime | None = None
    #: why (``cap_reached`` when the cap turned the action).
    reason: str = ""


def default_rules_text() -> str:
    """The shipped default rules file."""
    return resources.files("campaigns").joinpath("data/dispositions.toml").read_text("utf-8")


def parse_rules(text: str, *, source: str = "<rules>") -> list[Rule]:
    """Parse and validate a rules file.

    Raises
    ------
    campaigns.errors.RulesFileError
        With ``line N: reason`` in the message and ``fields`` ``{"line": "N"}``.

    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = match.group(1) if match else "?"
        raise _error(source, line, f"not valid TOML ({exc})") from exc
    unknown = set(data) - {"disposition"}
    if unknown:
        key = sorted(unknown)[0]
        raise _error(source, _line_of_key(text, key, 0, len(text.splitlines())),
                     f"unknown top-level key {key!r}")
    entries = data.get("disposition", [])
    if not isinstance(entries, list) or not entries:
        raise _error(source, 1, "no [[disposition]] tables")
    headers = _header_lines(text)
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        start = headers[index] if index < len(headers) else 1
        end = headers[index + 1] if index + 1 < len(headers) else len(text.splitlines()) + 1
        rule = _rule(entry, lambda key, s=start, e=end: _line_of_key(text, key, s, e) if key else s,
                     source)
        if rule.code in seen:
            raise _error(source, _line_of_key(text, "code", start, end),
                         f"disposition {rule.code!r} is defined twice")
        seen.add(rule.code)
        rules.append(rule)
    last_line = len(text.splitlines())
    for code in REQUIRED_SYSTEM_CODES:
        if code not in seen:
            raise _error(source, last_line, f"missing rule for system disposition {code!r}")
    for rule in rules:
        if rule.code in REQUIRED_SYSTEM_CODES and rule.source is not DispositionSource.SYSTEM:
            index = [r.code for r in rules].index(rule.code)
            raise _error(source, headers[index], f"{rule.code!r} is a system disposition: "
                         "source must be \"system\"")
    return rules


def _rule(entry: Any, line_of: Any, source: str) -> Rule:
    if not isinstance(entry, dict):
        raise _error(source, line_of(None), "a disposition must be a table")
    for key in entry:
        if key not in _KEYS:
            raise _error(source, line_of(key), f"unknown key {key!r}")
    for key in ("code", "source", "action"):
        if key not in entry:
            raise _error(source, line_of(None), f"missing key {key!r}")
    code = entry["code"]
    if not isinstance(code, str) or not _CODE.match(code):
        raise _error(source, line_of("code"), f"code {code!r} must be lowercase letters, "
                     "digits and underscores")
    values: dict[str, Any] = {"code": code, "label": str(entry.get("label", ""))}
    values["source"] = _choice(DispositionSource, entry["source"], "source", line_of, source)
    values["action"] = _choice(RuleAction, entry["action"], "action", line_of, source)
    if "on_cap" in entry:
        values["on_cap"] = _choice(RuleAction, entry["on_cap"], "on_cap", line_of, source)
        if values["on_cap"] in (RuleAction.RETRY, RuleAction.CALLBACK):
            raise _error(source, line_of("on_cap"), "on_cap must not retry or call back")
    for key, minimum in (("delay_s", 0), ("max_delay_s", 1), ("max_per_record", 1)):
        if key in entry:
            value = entry[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise _error(source, line_of(key), f"{key} must be a whole number >= {minimum}")
            values[key] = value
    if "backoff" in entry:
        value = entry["backoff"]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 1 <= value <= 10:
            raise _error(source, line_of("backoff"), "backoff must be a number from 1 to 10")
        values["backoff"] = float(value)
    for key in ("counts_as_attempt", "is_contact"):
        if key in entry:
            if not isinstance(entry[key], bool):
                raise _error(source, line_of(key), f"{key} must be true or false")
            values[key] = entry[key]
    if values["action"] is RuleAction.RETRY and values.get("delay_s", 0) < 1:
        raise _error(source, line_of("action"), "a retry needs delay_s >= 1")
    if code == CallOutcome.CANCELLED.value and values.get("counts_as_attempt", True):
        raise _error(source, line_of("code"),
                     "'cancelled' (we hung up before an answer) must have counts_as_attempt = false")
    return Rule(**values)


def _choice(enum_cls: Any, value: Any, key: str, line_of: Any, source: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise _error(source, line_of(key), f"{key} {value!r} is not one of {allowed}") from None


def _header_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1)
            if re.match(r"^\s*\[\[\s*disposition\s*\]\]", line)]


def _line_of_key(text: str, key: str, start: int, end: int) -> int:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if start <= number < end and pattern.match(line):
            return number
    return start


def _error(source: str, line: object, reason: str) -> errors.RulesFileError:
    return errors.RulesFileError(f"{source} line {line}: {reason}",
                                 fields={"line": str(line), "reason": reason})


def retry_delay(rule: Rule, previous: int) -> dt.timedelta:
    """The delay before the next retry, after ``previous`` attempts with this code.

    >>> r = Rule("busy", DispositionSource.SYSTEM, RuleAction.RETRY, delay_s=600, backoff=2,
    ...          max_delay_s=3000)
    >>> [int(retry_delay(r, n).total_seconds()) for n in (0, 1, 2, 3)]
    [600, 1200, 2400, 3000]
    """
    seconds = rule.delay_s * (rule.backoff ** max(previous, 0))
    if rule.max_delay_s is not None:
        seconds = min(seconds, rule.max_delay_s)
    return dt.timedelta(seconds=seconds)


def decide(rule: Rule, *, with_code: int, attempts: int, max_attempts: int,
           now: dt.datetime) -> Decision:
    """What comes after an attempt ended with ``rule.code``.

    Parameters
    ----------
    with_code:
        Attempts of this record that ended with this code, this one included.
    attempts:
        Attempts of the record that count, this one included.
    max_attempts:
        The campaign's cap of attempts per record.
    now:
        When the attempt ended (aware).
    """
    action = rule.action
    if rule.max_per_record is not None and with_code >= rule.max_per_record and action in (
            RuleAction.RETRY, RuleAction.CALLBACK):
        return Decision(rule.on_cap, reason="cap_reached")
    if action is RuleAction.RETRY and rule.counts_as_attempt and attempts >= max_attempts:
        return Decision(RuleAction.FINAL_FAILURE, reason="max_attempts")
    if action is RuleAction.RETRY:
        return Decision(action, earliest_at=now + retry_delay(rule, with_code - 1),
                        reason=rule.code)
    return Decision(action, reason=rule.code)
