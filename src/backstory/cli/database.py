"""`backstory db upgrade`, `backstory backup OUT` and `backstory restore IN`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from backstory.cli.stored import actor_name, open_database, open_store, storage_options
from backstory.storage import audit
from backstory.storage.backup import backup, holds_records, restore


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@storage_options
def upgrade_command(database: str | None, user: str | None) -> None:
    """Create the schema, or bring it up to date (take a backup first)."""
    actor = actor_name(user)
    with open_database(database, ensure=False) as db:
        before, after = db.upgrade()
        where = db.display_url()
        if before != after:
            db.transaction(
                lambda conn: audit.record(
                    conn, actor, "database.upgrade", "database", None, schema=after
                )
            )
    if before == after:
        click.echo(f"{where}: schema {after}, already up to date.")
    else:
        click.echo(f"{where}: schema {before or 'none'} -> {after}.")


@db_group.command("status")
@click.option("--database", metavar="URL", help="Database URL.")
def status_command(database: str | None) -> None:
    """Say where the database is and which schema it has."""
    with open_database(database, ensure=False) as db:
        current = db.revision()
        click.echo(f"{db.display_url()}: schema {current or 'none'} (latest {db.head_revision()})")


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["sqlite", "json"]),
    help="sqlite: a copy of the SQLite file (default for SQLite); json: a portable dump "
    "(default for PostgreSQL).",
)
@storage_options
def backup_command(
    out: Path, fmt: Literal["sqlite", "json"] | None, database: str | None, user: str | None
) -> None:
    """Back up the whole database to OUT (admins only)."""
    with open_store(database, user) as store:
        written = backup(store, out, fmt)
    click.echo(f"Backed up to {out} ({written}).")


@click.command("restore")
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace existing records without asking.")
@storage_options
def restore_command(source: Path, yes: bool, database: str | None, user: str | None) -> None:
    """Restore a backup made by `backstory backup`.

    A SQLite backup replaces a SQLite database (asks first when it holds records); a JSON
    dump restores into an empty database of either kind. Erasures recorded in the database
    being replaced are applied again.
    """
    actor = actor_name(user)
    with open_database(database, ensure=False) as db:
        replace = yes
        if not yes and db.sqlite_path is not None and holds_records(db):
            replace = click.confirm(
                "Replace every record in this database with the backup?", err=True
            )
            if not replace:
                raise click.Abort()
        done = restore(db, actor, source, replace=replace)
    note = f"; re-applied {done.reapplied_erasures} erasure(s)" if done.reapplied_erasures else ""
    click.echo(f"Restored {done.rows} row(s) from {source} (schema {done.schema}){note}.")
