"""``dialer campaign``: create with defaults, list/show/update/delete, validation, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.req("A10")
def test_create_with_defaults_alone(cli) -> None:
    result = cli("campaign", "create", "spring", "--json")
    assert result.code == 0, result.err
    shown = result.json()
    assert shown["name"] == "spring"
    assert shown["mode"] == "preview"
    assert shown["category"] == "telemarketing"
    assert shown["ring_timeout_s"] == 20
    assert shown["abandon_cap"] == 0.03
    assert shown["status"] == "draft"


@pytest.mark.req("A10")
def test_every_field_can_be_set_and_shown(cli) -> None:
    result = cli("campaign", "create", "autumn", "--mode", "predictive", "--category",
                 "debt_collection", "--caller-id", "+14155550100", "--ring-timeout-s", "25",
                 "--max-attempts", "7", "--centre-tz", "America/Chicago", "--days", "mon-fri",
                 "--hours", "09:00-18:00", "--start-date", "2026-12-01", "--end-date",
                 "2026-12-31", "--window", "10:00-19:00", "--abandon-cap", "0.02",
                 "--abandon-message", "This was Acme, call 555-0100", "--status", "paused",
                 "--json")
    assert result.code == 0, result.err
    shown = cli("campaign", "show", "autumn", "--json").json()
    assert shown["mode"] == "predictive"
    assert shown["category"] == "debt_collection"
    assert shown["caller_id"] == "+14155550100"
    assert shown["max_attempts"] == 7
    assert shown["schedule"] == {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00",
                                 "end": "18:00", "start_date": "2026-12-01",
                                 "end_date": "2026-12-31"}
    assert shown["window"] == "10:00-19:00"
    assert shown["abandon_cap"] == 0.02
    assert shown["status"] == "paused"


@pytest.mark.req("A10")
@pytest.mark.req("A5")
@pytest.mark.parametrize("args, field", [
    (["--ring-timeout-s", "14"], "ring_timeout_s"),
    (["--centre-tz", "Mars/Olympus"], "tz"),
    (["--hours", "18:00-09:00"], "hours"),
    (["--window", "9-5"], "window"),
    (["--abandon-cap", "1.5"], "abandon_cap"),
    (["--start-date", "2026-12-10", "--end-date", "2026-12-01"], "end_date"),
    (["--days", "funday"], "days"),
])
def test_bad_values_exit_2_with_one_line_naming_the_field(cli, args, field) -> None:
    result = cli("campaign", "create", "bad", *args, "--json")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err
    error = result.json()["error"]
    assert field in error["fields"]
    assert cli("campaign", "list", "--json").json() == {"campaigns": []}


@pytest.mark.req("A10")
def test_list_update_delete(cli) -> None:
    assert cli("campaign", "create", "a").code == 0
    assert cli("campaign", "create", "b").code == 0
    assert [c["name"] for c in cli("campaign", "list", "--json").json()["campaigns"]] == ["a", "b"]
    updated = cli("campaign", "update", "a", "--mode", "power", "--window", "", "--json")
    assert updated.code == 0, updated.err
    assert updated.json()["mode"] == "power"
    assert updated.json()["window"] is None
    assert cli("campaign", "delete", "b", "--yes").code == 0
    assert [c["name"] for c in cli("campaign", "list", "--json").json()["campaigns"]] == ["a"]


@pytest.mark.req("A5")
def test_unknown_campaign_is_bad_input_with_error_object(cli) -> None:
    result = cli("campaign", "show", "nope", "--json")
    assert result.code == 2
    assert result.json() == {"error": {"id": "no-such-campaign", "message": "no campaign named 'nope'",
                                       "fields": {"campaign": "not found"}}}


@pytest.mark.req("A5")
def test_duplicate_name_is_refused(cli) -> None:
    assert cli("campaign", "create", "dup").code == 0
    result = cli("campaign", "create", "dup")
    assert result.code == 2
    assert "exists already" in result.err


@pytest.mark.req("A5")
def test_usage_errors_exit_2_one_line(cli) -> None:
    result = cli("campaign", "create", "x", "--mode", "telepathic")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    result = cli("no-such-command", db=False)
    assert result.code == 2


@pytest.mark.req("A5")
def test_runtime_failure_exits_1(cli, tmp_path) -> None:
    # A database that cannot be opened (its directory does not exist) is a runtime failure.
    result = cli("campaign", "list", "--db", f"sqlite:///{tmp_path}/missing/dir/x.db", db=False)
    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err


@pytest.mark.req("A1")
@pytest.mark.req("A5")
def test_console_script_runs_as_a_real_process(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    dialer = [sys.executable, "-m", "dialer"]
    done = subprocess.run([*dialer, "campaign", "create", "proc", "--db", db, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "proc"
    bad = subprocess.run([*dialer, "campaign", "create", "x", "--ring-timeout-s", "3", "--db", db],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
