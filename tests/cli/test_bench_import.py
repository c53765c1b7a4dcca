"""``dialer bench import``: the generated list, the three measurements, the figures printed."""

from __future__ import annotations

import csv
import random

import pytest

from campaigns import phones
from dialer.benchmarks import import_ as bench


@pytest.mark.req("A20")
def test_bench_import_prints_the_figures(cli):
    result = cli("bench", "import", "--rows", "400", "--json", db=False)
    assert result.code == 0, result.err
    figures = result.json()
    assert set(figures) >= {"rows", "load_rows_per_s", "csv_reader_rows_per_s",
                            "naive_phonenumbers_rows_per_s", "ratio_to_csv_reader", "peak_rss_mb"}
    assert figures["rows"] == 400
    assert figures["imported"] + sum(figures["rejected"].values()) == 400
    assert figures["ratio_to_csv_reader"] == pytest.approx(
        figures["load_rows_per_s"] / figures["csv_reader_rows_per_s"], rel=0.01, abs=1e-5)
    # In-process, the sampled family is the test process and its children (PostgreSQL...).
    assert figures["peak_rss_mb"] > 0


@pytest.mark.req("A20")
def test_generated_list_has_the_advertised_mix(tmp_path):
    path = tmp_path / "l.csv"
    dnc = bench.write_list(path, 6000, random.Random(5))
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    normalise = phones.Normaliser("US")
    numbers = [normalise(row["Phone"]) for row in rows]
    invalid = sum(1 for n in numbers if n is None or not n.is_valid) / len(rows)
    regions = {n.region for n in numbers if n is not None and n.is_valid}
    assert 0.03 < invalid < 0.08
    assert {"US", "CA", "GB", "AU", "MX"} <= regions
    assert 0.005 < len(dnc) / (len(rows) * 1.3) < 0.02
    area_codes = {n.e164[2:5] for n in numbers if n is not None and n.region == "US"}
    assert len(area_codes) > 250
