"""Signing in and out, sessions, CSRF, throttling, cookies and security headers (HZ-14)."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, audit
from backstory.storage.tables import account, web_session
from backstory.web.app import create_app
from backstory.web.security import SECURITY_HEADERS, verify_password
from backstory.web.settings import Settings, SettingsError, settings_from_env

from .conftest import PASSWORD, Clock, World, csrf_of, sign_in


def _post_signin(c: TestClient, username: str, password: str) -> int:
    page = c.get("/signin")
    r = c.post(
        "/signin",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    return r.status_code


def test_sign_in_and_out_with_a_server_side_session(world: World) -> None:
    c = TestClient(world.app)
    assert c.get("/patients", follow_redirects=False).headers["location"] == "/signin"
    assert _post_signin(c, "clin-a", "wrong password entirely") == 401
    assert _post_signin(c, "clin-a", PASSWORD) == 303
    assert c.get("/patients").status_code == 200
    sessions = world.db.transaction(lambda conn: conn.execute(select(web_session)).all())
    cookie = c.cookies.get("backstory")
    assert cookie and all(row.digest != cookie for row in sessions)  # only a digest is stored
    csrf = csrf_of(c.get("/patients").text)
    assert c.post("/signout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert c.get("/patients", follow_redirects=False).status_code == 303
    actions = [e.action for e in world.db.transaction(lambda conn: audit.events(conn))]
    assert "session.signin" in actions and "session.signout" in actions


def test_passwords_are_argon2id_hashes(world: World) -> None:
    hashes = world.db.transaction(
        lambda conn: list(conn.execute(select(account.c.password_hash)).scalars())
    )
    assert hashes and all(h.startswith("$argon2id$") for h in hashes if h)
    assert all(verify_password(h, PASSWORD) for h in hashes if h)


def test_cookie_flags(world: World) -> None:
    c = TestClient(world.app)
    page = c.get("/signin")
    r = c.post(
        "/signin",
        data={"username": "clin-a", "password": PASSWORD, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "backstory=" in v)
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/" in lowered
    assert "secure" not in lowered  # development over plain HTTP


def test_secure_cookies_use_the_host_prefix(
    web_db: Database, settings: Settings, kb: KnowledgeBase, world: World
) -> None:
    secure = create_app(dataclasses.replace(settings, secure_cookies=True), web_db, knowledge=kb)
    c = TestClient(secure, base_url="https://testserver")
    page = c.get("/signin")
    r = c.post(
        "/signin",
        data={"username": "clin-a", "password": PASSWORD, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "__Host-" in v)
    assert cookie.startswith("__Host-backstory=") and "Secure" in cookie
    assert r.headers["strict-transport-security"].startswith("max-age=")


def test_idle_timeout_and_absolute_lifetime(world: World, clock: Clock, settings: Settings) -> None:
    c = sign_in(world.app, "clin-a")
    clock.advance(minutes=settings.session_minutes - 1)
    assert c.get("/patients").status_code == 200
    clock.advance(minutes=settings.session_minutes + 1)
    assert c.get("/patients", follow_redirects=False).status_code == 303  # idle too long
    c = sign_in(world.app, "clin-a")
    for _ in range(settings.session_max_hours * 60 // (settings.session_minutes - 5) + 1):
        clock.advance(minutes=settings.session_minutes - 5)
        if c.get("/patients", follow_redirects=False).status_code != 200:
            break
    else:
        pytest.fail("a busy session outlived its absolute lifetime")


def test_every_form_post_needs_the_session_csrf_token(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    for data in (
        {},
        {"csrf": "forged"},
        {"csrf": csrf_of(sign_in(world.app, "admin-a").get("/patients").text)},
    ):
        r = c.post("/patients", data={**data, "reference": "csrf-test"})
        assert r.status_code == 403, data
    assert "csrf-test" not in c.get("/patients").text
    assert c.post("/signin", data={"username": "clin-a", "password": PASSWORD}).status_code == 403


def test_sign_in_is_slowed_down_per_user_and_place_never_locked(
    world: World, settings: Settings, clock: Clock
) -> None:
    """HZ-56: five wrong passwords used to lock the user out even with the right one; now
    they cost a one-second wait, after which the right password works."""
    c = TestClient(world.app)
    for _ in range(settings.login_attempts):
        assert _post_signin(c, "clin-a", "not the password!") == 401
    r = c.get("/signin")
    page = c.post(
        "/signin",
        data={"username": "clin-a", "password": PASSWORD, "csrf": csrf_of(r.text)},
    )
    assert page.status_code == 429 and "Too many failed sign-ins" in page.text
    assert "wait 1 second " in page.text and page.headers["retry-after"] == "1"
    clock.advance(seconds=1)
    assert _post_signin(c, "clin-a", PASSWORD) == 303  # a delay, not a lock


def test_deactivated_users_lose_their_sessions(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    admin = sign_in(world.app, "admin-a")
    csrf = csrf_of(admin.get("/admin/users").text)
    r = admin.post(
        f"/admin/users/{world.clinician_a.id}/deactivate",
        data={"csrf": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert c.get("/patients", follow_redirects=False).status_code == 303
    assert _post_signin(TestClient(world.app), "clin-a", PASSWORD) == 401


@pytest.mark.parametrize(
    "path",
    [
        "/signin",
        "/healthz",
        "/static/backstory.css",
        "/api/docs",
        "/api/docs/static/swagger-ui-bundle.js",
        "/nowhere",
        "/api/v1/ping",
        "/api/v1/patients",
    ],
)
def test_security_headers_on_every_response(app: FastAPI, path: str) -> None:
    r = TestClient(app).get(path)
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, (path, name)
    assert "unsafe-inline" not in r.headers["content-security-policy"]


def test_no_inline_script_or_style_in_pages(world: World) -> None:
    c = sign_in(world.app, "admin-a")
    for path in (
        "/patients",
        f"/patients/{world.patient_a}",
        f"/patients/{world.patient_a}/assessments/new",
        f"/assessments/{world.assessment_a}",
        "/admin/users",
        "/knowledge",
    ):
        html = c.get(path).text
        assert "<script>" not in html and "<style" not in html and " style=" not in html, path
        assert " on" + "click=" not in html and 'href="#main"' in html, path


def test_forwarded_headers_are_trusted_only_behind_a_trusted_proxy(
    web_db: Database, settings: Settings, kb: KnowledgeBase
) -> None:
    plain = TestClient(create_app(settings, web_db, knowledge=kb))
    r = plain.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in r.headers
    proxied = create_app(dataclasses.replace(settings, trusted_proxy=True), web_db, knowledge=kb)
    r = TestClient(proxied).get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" in r.headers


def test_settings_refuse_a_default_secret_outside_development() -> None:
    with pytest.raises(SettingsError):
        settings_from_env({"BACKSTORY_ENV": "production"})
    with pytest.raises(SettingsError):
        settings_from_env({"BACKSTORY_ENV": "production", "BACKSTORY_SECRET_KEY": "short"})
    ok = settings_from_env({"BACKSTORY_ENV": "production", "BACKSTORY_SECRET_KEY": "k" * 48})
    assert ok.secure_cookies and ok.production
    dev = settings_from_env({})
    assert len(dev.secret_key) >= 32 and not dev.secure_cookies


def test_an_unexpected_error_is_a_plain_500_with_the_headers_and_no_detail_logged(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("stored value SECRET-9")

    r = TestClient(app).get("/boom-for-test")
    assert r.status_code == 500 and "SECRET-9" not in r.text
    assert r.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    assert "RuntimeError" in caplog.text and "SECRET-9" not in caplog.text
