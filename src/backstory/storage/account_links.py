"""One-time account links (set-up, invitation, password reset) and setting a password through one.

Only a SHA-256 digest of the link's secret is stored; a link is used once and expires.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.account_common import user_by_id
from backstory.storage.database import as_utc
from backstory.storage.errors import Conflict, NotFound
from backstory.storage.ids import new_id
from backstory.storage.tables import account, account_link
from backstory.storage.users import User

LinkPurpose = Literal["setup", "invite", "reset"]


@dataclass(frozen=True, slots=True)
class AccountLink:
    id: str
    purpose: LinkPurpose
    user: User | None
    expires_at: dt.datetime


def insert_link(
    conn: Connection,
    purpose: LinkPurpose,
    digest: str,
    user_id: str | None,
    created_by: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> str:
    lid = new_id("L")
    conn.execute(
        insert(account_link).values(
            id=lid,
            digest=digest,
            purpose=purpose,
            user_id=user_id,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
            used_at=None,
        )
    )
    return lid


def usable_link(
    conn: Connection, digest: str, purposes: tuple[LinkPurpose, ...], now: dt.datetime
) -> AccountLink | None:
    row = conn.execute(select(account_link).where(account_link.c.digest == digest)).one_or_none()
    if row is None or row.purpose not in purposes or row.used_at is not None:
        return None
    if as_utc(row.expires_at) <= now:
        return None
    user = user_by_id(conn, row.user_id) if row.user_id else None
    if row.user_id and (user is None or not user.active):
        return None
    return AccountLink(row.id, row.purpose, user, as_utc(row.expires_at))


def use_link(conn: Connection, link_id: str, now: dt.datetime) -> None:
    done = conn.execute(
        update(account_link)
        .where(account_link.c.id == link_id, account_link.c.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if done != 1:
        raise Conflict("this link has just been used")


def password_link(conn: Connection, digest: str, now: dt.datetime) -> AccountLink | None:
    """An invitation or reset link, while it can still be used."""
    return usable_link(conn, digest, ("invite", "reset"), now)


def set_password(conn: Connection, digest: str, password_hash: str, now: dt.datetime) -> User:
    """Set the password through an invitation or reset link, which is then used up."""
    link = password_link(conn, digest, now)
    if link is None or link.user is None:
        raise NotFound("this link is not valid any more; ask your clinic's admin for a new one")
    conn.execute(
        update(account)
        .where(account.c.user_id == link.user.id)
        .values(password_hash=password_hash, updated_at=now)
    )
    use_link(conn, link.id, now)
    audit.record(conn, link.user.username, "user.password", "user", link.user.id)
    return link.user
