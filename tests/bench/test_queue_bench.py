"""``dialer bench queue`` at tiny sizes: every JSON field, and what the release passes did.

Speed is not checked here (it lives in the benchmark's output); what is checked
is that the figures exist and the queue behaved: every due row handled exactly
once, nothing released before it was due, moved rows at the per-record path's
next legal instant, the rebuilt timer armed for the instant the database names,
every callback dialled, none before its window opened.
"""

from __future__ import annotations

import pytest

FIELDS = ("pending", "queue_adds_per_s", "aps_adds_per_s", "release_rows_per_s",
          "release_baseline_rows_per_s", "lateness_p99_s", "rebuild_s", "rss_mb", "db")
TINY = ("--pending", "1500", "--due", "400", "--batch", "100", "--aps-jobs", "50",
        "--lateness-pending", "150", "--callbacks", "12", "--horizon-s", "2", "--agents", "8",
        "--tick-s", "0.2", "--json")


def _check(report: dict, db_name: str) -> None:
    assert set(FIELDS) <= set(report)
    assert report["db"] == db_name and report["pending"] == 1500
    assert report["queue_adds_per_s"] > 0 and report["aps_adds_per_s"] > 0
    assert report["release_rows_per_s"] > 0 and report["release_baseline_rows_per_s"] > 0
    assert 0 < report["rss_mb"] and 0 < report["bench_rss_mb"] and 0 < report["rebuild_s"]
    assert isinstance(report["engine_pass_rows"], int) and report["engine_pass_s"] >= 0
    release = report["release"]
    assert release["due"] == 400
    assert release["released"] + release["moved"] + release["cancelled"] == 400
    assert release["released"] > 0 and release["moved"] + release["cancelled"] > 0
    checks = release["checks"]
    assert checks["sampled"] > 0
    assert {key: value for key, value in checks.items() if key != "sampled"} == {
        "released_twice": 0, "released_not_due": 0, "marked_not_released": 0,
        "due_not_handled": 0, "not_due_handled": 0, "sample_disagreements": 0}
    assert report["rebuild_armed_for"] == report["rebuild_expected"] is not None
    lateness = report["lateness"]
    assert lateness["dialled"] == 12 and lateness["dialled_early"] == 0
    assert report["lateness_p99_s"] is not None and report["lateness_p99_s"] >= 0


@pytest.mark.req("D11")
@pytest.mark.req("D9")
@pytest.mark.req("D10")
def test_tiny_queue_bench_on_sqlite_reports_every_figure_and_a_clean_release(cli) -> None:
    result = cli("bench", "queue", *TINY, db=False)
    assert result.code == 0, result.err
    _check(result.json(), "sqlite")


@pytest.mark.postgres
@pytest.mark.req("D11")
def test_tiny_queue_bench_on_postgresql(cli, pg_url) -> None:
    result = cli("bench", "queue", *TINY, "--db", pg_url, db=False)
    assert result.code == 0, result.err
    _check(result.json(), "postgresql")


@pytest.mark.req("D11")
def test_due_beyond_pending_is_a_usage_error(cli) -> None:
    result = cli("bench", "queue", "--pending", "10", "--due", "20", db=False)
    assert result.code == 2 and "--due" in result.err
