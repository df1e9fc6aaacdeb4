"""Sign-in throttling (HZ-14, HZ-56): exponential back-off per user name from one place, an
address limit that never blocks a right password for another user, device cookies, an
admin's unlock - shared through the database across app instances and restarts, on SQLite
and PostgreSQL, with nothing identifying stored.

Two or three apps over one database stand for the processes of a deployment, a new app for a
restarted one. The clock is the fixture's settable clock, so no test waits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, audit
from backstory.storage import throttle as store
from backstory.storage.tables import signin_failure
from backstory.web.app import create_app
from backstory.web.security import keyed_digest
from backstory.web.settings import Settings
from backstory.web.throttle import ADDRESS_FACTOR, Refused, SigninThrottle

from .conftest import PASSWORD, Clock, World, csrf_of, sign_in

WRONG = "not the password at all"
ATTACKER = ("203.0.113.9", 40000)


def _attempt(c: TestClient, username: str, password: str) -> tuple[int, str | None]:
    page = c.get("/signin")
    r = c.post(
        "/signin",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    return r.status_code, r.headers.get("retry-after")


def _signin(app: FastAPI | TestClient, username: str, password: str) -> int:
    c = app if isinstance(app, TestClient) else TestClient(app)
    return _attempt(c, username, password)[0]


def _rows(db: Database) -> list[tuple[str, str, dt.datetime]]:
    return db.transaction(
        lambda conn: [
            (r.kind, r.digest, r.at)
            for r in conn.execute(select(signin_failure).order_by(signin_failure.c.id))
        ]
    )


def test_the_delay_doubles_after_the_free_failures_up_to_the_cap() -> None:
    backoff = store.Backoff(
        dt.timedelta(seconds=1), dt.timedelta(seconds=900), dt.timedelta(seconds=3600)
    )
    assert backoff.delay(4, 5) == dt.timedelta(0)  # just below: free
    assert backoff.delay(5, 5) == dt.timedelta(seconds=1)  # at the limit: the first wait
    assert backoff.delay(6, 5) == dt.timedelta(seconds=2)
    assert backoff.delay(14, 5) == dt.timedelta(seconds=512)
    assert backoff.delay(15, 5) == dt.timedelta(seconds=900)  # 1024 s, capped
    assert backoff.delay(10_000, 5) == dt.timedelta(seconds=900)


def test_back_off_waits_grow_and_the_right_password_works_after_each(
    world: World, settings: Settings, clock: Clock
) -> None:
    c = TestClient(world.app)
    for _ in range(settings.login_attempts):
        assert _attempt(c, "clin-a", WRONG) == (401, None)
    waits = []
    for _ in range(12):
        status, retry = _attempt(c, "clin-a", PASSWORD)
        assert status == 429 and retry is not None  # refused before the password is checked
        waits.append(int(retry))
        clock.advance(seconds=int(retry) - 1)
        assert _attempt(c, "clin-a", PASSWORD)[0] == 429  # one second early: still waiting
        clock.advance(seconds=1)
        assert _attempt(c, "clin-a", WRONG) == (401, None)  # the wait is over: checked again
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    clock.advance(seconds=900)
    assert _attempt(c, "clin-a", PASSWORD) == (303, None)  # never locked
    assert _attempt(TestClient(world.app), "clin-a", WRONG) == (401, None)  # fresh allowance


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
    assert _signin(restarted, "admin-a", PASSWORD) == 303  # another user name is not slowed
    clock.advance(seconds=1)
    assert _signin(restarted, "clin-a", PASSWORD) == 303


def test_failures_from_another_address_never_delay_the_user(
    world: World, settings: Settings
) -> None:
    """HZ-56: an attacker guessing clin-a's password from their own address slows only
    themselves."""
    attacker = TestClient(world.app, client=ATTACKER)
    for _ in range(settings.login_attempts):
        assert _signin(attacker, "clin-a", WRONG) == 401
    assert _signin(attacker, "clin-a", PASSWORD) == 429
    assert _signin(TestClient(world.app), "clin-a", PASSWORD) == 303  # from the user's own


def test_a_browser_that_signed_in_before_is_not_delayed_by_its_shared_address(
    world: World, settings: Settings
) -> None:
    """Behind one address (a clinic's NAT), an attacker's failures for clin-a do not delay
    clin-a's own browser, which carries the device cookie of an earlier sign-in."""
    own = sign_in(world.app, "clin-a")
    assert own.cookies.get("backstory-device")
    own.post("/signout", data={"csrf": csrf_of(own.get("/patients").text)})
    attacker = TestClient(world.app)  # the same address, no device cookie
    for _ in range(settings.login_attempts):
        assert _signin(attacker, "clin-a", WRONG) == 401
    assert _signin(attacker, "clin-a", PASSWORD) == 429
    assert _signin(own, "clin-a", PASSWORD) == 303
    forged = TestClient(world.app)
    forged.cookies.set("backstory-device", "forged.cookie.value")
    assert _signin(forged, "clin-a", PASSWORD) == 429  # an unsigned cookie counts for nothing


def test_the_address_limit_never_blocks_a_right_password_for_another_user(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock
) -> None:
    """HZ-56: twenty failures from one address used to lock out every user there."""
    apps = [world.app, create_app(settings, world.db, knowledge=kb, clock=clock)]
    limit = settings.login_attempts * ADDRESS_FACTOR
    for n in range(limit):
        assert _signin(apps[n % 2], f"spray-{n}", WRONG) == 401
    assert _signin(apps[0], "admin-a", PASSWORD) == 303  # same address, right password
    assert _signin(apps[1], "clin-a", PASSWORD) == 303
    # past the limit, a user name tried from this address backs off from its first failure
    assert _signin(apps[0], "spray-new", WRONG) == 401
    assert _signin(apps[1], "spray-new", WRONG) == 429
    assert _signin(apps[0], "another-new", WRONG) == 401  # still no one refused outright
    assert _signin(apps[0], "clin-b", PASSWORD) == 303


def test_below_the_address_limit_a_user_name_keeps_its_free_failures(
    world: World, settings: Settings
) -> None:
    for n in range(settings.login_attempts * ADDRESS_FACTOR - 1 - settings.login_attempts):
        assert _signin(world.app, f"spray-{n}", WRONG) == 401
    # one short of the address limit when the last of these five begins
    for _ in range(settings.login_attempts):
        assert _signin(world.app, "spray-last", WRONG) == 401
    assert _signin(world.app, "spray-last", WRONG) == 429


def test_failures_expire_with_the_window_and_are_deleted(
    world: World, settings: Settings, clock: Clock
) -> None:
    window = settings.login_window_seconds
    for _ in range(settings.login_attempts):
        assert _signin(world.app, "clin-a", WRONG) == 401
    clock.advance(seconds=1)
    assert _signin(world.app, "clin-a", WRONG) == 401  # six failures: two seconds to wait
    clock.advance(seconds=window - 1)
    # the oldest five are exactly one window old: still counted, so the newest two of seven
    # failures make the next try wait
    assert _signin(world.app, "clin-a", WRONG) == 401
    assert _signin(world.app, "clin-a", WRONG) == 429
    assert len(_rows(world.db)) == 2 * (settings.login_attempts + 2)  # deleted once a minute
    clock.advance(minutes=1)
    assert _signin(world.app, "clin-a", WRONG) == 401
    rows = _rows(world.db)
    assert len(rows) == 4  # the expired failures are gone; the last two attempts remain
    cutoff = clock.now - dt.timedelta(seconds=window)
    assert all(at.replace(tzinfo=at.tzinfo or dt.UTC) >= cutoff for _, _, at in rows)
    assert _signin(world.app, "clin-a", PASSWORD) == 303


def test_a_success_forgets_the_places_failures_but_not_the_addresss(
    world: World, settings: Settings
) -> None:
    c = TestClient(world.app)
    for _ in range(settings.login_attempts - 1):
        assert _signin(c, "clin-a", WRONG) == 401
    assert _signin(c, "clin-a", PASSWORD) == 303
    kinds = [kind for kind, _, _ in _rows(world.db)]
    assert kinds == ["address"] * (settings.login_attempts - 1)  # the success left no row


def test_only_keyed_digests_are_stored_and_names_are_normalised(
    world: World, settings: Settings
) -> None:
    assert _signin(world.app, "  Clin-A ", WRONG) == 401
    [(k1, user, _), (k2, address, _)] = _rows(world.db)
    assert (k1, k2) == ("user", "address")
    secret = settings.secret_key
    name = keyed_digest(secret, "signin-throttle:user", "clin-a")
    assert address == keyed_digest(secret, "signin-throttle:address", "testclient")
    assert user == store.user_key(name, address) == name[:32] + address[:32]
    for plain in ("clin-a", "Clin-A", "testclient"):
        assert hashlib.sha256(plain.encode()).hexdigest() not in (user, address)
        assert plain not in user + address
    for _ in range(settings.login_attempts - 1):
        assert _signin(world.app, "CLIN-A", WRONG) == 401
    assert _signin(world.app, "clin-a", PASSWORD) == 429  # one user name, however written


def test_an_admin_clears_a_users_delays_from_every_place_and_it_is_audited(
    world: World, settings: Settings
) -> None:
    places = [TestClient(world.app), TestClient(world.app, client=ATTACKER)]
    for c in places:
        for _ in range(settings.login_attempts):
            assert _signin(c, "clin-a", WRONG) == 401
        assert _signin(c, "clin-a", PASSWORD) == 429
    for _ in range(settings.login_attempts):
        assert _signin(places[0], "clin-b", WRONG) == 401  # another clinic's user
    admin = sign_in(world.app, "admin-a")
    page = admin.get("/admin/users").text
    assert 'id="unlock-clin-a"' in page
    r = admin.post(f"/admin/users/{world.clinician_a.id}/unlock", data={"csrf": csrf_of(page)})
    assert r.status_code == 200
    assert re.search(r"clin-a can sign in again at once \(10 failed sign-ins forgotten\)", r.text)
    for c in places:
        assert _signin(c, "clin-a", PASSWORD) == 303
    assert _signin(world.app, "clin-b", PASSWORD) == 429  # clin-b's delays are untouched
    other = admin.post(f"/admin/users/{world.clinician_b.id}/unlock", data={"csrf": csrf_of(page)})
    assert other.status_code == 404  # another clinic's user looks missing
    events = world.db.transaction(lambda conn: audit.events(conn))
    unlocks = [e for e in events if e.action == "user.unlock"]
    assert [(e.actor, e.record_id, e.detail) for e in unlocks] == [
        ("admin-a", world.clinician_a.id, {"count": 10})
    ]


def test_clear_user_refuses_anything_but_a_digest(web_db: Database) -> None:
    with pytest.raises(ValueError):
        web_db.transaction(lambda conn: store.clear_user(conn, "clin-a%"))


def test_parallel_attempts_from_several_processes_cannot_outrun_the_count(
    web_db: Database, settings: Settings
) -> None:
    """Two database objects (each with its own connections and, for SQLite, its own writer
    lock) stand for two processes; 24 attempts race for one user name's 5 free failures
    from one address (the clock stands still, so the sixth must wait)."""
    other = Database(web_db.url.render_as_string(hide_password=False))
    now = dt.datetime.now(dt.UTC)
    throttles = [
        SigninThrottle(db, settings.secret_key, 5, 300, lambda: now) for db in (web_db, other)
    ]

    def attempt(n: int) -> bool:
        return not isinstance(throttles[n % 2].begin("victim", "10.0.0.1"), Refused)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            through = sum(pool.map(attempt, range(24)))
    finally:
        other.close()
    assert through == 5


def test_purge_keeps_what_still_counts(web_db: Database, settings: Settings) -> None:
    clock = Clock()
    throttle = SigninThrottle(web_db, settings.secret_key, 5, 300, clock)
    assert not isinstance(throttle.begin("a", "addr"), Refused)
    clock.advance(seconds=200)
    assert not isinstance(throttle.begin("b", "addr"), Refused)
    clock.advance(seconds=101)
    assert throttle.purge() == 2  # the first attempt's two rows; the second's still count
    assert len(_rows(web_db)) == 2
