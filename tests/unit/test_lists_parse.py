"""List files: encodings, delimiters, quoting, column recognition, mappings, row decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaigns import errors, lists, models, phones
from campaigns.enums import PhoneKind, RejectReason


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _rows(path: Path) -> tuple[lists.FileShape, list[list[str]]]:
    shape = lists.sniff(path)
    return shape, list(lists.read_rows(path, shape))


@pytest.mark.req("A14")
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    text = delimiter.join(["Name", "Phone", "State"]) + "\n" + delimiter.join(
        ["Ann Lee", "(202) 456-1111", "DC"]) + "\n"
    shape, rows = _rows(_write(tmp_path / "l.csv", text))
    assert shape.delimiter == delimiter
    assert rows == [["Ann Lee", "(202) 456-1111", "DC"]]


@pytest.mark.req("A14")
def test_utf8_bom_is_removed_from_the_header(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"\xef\xbb\xbfPhone,First Name\n2024561111,Z\xc3\xa9lie\n")
    shape, rows = _rows(path)
    assert shape.encoding == "utf-8-sig" and shape.header == ("Phone", "First Name")
    assert rows == [["2024561111", "Zélie"]]


@pytest.mark.req("A14")
def test_latin1_file_is_decoded(tmp_path):
    path = _write(tmp_path / "l.csv", "Phone;Nom\n2024561111;Hélène Müller\n", "latin-1")
    shape, rows = _rows(path)
    assert shape.encoding == "latin-1"
    assert rows == [["2024561111", "Hélène Müller"]]


@pytest.mark.req("A14")
def test_latin1_byte_after_the_sample_still_selects_latin1(tmp_path):
    body = "Phone,Name\n" + "2024561111,Ann\n" * 80_000 + "2024561112,Ren\xe9e\n"
    shape, rows = _rows(_write(tmp_path / "l.csv", body, "latin-1"))
    assert shape.encoding == "latin-1" and rows[-1] == ["2024561112", "Renée"]


@pytest.mark.req("A14")
def test_quoted_fields_keep_delimiters_and_newlines(tmp_path):
    text = 'phone,notes,city\n"202-456-1111","likes, commas\nand lines",Washington\n'
    _, rows = _rows(_write(tmp_path / "l.csv", text))
    assert rows == [["202-456-1111", "likes, commas\nand lines", "Washington"]]


@pytest.mark.req("A14")
def test_blank_lines_are_not_rows(tmp_path):
    _, rows = _rows(_write(tmp_path / "l.csv", "phone\n\n2024561111\n\n"))
    assert rows == [["2024561111"]]


@pytest.mark.req("A17")
@pytest.mark.parametrize("content, slug", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"", "empty"),
    (b"   \n\n", "empty"),
])
def test_unusable_files_are_refused(tmp_path, content, slug):
    path = tmp_path / "l.csv"
    path.write_bytes(content)
    with pytest.raises(errors.ListFileError) as caught:
        lists.sniff(path)
    assert caught.value.fields == {"file": slug}


@pytest.mark.req("A17")
def test_missing_file_is_refused(tmp_path):
    with pytest.raises(errors.ListFileError, match="no such file"):
        lists.sniff(tmp_path / "nope.csv")


@pytest.mark.req("A14")
@pytest.mark.parametrize("header, field", [
    ("Phone", "phone"), ("phone_number", "phone"), ("TELEPHONE", "phone"), ("Tel", "phone"),
    ("Mobile", "phone"), ("cell", "phone"), ("Alt Phone", "phone"), ("First Name", "first_name"),
    ("first_name", "first_name"), ("LastName", "last_name"), ("Surname", "last_name"),
    ("Name", "name"), ("State", "state"), ("Province", "state"), ("ZIP", "zip"),
    ("Postal Code", "zip"), ("Time Zone", "tz"), ("E-mail", "email"), ("Language", "language"),
    ("City", "city"), ("Company", "company"),
])
def test_columns_are_recognised_by_common_names(header, field):
    header_row = (header,) if field == "phone" else ("Phone", header)
    mapping = lists.resolve_mapping(header_row)
    assert mapping[field] == header


@pytest.mark.req("A14")
def test_several_phone_columns_make_a_primary_and_alternates():
    mapping = lists.resolve_mapping(("Cell", "Name", "Phone", "Work Phone", "Phone 2"))
    assert mapping["phone"] == "Phone"
    assert mapping["alt_phone"] == ["Cell", "Work Phone", "Phone 2"]


@pytest.mark.req("A14")
def test_map_overrides_recognition():
    header = ("Phone", "Contact", "Given", "Mobile")
    overrides = lists.parse_map_options(["phone=Contact", "first_name=Given", "alt_phone=Phone"])
    mapping = lists.resolve_mapping(header, overrides)
    assert mapping == {"phone": "Contact", "first_name": "Given", "alt_phone": ["Phone"]}


@pytest.mark.req("A11", "A14")
def test_saved_mapping_applies_and_map_wins_over_it():
    header = ("Tel A", "Tel B", "Who")
    saved = {"phone": "Tel A", "alt_phone": ["Tel B"], "first_name": "Who"}
    assert lists.resolve_mapping(header, None, saved) == saved
    mapping = lists.resolve_mapping(header, {"phone": ["Tel B"]}, saved)
    assert mapping["phone"] == "Tel B" and "alt_phone" not in mapping


@pytest.mark.req("A17")
def test_no_phone_column_is_refused():
    with pytest.raises(errors.ListFileError, match="no phone column"):
        lists.resolve_mapping(("Name", "City"))


@pytest.mark.req("A14")
def test_map_naming_a_missing_column_is_refused():
    with pytest.raises(errors.ListFileError, match="no such column"):
        lists.resolve_mapping(("Phone",), {"first_name": ["Given"]})


@pytest.mark.parametrize("option", ["phone", "colour=Red", "phone="])
def test_bad_map_options_are_refused(option):
    with pytest.raises(errors.InvalidInput):
        lists.parse_map_options([option])


@pytest.mark.req("A14")
def test_row_parser_splits_fields_and_keeps_raw_location():
    header = ("Name", "Phone", "Cell", "State", "ZIP", "Time Zone", "City", "Account Tier")
    parser = lists.RowParser(header, lists.resolve_mapping(header), "US")
    row = parser(["Mary Ann Smith", "(202) 456-1111", "", "dc", "20500-0003", "EST",
                  "Washington", "gold"])
    assert (row.first_name, row.last_name) == ("Mary Ann", "Smith")
    assert (row.raw_state, row.raw_zip, row.raw_tz) == ("dc", "20500-0003", "EST")
    assert json.loads(row.fields_json) == {"city": "Washington"}
    assert json.loads(row.custom_json) == {"Account Tier": "gold"}
    assert [(p.raw, p.kind, p.position) for p in row.phones] == [
        ("(202) 456-1111", PhoneKind.PRIMARY, 0)]
    assert row.phones[0].number.e164 == "+12024561111"


@pytest.mark.req("A16")
@pytest.mark.parametrize("fields", [["2024561111"], ["2024561111", "a", "b"], []])
def test_rows_with_the_wrong_field_count_are_malformed(fields):
    parser = lists.RowParser(("Phone", "Name"), {"phone": "Phone"}, "US")
    assert parser(fields) is None
    assert lists.decide(None, set(), set()).reason is RejectReason.MALFORMED_ROW


def test_lengths_match_the_record_columns():
    columns = models.Record.__table__.c
    for field, column in [("first_name", "first_name"), ("last_name", "last_name"),
                          ("email", "email"), ("language", "language"), ("state", "raw_state"),
                          ("zip", "raw_zip"), ("tz", "raw_tz")]:
        assert lists.MAX_LENGTHS[field] == columns[column].type.length
    assert lists.MAX_LENGTHS["raw"] == models.PhoneNumber.__table__.c.raw.type.length


def _row(*raws: str) -> lists.ParsedRow:
    found = tuple(lists.Phone(raw, PhoneKind.PRIMARY if i == 0 else PhoneKind.ALTERNATE, i,
                              phones.normalise(raw, "US")) for i, raw in enumerate(raws))
    return lists.ParsedRow("", "", "", "", "", "", "", "{}", "{}", found)


@pytest.mark.req("A16")
@pytest.mark.parametrize("raws, known, dnc, reason, kept", [
    (("2024561111",), set(), set(), None, ["+12024561111"]),
    (("2024561111", "4155552671"), {"+12024561111"}, set(), None, ["+14155552671"]),
    (("2024561111", "4155552671"), set(), {"+14155552671"}, None, ["+12024561111"]),
    (("2024561111", "2024561111"), set(), set(), None, ["+12024561111"]),
    (("12", "2121550100"), set(), set(), RejectReason.NO_VALID_NUMBER, []),
    ((), set(), set(), RejectReason.NO_VALID_NUMBER, []),
    (("2024561111",), {"+12024561111"}, set(), RejectReason.DUPLICATE, []),
    (("2024561111",), set(), {"+12024561111"}, RejectReason.DNC, []),
    (("2024561111", "4155552671"), {"+12024561111"}, {"+14155552671"}, RejectReason.DUPLICATE, []),
])
def test_decide_imports_rows_with_a_new_dialable_number(raws, known, dnc, reason, kept):
    decision = lists.decide(_row(*raws), set(known), dnc)
    assert decision.reason is reason
    assert [p.number.e164 for p in decision.numbers] == kept


@pytest.mark.req("A16")
def test_decide_catches_duplicates_inside_one_batch():
    known: set[str] = set()
    first = lists.decide(_row("2024561111"), known, set())
    second = lists.decide(_row("(202) 456-1111"), known, set())
    assert first.reason is None and second.reason is RejectReason.DUPLICATE


@pytest.mark.req("A16")
def test_reject_file_keeps_the_row_and_adds_the_reason(tmp_path):
    path = _write(tmp_path / "l.csv", "Phone;Name\n12;Bo\n")
    shape = lists.sniff(path)
    writer = lists.RejectWriter(lists.default_reject_path(path), shape)
    writer.write(["12", "Bo"], RejectReason.NO_VALID_NUMBER)
    writer.close()
    assert (tmp_path / "l.csv.rejects.csv").read_bytes().decode() == (
        "Phone;Name;reject_reason\r\n12;Bo;no_valid_number\r\n")


def test_parsed_rows_survive_pickling_between_processes():
    import pickle

    row = _row("2024561111", "+44 20 7946 0958")
    copy = pickle.loads(pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == row and type(copy) is lists.ParsedRow
    assert type(copy.phones[1]) is lists.Phone and type(copy.phones[1].number) is phones.Number
    assert copy.phones[1].number.region == "GB"
