"""Insert-ready batches of a list load: rows -> record and phone tuples, then the batch's decisions.

Pure: no SQL here.  Worker processes (``python -m campaigns.list_batches``),
which read the file themselves, or the loading process itself turn a chunk of
CSV rows into :class:`Built`: the record tuples and phone tuples exactly as the
store inserts them (keyed by the row's number in the file, from which the store
derives the record id), the valid numbers of every row, and the rows already rejected
(malformed, no valid number).  :func:`settle` then decides the rest of the
batch against the campaign's numbers, the do-not-call numbers and the erased
numbers (F4), touching only the rows that hold such a number: every other row
is imported whole.

The outcome is the same as :func:`campaigns.lists.decide` applied to each row
in file order (a number is kept by the first row that has it, unless the
campaign has it already, a DNC list holds it or it was erased), an erased
number being dropped as a DNC number is: the row keeps its other numbers, and
a row left with none is rejected as ``duplicate`` if one of its numbers was
known, else ``erased`` if one was erased, else ``dnc``.
"""

from __future__ import annotations

import bisect
import collections
import json
import marshal
import os
import sys
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple

from campaigns import lists
from campaigns.enums import RejectReason

_MALFORMED, _NO_VALID = RejectReason.MALFORMED_ROW, RejectReason.NO_VALID_NUMBER


class Setup(NamedTuple):
    """What every chunk of one load shares (sent once to each worker)."""

    header: tuple[str, ...]
    mapping: dict[str, Any]
    default_region: str


class Built(NamedTuple):
    """One chunk of rows, insert-ready (plain lists and tuples: it crosses processes)."""

    #: ``(row index in the chunk, reason)`` of rows rejected while parsing, in order.
    rejects: list[tuple[int, RejectReason]]
    #: row index in the chunk of each candidate row (one with a valid number), in order.
    rows: list[int]
    #: the record tuple of each candidate row (``RecordWriter.RECORD`` order, the
    #: ``source_row`` first: what differs between rows; the id, the list, the
    #: campaign and the instant are the writer's).
    records: list[tuple[Any, ...]]
    #: the phone tuples of the candidate rows, row by row (``RecordWriter.PHONE`` order,
    #: the ``source_row`` of their record first).
    phones: list[tuple[Any, ...]]
    #: for each phone tuple, the index of its candidate row in ``rows``.
    owners: list[int]


class ChunkBuilder:
    """Turns rows of the file into a :class:`Built` chunk.

    Parameters
    ----------
    setup:
        The load's shared values.
    """

    def __init__(self, setup: Setup) -> None:
        self.parse = lists.RowParser(setup.header, setup.mapping, setup.default_region, plain=True)
        self.setup = setup
        self._zones: dict[tuple[str, ...], str] = {}

    def __call__(self, first_row: int, rows: list[list[str]]) -> Built:
        """Build ``rows``, the first of which is data row ``first_row``.

        The same values as :class:`campaigns.lists.RowParser` gives, in one
        pass: the numbers first, so that a row without a valid one costs no more.
        """
        parser, zones = self.parse, self._zones
        width, kinds, normalise, record = parser.width, parser.kinds, parser.normalise, parser.record
        limit = lists.MAX_LENGTHS["raw"]
        built = Built([], [], [], [], [])
        rejects, candidates, records, phones, owners = built
        for index, row in enumerate(rows):
            if len(row) != width:
                rejects.append((index, _MALFORMED))
                continue
            source_row = first_row + index
            owner = len(candidates)
            seen: list[str] = []
            for column, kind, position in kinds:
                raw = row[column].strip()
                if not raw:
                    continue
                number = normalise(raw)
                if number is None or not number[1] or number[0] in seen:
                    continue
                e164 = number[0]
                seen.append(e164)
                zone_text = zones.get(number[4])
                if zone_text is None:
                    zone_text = zones[number[4]] = json.dumps(list(number[4]))
                phones.append((source_row, e164, raw[:limit], kind, position, number[2],
                               number[3], zone_text))
                owners.append(owner)
            if not seen:
                rejects.append((index, _NO_VALID))
                continue
            candidates.append(index)
            records.append((source_row, *record(row)))
        return built


