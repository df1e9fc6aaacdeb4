"""CDS client JWT ids (``jti``) already used, in the database: one record for every process.

A CDS client's signed JWT may be used once. Each accepted ``jti`` is stored - as a SHA-256
digest, with the configured client's name - until its token has expired, in the
``cds_jti`` table, whose primary key is (client, digest): when two calls with the same
``jti`` race, in one process or several, the database lets exactly one insert it and the
other is told the ``jti`` was seen. A row whose token has expired no longer counts and is
deleted (:func:`purge`, and before a new insert of the same key).

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import and_, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from backstory.storage.tables import cds_jti


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite stores the time without its zone: every value must be UTC to compare as text
    return value.astimezone(dt.UTC)


def jti_digest(jti: str) -> str:
    """What is stored for a ``jti``: its SHA-256 (a fixed width, and never the value)."""
    return hashlib.sha256(jti.encode("utf-8")).hexdigest()


def remember(conn: Connection, client: str, jti: str, until: dt.datetime, now: dt.datetime) -> bool:
    """Record ``jti`` of ``client`` until ``until``; False when it is already recorded and
    has not expired at ``now`` (a replay)."""
    digest = jti_digest(jti)
    conn.execute(
        delete(cds_jti).where(
            and_(
                cds_jti.c.client == client,
                cds_jti.c.digest == digest,
                cds_jti.c.expires_at < _utc(now),
            )
        )
    )
    values = {"client": client, "digest": digest, "expires_at": _utc(until)}
    if conn.dialect.name == "postgresql":
        statement = (
            postgresql.insert(cds_jti)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["client", "digest"])
            .returning(cds_jti.c.client)
        )
        return conn.execute(statement).first() is not None
    # SQLite: the transaction holds the single writer's lock; not RETURNING (before 3.35)
    done = conn.execute(
        sqlite.insert(cds_jti)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["client", "digest"])
    )
    return int(done.rowcount or 0) == 1


def purge(conn: Connection, now: dt.datetime) -> int:
    """Delete the ``jti`` records whose tokens have expired; returns how many."""
    done = conn.execute(delete(cds_jti).where(cds_jti.c.expires_at < _utc(now)))
    return int(done.rowcount or 0)
