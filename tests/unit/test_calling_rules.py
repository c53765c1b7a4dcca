"""Loading, validating and overriding the calling rules (B3, B5, B6)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from campaigns import calling_rules, compliance_config


def _settings(**values: object) -> compliance_config.ComplianceSettings:
    return compliance_config.ComplianceSettings(**values)


def test_shipped_file_keeps_sources_and_dates() -> None:
    rules = calling_rules.default_rules()
    assert rules.meta["compiled"] == "2026-11-21"
    assert all(r.source and r.as_of for r in rules.rules)
    assert {"US-FL-hours", "GB-Ofcom-72h", "US-national-DNC"} <= {r.id for r in rules.rules}


@pytest.mark.req("B5")
def test_superseded_rules_never_apply_and_pending_from_effective_from() -> None:
    rules = calling_rules.default_rules()
    old = next(r for r in rules.rules if r.id == "US-PA-hours-2019")
    assert not old.is_applicable_status
    assert "US-PA-hours-2019" not in {r.id for r in rules.for_jurisdictions(["US-PA"])}
    pending = calling_rules.Rule("x", "US", "window", "pending", frozenset({"telemarketing"}),
                                 effective_from=dt.date(2027, 1, 1))
    assert not pending.is_active_on(dt.date(2026, 12, 31))
    assert pending.is_active_on(dt.date(2027, 1, 1))


@pytest.mark.req("B6")
@pytest.mark.parametrize("set_id, year, expected", [
    ("US-UT", 2026, {"2026-07-24", "2026-07-03", "2026-07-04", "2026-11-26"}),
    ("US-AL", 2026, {"2026-06-01", "2026-04-27", "2026-02-17"}),
    ("US-LA", 2027, {"2027-02-09", "2027-03-26", "2027-11-26"}),
    ("FR", 2026, {"2026-05-14", "2026-05-25", "2026-04-06"}),
    ("US-RI", 2026, {"2026-08-10", "2026-07-06", "2026-11-03"}),
])
def test_holiday_sets_are_computed_per_year(set_id: str, year: int, expected: set[str]) -> None:
    dates = {d.isoformat() for d in calling_rules.default_rules().holiday_sets[set_id].dates(year)}
    assert expected <= dates


@pytest.mark.req("B6")
def test_holidays_not_in_the_set_are_not_closed() -> None:
    utah = calling_rules.default_rules().holiday_sets["US-UT"].dates(2026)
    assert dt.date(2026, 2, 14) not in utah  # Valentine's day: some library lists it, no rule


@pytest.mark.req("B3")
@pytest.mark.parametrize("entry, fragment", [
    (('id = "X"\njurisdiction = "US"\nkind = "window"\nstatus = "in_force"\n'
      'scope = ["telemarketing"]\nmon = "21:00-08:00"'), "rule X: mon range '21:00-08:00' ends"),
    (('id = "X"\njurisdiction = "US"\nkind = "curfew"\nstatus = "in_force"\n'
      'scope = ["telemarketing"]'), "rule X: kind 'curfew'"),
    (('id = "X"\njurisdiction = "US"\nkind = "window"\nstatus = "maybe"\n'
      'scope = ["telemarketing"]\nmon = ""'), "rule X: status 'maybe'"),
    (('id = "X"\njurisdiction = "US"\nkind = "window"\nstatus = "in_force"\n'
      'scope = ["telemarketing"]\nmon = "8-9"'), "rule X: mon range '8-9'"),
    (('id = "X"\njurisdiction = "US"\nkind = "window"\nstatus = "in_force"\n'
      'scope = ["telemarketing"]\ntime_basis = "Mars/Base"\nmon = ""'), "rule X: time_basis"),
    (('id = "X"\njurisdiction = "US"\nkind = "frequency"\nstatus = "in_force"\n'
      'scope = ["telemarketing"]\nmax_calls = 0\nper_hours = 24'), "rule X: max_calls"),
])
def test_malformed_rules_are_refused_naming_the_rule(tmp_path: Path, entry: str,
                                                     fragment: str) -> None:
    path = tmp_path / "extra.toml"
    path.write_text(f"[[rule]]\n{entry}\n", "utf-8")
    with pytest.raises(calling_rules.RulesError) as caught:
        calling_rules.load(_settings(rules_file=str(path)))
    assert fragment in str(caught.value)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.req("B3")
def test_unreadable_rules_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[rule]\nid = ", "utf-8")
    with pytest.raises(calling_rules.RulesError, match="broken.toml: not valid TOML"):
        calling_rules.load(_settings(rules_file=str(path)))
    with pytest.raises(calling_rules.RulesError, match="cannot read"):
        calling_rules.load(_settings(rules_file=str(tmp_path / "missing.toml")))


@pytest.mark.req("B5")
def test_config_overrides_disables_and_adds_rules(tmp_path: Path) -> None:
    path = tmp_path / "extra.toml"
    path.write_text('''
[[rule]]
id = "US-FL-hours"
jurisdiction = "US-FL"
kind = "window"
status = "in_force"
scope = ["telemarketing"]
mon = "09:00-19:00"
source = "house policy"

[[rule]]
id = "ACME-house-hours"
jurisdiction = "US-NY"
kind = "window"
status = "in_force"
scope = ["telemarketing"]
sun = ""
''', "utf-8")
    rules = calling_rules.load(_settings(rules_file=str(path), disabled_rules=["US-TX-hours"]))
    by_id = {r.id: r for r in rules.rules}
    assert by_id["US-FL-hours"].days == {0: ((540, 1140),)}
    assert by_id["US-FL-hours"].origin == str(path)
    assert by_id["ACME-house-hours"].jurisdiction == "US-NY"
    assert "US-TX-hours" not in by_id and rules.disabled == {"US-TX-hours"}
    assert rules.lineage("US-NY") == ["US-NY", "US"]


@pytest.mark.req("B3")
def test_disabling_an_unknown_rule_is_an_error() -> None:
    with pytest.raises(calling_rules.RulesError, match="disabled_rules: no rule named 'NOPE'"):
        calling_rules.load(_settings(disabled_rules=["NOPE"]))
