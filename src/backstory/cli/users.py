"""`backstory user add|list|deactivate|web-link`: who may act on the stored records.

The first person to use a new database becomes its admin; admins add clinicians and admins.
``web-link`` gives an existing user a one-time link to choose a web password (the web app's
set-up runs only on a database with no user yet).
"""

from __future__ import annotations

import os

import click

from backstory.cli.common import fail
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


@user_group.command("web-link")
@click.argument("username")
@click.option(
    "--operator",
    is_flag=True,
    help="Also make USERNAME an operator (only while the database has no active operator).",
)
@storage_options
def web_link_command(username: str, operator: bool, database: str | None, user: str | None) -> None:
    """Print a one-time link for USERNAME to choose a password for the web app.

    The link is signed with BACKSTORY_SECRET_KEY, which must be the web server's own, and
    shown under BACKSTORY_PUBLIC_URL (default http://127.0.0.1:8000).
    """
    import datetime as dt

    from backstory.storage import accounts as acc
    from backstory.storage.database import utcnow
    from backstory.web.links import new_link
    from backstory.web.security import Signer
    from backstory.web.settings import SettingsError, settings_from_env

    if not os.environ.get("BACKSTORY_SECRET_KEY"):
        fail("set BACKSTORY_SECRET_KEY to the web server's secret: the link is signed with it")
    try:
        settings = settings_from_env()
    except SettingsError as exc:
        fail(str(exc))
    token, digest = new_link(Signer(settings.secret_key), "account-link")
    now = utcnow()
    expires = now + dt.timedelta(hours=settings.link_hours)
    with open_store(database, user) as store:
        made = store.run(
            lambda conn, actor: acc.command_line_link(
                conn, actor, username, digest, now, expires, operator=operator
            )
        )
    base = settings.public_url or "http://127.0.0.1:8000"
    role = "an operator, " if operator else ""
    click.echo(
        f"Give {made.username} ({role}clinic {made.clinic}) this one-time link to choose a "
        f"password for the web app; it works once, for {settings.link_hours} hours:"
    )
    click.echo(f"    {base}/password/{token}")
