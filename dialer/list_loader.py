"""Load a calling-list file into a list: the unit of work behind ``dialer list load``.

Rows are read and built into insert-ready tuples in chunks (by worker processes
that read the file themselves for large files, see :mod:`campaigns.list_batches`),
each chunk is checked
against the campaign's numbers, the do-not-call lists and the numbers erased on
a person's request (F4: reject reason ``erased``), imported rows are
written with batched inserts and rejected rows go to the reject file with
their reason.  The caller owns the transaction: on error
nothing is kept.  The command line, the demo and (later) the web upload call it.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import gc
import logging
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy.orm import Session

from campaigns import errors, list_batches, lists, models
from campaigns.enums import RejectReason
from campaigns.store import dnc as dnc_store
from campaigns.store import lists as list_store
from campaigns.store import privacy

logger = logging.getLogger(__name__)

#: up to this many applicable DNC entries, a load holds their numbers (exact, no look-ups).
DNC_SET_MAX = 200_000
#: above this many applicable DNC entries, a load asks the database about every number.
DNC_FILTER_MAX = 5_000_000
#: the smallest DNC filter (bits).
DNC_FILTER_MIN_BITS = 1 << 23


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a command-line load runs (then as it was).

    A load allocates millions of tuples and strings that live until their batch
    is written; every few hundred allocations the collector walks them and the
    whole heap (about a tenth of the loading process's time at 1M rows).  The
    load makes no reference cycles worth collecting.  Only for a process of
    its own: a server keeps its collector.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


#: how often the interpreter hands the GIL over during a command-line load (seconds).
LOAD_SWITCH_INTERVAL_S = 0.001


@contextlib.contextmanager
def quick_thread_switches(interval_s: float = LOAD_SWITCH_INTERVAL_S) -> Iterator[None]:
    """The GIL handed over every ``interval_s`` while a command-line load runs (then as it was).

    The writer's thread gives the GIL up for each statement SQLite runs and
    needs it back after; while the loader's thread is busy in Python, it
    waits up to the switch interval (5 ms by default, several statements' worth)
    each time.  Only for a process of its own: a server keeps its interval.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(interval_s)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def load_file(session: Session, calling_list: models.CallingList, path: Path,
              shape: lists.FileShape, mapping: dict[str, Any], region: str, *,
              now: dt.datetime, reject_path: Path | None = None, batch_size: int = 5000,
              workers: int = 0, show_progress: bool = False) -> dict[str, Any]:
    """Stream ``path`` into ``calling_list``; returns the load's summary.

    Parameters
    ----------
    session:
        The load's unit of work (the caller commits; on error nothing is kept).
    shape, mapping:
        From :func:`campaigns.lists.sniff` and :func:`campaigns.lists.resolve_mapping`.
    region:
        Region of numbers written without a country code.
    workers:
        Parsing processes (0: parse in this process).
    """
    from tqdm import tqdm

    reject_path = reject_path or lists.default_reject_path(path)
    try:
        rejects = lists.RejectWriter(reject_path, shape)
    except OSError as exc:
        raise errors.ListFileError(f"{reject_path}: cannot write the reject file "
                                   f"({exc.strerror})", fields={"reject_file": "unwritable"}) from exc
    campaign_id = calling_list.campaign_id
    setup = list_batches.Setup(shape.header, mapping, region)
    checks = _Checks(session, campaign_id, path, now)
    # From here the session is the writer's whenever it writes a batch: the
    # checks wait for it before they query.
    writer = list_store.RecordWriter(session, calling_list, now=now)
    checks.before_query = writer.wait
    rejected: collections.Counter[RejectReason] = collections.Counter()
    rows = imported = 0
    bar = tqdm(unit=" rows", disable=not show_progress, file=sys.stderr, mininterval=0.5)
    try:
        for chunk in list_batches.settled_chunks(path, shape, setup, checks.settle, rejects.write,
                                                 batch_size=batch_size, workers=workers):
            settled = chunk.settled
            rejected.update(reason for _, reason in settled.rejects)
            imported += writer.insert(settled.records, settled.phones)
            rows += chunk.count
            bar.update(chunk.count)
        writer.wait()
    except BaseException:
        rejects.close()
        reject_path.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
        writer.close()
    rejects.close()
    calling_list.rows_total += rows
    calling_list.rows_imported += imported
    calling_list.rows_rejected += rows - imported
    session.flush()
    logger.info("list %s: %d rows, %d imported", calling_list.name, rows, imported,
                extra={"campaign_id": campaign_id, "list_id": calling_list.id})
    return {"rows": rows, "imported": imported,
            "rejected": {reason.value: rejected[reason] for reason in RejectReason},
            "reject_file": str(reject_path), "list_id": calling_list.id,
            "list": calling_list.name, "file": str(path)}


class _Checks:
    """Which numbers of a chunk the campaign has already, which a DNC list holds, and
    which were erased.

    A Bloom filter of the campaign's numbers clears most numbers, the database
    settles the rest; the DNC numbers are a set when they are few, else a Bloom
    filter before the database (or the database alone when they are very many).  Erased numbers are checked only when
    something was ever erased, against their hashes read once per load.
    """

    def __init__(self, session: Session, campaign_id: int, path: Path, now: dt.datetime) -> None:
        self.session, self.campaign_id, self.now = session, campaign_id, now
        self.known_filter, self.dnc = _filters(session, campaign_id, path, now)
        #: which numbers of a chunk were erased (None: nothing ever was).
        self.suppressed = privacy.suppression_check(session)
        #: called before each query (the writer is done with the session when it returns).
        self.before_query: Callable[[], None] = lambda: None

    def settle(self, built: list_batches.Built) -> list_batches.Settled:
        """Decide a chunk; the numbers it imports are known to later chunks.

        What needs no query (the filters, the DNC set) is done while the
        batch before may still be being written.
        """
        session, campaign_id, now = self.session, self.campaign_id, self.now
        numbers = {phone[1] for phone in built.phones}
        maybe_known = self.known_filter.maybe(numbers)
        known: set[str] = set()
        if maybe_known:
            self.before_query()
            known = list_store.known_numbers(session, campaign_id, maybe_known)
        fresh = numbers - known if known else numbers
        erased: set[str] = set()
        if self.suppressed is not None:
            self.before_query()
            erased = self.suppressed(fresh)
        dnc = self.dnc
        if isinstance(dnc, set):
            blocked = dnc.intersection(fresh)
        else:
            if dnc is not None:
                fresh = dnc.maybe(fresh)
            blocked = set()
            if fresh:
                self.before_query()
                blocked = dnc_store.blocked_numbers(session, campaign_id, fresh, now)
        settled = list_batches.settle(built, known, blocked, erased)
        # Only later chunks ask the filter: within this one, `settle` saw them all.
        self.known_filter.update(settled.numbers)
        return settled


def _filters(session: Session, campaign_id: int, path: Path, now: dt.datetime
             ) -> tuple[lists.NumberFilter, lists.NumberFilter | set[str] | None]:
    """A filter of the campaign's numbers; the DNC numbers (a few: a set, many: a filter,
    too many: None, ask per batch)."""
    expected = path.stat().st_size // 40  # generous: rows are rarely under 40 bytes
    known = lists.NumberFilter(16 * expected)
    known.update(list_store.campaign_numbers(session, campaign_id))
    listed = dnc_store.count_entries(session, campaign_id, now)
    if listed <= DNC_SET_MAX:
        return known, set(dnc_store.applicable_numbers(session, campaign_id, now))
    if listed > DNC_FILTER_MAX:
        return known, None
    # Every number of the file is asked about: a filter of at least 8 Mbit (1 MiB)
    # keeps false positives, each a database look-up, rare even for small lists.
    dnc = lists.NumberFilter(max(DNC_FILTER_MIN_BITS, 16 * listed))
    dnc.update(dnc_store.applicable_numbers(session, campaign_id, now))
    return known, dnc
