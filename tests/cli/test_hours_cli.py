"""``dialer hours check|windows|rules|suspend`` and ``dialer bench hours`` (B3, B5, B13, B14, B18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaigns import db, models
from campaigns.store import audit

KEYS = {"allowed", "zones", "jurisdictions", "reasons", "next_allowed_at"}


@pytest.mark.req("B14")
def test_check_prints_the_documented_json_without_a_database(cli, tmp_path: Path) -> None:
    result = cli("hours", "check", "+13055550100", "--at", "2026-07-02T00:30:00Z", "--json",
                 db=False)
    assert result.code == 0, result.err
    assert result.json() == {"allowed": False, "zones": ["America/New_York"],
                             "jurisdictions": ["US", "US-FL"],
                             "reasons": ["outside_hours:US-FL-hours"],
                             "next_allowed_at": "2026-07-02T12:00:00Z"}
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.req("B14")
def test_check_allowed_with_address_and_offset(cli) -> None:
    result = cli("hours", "check", "(850) 555-0100", "--at", "2026-07-01T08:30:00-05:00",
                 "--zip", "32501", "--json", db=False)
    assert result.code == 0
    payload = result.json()
    assert set(payload) == KEYS
    assert payload["allowed"] is True and payload["zones"] == ["America/Chicago"]
    assert payload["next_allowed_at"] == "2026-07-01T13:30:00Z"


@pytest.mark.req("B14", "B1")
def test_check_zone_unknown_is_a_decision_not_an_error(cli) -> None:
    result = cli("hours", "check", "+18005550100", "--at", "2026-07-01T15:00:00Z", "--json",
                 db=False)
    assert result.code == 0
    assert result.json() == {"allowed": False, "zones": [], "jurisdictions": ["US"],
                             "reasons": ["zone_unknown"], "next_allowed_at": None}


@pytest.mark.req("B14", "B3")
@pytest.mark.parametrize("args, needle", [
    (["+13055550100", "--at", "2026-07-01T15:00:00"], "--at"),
    (["+13055550100", "--at", "tomorrow"], "--at"),
    (["555", "--at", "2026-07-01T15:00:00Z"], "'555'"),
    (["+13055550100", "--at", "2026-07-01T15:00:00Z", "--tz", "Mars/Base"], "Mars/Base"),
    (["+13055550100", "--at", "2026-07-01T15:00:00Z", "--state", "Narnia"], "Narnia"),
    (["+13055550100", "--at", "2026-07-01T15:00:00Z", "--zip", "00000"], "00000"),
])
def test_bad_input_exits_2_with_one_line(cli, args: list[str], needle: str) -> None:
    result = cli("hours", "check", *args, db=False)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and needle in result.err
    assert "Traceback" not in result.err


@pytest.mark.req("B14", "B13")
def test_windows_lists_legal_windows_and_refuses_an_empty_range(cli) -> None:
    result = cli("hours", "windows", "+18015550100", "--from", "2026-03-14T00:00:00-06:00",
                 "--to", "2026-03-17T00:00:00-06:00", "--json", db=False)
    assert result.code == 0, result.err
    assert result.json()["windows"] == [
        {"start": "2026-03-14T14:00:00Z", "end": "2026-03-15T03:00:00Z"},
        {"start": "2026-03-16T14:00:00Z", "end": "2026-03-17T03:00:00Z"}]
    empty = cli("hours", "windows", "+18015550100", "--from", "2026-03-15T10:00:00-06:00",
                "--to", "2026-03-15T14:00:00-06:00", "--json", db=False)
    assert empty.code == 2
    error = empty.json()["error"]
    assert error["id"] == "no-legal-minute"
    assert error["fields"] == {"earliest_legal_at": "2026-03-16T14:00:00Z",
                               "rule": "outside_hours:US-UT-hours"}


@pytest.mark.req("B14", "B9", "B11")
def test_check_with_a_campaign_uses_its_settings_and_registry(cli) -> None:
    assert cli("campaign", "create", "sales", "--window", "10:00-18:00").code == 0
    assert cli("campaign", "create", "collect", "--category", "debt_collection").code == 0
    at = "2026-07-01T13:30:00Z"  # 09:30 in New York
    sales = cli("hours", "check", "+12125550100", "--at", at, "--campaign", "sales", "--json")
    assert sales.code == 0, sales.err
    assert sales.json()["reasons"] == ["campaign_window", "registry_missing:US-national-DNC"]
    collect = cli("hours", "check", "+12125550100", "--at", at, "--campaign", "collect", "--json")
    assert collect.json()["allowed"] is True
    missing = cli("hours", "check", "+12125550100", "--at", at, "--campaign", "nope", "--json")
    assert missing.code == 2


@pytest.mark.req("B5")
def test_suspend_is_audited_and_blocks_checks(cli) -> None:
    assert cli("campaign", "create", "collect", "--category", "debt_collection").code == 0
    assert cli("campaign", "create", "sales").code == 0
    result = cli("hours", "suspend", "US-LA", "--from", "2026-08-01T00:00:00Z",
                 "--to", "2026-08-05T00:00:00Z", "--reason", "hurricane", "--by", "ops", "--json")
    assert result.code == 0, result.err
    at = "2026-08-03T17:00:00Z"
    sales = cli("hours", "check", "+15045550100", "--at", at, "--campaign", "sales", "--json")
    assert "suspended:US-LA-emergency" in sales.json()["reasons"]
    engine = db.make_engine(cli.db_url)
    with db.make_sessionmaker(engine)() as session:
        events = audit.events(session, entity="hours_suspension")
        assert [(e.action, e.actor) for e in events] == [("hours.suspend", "ops")]
        assert session.get(models.HoursSuspension, result.json()["id"]).reason == "hurricane"
    engine.dispose()
    bad = cli("hours", "suspend", "US-LA", "--from", "2026-08-05T00:00:00Z",
              "--to", "2026-08-01T00:00:00Z", "--reason", "x")
    assert bad.code == 2 and "before it starts" in bad.err
    unknown = cli("hours", "suspend", "XX-YY", "--from", "2026-08-01T00:00:00Z",
                  "--to", "2026-08-05T00:00:00Z", "--reason", "x")
    assert unknown.code == 2


@pytest.mark.req("B5", "B3")
def test_rules_shows_the_effective_set_with_overrides(cli, tmp_path: Path) -> None:
    florida = cli("hours", "rules", "--jurisdiction", "US-FL", "--json", db=False).json()
    ids = {r["id"] for r in florida["rules"]}
    assert {"US-FL-hours", "US-FL-frequency", "US-TCPA-hours"} <= ids and "US-TX-hours" not in ids
    assert all(r["source"] and r["as_of"] for r in florida["rules"])
    extra = tmp_path / "house.toml"
    extra.write_text('[[rule]]\nid = "HOUSE-NY"\njurisdiction = "US-NY"\nkind = "window"\n'
                     'status = "in_force"\nscope = ["telemarketing"]\nsun = ""\n')
    config = tmp_path / "dialer.toml"
    config.write_text(f'[compliance]\nrules_file = "{extra}"\ndisabled_rules = ["US-TX-hours"]\n')
    shown = cli("hours", "rules", "--config", str(config), "--json", db=False).json()
    by_id = {r["id"]: r for r in shown["rules"]}
    assert by_id["HOUSE-NY"]["origin"] == str(extra) and "US-TX-hours" not in by_id
    assert shown["disabled"] == ["US-TX-hours"]
    sunday = cli("hours", "check", "+12125550100", "--at", "2026-03-15T16:00:00Z",
                 "--config", str(config), "--json", db=False).json()
    assert sunday["reasons"] == ["outside_hours:HOUSE-NY"]
    extra.write_text('[[rule]]\nid = "HOUSE-NY"\njurisdiction = "US-NY"\nkind = "window"\n'
                     'status = "in_force"\nscope = ["telemarketing"]\nsun = "18:00-09:00"\n')
    broken = cli("hours", "rules", "--config", str(config), db=False)
    assert broken.code == 2 and "HOUSE-NY" in broken.err
    assert cli("hours", "rules", "--jurisdiction", "ZZ", db=False).code == 2


@pytest.mark.req("B18")
def test_bench_hours_reports_rates_against_the_baseline(cli) -> None:
    result = cli("bench", "hours", "--pairs", "3000", "--json", db=False)
    assert result.code == 0, result.err
    report = result.json()
    for key in ("may_dial_per_s", "next_dialable_at_per_s", "astimezone_baseline_per_s",
                "ratio_to_baseline", "resolve_per_s"):
        assert report[key] > 0
    assert report["ratio_to_baseline"] == pytest.approx(
        report["may_dial_per_s"] / report["astimezone_baseline_per_s"], rel=0.01)
