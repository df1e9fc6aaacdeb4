"""Failed sign-ins, counted in the database: one count for every process, kept across restarts.

Each key - a user name or a client address, given here only as a keyed digest made by the
caller - may fail a number of times within a sliding window; at that number further
attempts are refused until the oldest failure leaves the window. An attempt is recorded
*before* the password is checked (and taken back if it succeeds), in the same transaction
as the check, so parallel attempts - from one process or several - cannot all slip past
the count before any of them is recorded. On SQLite that transaction already holds the
single writer's lock; on PostgreSQL each key is locked with a transaction-level advisory
lock, taken in a fixed order so two attempts never wait for each other.

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection

from backstory.storage.tables import signin_failure

Kind = Literal["user", "address"]
_LOCK_CLASS = 8317713
"""The first key of the PostgreSQL advisory locks taken here (the second is the digest's)."""


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``attempts`` failures of one key (``kind`` and ``digest``) in the window."""

    kind: Kind
    digest: str
    attempts: int


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite stores the time without its zone: every value must be UTC to compare as text
    return value.astimezone(dt.UTC)


def _lock_id(digest: str) -> int:
    return int(digest[:8], 16) - 2**31  # a signed 32-bit key for pg_advisory_xact_lock


def begin_attempt(
    conn: Connection, limits: Sequence[Limit], now: dt.datetime, window: dt.timedelta
) -> list[int] | None:
    """Refuse (None) when any key has reached its limit within ``window`` before ``now``;
    otherwise record a failure for every key - to be taken back by :func:`succeeded` - and
    return the ids of the rows recorded."""
    if conn.dialect.name == "postgresql":
        for lock in sorted({_lock_id(limit.digest) for limit in limits}):
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:cls, :key)"), {"cls": _LOCK_CLASS, "key": lock}
            )
    since = _utc(now - window)
    for limit in limits:
        recent = conn.execute(
            select(func.count())
            .select_from(signin_failure)
            .where(
                signin_failure.c.kind == limit.kind,
                signin_failure.c.digest == limit.digest,
                signin_failure.c.at >= since,
            )
        ).scalar_one()
        if recent >= limit.attempts:
            return None
    ids = []
    for limit in limits:
        made = conn.execute(
            insert(signin_failure).values(kind=limit.kind, digest=limit.digest, at=_utc(now))
        )
        key = made.inserted_primary_key  # not RETURNING: SQLite before 3.35 lacks it
        assert key is not None
        ids.append(int(key[0]))
    return ids


def succeeded(conn: Connection, attempt: Sequence[int], user_digest: str) -> None:
    """A sign-in succeeded: take back its recorded attempt, and forget the user name's
    earlier failures (the address keeps its own)."""
    conn.execute(delete(signin_failure).where(signin_failure.c.id.in_(list(attempt))))
    conn.execute(
        delete(signin_failure).where(
            signin_failure.c.kind == "user", signin_failure.c.digest == user_digest
        )
    )


def purge(conn: Connection, now: dt.datetime, window: dt.timedelta) -> int:
    """Delete the failures older than the window (they count for nothing any more)."""
    done = conn.execute(delete(signin_failure).where(signin_failure.c.at < _utc(now - window)))
    return int(done.rowcount or 0)
