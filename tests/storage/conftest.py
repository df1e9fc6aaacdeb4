"""Storage fixtures: every storage test runs on SQLite, and on PostgreSQL when it is available.

PostgreSQL tests need ``BACKSTORY_TEST_POSTGRES_URL`` (``scripts/test.sh`` starts a private
server and sets it). Each test gets its own schema, dropped afterwards. Without the URL the
PostgreSQL cases are skipped - except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import backstory
from backstory.storage import Database, Store

PG_ENV = "BACKSTORY_TEST_POSTGRES_URL"
EXAMPLES = Path(__file__).parents[1] / "data" / "examples"
SRC = Path(backstory.__file__).resolve().parents[1]


def postgres_url() -> str:
    """The test server's URL, or skip (fail in CI) without one."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} must be set in CI (scripts/test.sh starts PostgreSQL)")
        pytest.skip(f"{PG_ENV} is not set")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test (PostgreSQL skipped without a test server, failed in CI)."""
    if request.param == "postgresql":
        postgres_url()
    return str(request.param)


@pytest.fixture
def new_url(backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Make URLs of fresh, empty databases on the backend under test (removed afterwards)."""
    schemas: list[str] = []
    admin = create_engine(postgres_url()) if backend == "postgresql" else None

    def make() -> str:
        n = len(schemas) + 1
        schemas.append("t_" + secrets.token_hex(6))
        if admin is None:
            return f"sqlite:///{tmp_path / f'records-{n}.db'}"
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schemas[-1]}"))
        options = {"options": f"-csearch_path={schemas[-1]}"}
        return make_url(postgres_url()).update_query_dict(options).render_as_string(False)

    yield make
    if admin is not None:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def db_url(new_url: Callable[[], str]) -> str:
    """A fresh, empty database URL on each backend."""
    return new_url()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """An open database with the current schema."""
    database = Database(db_url)
    database.ensure_schema()
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> Store:
    """The records as "alice", who becomes the admin of the new database."""
    return Store(db, "alice")


def example(name: str) -> dict[str, Any]:
    """One bundled synthetic example as a dict."""
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return data


@pytest.fixture
def assessment_text() -> Callable[..., str]:
    """JSON text of a synthetic assessment (p07 by default) with chosen date and pain."""

    def make(name: str = "p07-high-risk-with-odi.json", **changes: Any) -> str:
        data = example(name)
        for key, value in changes.items():
            if key in ("back", "leg"):
                data.setdefault("pain", {})[key] = value
            elif value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return json.dumps(data)

    return make


@pytest.fixture
def child_env() -> dict[str, str]:
    """Environment for child processes that import this checkout of backstory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env