class Settled(NamedTuple):
    """A batch decided: what to insert, what to reject."""

    records: list[tuple[Any, ...]]
    phones: list[tuple[Any, ...]]
    #: ``(row index in the chunk, reason)`` of every rejected row, in order.
    rejects: list[tuple[int, RejectReason]]
    #: the numbers the inserted records hold (the campaign knows them from now on).
    numbers: list[str]


def settle(built: Built, known: set[str], blocked: set[str],
           erased: AbstractSet[str] = frozenset()) -> Settled:
    """Decide a built chunk given the numbers the campaign has, the DNC and the erased numbers.

    Parameters
    ----------
    known:
        Those of the chunk's numbers that the campaign had before this chunk.
    blocked:
        Those of the chunk's numbers that a do-not-call list holds.
    erased:
        Those of the chunk's numbers that were erased on a person's request (F4).
    """
    numbers = [phone[1] for phone in built.phones]
    touched = known | blocked | erased if erased else known | blocked
    if len(set(numbers)) != len(numbers):
        touched |= {n for n, count in collections.Counter(numbers).items() if count > 1}
    if not touched:
        return Settled(built.records, built.phones, built.rejects, numbers)
    # Only rows holding a touched number can lose a number or be rejected; they
    # are decided one by one in file order, the others are imported whole.
    owners = built.owners
    flagged = sorted({built.owners[j] for j, n in enumerate(numbers) if n in touched})
    known = set(known)
    dropped_rows: dict[int, RejectReason] = {}
    dropped_phones: set[int] = set()
    for owner in flagged:
        # Phones are in row order: a row's phones are one run of `owners`.
        start, end = bisect.bisect_left(owners, owner), bisect.bisect_right(owners, owner)
        kept = has_known = has_erased = False
        for j in range(start, end):
            number = numbers[j]
            if number in known:
                has_known = True
            elif number in erased:
                has_erased = True
            elif number in blocked:
                pass
            else:
                kept = True
                continue
            dropped_phones.add(j)
        if kept:
            known.update(numbers[j] for j in range(start, end) if j not in dropped_phones)
        else:
            dropped_rows[owner] = (RejectReason.DUPLICATE if has_known else
                                   RejectReason.ERASED if has_erased else RejectReason.DNC)
    return _apply(built, numbers, dropped_rows, dropped_phones)


def _apply(built: Built, numbers: list[str], dropped_rows: dict[int, RejectReason],
           dropped_phones: set[int]) -> Settled:
    records = [r for k, r in enumerate(built.records) if k not in dropped_rows]
    keep = [j for j in range(len(numbers)) if j not in dropped_phones]
    rejects = built.rejects
    if dropped_rows:
        rejects = sorted(rejects + [(built.rows[k], reason) for k, reason in dropped_rows.items()])
    return Settled(records, [built.phones[j] for j in keep], rejects, [numbers[j] for j in keep])


class Chunk(NamedTuple):
    """Consecutive data rows, decided: how many, and what becomes of them."""

    #: the ``source_row`` of the first row (1 = first data row of the file).
    first_row: int
    count: int
    settled: Settled


#: decides a built chunk (the loader's checks against the database).
Settle = Callable[[Built], Settled]
#: writes one rejected row, as read, with its reason.
Reject = Callable[[list[str], RejectReason], None]


