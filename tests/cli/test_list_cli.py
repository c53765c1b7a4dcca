"""``dialer list``: load, list, show, activate, deactivate, update."""

from __future__ import annotations

import csv
import sys
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaigns import db, lists, models, phones
from campaigns.store import campaigns as campaign_store
from dialer import list_loader
from dialer.cli import lists as list_cli

CSV = ("First Name,Last Name,Phone,Alt Phone,State,Zip,Time Zone,Tier\n"
       "Ann,Lee,(202) 456-1111,415-555-2671,DC,20500,EST,gold\n"
       "Bob,Roe,n/a,,CA,90210,,\n"
       "Cy,Poe,202.456.1111,,DC,20500,,\n"
       "\"Di, Jr\",Kay,+44 20 7946 0958,,,,,\"multi\nline\"\n"
       "broken,row\n")


@pytest.fixture
def campaign(cli) -> str:
    assert cli("campaign", "create", "spring").code == 0
    return "spring"


@pytest.fixture
def list_file(tmp_path: Path) -> Path:
    path = tmp_path / "spring.csv"
    path.write_text(CSV)
    return path


def _count(cli, model) -> int:
    engine = db.make_engine(cli.db_url)
    with engine.connect() as conn:
        found = conn.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return found


@pytest.mark.req("A16", "A18")
def test_load_prints_the_summary_and_writes_rejects(cli, campaign, list_file):
    result = cli("list", "load", list_file, "--campaign", campaign, "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert {k: summary[k] for k in ("rows", "imported", "rejected", "reject_file")} == {
        "rows": 5, "imported": 2, "reject_file": f"{list_file}.rejects.csv",
        "rejected": {"no_valid_number": 1, "duplicate": 1, "dnc": 0, "malformed_row": 1,
                     "erased": 0}}
    assert isinstance(summary["list_id"], int)
    with open(summary["reject_file"], newline="") as handle:
        rejected = list(csv.reader(handle))
    assert rejected == [
        ["First Name", "Last Name", "Phone", "Alt Phone", "State", "Zip", "Time Zone", "Tier",
         "reject_reason"],
        ["Bob", "Roe", "n/a", "", "CA", "90210", "", "", "no_valid_number"],
        ["Cy", "Poe", "202.456.1111", "", "DC", "20500", "", "", "duplicate"],
        ["broken", "row", "malformed_row"]]


@pytest.mark.req("A16")
def test_reject_file_option_moves_the_rejects(cli, campaign, list_file, tmp_path):
    target = tmp_path / "out" / "bad.csv"
    target.parent.mkdir()
    result = cli("list", "load", list_file, "--campaign", campaign, "--reject-file", target,
                 "--json")
    assert result.json()["reject_file"] == str(target) and target.exists()


@pytest.mark.req("A17")
def test_loading_the_same_file_twice_imports_nothing_new(cli, campaign, list_file):
    cli("list", "load", list_file, "--campaign", campaign, "--json")
    second = cli("list", "load", list_file, "--campaign", campaign, "--json").json()
    assert second["imported"] == 0 and second["rejected"]["duplicate"] == 3
    assert _count(cli, models.Record) == 2


@pytest.mark.req("A16")
def test_duplicates_are_found_across_files(cli, campaign, list_file, tmp_path):
    cli("list", "load", list_file, "--campaign", campaign)
    other = tmp_path / "other.csv"
    other.write_text("Mobile\n+1 202 456 1111\n(650) 253-0000\n")
    summary = cli("list", "load", other, "--campaign", campaign, "--json").json()
    assert summary["imported"] == 1 and summary["rejected"]["duplicate"] == 1


