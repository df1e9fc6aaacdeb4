"""Signing in and web sessions: the account behind a user name, and sessions kept as digests
whose last-seen time is written at most once a minute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.account_common import is_operator, user_by_id
from backstory.storage.database import as_utc
from backstory.storage.tables import account, app_user, web_session
from backstory.storage.users import User

SESSION_TOUCH_SECONDS = 60
"""A session's last-seen time is written at most this often (not on every request)."""


@dataclass(frozen=True, slots=True)
class Account:
    user: User
    password_hash: str | None
    operator: bool


@dataclass(frozen=True, slots=True)
class SessionInfo:
    digest: str
    user: User
    operator: bool
    created_at: dt.datetime
    last_seen: dt.datetime


def revoke_sessions(conn: Connection, user_id: str, now: dt.datetime) -> None:
    conn.execute(
        update(web_session)
        .where(web_session.c.user_id == user_id, web_session.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def account_for_signin(conn: Connection, username: str) -> Account | None:
    """An active user's account with a password set, or None (never says which is missing)."""
    row = conn.execute(
        select(app_user.c.id, account.c.password_hash, account.c.operator)
        .join(account, account.c.user_id == app_user.c.id)
        .where(app_user.c.username == username, app_user.c.active.is_(True))
    ).one_or_none()
    if row is None or row.password_hash is None:
        return None
    user = user_by_id(conn, row.id)
    assert user is not None
    return Account(user, row.password_hash, bool(row.operator))


def create_session(conn: Connection, user: User, digest: str, now: dt.datetime) -> None:
    conn.execute(
        insert(web_session).values(
            digest=digest, user_id=user.id, created_at=now, last_seen=now, revoked_at=None
        )
    )
    audit.record(conn, user.username, "session.signin", "user", user.id)


def load_session(
    conn: Connection,
    digest: str,
    now: dt.datetime,
    *,
    idle: dt.timedelta,
    lifetime: dt.timedelta,
) -> SessionInfo | None:
    """The live session behind a digest: not revoked, not idle too long, not too old, and its
    user still active. Touches last-seen (at most once a minute)."""
    row = conn.execute(select(web_session).where(web_session.c.digest == digest)).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    created, seen = as_utc(row.created_at), as_utc(row.last_seen)
    if now - seen > idle or now - created > lifetime:
        conn.execute(
            update(web_session).where(web_session.c.digest == digest).values(revoked_at=now)
        )
        return None
    user = user_by_id(conn, row.user_id)
    if user is None or not user.active:
        return None
    if (now - seen).total_seconds() >= SESSION_TOUCH_SECONDS:
        conn.execute(
            update(web_session).where(web_session.c.digest == digest).values(last_seen=now)
        )
        seen = now
    return SessionInfo(digest, user, is_operator(conn, user.id), created, seen)


def end_session(conn: Connection, digest: str, now: dt.datetime) -> None:
    """Revoke a session (signing out); audited when it was live."""
    row = conn.execute(select(web_session).where(web_session.c.digest == digest)).one_or_none()
    if row is None or row.revoked_at is not None:
        return
    conn.execute(update(web_session).where(web_session.c.digest == digest).values(revoked_at=now))
    user = user_by_id(conn, row.user_id)
    if user is not None:
        audit.record(conn, user.username, "session.signout", "user", user.id)
