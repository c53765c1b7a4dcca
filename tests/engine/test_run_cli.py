"""``dialer run`` on the command line: options, the report, nothing to do."""

from __future__ import annotations

import pytest


@pytest.mark.req("D1")
def test_run_until_idle_with_no_active_campaign_reports_nothing_ran(cli) -> None:
    result = cli("run", "--until-idle", "--json", "--status-poll-s", "0.1")
    assert result.code == 0, result.err
    report = result.json()
    assert report["campaigns"] == [] and report["recovered_attempts"] == 0
    assert report["engine_id"]


def test_run_refuses_a_malformed_disposition_distribution(cli) -> None:
    result = cli("run", "--until-idle", "--dispositions", "sale=lots")
    assert result.code == 2
    assert "--dispositions" in result.err