@pytest.mark.req("A17")
@pytest.mark.parametrize("content, words", [
    (None, "no such file"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00", "binary"),
    (b"Name,City\nAnn,Paris\n", "no phone column"),
])
def test_unusable_file_exits_2_with_one_line_and_stores_nothing(cli, campaign, tmp_path,
                                                               content, words):
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    result = cli("list", "load", path, "--campaign", campaign)
    assert result.code == 2
    assert result.err.count("\n") == 1 and words in result.err
    assert _count(cli, models.CallingList) == 0
    assert not Path(f"{path}.rejects.csv").exists()


@pytest.mark.req("A17")
def test_failure_during_the_load_leaves_no_partial_list(cli, campaign, list_file, monkeypatch):
    calls = []

    def failing_insert(self, records, phones):
        calls.append(len(records))
        raise RuntimeError("disk full")

    monkeypatch.setattr(list_cli.list_store.RecordWriter, "insert", failing_insert)
    result = cli("list", "load", list_file, "--campaign", campaign)
    assert result.code == 1 and calls
    assert _count(cli, models.CallingList) == 0 and _count(cli, models.Record) == 0


@pytest.mark.req("A20")
def test_a_command_line_load_hands_the_gil_over_quickly_then_restores_the_interval(
        cli, campaign, list_file, monkeypatch):
    seen = []
    original = list_loader.load_file

    def watched(*args, **kwargs):
        seen.append(sys.getswitchinterval())
        return original(*args, **kwargs)

    monkeypatch.setattr(list_cli.list_loader, "load_file", watched)
    before = sys.getswitchinterval()
    assert cli("list", "load", list_file, "--campaign", campaign, "--json").code == 0
    assert seen == [list_loader.LOAD_SWITCH_INTERVAL_S] and before != seen[0]
    assert sys.getswitchinterval() == before


@pytest.mark.req("A11", "A14")
def test_map_is_saved_and_reused_for_the_same_list(cli, campaign, tmp_path):
    first = tmp_path / "a.csv"
    first.write_text("Contact;Given\n(202) 456-1111;Ann\n")
    result = cli("list", "load", first, "--campaign", campaign, "--name", "crm",
                 "--map", "phone=Contact", "--map", "first_name=Given", "--json")
    assert result.code == 0, result.err
    second = tmp_path / "b.csv"
    second.write_text("Contact;Given\n(415) 555-2671;Bea\n")
    assert cli("list", "load", second, "--campaign", campaign, "--name", "crm",
               "--json").json()["imported"] == 1
    shown = cli("list", "show", "crm", "--json").json()
    assert shown["column_map"] == {"phone": "Contact", "first_name": "Given"}
    assert shown["records_by_status"] == {"new": 2} and shown["rows_total"] == 2


@pytest.mark.req("A14")
def test_bad_map_option_exits_2(cli, campaign, list_file):
    result = cli("list", "load", list_file, "--campaign", campaign, "--map", "colour=Tier")
    assert result.code == 2 and "unknown field" in result.err


@pytest.mark.req("A15")
def test_default_region_reads_national_numbers(cli, campaign, tmp_path):
    path = tmp_path / "uk.csv"
    path.write_text("phone\n020 7946 0958\n07400 123456\n")
    summary = cli("list", "load", path, "--campaign", campaign, "--default-region", "GB",
                  "--json").json()
    assert summary["imported"] == 2
    assert cli("list", "load", path, "--campaign", campaign,
               "--default-region", "XX").code == 2


@pytest.mark.req("A11")
def test_lists_have_priority_expiry_and_activation(cli, campaign, list_file, tmp_path):
    cli("list", "load", list_file, "--campaign", campaign, "--priority", "5",
        "--expires", "2026-12-31")
    other = tmp_path / "late.csv"
    other.write_text("phone\n(650) 253-0000\n")
    cli("list", "load", other, "--campaign", campaign, "--priority", "1")
    shown = cli("list", "list", "--campaign", campaign, "--json").json()["lists"]
    assert [(l["name"], l["priority"], l["expires_on"], l["is_active"]) for l in shown] == [
        ("spring", 5, "2026-12-31", True), ("late", 1, None, True)]
    assert cli("list", "deactivate", "spring", "--json").json()["is_active"] is False
    assert cli("list", "activate", "spring", "--json").json()["is_active"] is True
    updated = cli("list", "update", "late", "--priority", "9", "--expires", "2027-01-31",
                  "--json").json()
    assert (updated["priority"], updated["expires_on"]) == (9, "2027-01-31")
    assert cli("list", "update", "late", "--expires", "", "--json").json()["expires_on"] is None
    assert cli("list", "update", "late", "--expires", "31/01/2027").code == 2


@pytest.mark.req("A11")
def test_unknown_list_exits_2(cli, campaign):
    result = cli("list", "show", "nope", "--json")
    assert result.code == 2 and result.json()["error"]["id"] == "no-such-list"


@pytest.mark.req("A11")
def test_same_list_name_in_two_campaigns_needs_the_campaign(cli, campaign, list_file):
    cli("campaign", "create", "autumn")
    cli("list", "load", list_file, "--campaign", campaign)
    cli("list", "load", list_file, "--campaign", "autumn")
    assert cli("list", "show", "spring").code == 2
    assert cli("list", "show", "spring", "--campaign", "autumn", "--json").json()[
        "campaign"] == "autumn"


@pytest.mark.req("A18")
def test_no_progress_bar_when_stderr_is_not_a_terminal(cli, campaign, list_file):
    result = cli("list", "load", list_file, "--campaign", campaign, "--json")
    assert "rows/s" not in result.err and "it/s" not in result.err


@pytest.mark.req("A18")
def test_memory_stays_flat_while_a_large_file_streams(sqlite_url, tmp_path):
    path = tmp_path / "wide.csv"
    note = "x" * 400
    with path.open("w") as handle:
        handle.write("phone,notes\n")
        for i in range(30_000):
            handle.write(f"(650) 2{i // 10000:02d}-{i % 10000:04d},{note}\n")
    size_mb = path.stat().st_size / 2 ** 20
    engine = db.make_engine(sqlite_url)
    with db.unit_of_work(db.make_sessionmaker(engine)) as session:
        campaign = campaign_store.create(session, "big", now=db.utcnow())
        calling_list = list_cli.list_store.create_list(session, campaign, "big", now=db.utcnow())
        shape = lists.sniff(path)
        phones.nanp_table()  # derived once per process, whatever the file's size
        tracemalloc.start()
        summary = list_loader.load_file(session, calling_list, path, shape,
                                     lists.resolve_mapping(shape.header), "US", now=db.utcnow(),
                                     batch_size=1000)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    engine.dispose()
    assert summary["imported"] == 30_000
    assert peak / 2 ** 20 < size_mb / 2, (peak, size_mb)
