"""Sign-in throttling that slows guessing down without locking anyone out (HZ-14, HZ-56).

The policy (numbers in docs/deployment.md, "Sign-in throttling"):

- **Per user name from one place.** A user name may fail ``BACKSTORY_LOGIN_ATTEMPTS`` (5)
  times from one place at no cost; after that each try must wait 1 second after the latest
  failure, then 2, 4, 8 ... up to ``BACKSTORY_LOGIN_MAX_DELAY_SECONDS`` (900). A wait is a
  delay, never a lock: once it has passed the right password works, and a success forgets
  that place's failures. The *place* is the browser when it carries this app's signed
  *device cookie* for that user name (given on every successful sign-in), else the client
  address. So failures from an attacker's address (or from a shared address, for a browser
  that has signed in before) never delay the real user's own browser.
- **Per client address.** An address may fail four times as often (20) in the window. After
  that it refuses nobody outright - a right password for a user name that has not failed
  from there still gets straight in, so guesses sprayed from a shared address (a clinic
  behind one NAT address) never lock its staff out - but every user name tried from it
  loses its free failures: its back-off starts at its first failure. Attempts from a
  browser with a device cookie for the user name tried are not counted for the address.
- Failures are remembered for ``BACKSTORY_LOGIN_WINDOW_SECONDS`` (3600).
- A clinic admin can clear a user's delays (audited ``user.unlock``).

The failures live in the ``signin_failure`` table (``backstory.storage.throttle``), so they
hold across processes and restarts; each process deletes the expired ones at most once a
minute. Neither a user name nor an address is stored: only HMAC-SHA256 digests under the
app's secret (``BACKSTORY_SECRET_KEY``), so every process must run with the same secret, and
changing it starts the counts afresh. Nothing about an attempt is logged.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backstory.storage import Database
from backstory.storage import throttle as store
from backstory.web.security import Signer, keyed_digest, new_token

ADDRESS_FACTOR = 4
"""A client address may fail this many times as often as one user name before its back-off."""
BASE_DELAY = dt.timedelta(seconds=1)
"""The first wait of a back-off; each failure after doubles it."""
PURGE_EVERY = dt.timedelta(minutes=1)
DEVICE_DAYS = 180
"""How long a device cookie is honoured after the sign-in that gave it."""
DEVICE_SLOTS = 8
"""User names one browser remembers (a shared clinic computer)."""


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt let through: recorded as failed until :meth:`succeeded` says not."""

    user_digest: str
    key: str
    rows: tuple[int, ...]


@dataclass(frozen=True)
class Refused:
    """A sign-in attempt refused for now: try again after ``wait``."""

    wait: dt.timedelta

    @property
    def seconds(self) -> int:
        return max(1, int(-(-self.wait.total_seconds() // 1)))


class SigninThrottle:
    """Counts failed sign-ins per user name from one place and per address, in the database."""

    def __init__(
        self,
        db: Database,
        secret: str,
        attempts: int,
        window_seconds: int,
        clock: Callable[[], dt.datetime],
        max_delay_seconds: int = 900,
    ) -> None:
        self.db = db
        self._secret = secret
        self._signer = Signer(secret)
        self.attempts = attempts
        self.backoff = store.Backoff(
            BASE_DELAY,
            max(BASE_DELAY, dt.timedelta(seconds=max_delay_seconds)),
            dt.timedelta(seconds=window_seconds),
        )
        self.clock = clock
        self._next_purge: dt.datetime | None = None
        self._purge_lock = threading.Lock()

    @property
    def window(self) -> dt.timedelta:
        return self.backoff.window

    def user_digest(self, username: str) -> str:
        """The keyed digest of a user name, normalised as sign-in compares it."""
        return keyed_digest(self._secret, "signin-throttle:user", username.strip().lower())

    def address_digest(self, address: str) -> str:
        return keyed_digest(self._secret, "signin-throttle:address", address)

    # -- device cookies ----------------------------------------------------------------------

    def _devices(self, cookie: str | None) -> dict[str, str]:
        """user digest half -> device id, from a valid device cookie (else empty)."""
        if not cookie:
            return {}
        found: Any = self._signer.load("signin-device", cookie, DEVICE_DAYS * 86400)
        if not isinstance(found, dict):
            return {}
        return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}

    def device_cookie(self, cookie: str | None, username: str) -> str:
        """The device cookie to give after a successful sign-in as ``username``: the old one's
        user names (at most ``DEVICE_SLOTS``) with this one's device id kept or made."""
        devices = self._devices(cookie)
        half = self.user_digest(username)[: store.HALF]
        device = devices.pop(half, None) or new_token(16)
        kept = list(devices.items())[-(DEVICE_SLOTS - 1) :]
        return self._signer.sign("signin-device", dict([*kept, (half, device)]))

    # -- attempts -----------------------------------------------------------------------------

    def begin(self, username: str, address: str, device: str | None = None) -> Attempt | Refused:
        """The attempt, already counted as a failure (see :meth:`succeeded`), or how long to
        wait first. ``device`` is the request's device cookie, if any."""
        user = self.user_digest(username)
        known = self._devices(device).get(user[: store.HALF])
        place = (
            keyed_digest(self._secret, "signin-throttle:device", known)
            if known
            else self.address_digest(address)
        )
        key = store.user_key(user, place)
        limit = store.Limit("user", key, self.attempts)
        address_limit = (
            None
            if known
            else store.Limit(
                "address", self.address_digest(address), self.attempts * ADDRESS_FACTOR
            )
        )
        now = self.clock()
        got = self.db.transaction(
            lambda conn: store.begin_attempt(conn, limit, address_limit, now, self.backoff)
        )
        self._purge_if_due(now)
        if isinstance(got, dt.timedelta):
            return Refused(got)
        return Attempt(user, key, tuple(got))

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the attempt was no failure, and the user name's earlier
        failures from that place are forgotten."""
        self.db.transaction(lambda conn: store.succeeded(conn, attempt.rows, attempt.key))

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
