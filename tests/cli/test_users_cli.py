"""``dialer users``: administrators, agents with phones, zones and shifts."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import shifts


@pytest.mark.req("A12")
def test_first_administrator(cli) -> None:
    result = cli("users", "create", "boss", "--admin", "--json")
    assert result.code == 0, result.err
    shown = result.json()
    assert shown["role"] == "administrator"
    assert len(shown["password"]) >= 12


@pytest.mark.req("A12")
def test_agent_with_phone_zone_campaign_and_shifts(cli) -> None:
    assert cli("campaign", "create", "spring").code == 0
    result = cli("users", "create", "ann", "--role", "agent", "--phone", "sip:1001@127.0.0.1",
                 "--tz", "America/Chicago", "--campaign", "spring", "--password", "s3cret-pass",
                 "--json")
    assert result.code == 0, result.err
    assert result.json()["campaigns"] == ["spring"]
    result = cli("users", "shifts", "ann", "--add", "mon-fri 09:00-17:00", "--add",
                 "sat 10:00-14:00", "--except", "2026-12-24 off", "--except",
                 "2026-12-31 09:00-13:00 new year's eve", "--json")
    assert result.code == 0, result.err
    shown = result.json()
    assert shown["shifts"][0] == "mon 09:00-17:00" and shown["shifts"][-1] == "sat 10:00-14:00"
    assert shown["exceptions"] == [
        {"date": "2026-12-24", "hours": None, "reason": ""},
        {"date": "2026-12-31", "hours": "09:00-13:00", "reason": "new year's eve"}]


@pytest.mark.req("A12")
@pytest.mark.parametrize("args", [
    ["--phone", "not a phone"],
    ["--tz", "Nowhere/City"],
    ["--role", "agent", "--admin"],
])
def test_bad_user_input_exit_2(cli, args) -> None:
    result = cli("users", "create", "bob", *args)
    assert result.code == 2, result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.req("A12")
def test_overlapping_shifts_refused(cli) -> None:
    assert cli("users", "create", "cy").code == 0
    result = cli("users", "shifts", "cy", "--add", "mon 09:00-17:00", "--add", "mon 16:00-18:00")
    assert result.code == 2
    assert "overlap" in result.err


@pytest.mark.req("A12")
def test_is_working_reads_shifts_in_the_agents_zone_across_dst() -> None:
    weekly = shifts.parse_shift("mon-fri 09:00-17:00")
    off = [shifts.parse_exception("2026-11-26 off")]
    utc = dt.UTC
    # 2026-11-02 is a Monday after the US DST end: 09:00 Chicago = 15:00 UTC.
    assert shifts.is_working(weekly, off, "America/Chicago", dt.datetime(2026, 11, 2, 15, 0, tzinfo=utc))
    assert not shifts.is_working(weekly, off, "America/Chicago", dt.datetime(2026, 11, 2, 14, 59, tzinfo=utc))
    # The Monday before it (CDT): 09:00 Chicago = 14:00 UTC.
    assert shifts.is_working(weekly, off, "America/Chicago", dt.datetime(2026, 10, 26, 14, 0, tzinfo=utc))
    # Thanksgiving off.
    assert not shifts.is_working(weekly, off, "America/Chicago", dt.datetime(2026, 11, 26, 16, 0, tzinfo=utc))
