"""Web fixtures: an app over a fresh SQLite database, users of several clinics, signed-in clients.

Passwords are hashed once per session (argon2id is slow on purpose) and users are made
through the same storage functions the pages use. Time is a controllable clock, so session
and link expiry are tested without waiting.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, Store
from backstory.storage import accounts as acc
from backstory.storage.users import User
from backstory.web.app import create_app
from backstory.web.security import hash_password, token_digest
from backstory.web.settings import Settings

PASSWORD = "correct horse battery staple"
EXAMPLES = Path(__file__).parents[1] / "data" / "examples"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def example(name: str = "p07-high-risk-with-odi.json", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    data.update(changes)
    return data


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


class Clock:
    """A settable UTC clock."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="development", secret_key="test-secret-" + "x" * 40)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgresql"])
def web_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database on each backend (PostgreSQL in its own schema, when available)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'web.db'}")
        db.ensure_schema()
        yield db
        db.close()
        return
    base = os.environ.get("BACKSTORY_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("BACKSTORY_TEST_POSTGRES_URL is not set")
    schema = "web_" + secrets.token_hex(6)
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        db.ensure_schema()
        yield db
    finally:
        db.close()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def app(web_db: Database, settings: Settings, clock: Clock, kb: KnowledgeBase) -> FastAPI:
    return create_app(settings, web_db, knowledge=kb, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


def _digest(n: int) -> str:
    return token_digest(f"fixture-link-{n}-{secrets.token_hex(8)}")


def make_operator(db: Database, username: str, clinic: str, hashed: str) -> User:
    """The first account, as the set-up link makes it: a clinic admin and an operator."""
    now = dt.datetime.now(dt.UTC)
    digest = _digest(1)
    later = now + dt.timedelta(hours=1)
    db.transaction(lambda conn: acc.new_setup_link(conn, digest, now, later))
    return db.transaction(
        lambda conn: acc.complete_setup(conn, digest, username, hashed, clinic, now)
    )


def invite(db: Database, actor: User, username: str, role: str, hashed: str) -> User:
    """A user invited by an admin who has then chosen their password."""
    now = dt.datetime.now(dt.UTC)
    digest = _digest(2)
    later = now + dt.timedelta(hours=1)
    user = db.transaction(
        lambda conn: acc.invite_user(conn, actor, username, role, digest, now, later)  # type: ignore[arg-type]
    )
    db.transaction(lambda conn: acc.set_password(conn, digest, hashed, now))
    return user


def new_clinic(db: Database, operator: User, name: str, admin: str, hashed: str) -> User:
    now = dt.datetime.now(dt.UTC)
    digest = _digest(3)
    later = now + dt.timedelta(hours=1)
    _cid, user = db.transaction(
        lambda conn: acc.create_clinic(conn, operator, name, admin, digest, now, later)
    )
    db.transaction(lambda conn: acc.set_password(conn, digest, hashed, now))
    return user


def make_token(db: Database, admin: User, scope: str) -> str:
    token = f"bst_test_{scope}_{admin.username}"
    now = dt.datetime.now(dt.UTC)
    db.transaction(
        lambda conn: acc.create_token(
            conn, admin, f"{scope} token", scope, token_digest(token), now
        )  # type: ignore[arg-type]
    )
    return token


def sign_in(app: FastAPI, username: str, password: str = PASSWORD) -> TestClient:
    """A new client with its own cookies, signed in as ``username``."""
    c = TestClient(app)
    page = c.get("/signin")
    r = c.post(
        "/signin",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return c


def page_csrf(c: TestClient, path: str = "/patients") -> str:
    return csrf_of(c.get(path).text)


@dataclass
class World:
    """Clinics O (the operator's), A and B, their users, tokens, patients and assessments."""

    app: FastAPI
    db: Database
    operator: User
    admin_a: User
    clinician_a: User
    admin_b: User
    clinician_b: User
    read_token: str
    write_token: str
    patient_a: str
    episode_a: str
    assessment_a: str
    patient_b: str
    assessment_b: str
    clients: dict[str, TestClient] = field(default_factory=dict)


@pytest.fixture
def world(app: FastAPI, web_db: Database, password_hash: str) -> World:
    op = make_operator(web_db, "root", "Operations", password_hash)
    admin_a = new_clinic(web_db, op, "Clinic A", "admin-a", password_hash)
    clinician_a = invite(web_db, admin_a, "clin-a", "clinician", password_hash)
    admin_b = new_clinic(web_db, op, "Clinic B", "admin-b", password_hash)
    clinician_b = invite(web_db, admin_b, "clin-b", "clinician", password_hash)
    store_a = Store(web_db, "clin-a")
    pa = store_a.add_patient("ref-a-1")
    saved = store_a.save_assessment(pa.id, json.dumps(example(assessed_on="2026-01-05")))
    store_b = Store(web_db, "clin-b")
    pb = store_b.add_patient("ref-b-1")
    saved_b = store_b.save_assessment(pb.id, json.dumps(example(assessed_on="2026-01-06")))
    return World(
        app=app,
        db=web_db,
        operator=op,
        admin_a=admin_a,
        clinician_a=clinician_a,
        admin_b=admin_b,
        clinician_b=clinician_b,
        read_token=make_token(web_db, admin_a, "read"),
        write_token=make_token(web_db, admin_a, "write"),
        patient_a=pa.id,
        episode_a=saved.episode.id,
        assessment_a=saved.assessment.id,
        patient_b=pb.id,
        assessment_b=saved_b.assessment.id,
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options, pointed at Debian's Chromium (tests/web/browsing.py)."""
    from .browsing import launch_args

    return {**browser_type_launch_args, **launch_args()}
