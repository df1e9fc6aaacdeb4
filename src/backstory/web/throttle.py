"""Sign-in throttling, shared by every process of the web app through the database.

The policy (``BACKSTORY_LOGIN_ATTEMPTS``, ``BACKSTORY_LOGIN_WINDOW_SECONDS``): a user name may
fail ``attempts`` times within the window, a client address four times as often; then sign-in
is refused (HTTP 429) until the oldest of those failures is older than the window. A
successful sign-in forgets the user name's failures, not the address's. The failures live in
the ``signin_failure`` table (``backstory.storage.throttle``), so they hold across processes
and restarts; each process deletes the expired ones at most once a minute.

Neither the user name nor the address is stored: only an HMAC-SHA256 of each under the app's
secret (``BACKSTORY_SECRET_KEY``). Every process must therefore run with the same secret - as
it must anyway for links and forms to work - and changing the secret starts the counts
afresh. (In development without a secret each start makes a random one, so there the counts
do not survive a restart.) Nothing about an attempt is logged.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from backstory.storage import Database
from backstory.storage import throttle as store
from backstory.web.security import keyed_digest

ADDRESS_FACTOR = 4
"""A client address may fail this many times as often as one user name."""
PURGE_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt let through: recorded as failed until :meth:`succeeded` says not."""

    user_digest: str
    rows: tuple[int, ...]


class SigninThrottle:
    """Counts failed sign-ins per user name and per client address in the database."""

    def __init__(
        self,
        db: Database,
        secret: str,
        attempts: int,
        window_seconds: int,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.db = db
        self._secret = secret
        self.attempts = attempts
        self.window = dt.timedelta(seconds=window_seconds)
        self.clock = clock
        self._next_purge: dt.datetime | None = None
        self._purge_lock = threading.Lock()

    def user_digest(self, username: str) -> str:
        """The keyed digest of a user name, normalised as sign-in compares it."""
        return keyed_digest(self._secret, "signin-throttle:user", username.strip().lower())

    def address_digest(self, address: str) -> str:
        return keyed_digest(self._secret, "signin-throttle:address", address)

    def begin(self, username: str, address: str) -> Attempt | None:
        """None when the user name or the address has failed too often within the window;
        otherwise the attempt, already counted as a failure (see :meth:`succeeded`)."""
        user = self.user_digest(username)
        limits = (
            store.Limit("user", user, self.attempts),
            store.Limit("address", self.address_digest(address), self.attempts * ADDRESS_FACTOR),
        )
        now = self.clock()
        rows = self.db.transaction(lambda conn: store.begin_attempt(conn, limits, now, self.window))
        self._purge_if_due(now)
        return None if rows is None else Attempt(user, tuple(rows))

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the attempt was no failure, and the user name's earlier
        failures are forgotten."""
        self.db.transaction(lambda conn: store.succeeded(conn, attempt.rows, attempt.user_digest))

    def purge(self) -> int:
        """Delete the failures older than the window; returns how many."""
        now = self.clock()
        return self.db.transaction(lambda conn: store.purge(conn, now, self.window))

    def _purge_if_due(self, now: dt.datetime) -> None:
        with self._purge_lock:
            if self._next_purge is not None and now < self._next_purge:
                return
            self._next_purge = now + PURGE_EVERY
        self.purge()
