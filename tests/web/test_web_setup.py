"""The first start: schema, the one-time set-up link, the first admin and operator, the demo."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from backstory.cli.main import cli
from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, Store, audit
from backstory.storage import accounts as acc
from backstory.storage.tables import account_link
from backstory.web.app import create_app
from backstory.web.demo import DEMO_CLINIC, demo_clinic, load_demo
from backstory.web.settings import Settings
from backstory.web.startup import prepare

from .conftest import PASSWORD, Clock, csrf_of, sign_in


def _setup(c: TestClient, path: str, **values: str) -> int:
    page = c.get(path)
    assert page.status_code == 200, page.text
    form = {
        "csrf": csrf_of(page.text),
        "username": "first",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "clinic": "First clinic",
    }
    form.update(values)
    return c.post(path, data=form).status_code


def test_first_start_makes_a_single_use_setup_link(
    tmp_path: Path, settings: Settings, kb: KnowledgeBase
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new' / 'backstory.db'}")
    ready = prepare(db, settings, "http://127.0.0.1:8000")
    assert db.revision() == db.head_revision()
    assert ready.setup_url and ready.setup_url.startswith("http://127.0.0.1:8000/setup/")
    token = ready.setup_url.rsplit("/", 1)[1]
    stored = db.transaction(
        lambda conn: list(conn.execute(select(account_link.c.digest)).scalars())
    )
    assert stored and token not in stored  # only a digest is kept
    app = create_app(settings, db, knowledge=kb)
    c = TestClient(app)
    assert "set-up link" in c.get("/").text
    path = "/setup/" + token
    assert _setup(c, path, confirm="something else entirely") == 400
    assert _setup(c, path, password="short") == 400
    assert _setup(c, path) == 200
    assert c.get(path).status_code == 404  # used up
    assert not db.transaction(acc.needs_setup)
    signed = sign_in(app, "first")
    assert signed.get("/operator/clinics").status_code == 200  # an operator
    assert signed.get("/admin/users").status_code == 200  # and the clinic's admin
    assert Store(db, "first").whoami().clinic == "First clinic"
    events = db.transaction(lambda conn: audit.events(conn))
    assert [e.action for e in events if e.action == "user.bootstrap"] == ["user.bootstrap"]
    again = prepare(db, settings, "http://127.0.0.1:8000")
    assert again.setup_url is None  # set up already: no new link
    db.close()


def test_setup_links_expire_and_each_start_replaces_the_last(
    tmp_path: Path, settings: Settings, kb: KnowledgeBase
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    first = prepare(db, settings, "http://x")
    second = prepare(db, settings, "http://x")
    assert first.setup_url and second.setup_url and first.setup_url != second.setup_url
    clock = Clock()
    c = TestClient(create_app(settings, db, knowledge=kb, clock=clock))
    assert c.get("/setup/" + first.setup_url.rsplit("/", 1)[1]).status_code == 404
    assert c.get("/setup/" + second.setup_url.rsplit("/", 1)[1]).status_code == 200
    clock.advance(hours=settings.link_hours + 1)
    assert c.get("/setup/" + second.setup_url.rsplit("/", 1)[1]).status_code == 404
    assert c.get("/setup/not-even-signed").status_code == 404
    db.close()


def test_demo_patients_wait_for_setup_and_go_to_the_clinic_it_creates(
    tmp_path: Path, settings: Settings, kb: KnowledgeBase
) -> None:
    """Set-up never joins an existing clinic (HZ-55), so the demo patients are not put in a
    clinic of their own before it: they go to the new clinic, once."""
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    ready = prepare(db, settings, "http://x", demo=True)
    assert ready.demo_added == 0 and ready.demo_clinic is None and ready.demo_after_setup
    assert db.transaction(lambda conn: acc.clinic_by_name(conn, DEMO_CLINIC)) is None
    assert ready.setup_url
    app = create_app(settings, db, knowledge=kb)
    app.state.web.extra["demo_after_setup"] = True
    c = TestClient(app)
    path = "/setup/" + ready.setup_url.rsplit("/", 1)[1]
    assert f'value="{DEMO_CLINIC}"' in c.get(path).text
    assert _setup(c, path, clinic=DEMO_CLINIC) == 200
    signed = sign_in(app, "first")
    assert "demo-facet-01" in signed.get("/patients").text
    cid = db.transaction(lambda conn: acc.clinic_by_name(conn, DEMO_CLINIC))
    assert cid is not None and load_demo(db, cid) == 0
    again = prepare(db, settings, "http://x", demo=True)
    assert (again.demo_added, again.demo_clinic, again.demo_after_setup) == (0, DEMO_CLINIC, False)
    db.close()


def test_serve_command_is_registered() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--database", "--demo"):
        assert option in result.output


def test_serve_refuses_a_missing_secret_in_production(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["serve", "--database", f"sqlite:///{tmp_path / 'p.db'}"],
        env={"BACKSTORY_ENV": "production", "BACKSTORY_SECRET_KEY": ""},
    )
    assert result.exit_code == 2 and "BACKSTORY_SECRET_KEY" in result.output
    assert not (tmp_path / "p.db").exists()


def _first_start(tmp_path: Path, settings: Settings, kb: KnowledgeBase) -> tuple[Database, str]:
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    ready = prepare(db, settings, "http://x", demo=True)
    assert ready.demo_after_setup and ready.setup_url
    return db, "/setup/" + ready.setup_url.rsplit("/", 1)[1]


def test_demo_patients_follow_the_clinic_whatever_it_is_named(
    tmp_path: Path, settings: Settings, kb: KnowledgeBase
) -> None:
    """Renaming the suggested "Demo clinic" at set-up never strands the demo patients."""
    db, path = _first_start(tmp_path, settings, kb)
    app = create_app(settings, db, knowledge=kb)
    app.state.web.extra["demo_after_setup"] = True
    c = TestClient(app)
    assert f'value="{DEMO_CLINIC}"' in c.get(path).text
    assert _setup(c, path, clinic="Riverside physiotherapy") == 200
    signed = sign_in(app, "first")
    listed = signed.get("/patients").text
    assert all(f"demo-{name}" in listed for name in ("facet-01", "sciatica-02", "urgent-04"))
    assert "demo-urgent-04" in signed.get("/worklist").text
    # the reassessment prompts are on the patient page, where the README says they are
    prompts = {}
    for row in Store(db, "first").list_patients():
        page = signed.get(f"/patients/{row.patient.id}").text
        prompts[row.patient.reference] = (
            "Not improving" in page and 'id="reassess-' in page,
            "Possibly out of date" in page and 'id="stale-' in page,
        )
    assert prompts["demo-sciatica-02"] == (True, False)  # leg pain worse
    assert prompts["demo-high-risk-03"] == (False, True)  # seen 50 days ago
    assert prompts["demo-facet-01"] == (False, False)  # improving
    assert db.transaction(lambda conn: acc.clinic_by_name(conn, DEMO_CLINIC)) is None
    db.close()


def test_an_older_demo_clinic_without_users_is_not_suggested(
    tmp_path: Path, settings: Settings, kb: KnowledgeBase
) -> None:
    """An older version loaded demo patients into "Demo clinic" before set-up; set-up never
    joins it (HZ-55), so suggesting its name would only fail: nothing is suggested, and the
    clinic set-up creates gets demo patients of its own."""
    db, path = _first_start(tmp_path, settings, kb)
    assert load_demo(db, demo_clinic(db)) == 4  # as the older version did
    app = create_app(settings, db, knowledge=kb)
    app.state.web.extra["demo_after_setup"] = True
    c = TestClient(app)
    assert 'value=""' in c.get(path).text and f'value="{DEMO_CLINIC}"' not in c.get(path).text
    assert _setup(c, path, clinic="Hillside clinic") == 200
    assert "demo-facet-01" in sign_in(app, "first").get("/patients").text
    db.close()
