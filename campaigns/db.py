"""Database plumbing: engines for SQLite and PostgreSQL, the UTC column type, sessions.

SQLite runs in WAL mode with a busy timeout and foreign keys on; PostgreSQL is
reached through psycopg 3.  ``UTCDateTime`` stores instants in UTC and returns
them timezone-aware on both engines (SQLite drops the offset).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from sqlalchemy import DateTime, Engine, Integer, create_engine, event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from campaigns import errors


def to_utc(value: dt.datetime | None) -> dt.datetime | None:
    """An aware instant in UTC; naive datetimes are refused (ValueError)."""
    if value is None or value.tzinfo is dt.timezone.utc:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: instants must carry a zone")
    return value.astimezone(dt.timezone.utc)


def _sqlite_text(value: dt.datetime | None) -> str | None:
    value = to_utc(value)
    # isoformat of an aware UTC instant: "YYYY-MM-DD HH:MM:SS.ffffff+00:00", offset cut.
    return None if value is None else value.isoformat(" ", "microseconds")[:26]


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware instant, stored in UTC, returned aware in UTC.

    Naive datetimes are refused: nothing may fall back to the server's zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        value = to_utc(value)
        if value is not None and dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    @staticmethod
    def driver_converter(dialect: Any) -> Callable[[dt.datetime | None], Any]:
        """What the driver receives for an instant, done directly (bulk writes through the
        DBAPI): SQLite SQLAlchemy's text form of the UTC instant, PostgreSQL the aware
        UTC instant.

        >>> UTCDateTime.driver_converter(make_url("sqlite://").get_dialect()())(
        ...     dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))))
        '2026-03-02 15:00:00.000000'
        """
        return _sqlite_text if dialect.name == "sqlite" else to_utc

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def hour_sql(dialect_name: str, operand: str) -> str:
    """SQL for the whole UTC hours since 1970 of the instant ``operand`` (a column or a placeholder).

    The retry queue's ``due_hour`` is this of ``earliest_at``, or an earlier hour
    (:func:`slot_sql`; a generated column, see :class:`campaigns.models.Retry`).
    Monotonic in the instant: an instant never has a later hour than one after
    it, which is all the queue's range conditions rely on (SQLite reads the
    instant to the millisecond first).

    >>> hour_sql("sqlite", "earliest_at")
    "(CAST(strftime('%s', earliest_at) AS INTEGER) / 3600)"
    >>> hour_sql("postgresql", "%s")
    "CAST(floor(extract(epoch FROM ((%s) AT TIME ZONE 'UTC')) / 3600) AS INTEGER)"
    """
    if dialect_name == "sqlite":
        return f"(CAST(strftime('%s', {operand}) AS INTEGER) / 3600)"
    return f"CAST(floor(extract(epoch FROM (({operand}) AT TIME ZONE 'UTC')) / 3600) AS INTEGER)"


class HourOf(FunctionElement[int]):
    """:func:`hour_sql` of an instant expression, in a Core or ORM query."""

    type = Integer()
    name = "hour_of"
    inherit_cache = True


@compiles(HourOf)
def _compile_hour_of(element: HourOf, compiler: Any, **kw: Any) -> str:
    return hour_sql(compiler.dialect.name, compiler.process(element.clauses, **kw))


#: a retry added this many UTC days or more before the day it comes due waits in its
#: day's first hour (a coarse slot) until :func:`campaigns.store.retry_queue.refine_slots`
#: gives it its own hour.
FAR_DAYS = 2


def far_sql(dialect_name: str) -> str:
    """SQL, on ``retry``: the row waits in the first hour of its day (not yet refined, and
    ``earliest_at`` on or after the start of the :data:`FAR_DAYS`-th UTC day after
    ``created_at``'s).  Evaluated by every add (its slot): one date function on
    SQLite, whose instants are ISO text that sorts as time does.

    >>> far_sql("sqlite")
    "NOT hourly AND earliest_at >= date(created_at, '+2 days')"
    """
    if dialect_name == "sqlite":
        return f"NOT hourly AND earliest_at >= date(created_at, '+{FAR_DAYS} days')"
    return ("NOT hourly AND (earliest_at AT TIME ZONE 'UTC') >= "
            f"date_trunc('day', created_at AT TIME ZONE 'UTC') + interval '{FAR_DAYS} days'")


def slot_sql(dialect_name: str) -> str:
    """SQL, on ``retry``: the row's ``due_hour`` (its slot in ``ix_retry_status_due``).

    Its own hour (:func:`hour_sql` of ``earliest_at``) or, while :func:`far_sql`
    holds, the first hour of its UTC day: an add then joins the tail of one of a
    few day slots rather than one of the week's 168 hour slots (each a page the
    add's commit writes).  Never after the row's own hour, so ``due_hour <=
    hour(now)`` keeps every due row; the passes sort by it, then by id.
    """
    due = hour_sql(dialect_name, "earliest_at")
    return f"CASE WHEN {far_sql(dialect_name)} THEN {due} / 24 * 24 ELSE {due} END"


class RetrySlot(FunctionElement[int]):
    """:func:`slot_sql`: the generated expression of ``retry.due_hour``."""

    type = Integer()
    name = "retry_slot"
    inherit_cache = True


@compiles(RetrySlot)
def _compile_retry_slot(element: RetrySlot, compiler: Any, **kw: Any) -> str:
    return slot_sql(compiler.dialect.name)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs.

    >>> normalise_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    >>> normalise_url("sqlite:///x.db")
    'sqlite:///x.db'
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


#: page cache of each SQLite connection (KiB).
CACHE_KIB = 65536
#: WAL pages after which a commit checkpoints (SQLite's default: 1,000).
WAL_AUTOCHECKPOINT_PAGES = 10_000


def _on_sqlite_connect(busy_timeout_ms: int):
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling would defer BEGIN; keep its default
        # but make every connection WAL with a busy timeout and enforced foreign keys.
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # 64 MiB of page cache (SQLite's default is 2 MiB): the queue's and the numbers'
        # indexes take random keys, and at a million rows their pages no longer fit in 2 MiB
        # (retry adds at 200k pending: 13-16 % faster).  Memory is taken as pages are read.
        cursor.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        # Checkpoint every 10,000 pages of WAL (40 MiB; SQLite's default is 1,000): a page
        # rewritten by several commits between two checkpoints is copied back once, and
        # the two syncs of a checkpoint come a tenth as often (retry adds at 1M pending:
        # commits 20-30 % cheaper).
        cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    return configure


def _restore_foreign_keys(dbapi_connection: Any, _record: Any, _state: Any) -> None:
    # A list load may have switched the checks off for its own transaction
    # (:func:`campaigns.store.lists.suspend_foreign_keys`); every connection
    # goes back to the pool with them on.  The pool has rolled back by now.
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def make_engine(url: str, *, busy_timeout_s: float = 30.0, pool_size: int = 5,
                echo: bool = False) -> Engine:
    """Create an engine for ``url`` (SQLite or PostgreSQL).

    Raises
    ------
    campaigns.errors.InvalidInput
        When the URL cannot be parsed or names another database.
    """
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError and friends
        raise errors.InvalidInput(f"database URL {url!r} is not valid: {exc}",
                                  fields={"database.url": "not a SQLAlchemy URL"}) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url, echo=echo,
                               connect_args={"timeout": busy_timeout_s, "check_same_thread": False})
        event.listen(engine, "connect", _on_sqlite_connect(int(busy_timeout_s * 1000)))
        event.listen(engine, "reset", _restore_foreign_keys)
        return engine
    if backend == "postgresql":
        return create_engine(url, echo=echo, pool_size=pool_size, pool_pre_ping=True,
                             connect_args={"connect_timeout": 10})
    raise errors.InvalidInput(f"database {backend!r} is not supported (sqlite or postgresql)",
                              fields={"database.url": "unsupported backend"})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def utcnow() -> dt.datetime:
    """The current instant, aware, in UTC (only entry points call this)."""
    return dt.datetime.now(dt.timezone.utc)
