"""Backups restore exactly what was stored; restores never bring an erased patient back."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backstory.storage import Database, InvalidRequest, SchemaMismatch, Store
from backstory.storage.backup import backup, dump, restore


def fill(store: Store, assessment_text: Callable[..., str]) -> tuple[str, str]:
    a = store.add_patient("r1", birth_year=1979)
    b = store.add_patient("r2")
    v1 = store.save_assessment(a.id, assessment_text(assessed_on="2026-01-05"))
    store.correct_assessment(v1.assessment.id, assessment_text(back=4), "typo")
    store.save_assessment(b.id, assessment_text())
    return a.id, b.id


def tables(db: Database) -> dict[str, Any]:
    data = dump(db)["tables"]
    return {name: rows for name, rows in data.items() if name != "audit_event"}


def test_sqlite_file_backup_round_trip(tmp_path: Path, assessment_text: Callable[..., str]) -> None:
    with Database(f"sqlite:///{tmp_path / 'live.db'}") as db:
        db.ensure_schema()
        store = Store(db, "alice")
        fill(store, assessment_text)
        out = tmp_path / "backup.db"
        assert backup(store, out) == "sqlite"
        assert out.stat().st_mode & 0o777 == 0o600
        assert not list(tmp_path.glob(".backup.db.*"))  # no temporary file left behind
        saved = dump(db)
        with sqlite3.connect(out) as con:
            assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    with Database(f"sqlite:///{tmp_path / 'new.db'}") as fresh:
        done = restore(fresh, "alice", out)
        assert done.format == "sqlite" and done.schema == fresh.head_revision()
        again = dump(fresh)
        assert again["tables"]["patient"] == saved["tables"]["patient"]
        assert again["tables"]["report"] == saved["tables"]["report"]
        assert again["tables"]["audit_event"][-1]["action"] == "database.restore"


def test_json_dump_round_trip(
    db: Database, store: Store, tmp_path: Path, assessment_text: Callable[..., str]
) -> None:
    fill(store, assessment_text)
    out = tmp_path / "dump.json"
    assert backup(store, out, "json") == "json"
    with Database(f"sqlite:///{tmp_path / 'target.db'}") as target:
        done = restore(target, "alice", out)
        assert done.format == "json" and done.rows > 10
        assert tables(target) == tables(db)
        # Restored records are usable: the audit sequence continues, saves work.
        Store(target, "alice").add_patient("r3")
        with pytest.raises(InvalidRequest, match="empty database"):
            restore(target, "alice", out)


def test_json_dump_restores_into_the_same_backend(
    store: Store,
    new_url: Callable[[], str],
    tmp_path: Path,
    assessment_text: Callable[..., str],
) -> None:
    fill(store, assessment_text)
    out = tmp_path / "dump.json"
    backup(store, out, "json")
    with Database(new_url()) as target:
        restore(target, "alice", out)
        assert tables(target) == tables(store.db)
        Store(target, "alice").add_patient("after-restore")


def test_restore_reapplies_erasures_made_after_the_backup(
    tmp_path: Path, assessment_text: Callable[..., str]
) -> None:
    with Database(f"sqlite:///{tmp_path / 'live.db'}") as db:
        db.ensure_schema()
        store = Store(db, "alice")
        erased, kept = fill(store, assessment_text)
        backup(store, tmp_path / "before.db")
        store.erase_patient(erased)
        with pytest.raises(InvalidRequest, match="confirm"):
            restore(db, "alice", tmp_path / "before.db")
        done = restore(db, "alice", tmp_path / "before.db", replace=True)
        assert done.reapplied_erasures == 1
        assert [s.patient.id for s in Store(db, "alice").list_patients()] == [kept]


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    not_ours = tmp_path / "other.db"
    sqlite3.connect(not_ours).execute("CREATE TABLE t (x)").connection.close()
    with Database(f"sqlite:///{tmp_path / 'db.db'}") as db:
        with pytest.raises(InvalidRequest, match="not a Backstory dump"):
            restore(db, "alice", junk)
        with pytest.raises(InvalidRequest, match="no schema version"):
            restore(db, "alice", not_ours)
        with pytest.raises(InvalidRequest, match="cannot read"):
            restore(db, "alice", tmp_path / "missing.db")
        newer = tmp_path / "newer.db"
        con = sqlite3.connect(newer)
        con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        con.execute("INSERT INTO alembic_version VALUES ('9999')")
        con.commit()
        con.close()
        with pytest.raises(SchemaMismatch, match="newer"):
            restore(db, "alice", newer)
