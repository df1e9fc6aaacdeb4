"""Failed sign-ins, counted in the database: one count for every process, kept across restarts.

Each key - a user name *from one place* (a client address, or a browser that has signed in
as that user before), or a client address on its own - is given here only as a keyed digest
made by the caller. A user key may fail ``free`` times within the remembered window at no
cost; after that each further try must wait a delay that doubles with every failure
(``base``, ``2 * base``, ... up to ``cap``) counted from the key's latest failure. Nothing
is ever locked: once the delay has passed, the right password works (HZ-56). An address
that has failed too often takes the free failures away from every user name tried from it,
but never refuses a user name that has not failed from there.

A user name's keys are stored as ``kind = 'user'`` with a 64-hex digest made of two halves:
the first 32 characters are the user name's own keyed digest, the last 32 the place's. So
an admin can clear every delay of one user (:func:`clear_user`) without the table ever
holding a user name or an address in clear. Address keys (``kind = 'address'``) are the
address's 64-hex keyed digest.

An attempt is recorded *before* the password is checked (and taken back if it succeeds), in
the same transaction as the check, so parallel attempts - from one process or several -
cannot all slip past the count before any of them is recorded. On SQLite that transaction
already holds the single writer's lock; on PostgreSQL each key is locked with a
transaction-level advisory lock, taken in a fixed order so two attempts never wait for each
other.

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection

from backstory.storage.database import as_utc
from backstory.storage.tables import signin_failure

Kind = Literal["user", "address"]
_LOCK_CLASS = 8317713
"""The first key of the PostgreSQL advisory locks taken here (the second is the digest's)."""
HALF = 32
"""Hex characters of each half of a user key's digest (128 bits of HMAC each)."""


@dataclass(frozen=True, slots=True)
class Limit:
    """One key (``kind`` and ``digest``): ``free`` failures in the window, then back-off."""

    kind: Kind
    digest: str
    free: int


@dataclass(frozen=True, slots=True)
class Backoff:
    """The back-off: the first extra failure costs ``base``, each one after twice as much,
    never more than ``cap``; failures are remembered for ``window``."""

    base: dt.timedelta
    cap: dt.timedelta
    window: dt.timedelta

    def delay(self, failures: int, free: int) -> dt.timedelta:
        """How long after its latest failure a key with ``failures`` failures must wait."""
        if failures < free:
            return dt.timedelta(0)
        doublings = min(failures - free, 40)  # 2**40 seconds is past any cap
        grown: dt.timedelta = self.base * (2**doublings)
        return min(self.cap, grown)


def user_key(user_digest: str, place_digest: str) -> str:
    """The digest of a user name from one place (see the module's notes)."""
    return user_digest[:HALF] + place_digest[:HALF]


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite stores the time without its zone: every value must be UTC to compare as text
    return value.astimezone(dt.UTC)


def _lock_id(digest: str) -> int:
    return int(digest[:8], 16) - 2**31  # a signed 32-bit key for pg_advisory_xact_lock


def _failures(conn: Connection, limit: Limit, since: dt.datetime) -> tuple[int, dt.datetime | None]:
    count, latest = conn.execute(
        select(func.count(), func.max(signin_failure.c.at)).where(
            signin_failure.c.kind == limit.kind,
            signin_failure.c.digest == limit.digest,
            signin_failure.c.at >= since,
        )
    ).one()
    return int(count or 0), as_utc(latest) if latest is not None else None


def begin_attempt(
    conn: Connection,
    user: Limit,
    address: Limit | None,
    now: dt.datetime,
    backoff: Backoff,
) -> list[int] | dt.timedelta:
    """How long to wait (a positive ``timedelta``) while the user key is in its back-off;
    otherwise record a failure for the user key and the address key - to be taken back by
    :func:`succeeded` - and return the ids of the rows recorded.

    The address never refuses an attempt on its own (so a right password for another user
    always gets through): once it has ``address.free`` failures in the window, every user
    name tried from it loses its free failures, and backs off from its first failure.
    """
    limits = [user] if address is None else [user, address]
    if conn.dialect.name == "postgresql":
        for lock in sorted({_lock_id(limit.digest) for limit in limits}):
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:cls, :key)"), {"cls": _LOCK_CLASS, "key": lock}
            )
    since = _utc(now - backoff.window)
    free = user.free
    if address is not None and _failures(conn, address, since)[0] >= address.free:
        free = 0
    count, latest = _failures(conn, user, since)
    if latest is not None:
        wait = latest + backoff.delay(count, free) - now
        if wait > dt.timedelta(0):
            return wait
    ids = []
    for limit in limits:
        made = conn.execute(
            insert(signin_failure).values(kind=limit.kind, digest=limit.digest, at=_utc(now))
        )
        key = made.inserted_primary_key  # not RETURNING: SQLite before 3.35 lacks it
        assert key is not None
        ids.append(int(key[0]))
    return ids


def succeeded(conn: Connection, attempt: Sequence[int], user_key_digest: str) -> None:
    """A sign-in succeeded: take back its recorded attempt, and forget the earlier failures
    of the user name from that place (the address keeps its own)."""
    conn.execute(delete(signin_failure).where(signin_failure.c.id.in_(list(attempt))))
    conn.execute(
        delete(signin_failure).where(
            signin_failure.c.kind == "user", signin_failure.c.digest == user_key_digest
        )
    )


def clear_user(conn: Connection, user_digest: str) -> int:
    """Forget every failure of one user name, from every place (an admin's unlock);
    returns how many were deleted. The addresses keep their own counts."""
    prefix = user_digest[:HALF]
    if len(prefix) != HALF or any(c not in "0123456789abcdef" for c in prefix):
        raise ValueError("a user digest is 64 lower-case hex characters")
    done = conn.execute(
        delete(signin_failure).where(
            signin_failure.c.kind == "user", signin_failure.c.digest.startswith(prefix)
        )
    )
    return int(done.rowcount or 0)


def purge(conn: Connection, now: dt.datetime, window: dt.timedelta) -> int:
    """Delete the failures older than the window (they count for nothing any more)."""
    done = conn.execute(delete(signin_failure).where(signin_failure.c.at < _utc(now - window)))
    return int(done.rowcount or 0)
