"""Calling lists, their records and phone numbers: look-ups, updates and batched loads.

The load path (:class:`RecordWriter`) bypasses the ORM: it writes each batch
with one DBAPI ``executemany`` per table, ids reserved up front, values already
in the form SQLAlchemy would bind them, on a thread of its own while the loader
prepares the next batch.  The same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns import errors, models
from campaigns.enums import RecordStatus

_IN_CHUNK = 500
#: rows of one INSERT statement of a list load on SQLite (10 values a record: 5,000 bound;
#: fewer if the library allows fewer).  Each step of such a statement is long enough for
#: the writer's thread to get on while the loader holds the GIL.
ROWS_PER_INSERT = 500
#: rows of one statement for the rest of a batch (then one row a statement).
_SMALL_GROUP = 25
_e164_of = operator.itemgetter(1)


def get_list(session: Session, key: str, *, campaign: models.Campaign | None = None
             ) -> models.CallingList:
    """A list by id, or by name (within ``campaign`` when given).

    Raises
    ------
    campaigns.errors.NotFound
        When there is no such list (error id ``no-such-list``).
    campaigns.errors.InvalidInput
        When a name is used by lists of several campaigns and no campaign is given.
    """
    query = select(models.CallingList)
    if campaign is not None:
        query = query.where(models.CallingList.campaign_id == campaign.id)
    found = list(session.scalars(query.where(models.CallingList.name == key)))
    if not found and key.isdigit():
        found = list(session.scalars(query.where(models.CallingList.id == int(key))))
    if not found:
        raise errors.NotFound("list", key)
    if len(found) > 1:
        raise errors.InvalidInput(f"several campaigns have a list named {key!r}: "
                                  "name the campaign with --campaign", fields={"campaign": "needed"})
    return found[0]


def find_by_name(session: Session, campaign_id: int, name: str) -> models.CallingList | None:
    """The campaign's list named ``name``, if any."""
    return session.scalars(select(models.CallingList).where(
        models.CallingList.campaign_id == campaign_id,
        models.CallingList.name == name)).one_or_none()


def lists_of(session: Session, campaign: models.Campaign | None = None
             ) -> list[models.CallingList]:
    """Lists, by campaign, then priority (highest first), then name."""
    query = select(models.CallingList).order_by(models.CallingList.campaign_id,
                                                models.CallingList.priority.desc(),
                                                models.CallingList.name)
    if campaign is not None:
        query = query.where(models.CallingList.campaign_id == campaign.id)
    return list(session.scalars(query))


def create_list(session: Session, campaign: models.Campaign, name: str, *, now: dt.datetime,
                priority: int = 0, expires_on: dt.date | None = None, source_file: str = "",
                column_map: dict[str, Any] | None = None) -> models.CallingList:
    """Insert a list (flushed)."""
    calling_list = models.CallingList(campaign_id=campaign.id, name=name, priority=priority,
                                      is_active=True, expires_on=expires_on,
                                      source_file=source_file, column_map=column_map or {},
                                      created_at=now)
    session.add(calling_list)
    session.flush()
    return calling_list


def update_list(session: Session, calling_list: models.CallingList,
                **values: Any) -> dict[str, tuple[Any, Any]]:
    """Set column values; returns ``{column: (before, after)}`` of what changed."""
    changes = {}
    for key, value in values.items():
        before = getattr(calling_list, key)
        if before != value:
            setattr(calling_list, key, value)
            changes[key] = (before, value)
    session.flush()
    return changes


def status_counts(session: Session, list_id: int) -> dict[str, int]:
    """Number of records of a list by status."""
    rows = session.execute(select(models.Record.status, func.count())
                           .where(models.Record.list_id == list_id)
                           .group_by(models.Record.status))
    return {status.value: count for status, count in rows}


def known_numbers(session: Session, campaign_id: int, numbers: Iterable[str]) -> set[str]:
    """Those of ``numbers`` (E.164) that a record of the campaign has already."""
    found: set[str] = set()
    column = models.PhoneNumber.e164
    for chunk in _chunks(sorted(numbers)):
        found.update(session.scalars(select(column).where(
            models.PhoneNumber.campaign_id == campaign_id, column.in_(chunk))))
    return found


