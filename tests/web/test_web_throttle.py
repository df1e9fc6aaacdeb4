"""Sign-in throttling shared through the database (HZ-14): across app instances, restarts and
parallel attempts, on SQLite and PostgreSQL, with nothing identifying stored.

The policy itself (5 failures per user name, 20 per address, in 300 seconds) is tested in
``test_web_auth.py``; here two or three apps over one database stand for the processes of a
deployment, a new app for a restarted one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database
from backstory.storage.tables import signin_failure
from backstory.web.app import create_app
from backstory.web.security import keyed_digest
from backstory.web.settings import Settings
from backstory.web.throttle import ADDRESS_FACTOR, SigninThrottle

from .conftest import PASSWORD, Clock, World, csrf_of

WRONG = "not the password at all"


def _signin(app: FastAPI, username: str, password: str) -> int:
    c = TestClient(app)
    page = c.get("/signin")
    r = c.post(
        "/signin",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    return r.status_code


def _rows(db: Database) -> list[tuple[str, str, dt.datetime]]:
    return db.transaction(
        lambda conn: [
            (r.kind, r.digest, r.at)
            for r in conn.execute(select(signin_failure).order_by(signin_failure.c.id))
        ]
    )


def test_failures_are_shared_by_every_app_over_one_database_and_survive_a_restart(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock
) -> None:
    first = world.app
    second = create_app(settings, world.db, knowledge=kb, clock=clock)
    for n in range(settings.login_attempts):
        assert _signin(first if n % 2 else second, "clin-a", WRONG) == 401
    assert _signin(first, "clin-a", PASSWORD) == 429
    assert _signin(second, "clin-a", PASSWORD) == 429
    restarted = create_app(settings, world.db, knowledge=kb, clock=clock)
    assert _signin(restarted, "clin-a", PASSWORD) == 429
    assert _signin(restarted, "admin-a", PASSWORD) == 303  # another user name is not blocked


def test_the_address_limit_is_shared_too(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock
) -> None:
    apps = [world.app, create_app(settings, world.db, knowledge=kb, clock=clock)]
    for n in range(settings.login_attempts * ADDRESS_FACTOR):
        assert _signin(apps[n % 2], f"spray-{n}", WRONG) == 401
    assert _signin(apps[0], "admin-a", PASSWORD) == 429  # same client address ("testclient")
    assert _signin(apps[1], "admin-a", PASSWORD) == 429


def test_failures_expire_with_the_window_and_are_deleted(
    world: World, settings: Settings, clock: Clock
) -> None:
    window = settings.login_window_seconds
    for _ in range(settings.login_attempts):
        assert _signin(world.app, "clin-a", WRONG) == 401
    clock.advance(seconds=window - 1)
    assert _signin(world.app, "clin-a", PASSWORD) == 429  # still within the window
    clock.advance(seconds=2)
    assert _signin(world.app, "clin-a", WRONG) == 401  # the old failures no longer count
    assert len(_rows(world.db)) == 2 * settings.login_attempts + 2  # deleted once a minute
    clock.advance(minutes=1)
    assert _signin(world.app, "clin-a", WRONG) == 401
    rows = _rows(world.db)
    assert len(rows) == 4  # the expired failures are gone; the last two attempts remain
    cutoff = clock.now - dt.timedelta(seconds=window)
    assert all(at.replace(tzinfo=at.tzinfo or dt.UTC) >= cutoff for _, _, at in rows)
    assert _signin(world.app, "clin-a", PASSWORD) == 303


def test_a_success_forgets_the_user_names_failures_but_not_the_addresss(
    world: World, settings: Settings
) -> None:
    for _ in range(settings.login_attempts - 1):
        assert _signin(world.app, "clin-a", WRONG) == 401
    assert _signin(world.app, "clin-a", PASSWORD) == 303
    kinds = [kind for kind, _, _ in _rows(world.db)]
    assert kinds == ["address"] * (settings.login_attempts - 1)  # the success left no row
    for _ in range(settings.login_attempts):
        assert _signin(world.app, "clin-a", WRONG) == 401  # a fresh allowance for the name
    assert _signin(world.app, "clin-a", PASSWORD) == 429


def test_only_keyed_digests_are_stored_and_names_are_normalised(
    world: World, settings: Settings
) -> None:
    assert _signin(world.app, "  Clin-A ", WRONG) == 401
    [(k1, user, _), (k2, address, _)] = _rows(world.db)
    assert (k1, k2) == ("user", "address")
    secret = settings.secret_key
    assert user == keyed_digest(secret, "signin-throttle:user", "clin-a")
    assert address == keyed_digest(secret, "signin-throttle:address", "testclient")
    for plain in ("clin-a", "Clin-A", "testclient"):
        assert hashlib.sha256(plain.encode()).hexdigest() not in (user, address)
        assert plain not in user + address
    for _ in range(settings.login_attempts - 1):
        assert _signin(world.app, "CLIN-A", WRONG) == 401
    assert _signin(world.app, "clin-a", PASSWORD) == 429  # one user name, however written


def test_parallel_attempts_from_several_processes_cannot_outrun_the_count(
    web_db: Database, settings: Settings
) -> None:
    """Two databases objects (each with its own connections and, for SQLite, its own writer
    lock) stand for two processes; 24 attempts race for one user name's 5."""
    other = Database(web_db.url.render_as_string(hide_password=False))
    now = dt.datetime.now(dt.UTC)
    throttles = [
        SigninThrottle(db, settings.secret_key, 5, 300, lambda: now) for db in (web_db, other)
    ]

    def attempt(n: int) -> bool:
        return throttles[n % 2].begin("victim", f"10.0.0.{n}") is not None

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            through = sum(pool.map(attempt, range(24)))
    finally:
        other.close()
    assert through == 5


def test_purge_keeps_what_still_counts(web_db: Database, settings: Settings) -> None:
    clock = Clock()
    throttle = SigninThrottle(web_db, settings.secret_key, 5, 300, clock)
    assert throttle.begin("a", "addr") is not None
    clock.advance(seconds=200)
    assert throttle.begin("b", "addr") is not None
    clock.advance(seconds=101)
    assert throttle.purge() == 2  # the first attempt's two rows; the second's still count
    assert len(_rows(web_db)) == 2
