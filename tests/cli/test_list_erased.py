"""The list loader never re-imports an erased number (F4): reject reason ``erased``."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from campaigns import list_batches, lists, phones
from campaigns.enums import RejectReason
from tests.unit.test_lists_batches import HEADER, MAPPING, _build

FIRST = ("First Name,Last Name,Phone,Alt Phone\n"
         "Ann,Lee,(202) 456-1111,415-555-2671\n"
         "Bob,Roe,(202) 456-2222,\n")
# Ann's numbers come back after her erasure, alone or beside other numbers.
SECOND = ("First Name,Last Name,Phone,Alt Phone\n"
          "Ann,Lee,(202) 456-1111,415-555-2671\n"     # both erased
          "Ann,New,202.456.1111,(202) 456-3333\n"     # keeps only the new number
          "Bob,Ann,(202) 456-2222,415-555-2671\n"     # Bob's is known: duplicate
          "Cy,Poe,(202) 456-4444,\n")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _rejects(path: str) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))[1:]


@pytest.mark.req("F4")
def test_a_load_rejects_erased_numbers_and_keeps_the_rest(cli, tmp_path):
    for name in ("spring", "summer"):
        assert cli("campaign", "create", name).code == 0
    first = cli("list", "load", _write(tmp_path, "first.csv", FIRST), "--campaign", "spring",
                "--json")
    assert first.json()["imported"] == 2
    erased = cli("privacy", "erase", "(202) 456-1111", "--yes", "--json")
    assert erased.code == 0, erased.err
    assert erased.json()["suppressed"] == 2

    second = cli("list", "load", _write(tmp_path, "second.csv", SECOND), "--campaign", "spring",
                 "--json").json()
    assert (second["rows"], second["imported"]) == (4, 2)
    assert second["rejected"] == {"no_valid_number": 0, "duplicate": 1, "dnc": 0,
                                  "malformed_row": 0, "erased": 1}
    assert _rejects(second["reject_file"]) == [
        ["Ann", "Lee", "(202) 456-1111", "415-555-2671", "erased"],
        ["Bob", "Ann", "(202) 456-2222", "415-555-2671", "duplicate"]]
    shown = cli("privacy", "export", "(202) 456-3333", "--json").json()
    assert [n["e164"] for n in shown["records"][0]["numbers"]] == ["+12024563333"]
    assert cli("privacy", "export", "(202) 456-1111", "--json").json()["error"]["id"] == \
        "no-such-person"

    # The suppression is not per campaign: another campaign rejects the numbers too.
    other = cli("list", "load", tmp_path / "first.csv", "--campaign", "summer", "--json").json()
    assert (other["imported"], other["rejected"]["erased"]) == (1, 1)


@pytest.mark.req("F4")
def test_a_load_into_a_database_without_erasures_counts_none(cli, tmp_path):
    assert cli("campaign", "create", "spring").code == 0
    loaded = cli("list", "load", _write(tmp_path, "first.csv", FIRST), "--campaign", "spring",
                 "--json").json()
    assert loaded["imported"] == 2 and loaded["rejected"]["erased"] == 0


def _reference(rows, known: set[str], dnc: set[str], erased: set[str]):
    """Row by row: an erased number is dropped as a DNC number is; a row left with no number
    is ``duplicate`` if it had a known one, else ``erased`` if it had an erased one."""
    parser = lists.RowParser(HEADER, MAPPING, "US")
    known = set(known)
    out = []
    for row in rows:
        parsed = parser(row)
        before = set(known)
        decision = lists.decide(parsed, known, dnc | erased)
        reason = decision.reason
        if reason is RejectReason.DNC:
            numbers = {p.number.e164 for p in parsed.phones if p.number and p.number.is_valid}
            if numbers & erased - before:
                reason = RejectReason.ERASED
        out.append((reason, [p.number.e164 for p in decision.numbers]))
    return out


@pytest.mark.req("F4")
@pytest.mark.parametrize("seed", range(4))
def test_settle_drops_erased_numbers_as_the_rows_would_one_by_one(seed):
    rng = random.Random(seed)
    pool = [f"(202) 456-{i:04d}" for i in range(40)] + ["12", "n/a"]
    rows = [[rng.choice(pool), rng.choice(pool + [""] * 20), "N", ""] for _ in range(300)]
    e164s = [n.e164 for raw in pool if (n := phones.normalise(raw)) is not None]
    known, dnc, erased = (set(rng.sample(e164s, 5)) for _ in range(3))
    built = _build(rows)
    numbers = {p[1] for p in built.phones}
    settled = list_batches.settle(built, numbers & known, numbers & dnc, numbers & erased)
    rejects = dict(settled.rejects)
    kept: dict[int, list[str]] = {record[0]: [] for record in settled.records}
    for phone in settled.phones:
        kept[phone[0]].append(phone[1])
    got = [(rejects.get(i), kept.get(100 + i, [])) for i in range(len(rows))]
    assert got == _reference(rows, known, dnc, erased)
    assert RejectReason.ERASED in rejects.values()
    assert not erased & set(settled.numbers)
