"""``dialer bench claims`` at small scale: several processes, one PostgreSQL, no double dial."""

from __future__ import annotations

import pytest


@pytest.mark.postgres
@pytest.mark.req("D16")
def test_one_and_two_processes_never_double_dial(cli, pg_url) -> None:
    result = cli("bench", "claims", "--processes", "1,2", "--records", "600", "--json",
                 "--db", pg_url, db=False)
    assert result.code == 0, result.err
    report = result.json()
    assert report["double_dials"] == 0
    for run in report["runs"]:
        assert run["claims"] == 600 and run["dialed_records"] == 600
        assert run["double_dials"] == 0 and run["claims_per_s"] > 0


@pytest.mark.req("D16")
def test_several_processes_need_postgresql(cli) -> None:
    result = cli("bench", "claims", "--processes", "2", "--records", "10")
    assert result.code == 2 and "PostgreSQL" in result.err
