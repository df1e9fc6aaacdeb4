"""`backstory user add|list|deactivate`: who may act on the stored records.

The first person to use a new database becomes its admin; admins add clinicians and admins.
"""

from __future__ import annotations

import click

from backstory.cli.patient import table
from backstory.cli.stored import open_store, storage_options
from backstory.storage.tables import ROLES
from backstory.storage.users import Role


@click.group("user")
def user_group() -> None:
    """Add, list or deactivate users (admins only)."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="clinician", show_default=True)
@click.option("--clinic", metavar="NAME", help="Clinic (default: the admin's own).")
@storage_options
def add_command(
    username: str, role: Role, clinic: str | None, database: str | None, user: str | None
) -> None:
    """Add USERNAME with a role."""
    with open_store(database, user) as store:
        added = store.add_user(username, role, clinic)
    click.echo(f"Added {added.username} ({added.role}, clinic {added.clinic}).")


@user_group.command("list")
@storage_options
def list_command(database: str | None, user: str | None) -> None:
    """List every user with their clinic, role and whether they are active."""
    with open_store(database, user) as store:
        found = store.list_users()
    rows = [("user", "clinic", "role", "active")]
    rows += [(u.username, u.clinic, u.role, "yes" if u.active else "no") for u in found]
    click.echo(table(rows))


@user_group.command("deactivate")
@click.argument("username")
@storage_options
def deactivate_command(username: str, database: str | None, user: str | None) -> None:
    """Stop USERNAME acting; their past actions stay in the audit log."""
    with open_store(database, user) as store:
        store.deactivate_user(username)
    click.echo(f"{username} can no longer act on the records.")