def settled_chunks(path: str | os.PathLike[str], shape: lists.FileShape, setup: Setup,
                   settle: Settle, reject: Reject, *, batch_size: int,
                   workers: int = 0) -> Iterator[Chunk]:
    """Read, build and settle ``path`` chunk by chunk, in order; rejected rows go to ``reject``.

    Each chunk is settled once the caller is done with the one before (the
    numbers it imported are in the database).  Rejected rows are written in
    file order.

    Parameters
    ----------
    workers:
        Processes that read and build the file (each its share of the chunks)
        while this one settles and writes; 0 does everything here.
    """
    if workers <= 0:
        build = ChunkBuilder(setup)
        first = 1
        for raw in lists.chunked(lists.read_rows(path, shape), batch_size):
            settled = settle(build(first, raw))
            for index, reason in settled.rejects:
                reject(raw[index], reason)
            yield Chunk(first, len(raw), settled)
            first += len(raw)
        return
    job = (tuple(setup), os.fspath(path), shape.encoding, shape.delimiter, batch_size)
    pool = [lists.Worker((*job, number, workers), module=__name__, codec=marshal)
            for number in range(workers)]
    try:
        yield from _from_workers(pool, settle, reject, batch_size)
    finally:
        for worker in pool:
            worker.close()


def _from_workers(pool: list[lists.Worker], settle: Settle, reject: Reject,
                  batch_size: int) -> Iterator[Chunk]:
    """Chunk ``i`` comes from worker ``i % len(pool)``, with the rejected rows of its chunk before.

    The loading process never reads the file: a worker keeps the rows of its
    last chunk and, with its next chunk, sends those that chunk rejected.
    """
    # reasons of the rejected rows of the chunks whose rows are still to come, in order
    waiting: collections.deque[list[RejectReason]] = collections.deque()
    index, finished = 0, 0
    while finished < len(pool):
        worker = pool[index % len(pool)]
        rows, built, count = worker.receive()
        if index >= len(pool):
            for row, reason in zip(rows, waiting.popleft(), strict=True):
                reject(row, reason)
        if built is None:
            finished += 1
        else:
            rejects, *rest = built
            settled = settle(Built([(row, RejectReason(reason)) for row, reason in rejects], *rest))
            worker.send([row for row, _ in settled.rejects])
            waiting.append([reason for _, reason in settled.rejects])
            yield Chunk(index * batch_size + 1, count, settled)
        index += 1


def serve(stdin: Any, stdout: Any) -> None:
    """The worker's loop (see :func:`_from_workers`).

    In: the job (setup, file, encoding, delimiter, chunk size, this worker's
    number, workers), then after each chunk sent the indexes of its rejected
    rows.  Out: ``(rejected rows of my previous chunk, built chunk, its row
    count)``, and at the end ``(rejected rows of my last chunk, None, 0)``.
    Frames are marshalled: plain values, the same interpreter at both ends.
    """
    setup, path, encoding, delimiter, size, number, workers = lists.read_frame(stdin, marshal)
    build = ChunkBuilder(Setup(*setup))
    shape = lists.FileShape(encoding, delimiter, tuple(setup[0]))
    chunks = lists.chunked(lists.read_rows(path, shape), size)
    last: list[list[str]] | None = None
    for index, raw in enumerate(chunks):
        if index % workers != number:
            continue
        rejects, *rest = build(index * size + 1, raw)
        # Plain values only (marshal): reasons as their text.
        built = ([(row, reason.value) for row, reason in rejects], *rest)
        lists.write_frame(stdout, (_asked(stdin, last), built, len(raw)), marshal)
        last = raw
    lists.write_frame(stdout, (_asked(stdin, last), None, 0), marshal)


def _asked(stdin: Any, rows: list[list[str]] | None) -> list[list[str]]:
    """The rows of ``rows`` the loading process asks for (none before the first chunk)."""
    return [] if rows is None else [rows[i] for i in lists.read_frame(stdin, marshal)]


if __name__ == "__main__":
    # Run as a worker: use the package's module so that what is pickled names it.
    from campaigns import list_batches as _module

    # A short-lived process building tuples that make no cycles: no collector.
    import gc

    gc.disable()
    try:
        _module.serve(sys.stdin.buffer, sys.stdout.buffer)
    except (BrokenPipeError, EOFError):
        sys.exit(1)  # the loading process stopped (it reports why)
