"""The list and DNC stores on SQLite and PostgreSQL: batched loads, duplicates, DNC effects."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaigns import db, lists, models
from campaigns.enums import RecordStatus
from campaigns.store import campaigns as campaign_store
from campaigns.store import dnc as dnc_store
from campaigns.store import lists as list_store
from dialer import list_loader

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
CSV = ("First Name,Last Name,Phone,Cell,State,Zip,Tier\n"
       "Ann,Lee,(202) 456-1111,415-555-2671,DC,20500,gold\n"
       "Bob,Roe,12,,CA,90210,\n"
       "Cy,Poe,202.456.1111,,DC,20500,\n"
       "Di,Kay,+44 20 7946 0958,,,,silver\n"
       "broken,row\n")


def _campaign(session, name: str = "spring") -> models.Campaign:
    return campaign_store.create(session, name, now=NOW)


def _load(session, campaign, path: Path, *, name: str = "main", workers: int = 0,
          batch_size: int = 100) -> dict:
    shape = lists.sniff(path)
    calling_list = (list_store.find_by_name(session, campaign.id, name)
                    or list_store.create_list(session, campaign, name, now=NOW))
    mapping = lists.resolve_mapping(shape.header, None, calling_list.column_map)
    return list_loader.load_file(session, calling_list, path, shape, mapping, "US", now=NOW,
                              batch_size=batch_size, workers=workers)


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "spring.csv"
    path.write_text(CSV)
    return path


@pytest.mark.req("A15", "A16")
def test_load_writes_records_and_their_new_valid_numbers(session, csv_file):
    campaign = _campaign(session)
    summary = _load(session, campaign, csv_file)
    assert (summary["rows"], summary["imported"]) == (5, 2)
    assert summary["rejected"] == {"no_valid_number": 1, "duplicate": 1, "dnc": 0,
                                   "malformed_row": 1, "erased": 0}
    records = session.scalars(select(models.Record).order_by(models.Record.id)).all()
    assert [(r.first_name, r.source_row, r.raw_state, r.raw_zip) for r in records] == [
        ("Ann", 1, "DC", "20500"), ("Di", 4, "", "")]
    assert records[0].custom_fields == {"Tier": "gold"}
    assert records[0].status is RecordStatus.NEW and records[0].created_at == NOW
    session.expire_all()
    ann = session.get(models.Record, records[0].id)
    assert [(p.e164, p.kind.value, p.line_type, p.region, p.zones, p.is_valid)
            for p in ann.phones] == [
        ("+12024561111", "primary", "fixed_line_or_mobile", "US", ["America/New_York"], True),
        ("+14155552671", "alternate", "fixed_line_or_mobile", "US", ["America/Los_Angeles"], True)]


@pytest.mark.req("A16", "A17")
def test_loading_the_same_file_again_imports_nothing(session, csv_file):
    campaign = _campaign(session)
    _load(session, campaign, csv_file)
    again = _load(session, campaign, csv_file, name="again")
    assert again["imported"] == 0
    assert again["rejected"]["duplicate"] == 3
    assert session.scalar(select(func.count()).select_from(models.Record)) == 2


@pytest.mark.req("A16")
def test_duplicates_are_per_campaign(session, csv_file):
    _load(session, _campaign(session, "a"), csv_file)
    other = _load(session, _campaign(session, "b"), csv_file)
    assert other["imported"] == 2


@pytest.mark.req("A16", "A19")
def test_numbers_on_dnc_are_not_imported(session, csv_file):
    campaign = _campaign(session)
    dnc_store.add(session, ["+12024561111"], campaign_id=None, source="manual", now=NOW)
    dnc_store.add(session, ["+442079460958"], campaign_id=campaign.id, source="manual", now=NOW)
    summary = _load(session, campaign, csv_file)
    assert summary["imported"] == 1 and summary["rejected"]["dnc"] == 2
    numbers = list_store.record_numbers(session, summary["list_id"])
    assert [e164 for _, e164 in numbers] == ["+14155552671"]


@pytest.mark.req("A19", "A20")
@pytest.mark.parametrize("held", ["set", "filter", "database"])
def test_dnc_numbers_held_in_a_set_a_filter_or_asked_for_decide_alike(session, tmp_path,
                                                                      monkeypatch, held):
    """Few entries: a set; many: a Bloom filter then the database; very many: the database."""
    monkeypatch.setattr(list_loader, "DNC_SET_MAX", {"set": 10, "filter": 0, "database": 0}[held])
    monkeypatch.setattr(list_loader, "DNC_FILTER_MAX", 0 if held == "database" else 10)
    campaign, other = _campaign(session), _campaign(session, "other")
    dnc_store.add(session, ["+12024561111"], campaign_id=None, source="manual", now=NOW)
    dnc_store.add(session, ["+442079460958"], campaign_id=campaign.id, source="manual", now=NOW)
    dnc_store.add(session, ["+14155552671"], campaign_id=other.id, source="manual", now=NOW)
    dnc_store.add(session, ["+13125550188"], campaign_id=None, source="manual", now=NOW,
                  expires_at=NOW - dt.timedelta(days=1))
    path = tmp_path / "dnc.csv"
    path.write_text("First Name,Phone,Cell\nAnn,(202) 456-1111,\nBo,+44 20 7946 0958,\n"
                    "Cy,415-555-2671,202-456-1111\nDi,312-555-0188,\n")
    summary = _load(session, campaign, path)
    assert (summary["imported"], summary["rejected"]["dnc"]) == (2, 2)
    numbers = list_store.record_numbers(session, summary["list_id"])
    assert sorted(e164 for _, e164 in numbers) == ["+13125550188", "+14155552671"]


@pytest.mark.req("A19")
def test_expired_entries_do_not_block(session):
    campaign = _campaign(session)
    dnc_store.add(session, ["+12024561111"], campaign_id=None, source="manual", now=NOW,
                  expires_at=NOW - dt.timedelta(days=1))
    assert dnc_store.blocked_numbers(session, campaign.id, ["+12024561111"], NOW) == set()
    renewed = dnc_store.add(session, ["+12024561111"], campaign_id=None, source="again", now=NOW)
    assert renewed == ["+12024561111"]
    assert dnc_store.blocked_numbers(session, campaign.id, ["+12024561111"], NOW) == {
        "+12024561111"}


@pytest.mark.req("A19")
def test_listing_a_number_marks_records_with_no_other_dialable_number(session, csv_file):
    campaign = _campaign(session)
    _load(session, campaign, csv_file)
    added = dnc_store.add(session, ["+12024561111"], campaign_id=None, source="manual", now=NOW)
    assert dnc_store.mark_records(session, added, campaign_id=None, now=NOW) == 0  # alt number left
    added = dnc_store.add(session, ["+14155552671"], campaign_id=campaign.id, source="manual",
                          now=NOW)
    assert dnc_store.mark_records(session, added, campaign_id=campaign.id, now=NOW) == 1
    statuses = dict(session.execute(select(models.Record.first_name, models.Record.status)).all())
    assert statuses == {"Ann": RecordStatus.DNC, "Di": RecordStatus.NEW}
    removed = dnc_store.remove(session, ["+14155552671"], campaign_id=campaign.id)
    assert dnc_store.restore_records(session, removed, campaign_id=campaign.id, now=NOW) == 1


@pytest.mark.req("A19")
def test_campaign_entries_do_not_touch_other_campaigns(session, csv_file):
    first, second = _campaign(session, "a"), _campaign(session, "b")
    _load(session, first, csv_file)
    _load(session, second, csv_file)
    for number in ("+12024561111", "+14155552671", "+442079460958"):
        dnc_store.add(session, [number], campaign_id=first.id, source="manual", now=NOW)
        dnc_store.mark_records(session, [number], campaign_id=first.id, now=NOW)
    counts = dict(session.execute(select(models.Record.campaign_id, func.count())
                                  .where(models.Record.status == RecordStatus.DNC)
                                  .group_by(models.Record.campaign_id)).all())
    assert counts == {first.id: 2}


@pytest.mark.req("A19")
def test_registry_scrub_is_recorded(session):
    dnc_store.record_scrub(session, "us-national", 120, NOW)
    scrub = dnc_store.latest_scrub(session, "us-national")
    assert (scrub.source, scrub.numbers, scrub.imported_at) == ("us-national", 120, NOW)


@pytest.mark.req("A18")
def test_batches_across_the_file_find_earlier_batches_duplicates(session, tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w") as handle:
        handle.write("phone\n")
        for i in range(1200):
            handle.write(f"(202) 456-{i % 1000:04d}\n")
    summary = _load(session, _campaign(session), path, batch_size=100)
    assert (summary["imported"], summary["rejected"]["duplicate"]) == (1000, 200)


@pytest.mark.req("A16", "A18")
@pytest.mark.parametrize("rows", [3000, 300])
def test_worker_processes_load_the_same_as_one_process(sqlite_url, tmp_path, rows):
    # 3000 rows: 13 chunks over 2 workers; 300 rows: 2 chunks, fewer than workers.
    path = tmp_path / "w.csv"
    with path.open("w") as handle:
        handle.write("Phone;Alt;Name\n")
        for i in range(rows):
            handle.write(f"(415) 555-{i % (rows * 29 // 30):04d};"
                         f"+1 202 456 {i % (rows // 4):04d};N{i}\n")
            if i % 97 == 0:
                handle.write("bad\n")
    engine = db.make_engine(sqlite_url)
    factory = db.make_sessionmaker(engine)
    results = []
    for workers in (0, 2, 3):
        with factory() as session:
            summary = _load(session, _campaign(session), path, workers=workers, batch_size=250)
            results.append((summary["rows"], summary["imported"], summary["rejected"],
                            list_store.record_numbers(session, summary["list_id"]),
                            Path(summary["reject_file"]).read_text()))
            session.rollback()
    engine.dispose()
    assert results[0][2]["duplicate"] and results[0][2]["malformed_row"]
    assert results[1] == results[0] and results[2] == results[0]


@pytest.mark.req("A17")
def test_a_failed_load_stops_its_worker_processes(sqlite_url, tmp_path, monkeypatch):
    path = tmp_path / "w.csv"
    path.write_text("Phone\n" + "".join(f"(415) 555-{i:04d}\n" for i in range(2000)))
    started: list[lists.Worker] = []
    original = lists.Worker.__init__

    def tracked(self, *args, **kwargs):
        original(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(lists.Worker, "__init__", tracked)
    calls = iter(range(100))

    def failing_insert(self, records, phones):
        if next(calls) == 2:
            raise RuntimeError("disk full")
        return len(records)

    monkeypatch.setattr(list_store.RecordWriter, "insert", failing_insert)
    engine = db.make_engine(sqlite_url)
    with db.make_sessionmaker(engine)() as session, pytest.raises(RuntimeError, match="disk full"):
        _load(session, _campaign(session), path, workers=2, batch_size=100)
    engine.dispose()
    assert len(started) == 2
    assert all(worker.process.poll() is not None for worker in started)
    assert not (tmp_path / "w.csv.rejects.csv").exists()


@pytest.mark.req("A20")
def test_a_load_without_foreign_key_checks_gives_every_connection_its_checks_back(engine,
                                                                                  csv_file):
    """The load's transaction may skip SQLite's checks; the pool restores them after it."""
    factory = db.make_sessionmaker(engine)
    with db.unit_of_work(factory) as session:
        suspended = list_store.suspend_foreign_keys(session)
        summary = _load(session, _campaign(session), csv_file)
        # Inside a transaction the pragma is ignored: nothing changes, nothing is claimed.
        assert list_store.suspend_foreign_keys(session) is False
    assert suspended is (engine.dialect.name == "sqlite")
    assert summary["imported"] == 2
    for _ in range(2):  # whichever pooled connection comes next
        with factory() as session:
            session.add(models.PhoneNumber(record_id=10**9, campaign_id=10**9, e164="+12025550100",
                                           raw="", kind="primary", position=0, line_type="",
                                           region="US", zones=[], is_valid=True, created_at=NOW))
            with pytest.raises(Exception, match="(?i)foreign key"):
                session.flush()
            session.rollback()


@pytest.mark.req("A20")
@pytest.mark.parametrize("rows", [list_store.ROWS_PER_INSERT - 1, 2 * list_store.ROWS_PER_INSERT + 37])
def test_multi_row_inserts_keep_every_record_with_its_own_numbers(session, tmp_path, rows):
    """Groups of rows per statement and the leftover rows land alike: ids, fields, numbers."""
    path = tmp_path / "many.csv"
    path.write_text("First Name,Phone,Cell,Tier\n" + "".join(
        f"N{i},+1202555{i:04d},+1415555{i:04d},t{i}\n" for i in range(rows)))
    campaign = _campaign(session)
    assert _load(session, campaign, path, batch_size=1000)["imported"] == rows
    records = session.scalars(select(models.Record).order_by(models.Record.id)).all()
    assert [(r.first_name, r.source_row, r.custom_fields) for r in records] == [
        (f"N{i}", i + 1, {"Tier": f"t{i}"}) for i in range(rows)]
    pairs = session.execute(select(models.Record.first_name, models.PhoneNumber.e164,
                                   models.PhoneNumber.position)
                            .join(models.PhoneNumber, models.PhoneNumber.record_id == models.Record.id)
                            ).all()
    assert sorted(pairs) == sorted(
        [(f"N{i}", f"+1202555{i:04d}", 0) for i in range(rows)]
        + [(f"N{i}", f"+1415555{i:04d}", 1) for i in range(rows)])


@pytest.mark.req("A18", "A20")
def test_checks_wait_for_the_batch_being_written_before_they_query(session, tmp_path,
                                                                   monkeypatch):
    """Batches are written on the writer's thread; a slow write must not hide its numbers."""
    path = tmp_path / "slow.csv"
    # Each batch of 100 repeats half of the batch before it (the one being written).
    path.write_text("phone\n" + "".join(f"(202) 456-{i % 150:04d}\n" for i in range(900)))
    original = list_store.RecordWriter._write

    def slow_write(self, records, phones):
        time.sleep(0.05)  # widens the window in which a query could overtake the write
        original(self, records, phones)

    monkeypatch.setattr(list_store.RecordWriter, "_write", slow_write)
    summary = _load(session, _campaign(session), path, batch_size=100)
    assert (summary["imported"], summary["rejected"]["duplicate"]) == (150, 750)
    assert session.scalar(select(func.count()).select_from(models.PhoneNumber)) == 150


@pytest.mark.req("A17", "A20")
def test_an_error_on_the_writer_thread_fails_the_load_and_keeps_nothing(db_url, tmp_path,
                                                                       monkeypatch):
    path = tmp_path / "w.csv"
    path.write_text("Phone\n" + "".join(f"(415) 555-{i:04d}\n" for i in range(500)))
    original, calls = list_store.RecordWriter._write, iter(range(100))

    def failing_write(self, records, phones):
        if next(calls) == 2:
            raise RuntimeError("disk full")
        original(self, records, phones)

    monkeypatch.setattr(list_store.RecordWriter, "_write", failing_write)
    engine = db.make_engine(db_url)
    factory = db.make_sessionmaker(engine)
    with pytest.raises(RuntimeError, match="disk full"), db.unit_of_work(factory) as session:
        _load(session, _campaign(session), path, batch_size=100)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(models.Record)) == 0
        assert session.scalar(select(func.count()).select_from(models.Campaign)) == 0
    engine.dispose()
    assert not (tmp_path / "w.csv.rejects.csv").exists()
