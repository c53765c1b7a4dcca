"""``dialer bench sip`` at a tiny scale: it runs, prints every key, loses nothing."""

from __future__ import annotations

import pytest

KEYS = {"concurrent_calls", "calls_per_s", "sipp_calls_per_s", "ratio_to_sipp", "failed",
        "rss_mb"}


@pytest.mark.req("C19")
@pytest.mark.sipp
@pytest.mark.timeout(120)
def test_bench_sip_tiny_scale(cli, sipp_binary: str) -> None:
    result = cli("bench", "sip", "--json", "--calls", "30", "--concurrent", "5", "--agents", "2",
                 "--workers", "3", "--baseline-calls", "200")
    assert result.code == 0, result.err
    shown = result.json()
    assert KEYS <= set(shown)
    assert shown["failed"] == 0
    assert shown["concurrent_calls"] == 5 and shown["agents_hearing"] == 2
    assert shown["calls_per_s"] > 0 and shown["sipp_calls_per_s"] > 0
    ratio = shown["calls_per_s"] / shown["sipp_calls_per_s"]
    assert shown["ratio_to_sipp"] == pytest.approx(ratio, abs=0.002)


@pytest.mark.req("C19")
def test_bench_sip_refuses_too_few_workers(cli) -> None:
    result = cli("bench", "sip", "--concurrent", "100", "--agents", "20", "--workers", "10")
    assert result.code == 2
