"""Backups and restores: a SQLite file copy, or a portable JSON dump of every table.

SQLite databases are copied with SQLite's online backup API (a consistent copy even while
others write), into a temporary file renamed into place, so a backup is whole or absent.
PostgreSQL databases (or any, with ``--format json``) are dumped as JSON read in one
snapshot transaction; a dump restores into an empty database of either kind. A restore
re-applies every erasure the replaced database had recorded, so restoring an older backup
never brings an erased patient back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Date, DateTime, Table, func, insert, select, text
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.database import Database, as_utc, current_revision, utcnow
from backstory.storage.erasure import erased_patient_ids, reapply_erasures
from backstory.storage.errors import InvalidRequest, SchemaMismatch
from backstory.storage.export import write_private
from backstory.storage.repository import Store
from backstory.storage.tables import TABLES_IN_ORDER, assessment
from backstory.storage.users import User, require_admin

DUMP_FORMAT = "backstory/dump@1"
SQLITE_MAGIC = b"SQLite format 3\x00"
Format = Literal["sqlite", "json"]


@dataclass(frozen=True, slots=True)
class Restored:
    format: Format
    schema: str
    rows: int
    reapplied_erasures: int


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return as_utc(value).isoformat()
    return value.isoformat() if isinstance(value, dt.date) else value


def dump(db: Database) -> dict[str, Any]:
    """Every row of every table, read in one consistent snapshot, as plain JSON values."""

    def work(conn: Connection) -> dict[str, Any]:
        if db.dialect == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        tables = {
            t.name: [
                {k: _plain(v) for k, v in row._mapping.items()}
                for row in conn.execute(select(t).order_by(*t.primary_key.columns))
            ]
            for t in TABLES_IN_ORDER
        }
        return {
            "format": DUMP_FORMAT,
            "schema": current_revision(conn),
            "created_at": utcnow().isoformat(),
            "tables": tables,
        }

    return db.transaction(work)


def backup(store: Store, out: Path, fmt: Format | None = None) -> Format:
    """Back up the whole database to ``out`` (admins only); returns the format written.

    The audit event is committed first, so the backup itself records that it was taken.
    """
    db = store.db
    chosen: Format = fmt or ("sqlite" if db.sqlite_path else "json")
    if chosen == "sqlite" and db.sqlite_path is None:
        raise InvalidRequest("only a SQLite database can be backed up as a SQLite file; use json")

    def note(conn: Connection, user: User) -> None:
        require_admin(user, "back up the database")
        audit.record(conn, user.username, "database.backup", "database", None, format=chosen)

    store.run(note)
    if chosen == "sqlite":
        assert db.sqlite_path is not None
        _sqlite_copy(db.sqlite_path, out)
    else:
        data = dump(db)
        write_private(out, lambda fh: json.dump(data, fh, ensure_ascii=False))
    return chosen


def _sqlite_copy(source: Path, out: Path) -> None:
    folder = out.parent if str(out.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=folder)
    os.close(fd)
    try:
        src = sqlite3.connect(source, timeout=30)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _row_count(conn: Connection) -> int:
    return sum(
        conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES_IN_ORDER
    )


def holds_records(db: Database) -> bool:
    """Whether the database has a schema and any row in any Backstory table."""
    return db.revision() is not None and bool(db.transaction(_row_count))


def _backup_schema(path: Path) -> str:
    con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        if con.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise InvalidRequest(f"{path} is damaged (SQLite integrity check failed)")
        try:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            row = None
    except sqlite3.DatabaseError:
        raise InvalidRequest(f"{path} is not a readable SQLite database") from None
    finally:
        con.close()
    if row is None:
        raise InvalidRequest(f"{path} is not a Backstory backup (no schema version)")
    return str(row[0])


def restore(db: Database, actor: str, source: Path, *, replace: bool = False) -> Restored:
    """Restore a backup made by :func:`backup` into ``db``.

    A SQLite file replaces a SQLite database (``replace`` must be given when it holds
    records, and the actor must then be one of its admins). A JSON dump is loaded into an
    empty database only, so it can never silently mix with existing records.
    """
    try:
        with open(source, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise InvalidRequest(f"cannot read {source} ({exc.strerror})") from None
    if head == SQLITE_MAGIC:
        return _restore_sqlite(db, actor, source, replace=replace)
    try:
        data = json.loads(source.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidRequest(f"{source} is neither a SQLite backup nor a JSON dump") from None
    if not isinstance(data, dict) or data.get("format") != DUMP_FORMAT:
        raise InvalidRequest(f"{source} is not a Backstory dump ({DUMP_FORMAT})")
    return _restore_json(db, actor, data)


def _restore_sqlite(db: Database, actor: str, source: Path, *, replace: bool) -> Restored:
    target = db.sqlite_path
    if target is None:
        raise InvalidRequest(
            "a SQLite backup restores into a SQLite database only; to move to PostgreSQL, "
            "make a JSON backup (`backstory backup OUT --format json`)"
        )
    schema = _backup_schema(source)
    if schema not in db.known_revisions():
        raise SchemaMismatch(f"the backup was made by a newer Backstory (schema {schema})")
    erased: set[str] = set()
    if holds_records(db):
        if not replace:
            raise InvalidRequest("the database holds records; confirm to replace them")
        db.ensure_schema()
        erased = Store(db, actor).run(_admin_erasures)
    db.close()
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()
    db.upgrade()

    def finish(conn: Connection) -> Restored:
        again = reapply_erasures(conn, actor, erased)
        audit.record(
            conn, actor, "database.restore", "database", None, format="sqlite", schema=schema
        )
        return Restored("sqlite", schema, _row_count(conn), len(again))

    return db.transaction(finish)


def _admin_erasures(conn: Connection, user: User) -> set[str]:
    require_admin(user, "restore a backup over this database")
    return erased_patient_ids(conn)


def _typed(row: Mapping[str, Any], table: Table) -> dict[str, Any]:
    columns = table.c
    unknown = set(row) - set(columns.keys())
    if unknown:
        raise InvalidRequest(f"the dump has unknown columns in {table.name}: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name, value in row.items():
        kind = columns[name].type
        if value is not None and isinstance(kind, DateTime):
            value = dt.datetime.fromisoformat(value)
        elif value is not None and isinstance(kind, Date):
            value = dt.date.fromisoformat(value)
        out[name] = value
    return out


def _restore_json(db: Database, actor: str, data: Mapping[str, Any]) -> Restored:
    head = db.head_revision()
    schema = data.get("schema")
    if schema != head:
        raise SchemaMismatch(
            f"the dump is from schema {schema}; this Backstory restores schema {head} only "
            "(restore it with the Backstory version that made it, upgrade, then dump again)"
        )
    db.ensure_schema()
    tables = data.get("tables")
    if not isinstance(tables, dict) or set(tables) != {t.name for t in TABLES_IN_ORDER}:
        raise InvalidRequest("the dump does not hold exactly Backstory's tables")

    def work(conn: Connection) -> Restored:
        if _row_count(conn):
            raise InvalidRequest(
                "a JSON dump restores into an empty database only; create a new database "
                "(or point --database at a new file) and restore there"
            )
        total = 0
        for t in TABLES_IN_ORDER:
            rows = [_typed(r, t) for r in tables[t.name]]
            if t is assessment:
                rows.sort(key=lambda r: int(r["version"]))
            for row in rows:
                conn.execute(insert(t).values(**row))
            total += len(rows)
        if db.dialect == "postgresql":
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('audit_event', 'id'), "
                    "COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM audit_event"
                )
            )
        audit.record(conn, actor, "database.restore", "database", None, format="json", count=total)
        return Restored("json", head, total, 0)

    return db.transaction(work)
