"""Pieces every kind of web account change shares: finding a user, the operator check, adding
a user with an account row, and checking a name's length (see :mod:`backstory.storage.accounts`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from backstory.storage import users
from backstory.storage.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from backstory.storage.ids import new_id, normalise_id
from backstory.storage.tables import account, app_user
from backstory.storage.users import Role, User, find_users

MAX_NAME = 100


def user_by_id(conn: Connection, user_id: str) -> User | None:
    found = find_users(conn, user_id=user_id)
    return found[0] if found else None


def own_clinic_user(conn: Connection, actor: User, user_id: str) -> User:
    """A user of the actor's own clinic; another clinic's user looks missing."""
    found = user_by_id(conn, normalise_id(user_id))
    if found is None or found.clinic_id != actor.clinic_id:
        raise NotFound(f"no user {normalise_id(user_id)} in your clinic")
    return found


is_operator = users.is_operator


def require_operator(conn: Connection, actor: User, doing: str) -> None:
    """Refuse unless the actor is an active operator (read in this transaction)."""
    if not users.is_active_operator(conn, actor.id):
        raise NotAllowed(f"only an operator may {doing}")


def insert_user(
    conn: Connection,
    clinic_id: str,
    username: str,
    role: Role,
    *,
    operator: bool,
    password_hash: str | None,
    now: dt.datetime,
) -> str:
    users.check_username(username)
    taken = conn.execute(
        select(app_user.c.id).where(app_user.c.username == username)
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict(f"the user name {username!r} is taken; choose another")
    uid = new_id("U")
    conn.execute(
        insert(app_user).values(
            id=uid, clinic_id=clinic_id, username=username, role=role, active=True, created_at=now
        )
    )
    conn.execute(
        insert(account).values(
            user_id=uid, password_hash=password_hash, operator=operator, updated_at=now
        )
    )
    return uid


def check_name(text: str, what: str, limit: int = MAX_NAME) -> str:
    text = " ".join(text.split())
    if not text or len(text) > limit:
        raise InvalidRequest(f"{what} must be 1 to {limit} characters")
    return text
