"""Calling-list files: sniff, decode, recognise columns, stream rows, sort imports from rejects.

Pure: no SQL here (the store writes what this module decides).  A file is read
twice at most, block by block, never whole: once to settle its encoding (UTF-8
with or without BOM, else Latin-1) and refuse binary files, then row by row.

Columns are recognised by their header names (case, spaces, dashes and
underscores ignored), ``--map FIELD=COLUMN`` and a list's saved mapping
override that.  The mapping is JSON-able and saved on the list::

    {"phone": "Phone", "alt_phone": ["Cell", "Work"], "first_name": "First", ...}
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import os
import pickle
import re
import struct
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from campaigns import errors, phones
from campaigns.enums import PhoneKind, RejectReason

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

#: field -> header names (compared by :func:`header_key`).
ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "phonenumber", "phoneno", "phonenum", "telephone", "telephonenumber", "tel",
              "primaryphone", "phone1", "mainphone", "number", "contactnumber", "msisdn"),
    "alt_phone": ("altphone", "alternatephone", "alternativephone", "alternatenumber", "phone2",
                  "phone3", "phone4", "otherphone", "secondaryphone", "mobile", "mobilephone",
                  "mobilenumber", "cell", "cellphone", "cellular", "cellnumber", "workphone",
                  "businessphone", "homephone", "daytimephone", "eveningphone"),
    "first_name": ("firstname", "first", "fname", "givenname", "forename"),
    "last_name": ("lastname", "last", "lname", "surname", "familyname"),
    "name": ("name", "fullname", "customername", "contactname", "customer"),
    "email": ("email", "emailaddress", "mail"),
    "language": ("language", "lang", "preferredlanguage", "locale"),
    "state": ("state", "province", "stateprovince", "st", "stateorprovince"),
    "zip": ("zip", "zipcode", "postalcode", "postcode", "postal", "zip5"),
    "tz": ("timezone", "tz", "tzname"),
    "address": ("address", "address1", "street", "streetaddress"),
    "address2": ("address2",),
    "city": ("city", "town"),
    "country": ("country",),
    "company": ("company", "companyname", "organisation", "organization", "business"),
    "external_id": ("id", "customerid", "accountid", "account", "accountnumber", "externalid"),
}
FIELDS = tuple(ALIASES)
#: recognised fields kept in ``Record.fields`` (the others have their own columns).
EXTRA_FIELDS = ("address", "address2", "city", "country", "company", "external_id")
#: column lengths of the record (PostgreSQL refuses longer strings).
MAX_LENGTHS = {"first_name": 200, "last_name": 200, "email": 320, "language": 16, "state": 64,
               "zip": 16, "tz": 64, "raw": 64}
DELIMITERS = ",;\t|"
REASON_COLUMN = "reject_reason"
_BLOCK = 1 << 20
_SAMPLE = 64 * 1024


def header_key(name: str) -> str:
    """A header name reduced for comparison.

    >>> header_key(" Phone_Number ")
    'phonenumber'
    >>> header_key("E-mail")
    'email'
    """
    return re.sub(r"[^0-9a-z]", "", name.lower())


@dataclass(frozen=True)
class FileShape:
    """How a list file is written."""

    encoding: str
    delimiter: str
    header: tuple[str, ...]


def sniff(path: str | os.PathLike[str]) -> FileShape:
    """Settle the encoding, the delimiter and the header of a list file.

    Raises
    ------
    campaigns.errors.ListFileError
        When the file is missing, unreadable, binary or empty.
    """
    path = Path(path)
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(_SAMPLE)
        if len(sample) == _SAMPLE and "\n" in sample:
            sample = sample[:sample.rindex("\n") + 1]
    delimiter = _delimiter(sample)
    header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), None)
    if not header or not any(cell.strip() for cell in header):
        raise errors.ListFileError(f"{path}: no header row", fields={"file": "empty"})
    return FileShape(encoding, delimiter, tuple(cell.strip() for cell in header))


def detect_encoding(path: str | os.PathLike[str]) -> str:
    """UTF-8 (``utf-8-sig`` with a BOM) when the whole file decodes so, else Latin-1.

    Raises
    ------
    campaigns.errors.ListFileError
        When the file is missing, unreadable, empty or binary.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise errors.ListFileError(f"{path}: no such file", fields={"file": "not found"}) from exc
    except OSError as exc:
        raise errors.ListFileError(f"{path}: {exc.strerror}", fields={"file": "unreadable"}) from exc
    with handle:
        first = handle.read(_BLOCK)
        if not first.strip():
            raise errors.ListFileError(f"{path}: the file is empty", fields={"file": "empty"})
        if b"\0" in first:
            raise errors.ListFileError(f"{path}: a binary file, not CSV", fields={"file": "binary"})
        decoder = codecs.getincrementaldecoder("utf-8")()
        block = first
        try:
            while block:
                decoder.decode(block)
                block = handle.read(_BLOCK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8-sig" if first.startswith(codecs.BOM_UTF8) else "utf-8"


def _delimiter(sample: str) -> str:
    """The delimiter that splits the sample's rows into the most consistent columns.

    >>> _delimiter('a;b;c\\n1;"2;x";3\\n')
    ';'
    >>> _delimiter("phone\\n212-555-1234\\n")
    ','
    """
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [row for _, row in zip(range(50), csv.reader(io.StringIO(sample),
                                                                delimiter=delimiter)) if row]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        score = (sum(len(row) == len(rows[0]) for row in rows), len(rows[0]))
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --------------------------------------------------------------------------- mapping

def parse_map_options(options: Iterable[str]) -> dict[str, list[str]]:
    """``["phone=Cell", "alt_phone=Work"]`` -> ``{"phone": ["Cell"], "alt_phone": ["Work"]}``.

    Raises
    ------
    campaigns.errors.InvalidInput
        When an option is not ``FIELD=COLUMN`` or names an unknown field.

    >>> parse_map_options(["phone=Tel 1", "alt_phone=Cell", "alt_phone=Work"])
    {'phone': ['Tel 1'], 'alt_phone': ['Cell', 'Work']}
    """
    found: dict[str, list[str]] = {}
    for option in options:
        field, sep, column = option.partition("=")
        field = field.strip().lower().replace("-", "_")
        if not sep or not column.strip():
            raise errors.InvalidInput(f"--map {option!r}: expected FIELD=COLUMN",
                                      fields={"map": option})
        if field not in ALIASES:
            raise errors.InvalidInput(f"--map {option!r}: unknown field {field!r} "
                                      f"(known: {', '.join(FIELDS)})", fields={"map": option})
        if field != "alt_phone" and field in found:
            raise errors.InvalidInput(f"--map: {field} is mapped twice", fields={"map": option})
        found.setdefault(field, []).append(column.strip())
    return found


def recognise(header: Iterable[str]) -> dict[str, list[str]]:
    """Fields recognised by header name; the first phone-like column is the primary.

    >>> recognise(["First Name", "Cell", "PHONE", "Zip Code", "Favourite colour"])
    {'first_name': ['First Name'], 'alt_phone': ['Cell'], 'phone': ['PHONE'], 'zip': ['Zip Code']}
    """
    by_key = {alias: field for field, aliases in ALIASES.items() for alias in aliases}
    found: dict[str, list[str]] = {}
    for column in header:
        field = by_key.get(header_key(column))
        if field is None or (field != "alt_phone" and field in found):
            continue
        found.setdefault(field, []).append(column)
    if "phone" not in found and found.get("alt_phone"):
        found["phone"] = [found["alt_phone"].pop(0)]
        if not found["alt_phone"]:
            del found["alt_phone"]
    return found


def resolve_mapping(header: tuple[str, ...], overrides: dict[str, list[str]] | None = None,
                    saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """The mapping of a load: recognised names, then the saved mapping, then ``--map``.

    A saved column the file lacks is ignored; an explicit one is an error.

    Raises
    ------
    campaigns.errors.ListFileError
        When a mapped column is not in the header, or no column holds phone numbers.
    """
    mapping = recognise(header)
    layers = [(_as_lists(saved or {}), False), (overrides or {}, True)]
    for layer, is_explicit in layers:
        for field, columns in layer.items():
            if field not in ALIASES:
                continue
            missing = [c for c in columns if c not in header]
            if missing and is_explicit:
                raise errors.ListFileError(f"--map {field}={missing[0]}: no such column in the "
                                           f"header", fields={"map": missing[0]})
            columns = [c for c in columns if c in header]
            if not columns:
                continue
            for other in mapping.values():
                other[:] = [c for c in other if c not in columns]
            mapping[field] = list(columns)
    mapping = {field: cols for field, cols in mapping.items() if cols}
    if "phone" not in mapping:
        raise errors.ListFileError("no phone column (name one with --map phone=COLUMN)",
                                   fields={"phone": "no column"})
    return {field: cols if field == "alt_phone" else cols[0] for field, cols in mapping.items()}


def _as_lists(mapping: dict[str, Any]) -> dict[str, list[str]]:
    return {field: [value] if isinstance(value, str) else list(value)
            for field, value in mapping.items()}


# --------------------------------------------------------------------------- rows

class Phone(NamedTuple):
    """One phone value of a row."""

    raw: str
    #: a :class:`PhoneKind` value (a plain string: it pickles faster than the enum).
    kind: str
    #: 0 for the primary, then 1, 2... in the order of the mapping.
    position: int
    #: None when phonenumbers cannot read it at all.
    number: phones.Number | None

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple.__new__, (type(self), tuple(self))  # cheap unpickling, see phones.Number


_PRIMARY, _ALTERNATE = PhoneKind.PRIMARY.value, PhoneKind.ALTERNATE.value
_encode = json.encoder.encode_basestring  # the C encoder json.dumps uses for strings


def json_object(pairs: Iterable[tuple[str, str]]) -> str:
    r"""A JSON object of string pairs, as ``json.dumps(dict(pairs), ensure_ascii=False)``.

    >>> json_object([("city", 'Saint "Paul"'), ("zip", "55101")])
    '{"city": "Saint \\"Paul\\"", "zip": "55101"}'
    """
    return "{" + ", ".join(f"{_encode(key)}: {_encode(value)}" for key, value in pairs) + "}"


class ParsedRow(NamedTuple):
    """A data row read through the mapping (NamedTuple: it crosses process boundaries)."""

    first_name: str
    last_name: str
    email: str
    language: str
    raw_state: str
    raw_zip: str
    raw_tz: str
    #: ``Record.fields`` and ``Record.custom_fields`` as JSON text.
    fields_json: str
    custom_json: str
    phones: tuple[Phone, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple.__new__, (type(self), tuple(self))  # cheap unpickling, see phones.Number


class RowParser:
    """Turns the fields of one data row into a :class:`ParsedRow` (None: malformed).

    Parameters
    ----------
    header:
        The header row.
    mapping:
        As returned by :func:`resolve_mapping`.
    default_region:
        The region of numbers written without a country code.
    """

    def __init__(self, header: tuple[str, ...], mapping: dict[str, Any],
                 default_region: str, *, plain: bool = False) -> None:
        index = {column: i for i, column in reversed(list(enumerate(header)))}
        self.width = len(header)
        #: give rows as nested plain tuples (see :func:`plain`), not ParsedRow objects.
        self.plain = plain
        self.normalise = phones.Normaliser(default_region)
        single = {f: index[c] for f, c in mapping.items() if f != "alt_phone"}
        self._phone_columns = [index[mapping["phone"]]] + [index[c] for c in
                                                           mapping.get("alt_phone", [])]
        # A missing field reads the extra empty cell appended past the row's end.
        missing = self.width
        self._name = single.get("name")
        self._values = [(single.get(f, missing), MAX_LENGTHS[f])
                        for f in ("first_name", "last_name", "email", "language", "state",
                                  "zip", "tz")]
        self._extra = [(_encode(f) + ": ", single[f]) for f in EXTRA_FIELDS if f in single]
        used = set(single.values()) | set(self._phone_columns)
        self._custom = [(_encode(column) + ": ", i) for i, column in enumerate(header)
                        if i not in used]
        #: ``(column, kind, position)`` of each phone column, the primary first.
        self.kinds = [(i, _PRIMARY if position == 0 else _ALTERNATE, position)
                      for position, i in enumerate(self._phone_columns)]

    def __call__(self, row: list[str]) -> ParsedRow | None:
        if len(row) != self.width:
            return None
        normalise = self.normalise
        limit = MAX_LENGTHS["raw"]
        found = []
        if self.plain:
            for i, kind, position in self.kinds:
                raw = row[i].strip()
                if raw:
                    number = normalise(raw)
                    found.append((raw[:limit], kind, position,
                                  None if number is None else tuple(number)))
        else:
            for i, kind, position in self.kinds:
                raw = row[i].strip()
                if raw:
                    found.append(Phone(raw[:limit], kind, position, normalise(raw)))
        values = (*self.record(row), tuple(found))
        return values if self.plain else ParsedRow._make(values)  # type: ignore[return-value]

    def record(self, row: list[str]) -> tuple[str, ...]:
        """The first nine values of a well-formed row's :class:`ParsedRow` (all but the phones)."""
        cells = [*row, ""]
        first, last, email, language, state, zip_, tz = [cells[i].strip()[:limit]
                                                          for i, limit in self._values]
        if not first and not last and self._name is not None:
            first, _, last = row[self._name].strip().rpartition(" ")
            first, last = (first or last)[:200], (last if first else "")[:200]
        # JSON text as json_object() writes it, keys encoded once.
        extra = [key + _encode(value) for key, i in self._extra if (value := row[i].strip())]
        custom = [key + _encode(value) for key, i in self._custom if (value := row[i]) != ""]
        return (first, last, email, language, state, zip_, tz,
                "{" + ", ".join(extra) + "}" if extra else "{}",
                "{" + ", ".join(custom) + "}" if custom else "{}")


def read_rows(path: str | os.PathLike[str], shape: FileShape) -> Iterator[list[str]]:
    """The data rows of a file, after its header, one at a time; blank lines are skipped.

    A row the csv module cannot read (an unterminated quote, a huge field) comes
    out as an empty list, which :class:`RowParser` rejects as malformed.
    """
    with open(path, encoding=shape.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=shape.delimiter)
        next(reader, None)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error:
                yield []
                continue
            if row and (len(row) > 1 or row[0].strip()):
                yield row


class Worker:
    """A parsing process: ``python -m MODULE``, frames (``codec``) over its stdin and stdout.

    Started afresh rather than with multiprocessing: a forked worker would be
    charged a copy of everything the loading process holds, and a spawned one
    re-imports the caller's ``__main__`` (the whole command line); this one
    imports the parser alone.
    """

    def __init__(self, setup: tuple[Any, ...], module: str, codec: Any = pickle) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", module],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdin is not None and self.process.stdout is not None
        for pipe in (self.process.stdin, self.process.stdout):
            _widen(pipe)
        #: how frames are serialised (``pickle``, or ``marshal`` for plain values).
        self.codec = codec
        self.send(setup)

    def send(self, value: Any) -> None:
        assert self.process.stdin is not None
        write_frame(self.process.stdin, value, self.codec)

    def receive(self) -> Any:
        assert self.process.stdout is not None
        try:
            return read_frame(self.process.stdout, self.codec)
        except EOFError:
            raise errors.CampaignError("a list-parsing worker process stopped "
                                       f"(exit {self.process.wait()})") from None

    def close(self) -> None:
        """Close both pipes (a worker waiting on either then stops) and reap the process."""
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_FRAME = struct.Struct("<Q")
#: pipe capacity asked for (Linux caps it at /proc/sys/fs/pipe-max-size, 1 MiB by default).
_PIPE_BYTES = 1 << 20


def _widen(pipe: BinaryIO) -> None:
    """A larger pipe buffer: a whole chunk fits, so neither side waits for the other's pickling."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), set_size, _PIPE_BYTES)


def write_frame(stream: BinaryIO, value: Any, codec: Any = pickle) -> None:
    """Serialise ``value`` whole (``codec.dumps``), then write it in one go behind its length.

    ``marshal`` serves plain values (str, int, bool, None, tuples, lists, dicts)
    between processes of the same interpreter, at twice pickle's speed.
    """
    data = codec.dumps(value)
    stream.write(_FRAME.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: BinaryIO, codec: Any = pickle) -> Any:
    """Read one frame whole, then ``codec.loads`` it; EOFError at the end of the stream."""
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        raise EOFError
    (size,) = _FRAME.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return codec.loads(data)


def plain(row: ParsedRow | None) -> tuple[Any, ...] | None:
    """``row`` as nested plain tuples, same items and order (they pickle several times faster).

    The load reads rows and phones by index, so either form serves.
    """
    if row is None:
        return None
    return (*row[:9], tuple([(p[0], p[1], p[2], None if p[3] is None else tuple(p[3]))
                             for p in row[9]]))


def chunked(rows: Iterator[list[str]], size: int) -> Iterator[list[list[str]]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


# --------------------------------------------------------------------------- decisions

class Decision(NamedTuple):
    """What becomes of one row: imported with ``numbers``, or rejected for ``reason``."""

    reason: RejectReason | None
    numbers: tuple[Phone, ...]


def decide(row: ParsedRow | None, known: set[str], dnc: set[str]) -> Decision:
    """Import or reject one row; ``known`` (numbers in the campaign) grows with its numbers.

    Parameters
    ----------
    row:
        The parsed row, None when malformed.
    known:
        E.164 numbers already in the campaign, including earlier rows of this load.
    dnc:
        E.164 numbers on a do-not-call list that applies to the campaign.

    >>> n = phones.Number("+12025550100", True, "fixed_line_or_mobile", "US", ())
    >>> row = ParsedRow("", "", "", "", "", "", "", "{}", "{}",
    ...                 (Phone("202-555-0100", PhoneKind.PRIMARY, 0, n),))
    >>> known = set()
    >>> decide(row, known, set()).reason is None, decide(row, known, set()).reason.value
    (True, 'duplicate')
    """
    if row is None:
        return Decision(RejectReason.MALFORMED_ROW, ())
    # Rows and phones are read by index: they may come as plain tuples (see `plain`).
    kept: list[Phone] = []
    has_valid = has_known = False
    seen: set[str] = set()
    for phone in row[9]:
        number = phone[3]
        if number is None or not number[1]:
            continue
        e164 = number[0]
        if e164 in seen:
            continue
        has_valid = True
        seen.add(e164)
        if e164 in known:
            has_known = True
        elif e164 not in dnc:
            kept.append(phone)
    if kept:
        known.update([p[3][0] for p in kept])
        return Decision(None, tuple(kept))
    if not has_valid:
        return Decision(RejectReason.NO_VALID_NUMBER, ())
    return Decision(RejectReason.DUPLICATE if has_known else RejectReason.DNC, ())


class NumberFilter:
    """A one-hash Bloom filter of E.164 numbers: "surely absent" or "maybe present".

    It lets a load ask the database only about numbers it may hold already.
    ``hash()`` of a string is stable within a process, which is all it needs.

    Parameters
    ----------
    bits:
        Size of the bit array, rounded up to a power of two (16 MiB at most);
        false positives run at about ``numbers / bits``.

    >>> f = NumberFilter(1 << 16)
    >>> f.add("+12025550100"); "+12025550100" in f
    True
    """

    def __init__(self, bits: int) -> None:
        size = 1 << max(16, min(27, (bits - 1).bit_length()))
        self._mask = size - 1
        self._bits = bytearray(size >> 3)

    def add(self, e164: str) -> None:
        slot = hash(e164) & self._mask
        self._bits[slot >> 3] |= 1 << (slot & 7)

    def update(self, numbers: Iterable[str]) -> None:
        mask, bits = self._mask, self._bits
        for e164 in numbers:
            slot = hash(e164) & mask
            bits[slot >> 3] |= 1 << (slot & 7)

    def maybe(self, numbers: Iterable[str]) -> list[str]:
        """Those of ``numbers`` that may be present (``[n for n in numbers if n in self]``)."""
        mask, bits = self._mask, self._bits
        return [e164 for e164 in numbers
                if bits[(slot := hash(e164) & mask) >> 3] & (1 << (slot & 7))]

    def __contains__(self, e164: str) -> bool:
        slot = hash(e164) & self._mask
        return bool(self._bits[slot >> 3] & (1 << (slot & 7)))


def valid_numbers(rows: Iterable[ParsedRow | None]) -> set[str]:
    """The valid E.164 numbers of a batch of rows (to ask the store which are known)."""
    return {p[3][0] for row in rows if row is not None for p in row[9]
            if p[3] is not None and p[3][1]}


def default_reject_path(path: str | os.PathLike[str]) -> Path:
    """Where rejected rows go unless told: beside the input.

    >>> str(default_reject_path("/data/march.csv"))
    '/data/march.csv.rejects.csv'
    """
    path = Path(path)
    return path.with_name(path.name + ".rejects.csv")


class RejectWriter:
    """Writes rejected rows as they came, with a ``reject_reason`` column, in the input's shape."""

    def __init__(self, path: str | os.PathLike[str], shape: FileShape) -> None:
        self.path = Path(path)
        self._handle = self.path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle, delimiter=shape.delimiter)
        self._writer.writerow([*shape.header, REASON_COLUMN])

    def write(self, row: list[str], reason: RejectReason) -> None:
        self._writer.writerow([*row, reason.value])

    def close(self) -> None:
        self._handle.close()
