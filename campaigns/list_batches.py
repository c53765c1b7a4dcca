"""Insert-ready batches of a list load: rows -> record and phone tuples, then the batch's decisions.

Pure: no SQL here.  A parsing worker (``python -m campaigns.list_batches``) or
the loading process itself turns a chunk of CSV rows into :class:`Built`: the
record tuples and phone tuples exactly as the store inserts them (ids given by
the loader), the valid numbers of every row, and the rows already rejected
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
import os
import sys
from collections.abc import Callable, Iterator, Sequence
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
    #: the record tuple of each candidate row (``RecordWriter.RECORD`` order: what
    #: differs between rows; the list, the campaign and the instant are the writer's).
    records: list[tuple[Any, ...]]
    #: the phone tuples of the candidate rows, row by row (``RecordWriter.PHONE`` order).
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

    def __call__(self, ids: Sequence[int], first_row: int, rows: list[list[str]]) -> Built:
        """Build ``rows`` (the first is data row ``first_row``); ``ids[i]`` is row i's record id."""
        parse, zones = self.parse, self._zones
        built = Built([], [], [], [], [])
        rejects, candidates, records, phones, owners = built
        for index, row in enumerate(rows):
            parsed = parse(row)
            if parsed is None:
                rejects.append((index, _MALFORMED))
                continue
            record_id = ids[index]
            owner = len(candidates)
            seen: list[str] = []
            for raw, kind, position, number in parsed[9]:
                if number is None or not number[1] or number[0] in seen:
                    continue
                e164 = number[0]
                seen.append(e164)
                zone_text = zones.get(number[4])
                if zone_text is None:
                    zone_text = zones[number[4]] = json.dumps(list(number[4]))
                phones.append((record_id, e164, raw, kind, position, number[2], number[3],
                               zone_text))
                owners.append(owner)
            if not seen:
                rejects.append((index, _NO_VALID))
                continue
            candidates.append(index)
            records.append((record_id, first_row + index, *parsed[:9]))
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
    """Consecutive data rows: the first one's ``source_row``, the rows as read, built."""

    first_row: int
    raw: list[list[str]]
    built: Built


def built_chunks(path: str | os.PathLike[str], shape: lists.FileShape, setup: Setup,
                 reserve: Callable[[int], Sequence[int]], *, batch_size: int,
                 workers: int = 0) -> Iterator[Chunk]:
    """Read ``path`` in chunks and build them, in order, holding a few chunks at most.

    Parameters
    ----------
    reserve:
        Gives the record ids of a chunk's rows (one per row, rejected rows' ids unused).
    workers:
        Processes that build while this one goes on reading (and the caller
        writes); 0 builds here.
    """
    chunks = lists.chunked(lists.read_rows(path, shape), batch_size)
    first = 1
    if workers <= 0:
        build = ChunkBuilder(setup)
        for raw in chunks:
            yield Chunk(first, raw, build(reserve(len(raw)), first, raw))
            first += len(raw)
        return
    pool = [lists.Worker(tuple(setup), module=__name__) for _ in range(workers)]
    try:
        # One chunk in flight per worker: each builds its next chunk while the
        # caller writes the last one, and no pipe can fill up both ways at once.
        pending: collections.deque[tuple[int, list[list[str]], lists.Worker]] = \
            collections.deque()
        for raw in chunks:
            worker = pool[len(pending)] if len(pending) < workers else None
            if worker is None:
                start, done, worker = pending.popleft()
                yield Chunk(start, done, Built(*worker.receive()))
            worker.send((reserve(len(raw)), first, raw))
            pending.append((first, raw, worker))
            first += len(raw)
        while pending:
            start, done, worker = pending.popleft()
            yield Chunk(start, done, Built(*worker.receive()))
    finally:
        for worker in pool:
            worker.close()


def serve(stdin: Any, stdout: Any) -> None:
    """The worker's loop: a :class:`Setup`, then ``(ids, first_row, rows)`` in, Built out."""
    build = ChunkBuilder(Setup(*lists.read_frame(stdin)))
    while True:
        try:
            ids, first_row, rows = lists.read_frame(stdin)
        except EOFError:
            return
        lists.write_frame(stdout, tuple(build(ids, first_row, rows)))


if __name__ == "__main__":
    # Run as a worker: use the package's module so that what is pickled names it.
    from campaigns import list_batches as _module

    _module.serve(sys.stdin.buffer, sys.stdout.buffer)
