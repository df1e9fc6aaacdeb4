"""Role boundaries for accounts (HZ-55): only operators act on operators' accounts, the last
active operator stays one, and set-up runs on an empty database only - on SQLite and
PostgreSQL (the ``web_db`` fixture).

The matrix below is every actor role x target role x account action, each cell with its
exact answer and its effect (or the absence of one) on the target's account.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from backstory.cli.main import cli
from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, Store, users
from backstory.storage import accounts as acc
from backstory.storage.errors import Conflict, NotAllowed, NotFound
from backstory.storage.tables import account, app_user
from backstory.storage.users import User
from backstory.web.app import create_app
from backstory.web.security import token_digest
from backstory.web.settings import Settings
from backstory.web.startup import prepare

from .conftest import PASSWORD, csrf_of, invite, make_operator, new_clinic, sign_in


@dataclass
class Accounts:
    app: FastAPI
    db: Database
    root: User
    """The first operator, admin of clinic O."""
    admin_o: User
    clin_o: User
    admin_a: User


def _make_operator(db: Database, by: User, user: User) -> None:
    now = dt.datetime.now(dt.UTC)
    db.transaction(lambda conn: acc.set_operator(conn, by, user.id, True, now))


@pytest.fixture
def people(app: FastAPI, web_db: Database, password_hash: str) -> Accounts:
    root = make_operator(web_db, "root", "Operations", password_hash)
    admin_o = invite(web_db, root, "admin-o", "admin", password_hash)
    clin_o = invite(web_db, root, "clin-o", "clinician", password_hash)
    admin_a = new_clinic(web_db, root, "Clinic A", "admin-a", password_hash)
    return Accounts(app, web_db, root, admin_o, clin_o, admin_a)


def _state(db: Database, user_id: str) -> tuple[bool, str, bool, bool]:
    """(active, role, operator, has a password) of one user."""

    def read(conn: object) -> tuple[bool, str, bool, bool]:
        row = conn.execute(  # type: ignore[attr-defined]
            select(app_user.c.active, app_user.c.role, account.c.operator, account.c.password_hash)
            .join(account, account.c.user_id == app_user.c.id)
            .where(app_user.c.id == user_id)
        ).one()
        return bool(row.active), str(row.role), bool(row.operator), row.password_hash is not None

    return db.transaction(read)


def _post(c: TestClient, path: str, **data: str) -> int:
    csrf = csrf_of(c.get("/patients").text)
    return c.post(path, data={"csrf": csrf, **data}, follow_redirects=False).status_code


# -- the reported attack, step by step ------------------------------------------------------


def test_a_clinic_admin_cannot_take_over_or_remove_the_operator(people: Accounts) -> None:
    """The finding: admin-o (admin of the operator's own clinic, not an operator) saw "Reset
    password" for root, got a one-time link, set root's password and signed in as root; or
    deactivated root, after which anonymous visitors were offered set-up again."""
    admin = sign_in(people.app, "admin-o")
    page = admin.get("/admin/users").text
    assert 'id="reset-root"' not in page and 'id="deactivate-root"' not in page
    assert 'id="reset-clin-o"' in page  # the clinic's other users are still managed
    before = _state(people.db, people.root.id)
    for action, data in (
        ("reset", {}),
        ("deactivate", {}),
        ("role", {"role": "clinician"}),
        ("operator", {"operator": "no"}),
        ("unlock", {}),
    ):
        assert _post(admin, f"/admin/users/{people.root.id}/{action}", **data) == 403, action
    assert _state(people.db, people.root.id) == before == (True, "admin", True, True)
    sign_in(people.app, "root")  # root's password and sessions are untouched
    anonymous = TestClient(people.app).get("/", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/signin"


# -- the matrix -------------------------------------------------------------------------------

ACTORS = ("operator", "admin", "clinician", "other-clinic-admin")
TARGETS = ("operator", "admin", "clinician")
ACTIONS = ("reset", "deactivate", "role", "grant-operator", "revoke-operator", "unlock")


def expected(actor: str, target: str, action: str) -> int:
    """The exact answer to one cell (targets are users of clinic O)."""
    success = 200 if action in ("reset", "unlock") else 303
    if actor == "clinician":
        return 403  # not an admin
    if actor == "other-clinic-admin":
        # not an operator; and clinic O's users look missing to clinic A's admin
        return 403 if action.endswith("-operator") else 404
    if actor == "admin":  # clinic O's admin, not an operator
        if target == "operator" or action.endswith("-operator"):
            return 403
        return success
    assert actor == "operator"
    if action == "grant-operator" and target == "operator":
        return 409  # already one
    if action == "revoke-operator" and target != "operator":
        return 409  # not one
    return success


def _target(people: Accounts, kind: str, n: int) -> User:
    role = "clinician" if kind == "clinician" else "admin"
    user = invite(people.db, people.root, f"target-{kind}-{n}", role, _hash(people))
    if kind == "operator":
        _make_operator(people.db, people.root, user)
    return user


def _hash(people: Accounts) -> str:
    found = people.db.transaction(
        lambda conn: conn.execute(
            select(account.c.password_hash).where(account.c.user_id == people.root.id)
        ).scalar_one()
    )
    return str(found)


def _request(action: str, target: User) -> tuple[str, dict[str, str]]:
    base = f"/admin/users/{target.id}"
    if action == "role":
        return f"{base}/role", {"role": "clinician" if target.role == "admin" else "admin"}
    if action == "grant-operator":
        return f"{base}/operator", {"operator": "yes"}
    if action == "revoke-operator":
        return f"{base}/operator", {"operator": "no"}
    return f"{base}/{action}", {}


def _effect(action: str, before: tuple[bool, str, bool, bool]) -> tuple[bool, str, bool, bool]:
    """The target's account after a successful action."""
    active, role, operator, has_password = before
    if action == "reset":
        return active, role, operator, False
    if action == "deactivate":
        return False, role, operator, has_password
    if action == "role":
        return active, "clinician" if role == "admin" else "admin", operator, has_password
    if action == "grant-operator":
        return active, role, True, has_password
    if action == "revoke-operator":
        return active, role, False, has_password
    return before  # unlock changes no account


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("actor", ACTORS)
def test_account_actions_matrix(people: Accounts, actor: str, target: str, action: str) -> None:
    name = {
        "operator": "root",
        "admin": "admin-o",
        "clinician": "clin-o",
        "other-clinic-admin": "admin-a",
    }[actor]
    c = sign_in(people.app, name)
    victim = _target(people, target, 0)
    before = _state(people.db, victim.id)
    path, data = _request(action, victim)
    want = expected(actor, target, action)
    assert _post(c, path, **data) == want
    assert _state(people.db, victim.id) == (_effect(action, before) if want < 400 else before)


# -- the last operator ----------------------------------------------------------------------


def test_the_last_active_operator_cannot_be_demoted_or_deactivated(people: Accounts) -> None:
    root = sign_in(people.app, "root")
    assert _post(root, f"/admin/users/{people.root.id}/operator", operator="no") == 409
    assert _post(root, f"/admin/users/{people.root.id}/deactivate") == 409
    _make_operator(people.db, people.root, people.admin_o)
    assert _post(root, f"/admin/users/{people.root.id}/operator", operator="no") == 303
    assert _state(people.db, people.root.id)[2] is False
    second = sign_in(people.app, "admin-o")
    assert _post(second, f"/admin/users/{people.admin_o.id}/operator", operator="no") == 409
    assert _post(second, f"/admin/users/{people.root.id}/deactivate") == 303  # no longer one
    assert people.db.transaction(users.active_operators) == 1


def test_an_operator_who_lost_the_right_cannot_use_it_from_a_stale_session(
    people: Accounts,
) -> None:
    """Two operators acting on each other: the one demoted (or deactivated) first can no
    longer act on the other, whatever their session remembers."""
    now = dt.datetime.now(dt.UTC)
    _make_operator(people.db, people.root, people.admin_o)
    people.db.transaction(lambda conn: acc.deactivate(conn, people.root, people.admin_o.id, now))
    with pytest.raises(NotAllowed):
        people.db.transaction(
            lambda conn: acc.deactivate(conn, people.admin_o, people.root.id, now)
        )
    with pytest.raises(NotAllowed):
        people.db.transaction(
            lambda conn: acc.set_operator(conn, people.admin_o, people.root.id, False, now)
        )
    with pytest.raises(Conflict):  # and the storage rule holds without the web app
        people.db.transaction(
            lambda conn: acc.set_operator(conn, people.root, people.root.id, False, now)
        )
    assert _state(people.db, people.root.id) == (True, "admin", True, True)


def test_the_command_line_cannot_deactivate_an_operator_either(people: Accounts) -> None:
    admin_o = Store(people.db, "admin-o")
    with pytest.raises(NotAllowed):
        admin_o.deactivate_user("root")
    Store(people.db, "root").deactivate_user("admin-o")
    assert _state(people.db, people.admin_o.id)[0] is False


# -- set-up -------------------------------------------------------------------------------------


def _setup_post(c: TestClient, path: str, token_page: str, clinic: str) -> int:
    return c.post(
        path,
        data={
            "csrf": csrf_of(token_page),
            "username": f"intruder-{secrets.token_hex(3)}",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "clinic": clinic,
        },
    ).status_code


def test_setup_refuses_once_any_user_exists(
    tmp_path: Path, settings: Settings, kb: KnowledgeBase
) -> None:
    """The finding's second half: with no active operator left, anonymous visitors were
    offered set-up, and set-up could join an existing clinic and read its patients."""
    db = Database(f"sqlite:///{tmp_path / 'setup.db'}")
    ready = prepare(db, settings, "http://x")
    assert ready.setup_url
    path = "/setup/" + ready.setup_url.rsplit("/", 1)[1]
    app = create_app(settings, db, knowledge=kb)
    c = TestClient(app)
    page = c.get(path).text
    # someone starts using the database from the command line before set-up is finished
    Store(db, "alice").add_patient("cli-patient")
    assert c.get(path).status_code == 404
    assert _setup_post(c, path, page, "default") == 404
    assert prepare(db, settings, "http://x").setup_url is None
    # the only operator-to-be is gone too: still no set-up
    db.transaction(lambda conn: conn.execute(update(app_user).values(active=False)))
    assert not db.transaction(acc.needs_setup)
    assert prepare(db, settings, "http://x").setup_url is None
    home = c.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/signin"
    db.close()


def test_setup_never_joins_an_existing_clinic(
    tmp_path: Path, settings: Settings, kb: KnowledgeBase
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'join.db'}")
    ready = prepare(db, settings, "http://x")
    assert ready.setup_url
    db.transaction(lambda conn: users.clinic_id(conn, "Existing clinic", create=True))
    c = TestClient(create_app(settings, db, knowledge=kb))
    path = "/setup/" + ready.setup_url.rsplit("/", 1)[1]
    page = c.get(path).text
    r = c.post(
        path,
        data={
            "csrf": csrf_of(page),
            "username": "first",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "clinic": "Existing clinic",
        },
    )
    assert r.status_code == 400 and "exists already" in r.text
    assert db.transaction(acc.needs_setup)  # nobody was made
    db.close()


def test_a_setup_link_stops_working_once_a_user_exists(
    web_db: Database,
) -> None:
    """The storage rule on both backends: a link made on an empty database stops working
    once a user exists, and complete_setup cannot be called around it."""
    now = dt.datetime.now(dt.UTC)
    digest = token_digest("setup-" + secrets.token_hex(4))
    later = now + dt.timedelta(hours=1)
    web_db.transaction(lambda conn: acc.new_setup_link(conn, digest, now, later))
    Store(web_db, "alice").whoami()
    assert web_db.transaction(lambda conn: acc.setup_link(conn, digest, now)) is None
    with pytest.raises(NotFound):
        web_db.transaction(
            lambda conn: acc.complete_setup(conn, digest, "mallory", "x", "default", now)
        )
    with pytest.raises(Conflict):
        web_db.transaction(lambda conn: acc.new_setup_link(conn, digest + "x", now, later))


def test_a_command_line_database_gets_its_web_users_by_links_not_by_setup(
    tmp_path: Path, settings: Settings, kb: KnowledgeBase
) -> None:
    """Set-up never runs once the command line has made a user, so an admin there gives
    users one-time links; the first such link may make an operator, later ones may not."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database(url)
    db.ensure_schema()
    Store(db, "alice").add_patient("cli-patient")  # alice: the first user, an admin
    Store(db, "alice").add_user("bob", "admin", None)
    env = {"BACKSTORY_SECRET_KEY": settings.secret_key, "BACKSTORY_PUBLIC_URL": "http://t"}
    runner = CliRunner()
    base = ["user", "web-link", "--database", url, "--user", "alice"]
    assert runner.invoke(cli, [*base, "alice"], env={"BACKSTORY_SECRET_KEY": ""}).exit_code == 2
    made = runner.invoke(cli, [*base, "alice", "--operator"], env=env)
    assert made.exit_code == 0, made.output
    link = re.search(r"http://t(/password/\S+)", made.output)
    assert link and "an operator" in made.output
    app = create_app(settings, db, knowledge=kb)
    c = TestClient(app)
    page = c.get(link.group(1))
    r = c.post(
        link.group(1),
        data={"csrf": csrf_of(page.text), "password": PASSWORD, "confirm": PASSWORD},
    )
    assert r.status_code == 200
    alice = sign_in(app, "alice")
    assert alice.get("/operator/clinics").status_code == 200
    assert "cli-patient" in alice.get("/patients").text
    again = runner.invoke(cli, [*base, "bob", "--operator"], env=env)
    assert again.exit_code != 0 and "operator already" in again.output
    bob_id = Store(db, "bob").whoami().id
    assert not db.transaction(lambda conn: users.is_operator(conn, bob_id))
    bob = runner.invoke(
        cli, ["user", "web-link", "--database", url, "--user", "bob", "alice"], env=env
    )
    assert bob.exit_code != 0 and "only an operator" in bob.output  # alice is one now
    Store(db, "alice").add_user("carol", "clinician", "Other clinic")
    carol = runner.invoke(cli, [*base, "carol"], env=env)
    assert carol.exit_code != 0 and "no user 'carol' in your clinic" in carol.output
    db.close()