def suspend_foreign_keys(session: Session) -> bool:
    """SQLite: no foreign-key checks for the rest of a list load's transaction; whether they are off.

    Call it before the transaction's first write (inside one, SQLite ignores
    the pragma and the checks stay on: slower, never wrong).  The loader
    writes only rows whose parents it holds (the list and campaign it loads
    into, records of the same batch), so the checks, 15 % of the inserts'
    time at 1M rows, prove nothing there.  The load deletes nothing, so no cascade is skipped.
    The connection gets its checks back when it returns to the pool
    (:func:`campaigns.db.make_engine`).
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return False
    raw = connection.connection.dbapi_connection
    if raw is None or raw.in_transaction:
        return False
    raw.execute("PRAGMA foreign_keys = OFF")
    return raw.execute("PRAGMA foreign_keys").fetchone()[0] == 0


def _chunks(values: Sequence[str], size: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class RecordWriter:
    """Writes imported rows of one list in batches (DBAPI ``executemany``, no ORM objects).

    The tuples come ready from :mod:`campaigns.list_batches` (values in the
    form SQLAlchemy would bind them, :data:`RECORD` and :data:`PHONE` order),
    keyed by the row's number in the file; the writer gives each record its
    id and adds what all rows of the list share.  On SQLite a record's id is
    the largest id before the load plus its row number, computed by the
    statement itself; on PostgreSQL ids come from the sequence, batch by batch.

    A batch is written on the writer's thread while the caller goes on (the
    driver lets go of the GIL while the database works: at 1M rows, the loading
    process spends about 60 % of its time there).  One batch at a time: the next
    :meth:`insert` waits for the one before.  The session's connection is the
    writer's until :meth:`wait` returns: call it before any other use of the
    session (a query, a flush, the commit).

    Parameters
    ----------
    session:
        The load's session; the writer never commits.
    calling_list:
        The list the records belong to.
    now:
        The load's instant (``created_at``).
    """

    #: columns of the record tuples (then the id and those the writer fills in).
    RECORD = ("source_row", "first_name", "last_name", "email", "language", "raw_state",
              "raw_zip", "raw_tz", "fields", "custom_fields")
    #: columns of the phone tuples, the first being the record's ``source_row``.
    PHONE = ("record_id", "e164", "raw", "kind", "position", "line_type", "region", "zones")
    _RECORD_SAME = ("campaign_id", "list_id", "status", "priority", "attempts_count",
                    "created_at", "updated_at")
    _PHONE_SAME = ("campaign_id", "is_valid", "created_at")

    def __init__(self, session: Session, calling_list: models.CallingList, *,
                 now: dt.datetime) -> None:
        connection = session.connection()
        dialect = connection.dialect
        self._is_sqlite = dialect.name == "sqlite"
        # What every row of the load shares is written into the statement: fewer
        # values to bind per row.  All are integers or an instant we format.
        created_at = models.Record.__table__.c.created_at.type
        process = created_at.dialect_impl(dialect).bind_processor(dialect)
        instant = _instant_literal(process(now) if process else now)
        campaign_id, list_id = int(calling_list.campaign_id), int(calling_list.id)
        record_same = (campaign_id, list_id, f"'{RecordStatus.NEW.value}'", 0, 0, instant, instant)
        phone_same = (campaign_id, "1" if self._is_sqlite else "true", instant)
        self._cursor = connection.connection.cursor()
        if self._is_sqlite:
            # The list row was written first in this transaction, so this connection
            # holds SQLite's write lock: nobody else can take the ids after the largest.
            self._cursor.execute("SELECT coalesce(max(id), 0) FROM record")
            base = int(self._cursor.fetchone()[0])
            width = len(self.RECORD)
            per = min(ROWS_PER_INSERT, connection.connection.dbapi_connection.getlimit(
                sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
            self._records = _MultiRowInsert(
                "record", ("id", *self.RECORD), self._RECORD_SAME, record_same, width,
                lambda k: [f"?{k * width + 1} + {base}"]
                + [f"?{k * width + i}" for i in range(1, width + 1)], per)
            self._phones = _MultiRowInsert(
                "phone_number", self.PHONE, self._PHONE_SAME, phone_same, len(self.PHONE),
                lambda k: [f"? + {base}"] + ["?"] * (len(self.PHONE) - 1), per)
        else:
            self._record_sql = _insert_sql("record", ("id", *self.RECORD),
                                           ["%s"] * (len(self.RECORD) + 1), self._RECORD_SAME,
                                           record_same)
            self._phone_sql = _insert_sql("phone_number", self.PHONE, ["%s"] * len(self.PHONE),
                                          self._PHONE_SAME, phone_same)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="list-writer")
        #: the batch the writer's thread is writing (None: it is idle).
        self._pending: Future[None] | None = None

    def insert(self, records: list[tuple[Any, ...]], phones: list[tuple[Any, ...]]) -> int:
        """Start writing record tuples, then phone tuples (once the batch before is written).

        Returns the records the batch writes.  An error writing it comes out of
        the next :meth:`insert` or :meth:`wait`.
        """
        self.wait()
        self._pending = self._thread.submit(self._write, records, phones)
        return len(records)

    def wait(self) -> None:
        """Return once every batch handed over is written; raise what writing one raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _write(self, records: list[tuple[Any, ...]], phones: list[tuple[Any, ...]]) -> None:
        if not self._is_sqlite and records:
            records, phones = self._with_ids(records, phones)
        if phones:
            # In E.164 order, the inserts walk the number indexes (random keys) in
            # order: fewer pages touched per batch.
            phones.sort(key=_e164_of)
        if self._is_sqlite:
            self._records.run(self._cursor, records)
            self._phones.run(self._cursor, phones)
            return
        if records:
            self._cursor.executemany(self._record_sql, records)
        if phones:
            self._cursor.executemany(self._phone_sql, phones)

    def _with_ids(self, records: list[tuple[Any, ...]], phones: list[tuple[Any, ...]]
                  ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """PostgreSQL: the tuples with record ids from the sequence in place of row numbers."""
        self._cursor.execute("SELECT nextval(pg_get_serial_sequence('record', 'id')) "
                             "FROM generate_series(1, %s)", (len(records),))
        ids = {record[0]: row[0] for record, row in zip(records, self._cursor.fetchall())}
        return ([(ids[record[0]], *record) for record in records],
                [(ids[phone[0]], *phone[1:]) for phone in phones])

    def close(self) -> None:
        """Wait for the batch being written (its error, if any, is left to :meth:`wait`), stop
        the thread and close the cursor: the session is the caller's again."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.exception()  # waits; an error leaving the load is on its way already
        self._thread.shutdown()
        self._cursor.close()


class _MultiRowInsert:
    """SQLite: rows inserted up to ``per`` to a statement (a multi-row ``VALUES``).

    One statement step writes hundreds of rows: less insert time than
    ``executemany`` of one row per step (15 % with 100 rows a statement, 200k
    rows), and a step long enough for the writer's thread to get on while the
    loader holds the GIL.  A batch's
    last rows, fewer than ``per``, go :data:`_SMALL_GROUP` to a statement, then
    one per step.  ``marks(k)`` gives the placeholders of the ``k``-th row of a
    group (numbered ones must count past the rows before it).
    """

    def __init__(self, table: str, columns: Sequence[str], same: Sequence[str],
                 values: Sequence[object], width: int,
                 marks: Callable[[int], Sequence[str]], per: int = ROWS_PER_INSERT) -> None:
        self.width = width
        head = f"INSERT INTO {table} ({', '.join([*columns, *same])}) VALUES "
        rows = [f"({', '.join([*marks(k), *(str(v) for v in values)])})" for k in range(per)]
        sizes = sorted({max(1, per), max(1, min(per, _SMALL_GROUP)), 1}, reverse=True)
        #: ``(rows, statement)``, the largest groups first, down to one row.
        self.groups = [(size, head + ", ".join(rows[:size])) for size in sizes]

    def run(self, cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        done = 0
        for size, statement in self.groups:
            end = done + (len(rows) - done) // size * size
            if end == done:
                continue
            if size == 1:
                cursor.executemany(statement, rows[done:])
                return
            flat = list(itertools.chain.from_iterable(rows[done:end]))
            step = self.width * size
            cursor.executemany(statement, [flat[i:i + step] for i in range(0, len(flat), step)])
            done = end


def _insert_sql(table: str, columns: Sequence[str], marks: Sequence[str], same: Sequence[str],
                values: Sequence[object]) -> str:
    return (f"INSERT INTO {table} ({', '.join([*columns, *same])}) "
            f"VALUES ({', '.join([*marks, *(str(v) for v in values)])})")


def _instant_literal(bound: object) -> str:
    """An instant as the driver would bind it (SQLite: text; PostgreSQL: aware) as SQL text.

    >>> _instant_literal("2026-03-02 15:00:00.000000")
    "'2026-03-02 15:00:00.000000'"
    >>> _instant_literal(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.timezone.utc))
    "CAST('2026-03-02T15:00:00+00:00' AS TIMESTAMP WITH TIME ZONE)"
    """
    if isinstance(bound, str):
        if not set(bound) <= set("0123456789-:. T"):
            raise ValueError(f"unexpected instant text {bound!r}")
        return f"'{bound}'"
    assert isinstance(bound, dt.datetime) and bound.tzinfo is not None
    return f"CAST('{bound.isoformat()}' AS TIMESTAMP WITH TIME ZONE)"


def record_numbers(session: Session, list_id: int) -> list[tuple[int, str]]:
    """``(record_id, e164)`` of a list's numbers, by record (for tests and ``list show``)."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(models.PhoneNumber.record_id, models.PhoneNumber.e164)
        .join(models.Record, models.Record.id == models.PhoneNumber.record_id)
        .where(models.Record.list_id == list_id)
        .order_by(models.PhoneNumber.record_id, models.PhoneNumber.position))]


def campaign_numbers(session: Session, campaign_id: int) -> Iterator[str]:
    """Every E.164 number of the campaign, streamed."""
    result = session.execute(select(models.PhoneNumber.e164)
                             .where(models.PhoneNumber.campaign_id == campaign_id)
                             .execution_options(yield_per=10_000))
    for (e164,) in result:
        yield e164
