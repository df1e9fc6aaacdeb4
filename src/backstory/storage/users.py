"""Clinics and users: who the actor is, which clinic's patients they may see, what role they have.

A new database has no users; the first person to use it becomes its admin (recorded in the
audit log), so a single clinician needs no set-up. After that an actor must be a known,
active user, and only admins add users, erase patients, export cohorts or restore backups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.database import utcnow
from backstory.storage.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from backstory.storage.ids import new_id
from backstory.storage.tables import account, app_user, clinic

Role = Literal["clinician", "admin"]
DEFAULT_CLINIC = "default"
USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    clinic_id: str
    clinic: str
    username: str
    role: Role
    active: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_username(username: str) -> str:
    """A username as stored: letters, digits and ``. _ @ -`` only (it goes in the audit log)."""
    if not USERNAME.match(username):
        raise InvalidRequest(
            "a user name may use only letters, digits and . _ @ - (at most 100 characters)"
        )
    return username


def clinic_id(conn: Connection, name: str, *, create: bool) -> str:
    """The id of the clinic with this name (created when asked to)."""
    found = conn.execute(select(clinic.c.id).where(clinic.c.name == name)).scalar_one_or_none()
    if found is not None:
        return str(found)
    if not create:
        raise NotFound(f"no clinic named {name!r}")
    new = new_id("C")
    conn.execute(insert(clinic).values(id=new, name=name, created_at=utcnow()))
    return new


def find_users(
    conn: Connection, *, username: str | None = None, user_id: str | None = None
) -> list[User]:
    """Users with their clinic's name, by name order; optionally one username or one id."""
    query = (
        select(
            app_user.c.id,
            app_user.c.clinic_id,
            clinic.c.name,
            app_user.c.username,
            app_user.c.role,
            app_user.c.active,
        )
        .join(clinic, clinic.c.id == app_user.c.clinic_id)
        .order_by(app_user.c.username)
    )
    if username is not None:
        query = query.where(app_user.c.username == username)
    if user_id is not None:
        query = query.where(app_user.c.id == user_id)
    return [User(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in conn.execute(query)]


def _users(conn: Connection, username: str | None = None) -> list[User]:
    return find_users(conn, username=username)


def resolve_actor(conn: Connection, username: str) -> User:
    """The active user behind ``username``; the very first user of a database becomes admin.

    Raises:
        NotAllowed: for an unknown or inactive user.
    """
    check_username(username)
    found = _users(conn, username)
    if found:
        if not found[0].active:
            raise NotAllowed(f"user {username!r} is not active")
        return found[0]
    # Two first users arriving together must not both become admin.
    lock_accounts(conn)
    if conn.execute(select(func.count()).select_from(app_user)).scalar_one() == 0:
        user = _insert(conn, username, "admin", DEFAULT_CLINIC)
        audit.record(conn, username, "user.bootstrap", "user", user.id, role="admin")
        return user
    raise NotAllowed(
        f"{username!r} is not a user of this database; an admin can add them with "
        f"`backstory user add {username}`"
    )


def _insert(conn: Connection, username: str, role: Role, clinic_name: str) -> User:
    cid = clinic_id(conn, clinic_name, create=True)
    uid = new_id("U")
    conn.execute(
        insert(app_user).values(
            id=uid,
            clinic_id=cid,
            username=username,
            role=role,
            active=True,
            created_at=utcnow(),
        )
    )
    return User(uid, cid, clinic_name, username, role, True)


ACCOUNTS_LOCK = 8317713
"""The PostgreSQL advisory lock (one 64-bit key) held while the first user is made or an
operator may lose their rights, so two such changes never interleave. On SQLite every
writing transaction already holds the single writer's lock."""


def lock_accounts(conn: Connection) -> None:
    """Serialise changes to who is the first user or an operator (see ``ACCOUNTS_LOCK``)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ACCOUNTS_LOCK})


def is_operator(conn: Connection, user_id: str) -> bool:
    """Whether the user has the operator right (whether or not they are active)."""
    found = conn.execute(
        select(account.c.operator).where(account.c.user_id == user_id)
    ).scalar_one_or_none()
    return bool(found)


def is_active_operator(conn: Connection, user_id: str) -> bool:
    """Whether the user is, right now, an active operator (read inside the transaction, so a
    right taken away a moment ago no longer counts)."""
    found = conn.execute(
        select(func.count())
        .select_from(account.join(app_user, app_user.c.id == account.c.user_id))
        .where(
            account.c.user_id == user_id,
            account.c.operator.is_(True),
            app_user.c.active.is_(True),
        )
    ).scalar_one()
    return bool(found)


def active_operators(conn: Connection) -> int:
    """How many active operators the database has."""
    found = conn.execute(
        select(func.count())
        .select_from(account.join(app_user, app_user.c.id == account.c.user_id))
        .where(account.c.operator.is_(True), app_user.c.active.is_(True))
    ).scalar_one()
    return int(found)


def guard_operator_account(conn: Connection, actor: User, target: User, doing: str) -> None:
    """Only an active operator may act on an operator's account (HZ-55).

    Raises:
        NotAllowed: the target is an operator and the actor is not (any more) an active one.
    """
    if is_operator(conn, target.id):
        lock_accounts(conn)
        if not is_active_operator(conn, actor.id):
            raise NotAllowed(f"only an operator may {doing} an operator's account")


def keep_an_operator(conn: Connection, target: User, doing: str) -> None:
    """Refuse a change that takes the operator right from the last active operator, so that
    Backstory is never left without one (HZ-55).

    Raises:
        Conflict: the target is the only active operator.
    """
    lock_accounts(conn)
    if is_active_operator(conn, target.id) and active_operators(conn) <= 1:
        raise Conflict(
            f"{target.username!r} is the last active operator: make another user an operator "
            f"before you {doing} them"
        )


def require_admin(user: User, doing: str) -> None:
    """Refuse unless the actor is an admin."""
    if not user.is_admin:
        raise NotAllowed(f"only an admin may {doing}; {user.username!r} is a {user.role}")


def add_user(
    conn: Connection, actor: User, username: str, role: Role, clinic_name: str | None
) -> User:
    """Add a user (admins only) to a clinic, by default the admin's own."""
    require_admin(actor, "add users")
    check_username(username)
    if _users(conn, username):
        raise Conflict(f"user {username!r} already exists")
    user = _insert(conn, username, role, clinic_name or actor.clinic)
    audit.record(conn, actor.username, "user.add", "user", user.id, role=role)
    return user


def list_users(conn: Connection, actor: User) -> list[User]:
    """Every user (admins only)."""
    require_admin(actor, "list users")
    audit.record(conn, actor.username, "user.list", "clinic", actor.clinic_id)
    return _users(conn)


def deactivate_user(conn: Connection, actor: User, username: str) -> None:
    """Stop a user from acting; their past actions stay in the audit log under their name."""
    require_admin(actor, "deactivate users")
    found = _users(conn, username)
    if not found:
        raise NotFound(f"no user {username!r}")
    if found[0].id == actor.id:
        raise Conflict("an admin cannot deactivate themselves")
    guard_operator_account(conn, actor, found[0], "deactivate")
    keep_an_operator(conn, found[0], "deactivate")
    conn.execute(update(app_user).where(app_user.c.id == found[0].id).values(active=False))
    audit.record(conn, actor.username, "user.deactivate", "user", found[0].id)
