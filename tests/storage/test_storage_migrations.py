"""Migrations build exactly the tables the code uses; old and foreign databases are refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from backstory.storage import Database, SchemaMismatch, Store
from backstory.storage.migrations import HEAD
from backstory.storage.tables import metadata


def test_head_constant_is_the_newest_revision(db: Database) -> None:
    script = ScriptDirectory.from_config(db._alembic())
    assert script.get_current_head() == HEAD == db.head_revision()
    assert db.known_revisions() == {rev.revision for rev in script.walk_revisions()}


def test_upgrade_is_idempotent_and_matches_the_tables(db: Database) -> None:
    head = db.head_revision()
    assert db.upgrade() == (head, head)

    def diff(conn: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    assert db.transaction(diff) == []


def test_new_database_is_created_on_first_use(new_url: Callable[[], str]) -> None:
    with Database(new_url()) as fresh:
        assert fresh.revision() is None
        Store(fresh, "alice")  # nothing happens until the schema is ensured
        fresh.ensure_schema()
        assert fresh.revision() == fresh.head_revision()


def test_downgrade_and_upgrade_again(db: Database) -> None:
    def down(conn: Connection) -> None:
        command.downgrade(db._alembic(conn), "base")

    db.transaction(down)
    assert db.revision() is None
    db.ensure_schema()
    assert Store(db, "alice").add_patient("after").reference == "after"


def test_newer_older_and_foreign_schemas_are_refused(
    db: Database, new_url: Callable[[], str]
) -> None:
    db.transaction(lambda c: c.execute(text("UPDATE alembic_version SET version_num = '9999'")))
    with pytest.raises(SchemaMismatch, match="newer version"):
        db.ensure_schema()
    with pytest.raises(SchemaMismatch, match="newer version"):
        db.upgrade()
    with Database(new_url()) as other:
        other.transaction(lambda c: c.execute(text("CREATE TABLE stranger (x INTEGER)")))
        with pytest.raises(SchemaMismatch, match="not a Backstory database"):
            other.ensure_schema()


def test_upgrade_from_0002_adds_the_signin_failures(db: Database) -> None:
    """A database made before sign-in throttling was shared (0002) is refused until
    `backstory db upgrade`, which adds the table and keeps every record."""
    patient = Store(db, "alice").add_patient("before-0003")
    db.transaction(lambda conn: command.downgrade(db._alembic(conn), "0002"))
    assert db.revision() == "0002"
    assert not db.transaction(lambda conn: inspect(conn).has_table("signin_failure"))
    with pytest.raises(SchemaMismatch, match="older"):
        db.ensure_schema()
    assert db.upgrade() == ("0002", HEAD)
    assert db.transaction(lambda conn: inspect(conn).has_table("signin_failure"))
    assert Store(db, "alice").patient_record(patient.id).patient.reference == "before-0003"


def test_upgrade_from_0010_adds_the_kept_warning_signs(db: Database) -> None:
    """A database made before warning signs were kept from unfinished check-ins (0010) gets
    the table on upgrade, and every record stays."""
    patient = Store(db, "alice").add_patient("before-0011")
    db.transaction(lambda conn: command.downgrade(db._alembic(conn), "0010"))
    assert not db.transaction(lambda conn: inspect(conn).has_table("checkin_warning"))
    with pytest.raises(SchemaMismatch, match="older"):
        db.ensure_schema()
    assert db.upgrade() == ("0010", HEAD)
    assert db.transaction(lambda conn: inspect(conn).has_table("checkin_warning"))
    assert Store(db, "alice").patient_record(patient.id).patient.reference == "before-0011"
