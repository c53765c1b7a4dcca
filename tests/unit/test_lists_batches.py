"""Insert-ready chunks: built rows and the batch decision agree with the per-row reference."""

from __future__ import annotations

import random

import pytest

from campaigns import list_batches, lists, phones
from campaigns.enums import RejectReason

HEADER = ("Phone", "Cell", "Name", "Tier")
MAPPING = {"phone": "Phone", "alt_phone": ["Cell"], "name": "Name"}
SETUP = list_batches.Setup(HEADER, MAPPING, "US")


def _build(rows: list[list[str]], first_row: int = 100) -> list_batches.Built:
    return list_batches.ChunkBuilder(SETUP)(first_row, rows)


def _reference(rows, known: set[str], dnc: set[str]):
    parser = lists.RowParser(HEADER, MAPPING, "US")
    known = set(known)
    out = []
    for row in rows:
        decision = lists.decide(parser(row), known, dnc)
        out.append((decision.reason, [p.number.e164 for p in decision.numbers]))
    return out


def _settled(rows, known: set[str], dnc: set[str]):
    built = _build(rows)
    numbers = {p[1] for p in built.phones}
    settled = list_batches.settle(built, numbers & known, numbers & dnc)
    rejects = dict(settled.rejects)
    kept: dict[int, list[str]] = {record[0]: [] for record in settled.records}
    for phone in settled.phones:
        kept[phone[0]].append(phone[1])
    return [(rejects.get(i), kept.get(100 + i, [])) for i in range(len(rows))], settled


def test_built_tuples_are_what_the_store_inserts():
    built = _build([["(202) 456-1111", "202.456.1111", "Ann Lee", "gold"], ["12", "", "Bo", ""],
                    ["bad"]])
    assert built.rejects == [(1, RejectReason.NO_VALID_NUMBER), (2, RejectReason.MALFORMED_ROW)]
    assert built.rows == [0] and built.owners == [0]
    assert built.records == [(100, "Ann", "Lee", "", "", "", "", "", "{}", '{"Tier": "gold"}')]
    assert built.phones == [(100, "+12024561111", "(202) 456-1111", "primary", 0,
                             "fixed_line_or_mobile", "US", '["America/New_York"]')]


@pytest.mark.req("A16")
@pytest.mark.parametrize("seed", range(6))
def test_settle_decides_as_the_rows_would_one_by_one(seed):
    rng = random.Random(seed)
    pool = [f"(202) 456-{i:04d}" for i in range(40)] + ["12", "n/a", "+44 20 7946 0958"]
    rows = []
    for _ in range(300):
        if rng.random() < 0.03:
            rows.append(["only one field"])
            continue
        rows.append([rng.choice(pool), rng.choice(pool + [""] * 20), "N", ""])
    e164s = [n.e164 for raw in pool if (n := phones.normalise(raw)) is not None]
    known, dnc = set(rng.sample(e164s, 5)), set(rng.sample(e164s, 5))
    got, settled = _settled(rows, known, dnc)
    assert got == _reference(rows, known, dnc)
    assert sorted(settled.numbers) == sorted(p[1] for p in settled.phones)


def test_a_batch_with_nothing_known_is_imported_whole():
    rows = [[f"(415) 555-{i:04d}", "", "N", ""] for i in range(10)]
    built = _build(rows)
    settled = list_batches.settle(built, set(), set())
    assert settled.records is built.records and settled.phones is built.phones
