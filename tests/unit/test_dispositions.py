"""Disposition rules: the shipped set, validation with line numbers, decisions."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import dispositions, errors
from campaigns.enums import CallOutcome, DispositionSource, RuleAction

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


def _default() -> dict[str, dispositions.Rule]:
    return {r.code: r for r in dispositions.parse_rules(dispositions.default_rules_text())}


@pytest.mark.req("A13")
def test_default_set_covers_every_outcome_and_agent_dispositions() -> None:
    rules = _default()
    for outcome in CallOutcome:
        assert rules[outcome.value].source is DispositionSource.SYSTEM
    assert rules["abandoned"].source is DispositionSource.SYSTEM
    assert rules["amd_hangup"].source is DispositionSource.SYSTEM
    agent = {c for c, r in rules.items() if r.source is DispositionSource.AGENT}
    assert {"sale", "not_interested", "callback", "wrong_number", "do_not_call"} <= agent
    assert rules["callback"].action is RuleAction.CALLBACK
    assert rules["do_not_call"].action is RuleAction.DNC
    assert rules["wrong_number"].action is RuleAction.NEXT_NUMBER
    assert rules["sale"].action is RuleAction.FINAL_SUCCESS


@pytest.mark.req("A13")
def test_cancelled_does_not_count_as_an_attempt() -> None:
    assert _default()["cancelled"].counts_as_attempt is False


@pytest.mark.req("A13")
def test_config_file_is_the_shipped_default(tmp_path) -> None:
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / "config" / "dispositions.toml"
    assert config.read_text("utf-8") == dispositions.default_rules_text()


def _replace(old: str, new: str) -> str:
    text = dispositions.default_rules_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.req("A13")
@pytest.mark.parametrize("text, line, reason", [
    (lambda: _replace('code = "busy"\nlabel = "Busy"\nsource = "system"\naction = "retry"',
                      'code = "busy"\nlabel = "Busy"\nsource = "system"\naction = "redial"'),
     None, "action 'redial' is not one of"),
    (lambda: _replace("delay_s = 600\nbackoff = 2.0", "delay_s = -5\nbackoff = 2.0"),
     None, "delay_s must be a whole number"),
    (lambda: _replace("backoff = 2.0\nmax_delay_s = 7200", "backoff = 99\nmax_delay_s = 7200"),
     None, "backoff must be a number from 1 to 10"),
    (lambda: _replace('code = "busy"', 'code = "sale"'), None, "defined twice"),
    (lambda: _replace('code = "amd_hangup"', 'code = "amd_hang"'), None,
     "missing rule for system disposition 'amd_hangup'"),
    (lambda: _replace("counts_as_attempt = false\n\n[[disposition]]\ncode = \"failed\"",
                      "colour = \"red\"\n\n[[disposition]]\ncode = \"failed\""), None,
     "unknown key 'colour'"),
    (lambda: "[[disposition]]\ncode = \"x\nsource = 1\n", "2", "not valid TOML"),
])
def test_bad_files_are_refused_with_line_and_reason(text, line, reason) -> None:
    body = text()
    with pytest.raises(errors.RulesFileError) as caught:
        dispositions.parse_rules(body, source="r.toml")
    message = str(caught.value)
    assert reason in message
    reported = int(caught.value.fields["line"])
    if line is not None:
        assert reported == int(line)
    else:
        # The reported line holds the offending key (or the table it belongs to).
        offending = body.splitlines()[reported - 1]
        assert offending.strip(), message


@pytest.mark.req("A13")
def test_retry_backoff_and_caps() -> None:
    busy = _default()["busy"]  # 600 s, x2, max 7200, cap 5
    first = dispositions.decide(busy, with_code=1, attempts=1, max_attempts=10, now=NOW)
    assert first.action is RuleAction.RETRY and first.earliest_at == NOW + dt.timedelta(seconds=600)
    third = dispositions.decide(busy, with_code=3, attempts=3, max_attempts=10, now=NOW)
    assert third.earliest_at == NOW + dt.timedelta(seconds=2400)
    capped = dispositions.decide(busy, with_code=5, attempts=5, max_attempts=10, now=NOW)
    assert capped.action is RuleAction.FINAL_FAILURE and capped.reason == "cap_reached"
    exhausted = dispositions.decide(busy, with_code=2, attempts=10, max_attempts=10, now=NOW)
    assert exhausted.action is RuleAction.FINAL_FAILURE and exhausted.reason == "max_attempts"
