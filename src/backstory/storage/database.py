"""Opening the database, running every write in one retried transaction, and migrations.

SQLite (the default, one file in the user's data folder) runs in WAL mode with foreign keys
on and starts every transaction with ``BEGIN IMMEDIATE``, so writers queue for the lock
before doing anything instead of failing half-way. SQLite waits only briefly itself (its
built-in waits grow to 100 ms, which wastes time under contention); a transaction that meets
"database is locked" is rolled back and run again after a short random pause, for up to
``busy_timeout`` seconds. Within one process, SQLite transactions also take their turn on a
lock first: threads then queue for the single writer instead of polling SQLite's lock, which
keeps the slowest requests of a busy web server fast (benchmarks/bench_web.py).
PostgreSQL transactions that hit a serialization failure or deadlock are retried the same
way. Alembic is imported only when a migration must run, which keeps every command's
start-up short.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import platformdirs
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    OperationalError,
    SQLAlchemyError,
)

from backstory.storage.errors import (
    DatabaseUnavailable,
    InvalidRequest,
    SchemaMismatch,
    StorageError,
)
from backstory.storage.migrations import HEAD

#: What the database driver raises for a failure storage has no plain name for: callers
#: outside storage catch these (they never import SQLAlchemy themselves).
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError,)

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

ENV_URL = "BACKSTORY_DATABASE_URL"
DB_FILENAME = "backstory.db"
MIGRATIONS = Path(__file__).parent / "migrations"
_PG_RETRY_STATES = {"40001", "40P01"}  # serialization failure, deadlock detected
READ_ONLY = "backstory_read_only"
"""Execution option of the connections ``Database.read`` hands out."""
PG_POOL_SIZE = 10
PG_POOL_OVERFLOW = 20
SQLITE_LOCK_WAIT = 0.05
"""Seconds SQLite itself waits for a lock before Backstory retries the transaction."""


def default_url() -> str:
    """The SQLite database in the user's data folder (platform-specific)."""
    return f"sqlite:///{Path(platformdirs.user_data_dir('backstory')) / DB_FILENAME}"


def resolve_url(explicit: str | None = None) -> str:
    """``--database``, else ``BACKSTORY_DATABASE_URL``, else the default SQLite file."""
    return explicit or os.environ.get(ENV_URL) or default_url()


