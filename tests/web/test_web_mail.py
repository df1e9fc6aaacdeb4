"""E-mailing a fresh link from the page that shows it, through a real local SMTP server.

The form exists only when mail is set up; it needs a session and its CSRF token, works only
for a link of the clinician's own clinic that still opens, sends exactly one message with the
link and nothing about the patient, and audits that it went (not to whom). A failed send
records nothing.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backstory.delivery import MailSettings
from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, audit
from backstory.storage.followups import schedule_followups
from backstory.web.app import create_app
from backstory.web.settings import Settings

from .conftest import Clock, World, csrf_of, sign_in

TOKEN = re.compile(r'name="token" value="([^"]+)"')
URL = re.compile(r'id="link-url" type="text" readonly value="([^"]+)"')
ADDRESS = "patient.person@example.net"


@pytest.fixture
def settings(smtp_server: Any) -> Settings:
    host, port, _box = smtp_server
    return Settings(
        environment="development",
        secret_key="test-secret-" + "x" * 40,
        mail=MailSettings(host, port, "clinic@example.org", "none", timeout=5.0),
    )


def _link_page(c: TestClient, path: str) -> str:
    r = c.post(path, data={"csrf": csrf_of(c.get("/patients").text)})
    assert r.status_code == 200, r.text
    return r.text


def _send(c: TestClient, page: str, to: str = ADDRESS, csrf: str | None = None) -> Any:
    token = TOKEN.search(page)
    assert token is not None, "no e-mail form on the link page"
    return c.post(
        "/links/email",
        data={
            "csrf": csrf if csrf is not None else csrf_of(page),
            "token": token.group(1),
            "to": to,
        },
    )


def _emails(db: Database) -> list[audit.AuditEvent]:
    return [e for e in db.transaction(lambda conn: audit.events(conn)) if e.action == "link.email"]


def test_a_questionnaire_link_is_emailed_with_nothing_about_the_patient(
    world: World, smtp_server: Any
) -> None:
    c = sign_in(world.app, "clin-a")
    page = _link_page(c, f"/patients/{world.patient_a}/links")
    url = URL.search(page)
    assert url is not None
    r = _send(c, page)
    assert r.status_code == 200 and 'id="email-sent"' in r.text
    box = smtp_server[2]
    assert len(box.messages) == 1 and box.recipients == [[ADDRESS]]
    text = box.text()
    assert url.group(1) in text and "Clinic A" in text
    assert "questionnaire to fill in before your appointment" in text
    for secret in ("ref-a-1", world.patient_a, "risk", "triage", "pain"):
        assert secret not in text and secret not in str(box.messages[0]["Subject"])
    events = _emails(world.db)
    assert len(events) == 1
    assert events[0].patient_id == world.patient_a
    assert events[0].detail == {"kind": "questionnaire", "reminder": False}
    assert ADDRESS not in json.dumps([e.to_dict() for e in events])


def test_an_explanation_and_a_followup_link_say_what_they_are(
    world: World, smtp_server: Any
) -> None:
    c = sign_in(world.app, "clin-a")
    _send(c, _link_page(c, f"/assessments/{world.assessment_a}/links"))
    made = world.db.transaction(
        lambda conn: schedule_followups(conn, world.clinician_a, world.episode_a, (2,))
    )
    _send(c, _link_page(c, f"/followups/{made[0].id}/link"))
    box = smtp_server[2]
    assert "explanation your clinician has written" in box.text(0)
    assert "follow-up questionnaire" in box.text(1)
    assert [e.detail["kind"] for e in _emails(world.db)] == ["explanation", "followup"]


def test_a_bad_address_or_a_refused_send_records_nothing(world: World, smtp_server: Any) -> None:
    c = sign_in(world.app, "clin-a")
    page = _link_page(c, f"/patients/{world.patient_a}/links")
    bad = _send(c, page, to="not an address")
    assert bad.status_code == 422 and 'id="email-error"' in bad.text
    smtp_server[2].refuse = True
    refused = _send(c, page)
    assert refused.status_code == 502 and "refused the address" in refused.text
    assert ADDRESS not in refused.text
    assert smtp_server[2].messages == [] and _emails(world.db) == []


def test_the_form_needs_a_session_its_csrf_and_a_link_of_ones_own_clinic(
    world: World, smtp_server: Any
) -> None:
    c = sign_in(world.app, "clin-a")
    page = _link_page(c, f"/patients/{world.patient_a}/links")
    assert _send(c, page, csrf="forged").status_code == 403
    anonymous = TestClient(world.app)
    assert _send(anonymous, page).status_code == 401
    other = sign_in(world.app, "clin-b")
    token = TOKEN.search(page)
    assert token is not None
    r = other.post(
        "/links/email",
        data={"csrf": csrf_of(other.get("/patients").text), "token": token.group(1), "to": ADDRESS},
    )
    assert r.status_code == 404
    forged = c.post(
        "/links/email",
        data={"csrf": csrf_of(page), "token": token.group(1) + "x", "to": ADDRESS},
    )
    assert forged.status_code == 404
    assert smtp_server[2].messages == [] and _emails(world.db) == []


def test_an_expired_or_answered_link_is_not_emailed(
    world: World, smtp_server: Any, clock: Clock
) -> None:
    c = sign_in(world.app, "clin-a")
    page = _link_page(c, f"/patients/{world.patient_a}/links")
    clock.advance(hours=73)
    c = sign_in(world.app, "clin-a")
    r = c.post(
        "/links/email",
        data={
            "csrf": csrf_of(c.get("/patients").text),
            "token": TOKEN.search(page).group(1),  # type: ignore[union-attr]
            "to": ADDRESS,
        },
    )
    assert r.status_code in (404, 409)
    assert smtp_server[2].messages == []


def test_without_mail_there_is_no_form_and_no_route(
    world: World, web_db: Database, settings: Settings, clock: Clock, kb: KnowledgeBase
) -> None:
    app: FastAPI = create_app(
        dataclasses.replace(settings, mail=None), web_db, knowledge=kb, clock=clock
    )
    c = sign_in(app, "clin-a")
    page = _link_page(c, f"/patients/{world.patient_a}/links")
    assert 'id="email-form"' not in page and "e-mail" not in page.lower()
    r = c.post("/links/email", data={"csrf": csrf_of(page), "token": "x", "to": ADDRESS})
    assert r.status_code == 404


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    from backstory.delivery import AddressKey

    return dataclasses.replace(settings, address_key=AddressKey(bytes(range(32))))


def _reminder_app(world: World, keyed: Settings, clock: Clock, kb: KnowledgeBase) -> FastAPI:
    return create_app(keyed, world.db, knowledge=kb, clock=clock)


def test_a_reminder_address_is_kept_sealed_and_forgotten(
    world: World, keyed: Settings, clock: Clock, kb: KnowledgeBase
) -> None:
    from sqlalchemy import select

    from backstory.storage.tables import patient_contact

    app = _reminder_app(world, keyed, clock, kb)
    c = sign_in(app, "clin-a")
    page = c.get(f"/patients/{world.patient_a}")
    assert 'id="reminders-form"' in page.text and "E-mail reminders: off" in page.text
    csrf = csrf_of(page.text)
    path = f"/patients/{world.patient_a}/reminder-address"
    no_consent = c.post(path, data={"csrf": csrf, "to": ADDRESS})
    assert no_consent.status_code == 422 and 'id="reminder-error"' in no_consent.text
    bad = c.post(path, data={"csrf": csrf, "to": "nope", "consent": "yes"})
    assert bad.status_code == 422
    assert c.post(path, data={"csrf": "forged", "to": ADDRESS, "consent": "yes"}).status_code == 403
    other = sign_in(app, "clin-b")
    theirs = other.post(
        path, data={"csrf": csrf_of(other.get("/patients").text), "to": ADDRESS, "consent": "yes"}
    )
    assert theirs.status_code == 404
    kept = c.post(path, data={"csrf": csrf, "to": ADDRESS, "consent": "yes"})
    assert kept.status_code == 200 and 'id="reminders-saved"' in kept.text
    assert "E-mail reminders: on" in kept.text and ADDRESS not in kept.text
    rows = world.db.transaction(lambda conn: conn.execute(select(patient_contact)).all())
    assert len(rows) == 1 and ADDRESS not in rows[0].email_sealed
    assert keyed.address_key is not None
    assert keyed.address_key.open(rows[0].email_sealed, world.patient_a) == ADDRESS
    actions = [e.action for e in world.db.transaction(lambda conn: audit.events(conn))]
    assert actions.count("contact.set") == 1
    gone = c.post(path + "/remove", data={"csrf": csrf})
    assert gone.status_code == 200 and "E-mail reminders: off" in gone.text
    assert world.db.transaction(lambda conn: conn.execute(select(patient_contact)).all()) == []


def test_without_the_key_no_address_is_kept(world: World, settings: Settings) -> None:
    c = sign_in(world.app, "clin-a")
    page = c.get(f"/patients/{world.patient_a}")
    assert 'id="reminders-form"' not in page.text
    r = c.post(
        f"/patients/{world.patient_a}/reminder-address",
        data={"csrf": csrf_of(page.text), "to": ADDRESS, "consent": "yes"},
    )
    assert r.status_code == 404


def test_the_settings_refuse_a_key_without_mail_and_bad_mail() -> None:
    from backstory.web.settings import SettingsError, settings_from_env

    key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
    with pytest.raises(SettingsError, match="e-mail is off"):
        settings_from_env({"BACKSTORY_MAIL_KEY": key})
    with pytest.raises(SettingsError, match="BACKSTORY_MAIL_TLS"):
        settings_from_env(
            {
                "BACKSTORY_MAIL_HOST": "smtp.example.org",
                "BACKSTORY_MAIL_FROM": "c@example.org",
                "BACKSTORY_MAIL_TLS": "maybe",
            }
        )
    found = settings_from_env(
        {
            "BACKSTORY_MAIL_HOST": "smtp.example.org",
            "BACKSTORY_MAIL_FROM": "c@example.org",
            "BACKSTORY_MAIL_KEY": key,
        }
    )
    assert found.mail is not None and found.address_key is not None
    assert settings_from_env({}).mail is None


MAIL_ROUTES = (
    "/links/email",
    "/patients/{patient_id}/reminder-address",
    "/patients/{patient_id}/reminder-address/remove",
)


def test_the_mail_routes_are_exactly_these_and_only_with_mail(
    world: World, keyed: Settings, clock: Clock, kb: KnowledgeBase, web_db: Database
) -> None:
    """The role matrix (test_web_matrix.py) runs without mail; these routes exist only with
    it, so they are classified here."""
    from .test_web_matrix import app_routes

    with_mail = set(app_routes(_reminder_app(world, keyed, clock, kb)))
    off = dataclasses.replace(keyed, mail=None, address_key=None)
    without = set(app_routes(create_app(off, web_db, knowledge=kb, clock=clock)))
    assert with_mail - without == {("POST", r) for r in MAIL_ROUTES}


@pytest.mark.parametrize(
    ("caller", "want"),
    [
        ("anonymous", {401}),
        ("read_token", {401}),
        ("write_token", {401}),
        ("operator", {404}),
        ("clin-b", {404}),
        ("admin-a", {200}),
        ("clin-a", {200}),
    ],
)
def test_every_caller_on_the_mail_routes(
    world: World,
    keyed: Settings,
    clock: Clock,
    kb: KnowledgeBase,
    smtp_server: Any,
    caller: str,
    want: set[int],
) -> None:
    app = _reminder_app(world, keyed, clock, kb)
    owner = sign_in(app, "clin-a")
    page = _link_page(owner, f"/patients/{world.patient_a}/links")
    token = TOKEN.search(page)
    assert token is not None
    if caller in ("anonymous", "read_token", "write_token"):
        c = TestClient(app)
        if caller != "anonymous":
            bearer = world.read_token if caller == "read_token" else world.write_token
            c.headers["Authorization"] = f"Bearer {bearer}"
        csrf = "not-a-valid-csrf-token"
    else:
        c = sign_in(app, "root" if caller == "operator" else caller)
        csrf = csrf_of(c.get("/patients").text)
    got = {}
    for route in MAIL_ROUTES:
        path = route.replace("{patient_id}", world.patient_a)
        form = {"csrf": csrf, "token": token.group(1), "to": ADDRESS, "consent": "yes"}
        got[route] = c.post(path, data=form).status_code
    assert set(got.values()) <= want, got
    sent = len(smtp_server[2].messages)
    assert sent == (1 if want == {200} else 0)


def test_a_programme_link_is_emailed_and_a_revoked_one_is_not(
    world: World, smtp_server: Any
) -> None:
    from .test_web_programme import _released

    c = sign_in(world.app, "clin-a")
    pid, gid, _path = _released(world, c)
    made = c.post(
        f"/patients/{pid}/programme-links", data={"csrf": csrf_of(c.get("/patients").text)}
    )
    assert 'id="email-form"' in made.text
    r = _send(c, made.text)
    assert r.status_code == 200 and 'id="email-sent"' in r.text
    assert "self-management programme" in r.text  # the programme's link page again
    box = smtp_server[2]
    url = URL.search(made.text)
    assert url is not None and "/programme/" in url.group(1)
    assert url.group(1) in box.text() and "your programme to follow between visits" in box.text()
    for secret in ("prog-web-1", pid, "facet", "pain"):
        assert secret not in box.text()
    assert [e.detail for e in _emails(world.db)] == [{"kind": "programme", "reminder": False}]
    page = c.get(f"/programmes/{gid}").text
    links = re.findall(r'action="/programme-links/([A-Z0-9]+)/revoke"', page)
    assert len(links) == 2
    for lid in links:
        c.post(f"/programme-links/{lid}/revoke", data={"csrf": csrf_of(page)})
    again = _send(c, made.text)
    assert again.status_code == 409 and len(box.messages) == 1
