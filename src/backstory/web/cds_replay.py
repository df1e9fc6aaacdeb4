"""Replay protection for CDS client JWTs, kept in the database so every process shares it.

:class:`DatabaseReplay` is the :class:`backstory.cds.trust.ReplayStore` the web app uses: a
``jti`` accepted by one process is refused by every other one on the same database (and after
a restart) until its token has expired. Each process deletes the expired records at most once
a minute.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from backstory.cds.trust import ReplayAnswer
from backstory.storage import Database
from backstory.storage import cds_replay as store

PURGE_EVERY = dt.timedelta(minutes=1)


class DatabaseReplay:
    """The ``jti`` values seen, in the ``cds_jti`` table."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.clock = clock
        self._next_purge: dt.datetime | None = None
        self._purge_lock = threading.Lock()

    def add(self, client: str, jti: str, until: float, now: float) -> ReplayAnswer:
        expires = dt.datetime.fromtimestamp(until, dt.UTC)
        at = dt.datetime.fromtimestamp(now, dt.UTC)
        new = self.db.transaction(lambda conn: store.remember(conn, client, jti, expires, at))
        self._purge_if_due()
        return "new" if new else "seen"

    def purge(self) -> int:
        """Delete the records of expired tokens; returns how many."""
        now = self.clock()
        return self.db.transaction(lambda conn: store.purge(conn, now))

    def _purge_if_due(self) -> None:
        now = self.clock()
        with self._purge_lock:
            if self._next_purge is not None and now < self._next_purge:
                return
            self._next_purge = now + PURGE_EVERY
        self.purge()
