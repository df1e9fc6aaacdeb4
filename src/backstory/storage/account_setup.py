"""First start: the one-time set-up link that makes the first account, an operator (HZ-55)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from backstory.storage import audit, users
from backstory.storage.account_common import check_name, insert_user, user_by_id
from backstory.storage.account_links import AccountLink, insert_link, usable_link, use_link
from backstory.storage.clinics import clinic_by_name
from backstory.storage.errors import Conflict, NotFound
from backstory.storage.tables import account_link, app_user
from backstory.storage.users import User


def needs_setup(conn: Connection) -> bool:
    """True only while the database has no user at all (HZ-55).

    Set-up makes the first account, an operator, in a new clinic; once anyone exists - a web
    account or a command-line user, active or not - it never runs again, so losing every
    operator can never reopen it (an operator is made by another operator, see
    :func:`backstory.storage.clinic_users.set_operator`).
    """
    return int(conn.execute(select(func.count()).select_from(app_user)).scalar_one()) == 0


def new_setup_link(conn: Connection, digest: str, now: dt.datetime, expires_at: dt.datetime) -> str:
    """Replace any unused set-up link with a new one (each start prints a fresh link)."""
    if not needs_setup(conn):
        raise Conflict("Backstory is already set up")
    conn.execute(
        delete(account_link).where(
            account_link.c.purpose == "setup", account_link.c.used_at.is_(None)
        )
    )
    return insert_link(conn, "setup", digest, None, "system:setup", now, expires_at)


def setup_link(conn: Connection, digest: str, now: dt.datetime) -> AccountLink | None:
    """The set-up link behind a digest, while it can still be used."""
    if not needs_setup(conn):
        return None
    return usable_link(conn, digest, ("setup",), now)


def complete_setup(
    conn: Connection,
    digest: str,
    username: str,
    password_hash: str,
    clinic_name: str,
    now: dt.datetime,
) -> User:
    """Create the first account: the admin of a new clinic and an operator (link used up).

    Only on a database with no user yet, and never in a clinic that exists already (a
    clinic's patients are never handed to whoever holds a set-up link).
    """
    users.lock_accounts(conn)
    link = setup_link(conn, digest, now)
    if link is None:
        raise NotFound("this set-up link is not valid any more")
    name = check_name(clinic_name, "the clinic's name", 200)
    if clinic_by_name(conn, name) is not None:
        raise Conflict(f"a clinic named {name!r} exists already; choose another name")
    cid = users.clinic_id(conn, name, create=True)
    uid = insert_user(
        conn, cid, username, "admin", operator=True, password_hash=password_hash, now=now
    )
    use_link(conn, link.id, now)
    audit.record(conn, username, "user.bootstrap", "user", uid, role="admin", operator=True)
    found = user_by_id(conn, uid)
    assert found is not None
    return found