def utcnow() -> dt.datetime:
    """Now, in UTC (every stored timestamp is UTC)."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored timestamp as an aware UTC datetime (SQLite returns it without a zone)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _normalise(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            "the database address is not a valid URL (expected sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/NAME)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite")
    raise DatabaseUnavailable(f"unsupported database {backend!r}: use SQLite or PostgreSQL")


def _is_locked(exc: DBAPIError) -> bool:
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig).lower()
        return "locked" in message or "busy" in message
    return getattr(orig, "sqlstate", None) in _PG_RETRY_STATES


class Database:
    """One database: its engine, transactions with retry, and schema migrations."""

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        self.url = _normalise(url)
        self.busy_timeout = busy_timeout
        self.dialect = self.url.get_backend_name()
        connect_args: dict[str, Any] = {}
        pooling: dict[str, Any] = {}
        if self.dialect == "sqlite":
            self._prepare_sqlite_file()
            connect_args["timeout"] = SQLITE_LOCK_WAIT
        else:
            connect_args["connect_timeout"] = 10
            # The web server runs up to 40 requests at once in its thread pool: keep enough
            # connections open that busy moments reuse them instead of opening and closing
            # an overflow connection for nearly every request.
            pooling = {"pool_size": PG_POOL_SIZE, "max_overflow": PG_POOL_OVERFLOW}
        self.engine: Engine = create_engine(
            self.url, hide_parameters=True, connect_args=connect_args, **pooling
        )
        self._writer: threading.RLock | None = None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_on_connect)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
            self._writer = threading.RLock()

    @property
    def sqlite_path(self) -> Path | None:
        """The database file for SQLite (None for PostgreSQL or an in-memory database)."""
        name = self.url.database
        if self.dialect != "sqlite" or not name or name == ":memory:":
            return None
        return Path(name)

    def _prepare_sqlite_file(self) -> None:
        """Create a new database file readable by its owner only (SQLite gives its WAL
        and shared-memory files the same permissions)."""
        path = self.sqlite_path
        if path is None or path.exists():
            return
        try:
            path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise DatabaseUnavailable(
                f"cannot create the database file {path} ({exc.strerror})"
            ) from None

    def display_url(self) -> str:
        """The URL with any password hidden, safe to print."""
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction: all of it is committed, or none of it.

        A lock timeout or serialization failure rolls the whole transaction back and runs
        ``work`` again (so ``work`` must not have effects outside the database). A value the
        database cannot hold (text with a NUL character in PostgreSQL, or a string that is
        not valid Unicode) rolls back and is refused as an invalid request, never a crash.
        """
        deadline = time.monotonic() + self.busy_timeout
        attempt = 0
        while True:
            try:
                with self._turn(deadline), self.engine.begin() as conn:
                    return work(conn)
            except UnicodeEncodeError:
                raise InvalidRequest(
                    "a value was refused: it has text that is not valid Unicode"
                ) from None
            except DBAPIError as exc:
                if isinstance(exc, DataError) and not _is_locked(exc):
                    raise InvalidRequest(
                        "a value was refused: the database cannot store it (for example text "
                        "with a NUL character, or a number out of range)"
                    ) from None
                if not _is_locked(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise StorageError(
                        "the database stayed busy (locked by another writer); nothing was "
                        "saved - try again"
                    ) from None
                attempt += 1
                time.sleep(random.uniform(0.001, min(0.002 * 2 ** min(attempt, 5), 0.05)))

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work``, which must only read, without taking the write lock.

        For short lookups on every request (an API token): on SQLite a deferred transaction
        reads a snapshot beside the writer instead of queueing behind it; on PostgreSQL the
        statements run in autocommit, which saves the transaction's round trips. Anything
        that writes, or needs its reads to agree with a later write, uses ``transaction``.
        """
        if self.dialect == "sqlite":
            options: dict[str, Any] = {READ_ONLY: True}
        else:
            options = {"isolation_level": "AUTOCOMMIT", READ_ONLY: True}
        with self.engine.connect().execution_options(**options) as conn:
            found = work(conn)
            if self.dialect == "sqlite" and conn.in_transaction():
                conn.rollback()
            return found

    @contextmanager
    def _turn(self, deadline: float) -> Iterator[None]:
        """This process's turn to write to SQLite (every SQLite transaction here writes:
        BEGIN IMMEDIATE). A no-op for PostgreSQL, whose writers do not queue."""
        if self._writer is None:
            yield
            return
        if not self._writer.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise StorageError(
                "the database stayed busy (locked by another writer); nothing was saved - try again"
            )
        try:
            yield
        finally:
            self._writer.release()

    # -- migrations ---------------------------------------------------------------------

    @staticmethod
    def _alembic(conn: Connection | None = None) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("path_separator", "os")
        if conn is not None:
            cfg.attributes["connection"] = conn
        return cfg

    def head_revision(self) -> str:
        """The newest schema revision this version of Backstory knows."""
        return HEAD

    def known_revisions(self) -> set[str]:
        """Every schema revision this version of Backstory can upgrade from."""
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(self._alembic())
        return {rev.revision for rev in script.walk_revisions()}

    def _connect_check(self, work: Callable[[Connection], T]) -> T:
        try:
            return self.transaction(work)
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown reason"
            raise DatabaseUnavailable(
                f"cannot open the database at {self.display_url()}: {reason}"
            ) from None

    def revision(self) -> str | None:
        """The schema revision stored in the database (None for a new, empty database)."""
        return self._connect_check(current_revision)

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema up to date; returns (revision before, revision after).

        The check and the migration run in one locked transaction, so processes that start
        together on a new database never both try to create it.
        """
        head = self.head_revision()
        known = self.known_revisions()

        def work(conn: Connection) -> tuple[str | None, str]:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(8317712)"))
            before = current_revision(conn)
            if before is not None and before not in known:
                raise SchemaMismatch(_newer(before))
            if before is None and _has_tables(conn):
                raise SchemaMismatch(
                    "this database has tables but no Backstory schema version; "
                    "it is not a Backstory database"
                )
            if before != head:
                from alembic import command

                command.upgrade(self._alembic(conn), "head")
            return before, head

        return self._connect_check(work)

    def ensure_schema(self) -> None:
        """Create the schema in a new database; refuse one that is older or newer.

        An existing database is never migrated implicitly: the person running the upgrade
        should take a backup first (`backstory backup`, then `backstory db upgrade`).
        """
        current = self.revision()
        head = self.head_revision()
        if current == head:
            return
        if current is None:
            self.upgrade()
            return
        if current not in self.known_revisions():
            raise SchemaMismatch(_newer(current))
        raise SchemaMismatch(
            f"the database schema ({current}) is older than this version of Backstory "
            f"({head}); back it up, then run `backstory db upgrade`"
        )


def _newer(revision: str) -> str:
    return (
        f"the database was written by a newer version of Backstory (schema {revision}); "
        "upgrade Backstory before using it"
    )


def current_revision(conn: Connection) -> str | None:
    """The schema revision recorded in the database, None when it has none."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    found = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if len(found) > 1:
        raise SchemaMismatch("the database records more than one schema version")
    return str(found[0]) if found else None


def _has_tables(conn: Connection) -> bool:
    return bool(set(inspect(conn).get_table_names()) - {"alembic_version"})


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module so BEGIN IMMEDIATE is ours to issue.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # a read (Database.read) takes a snapshot without the write lock: WAL lets it run
    # beside the writer
    reading = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
