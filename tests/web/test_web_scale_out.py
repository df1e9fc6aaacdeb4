"""Two Backstory processes on one PostgreSQL database behave as one.

Two real ``backstory serve`` processes (uvicorn, each on its own loopback port, same secret,
same settings) share one database, as two workers or two hosts behind a load balancer
would. Whichever process answers, a session, a sign-in throttle count, a CDS client JWT's
``jti`` and a one-time link must mean the same: none of that security state may live in one
process's memory. Skipped without ``BACKSTORY_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backstory.storage import Database
from backstory.storage import accounts as acc
from backstory.web.links import new_link
from backstory.web.security import Signer

from .cds_clients import Keys, claims, make_keys, sign, write_clients
from .conftest import PASSWORD, csrf_of, invite, make_operator, new_clinic
from .test_web_cds import PV, hook

SECRET = "scale-out-test-secret-" + "s" * 30
PUBLIC = "http://backstory.test"
"""Both processes' public address (the JWT audience), as behind one load balancer."""
ATTEMPTS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    base = os.environ.get("BACKSTORY_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("BACKSTORY_TEST_POSTGRES_URL is not set")
    schema = "scale_" + secrets.token_hex(6)
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


@pytest.fixture(scope="module")
def world(pg_url: str, password_hash: str) -> Iterator[dict[str, object]]:
    db = Database(pg_url)
    db.ensure_schema()
    op = make_operator(db, "root", "Operations", password_hash)
    admin_a = new_clinic(db, op, "Clinic A", "admin-a", password_hash)
    invite(db, admin_a, "clin-a", "clinician", password_hash)
    invite(db, admin_a, "clin-t", "clinician", password_hash)
    yield {"db": db, "admin_a": admin_a}
    db.close()


SERVE = "from backstory.cli.main import main; main()"


def _serve(url: str, port: int, env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--database", url]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


@pytest.fixture(scope="module")
def servers(
    pg_url: str, world: dict[str, object], keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Two ``backstory serve`` processes on one database: their base URLs."""
    folder = tmp_path_factory.mktemp("scale-out")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env |= {
        "BACKSTORY_ENV": "development",
        "BACKSTORY_SECRET_KEY": SECRET,
        "BACKSTORY_PUBLIC_URL": PUBLIC,
        "BACKSTORY_CDS_CLIENTS": str(write_clients(folder, keys)),
        "BACKSTORY_LOGIN_ATTEMPTS": str(ATTEMPTS),
        "BACKSTORY_CDS_FHIR_SERVERS": "https://FHIR.example.org/r4/",
    }
    ports = [_free_port(), _free_port()]
    logs = [tempfile.TemporaryFile() for _ in ports]  # noqa: SIM115 - closed below
    procs = [_serve(pg_url, port, env, log) for port, log in zip(ports, logs, strict=True)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for proc, base, log in zip(procs, bases, logs, strict=True):
            deadline = time.monotonic() + 120  # a start-up guard, not a timing assertion
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail("backstory serve did not start:\n" + log.read().decode())
                time.sleep(0.1)
        assert procs[0].pid != procs[1].pid
        for log in logs:  # each start says where a missing prefetch may be fetched from
            log.seek(0)
            assert "fetched from https://fhir.example.org/r4 " in log.read().decode()
        yield bases[0], bases[1]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for log in logs:
            log.close()


def _signin(c: httpx.Client, base: str, username: str, password: str) -> httpx.Response:
    page = c.get(base + "/signin")
    return c.post(
        base + "/signin",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )


def test_a_session_started_on_one_process_works_and_ends_on_the_other(
    servers: tuple[str, str],
) -> None:
    a, b = servers
    with httpx.Client() as c:  # cookies are per host, not per port: one browser, two processes
        assert _signin(c, a, "clin-a", PASSWORD).status_code == 303
        assert c.get(b + "/patients", follow_redirects=False).status_code == 200
        page = c.get(b + "/patients")
        out = c.post(b + "/signout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
        assert out.status_code == 303
        # the session ended on process B is over on process A too (cookie sent again by hand)
    with httpx.Client() as fresh:
        assert fresh.get(a + "/patients", follow_redirects=False).status_code == 303


def test_a_stolen_session_cookie_ended_on_one_process_is_refused_by_the_other(
    servers: tuple[str, str],
) -> None:
    a, b = servers
    with httpx.Client() as c:
        assert _signin(c, b, "clin-a", PASSWORD).status_code == 303
        cookie = dict(c.cookies)
        page = c.get(a + "/patients")
        c.post(a + "/signout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    for base in (a, b):
        with httpx.Client(cookies=cookie) as thief:
            assert thief.get(base + "/patients", follow_redirects=False).status_code == 303


def test_failed_sign_ins_are_counted_across_processes(servers: tuple[str, str]) -> None:
    a, b = servers
    with httpx.Client() as c:
        for base in (a, b, a)[:ATTEMPTS]:
            assert _signin(c, base, "clin-t", "wrong password!!").status_code == 401
        # the limit is reached on whichever process is asked next - even with the right password
        assert _signin(c, b, "clin-t", "wrong password!!").status_code == 429
        assert _signin(c, a, "clin-t", PASSWORD).status_code == 429
        assert _signin(c, b, "clin-t", PASSWORD).status_code == 429


def _cds(base: str, token: str) -> httpx.Response:
    return httpx.post(
        base + PV,
        json=hook("p02-facet-pattern"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def test_a_jwt_used_on_one_process_is_refused_as_replayed_by_the_other(
    servers: tuple[str, str], keys: Keys
) -> None:
    a, b = servers
    for first, second in ((a, b), (b, a)):
        token = sign(claims(PUBLIC + PV, time.time()), keys.ec, "ec-1")
        assert _cds(first, token).status_code == 200
        again = _cds(second, token)
        assert again.status_code == 401 and "used already" in again.json()["detail"]


def test_one_jwt_sent_to_both_processes_at_once_is_accepted_exactly_once(
    servers: tuple[str, str], keys: Keys
) -> None:
    a, b = servers
    for _ in range(5):
        token = sign(claims(PUBLIC + PV, time.time()), keys.ec, "ec-1")
        gate = threading.Barrier(4)
        statuses: list[int] = []

        def send(
            base: str,
            token: str = token,
            gate: threading.Barrier = gate,
            statuses: list[int] = statuses,
        ) -> None:
            gate.wait(60)
            statuses.append(_cds(base, token).status_code)

        threads = [threading.Thread(target=send, args=(base,)) for base in (a, b, a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert sorted(statuses) == [200, 401, 401, 401], statuses


def test_a_one_time_link_opened_on_one_process_is_used_up_for_both(
    servers: tuple[str, str], world: dict[str, object]
) -> None:
    a, b = servers
    db = world["db"]
    assert isinstance(db, Database)
    token, digest = new_link(Signer(SECRET), "account-link")
    now = dt.datetime.now(dt.UTC)
    later = now + dt.timedelta(hours=1)
    db.transaction(
        lambda conn: acc.invite_user(
            conn,
            world["admin_a"],
            "clin-new",
            "clinician",
            digest,
            now,
            later,  # type: ignore[arg-type]
        )
    )
    with httpx.Client() as c:
        page = c.get(f"{a}/password/{token}")
        assert page.status_code == 200
        form = {"password": "a new password 4 me", "confirm": "a new password 4 me"}
        form["csrf"] = csrf_of(page.text)
        saved = c.post(f"{b}/password/{token}", data=form)
        assert saved.status_code == 200 and "Password saved" in saved.text, saved.text
        for base in (a, b):
            assert c.get(f"{base}/password/{token}").status_code == 404
            assert c.post(f"{base}/password/{token}", data=form).status_code == 404
    with httpx.Client() as c:
        assert _signin(c, a, "clin-new", "a new password 4 me").status_code == 303
