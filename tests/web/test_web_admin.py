"""Clinic admins invite, reset and deactivate users and manage tokens; operators make clinics."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from backstory.storage import Store, audit, sharing
from backstory.storage.tables import api_token
from backstory.web.security import token_digest

from .conftest import PASSWORD, World, csrf_of, example, sign_in


def _link(html: str) -> str:
    found = re.search(r'id="account-link" type="text" readonly value="([^"]+)"', html)
    assert found
    return found.group(1).replace("http://testserver", "")


def _choose_password(app: object, path: str, password: str = PASSWORD) -> int:
    c = TestClient(app)  # type: ignore[arg-type]
    page = c.get(path)
    assert page.status_code == 200
    return c.post(
        path, data={"csrf": csrf_of(page.text), "password": password, "confirm": password}
    ).status_code


def test_invite_sign_in_reset_and_deactivate(world: World) -> None:
    admin = sign_in(world.app, "admin-a")
    csrf = csrf_of(admin.get("/admin/users").text)
    r = admin.post("/admin/users", data={"csrf": csrf, "username": "new-clin", "role": "clinician"})
    assert r.status_code == 200
    path = _link(r.text)
    assert _choose_password(world.app, path, "too short") == 400
    assert _choose_password(world.app, path) == 200
    assert TestClient(world.app).get(path).status_code == 404  # single use
    new = sign_in(world.app, "new-clin")
    assert "ref-a-1" in new.get("/patients").text  # clinic A's patients
    users = admin.get("/admin/users").text
    uid = re.search(
        r'action="/admin/users/(U[0-9A-Z]+)/reset"[^>]*>\s*<input[^>]*>\s*<button[^>]*id="reset-new-clin"',
        users,
    )
    assert uid
    reset = admin.post(f"/admin/users/{uid.group(1)}/reset", data={"csrf": csrf})
    assert new.get("/patients", follow_redirects=False).status_code == 303  # sessions ended
    assert _choose_password(world.app, _link(reset.text), "another long password") == 200
    sign_in(world.app, "new-clin", "another long password")
    admin.post(f"/admin/users/{uid.group(1)}/deactivate", data={"csrf": csrf})
    assert "deactivated" in admin.get("/admin/users").text
    actions = {e.action for e in world.db.transaction(lambda conn: audit.events(conn))}
    assert {"user.invite", "user.password", "user.reset", "user.deactivate"} <= actions


def test_admins_cannot_touch_another_clinics_users_or_themselves(world: World) -> None:
    admin_b = sign_in(world.app, "admin-b")
    csrf = csrf_of(admin_b.get("/admin/users").text)
    assert "clin-a" not in admin_b.get("/admin/users").text
    for action in ("reset", "deactivate"):
        r = admin_b.post(f"/admin/users/{world.clinician_a.id}/{action}", data={"csrf": csrf})
        assert r.status_code == 404
    r = admin_b.post(f"/admin/users/{world.admin_b.id}/deactivate", data={"csrf": csrf})
    assert r.status_code == 409
    taken = admin_b.post("/admin/users", data={"csrf": csrf, "username": "clin-a"})
    assert taken.status_code == 400 and "taken" in taken.text


def test_api_tokens_are_shown_once_and_stored_as_digests(world: World) -> None:
    admin = sign_in(world.app, "admin-a")
    csrf = csrf_of(admin.get("/admin/tokens").text)
    r = admin.post("/admin/tokens", data={"csrf": csrf, "name": "lab system", "scope": "write"})
    token = re.search(r'id="new-token" type="text" readonly value="([^"]+)"', r.text)
    assert token
    assert token.group(1) not in admin.get("/admin/tokens").text
    digests = world.db.transaction(
        lambda conn: set(conn.execute(select(api_token.c.digest)).scalars())
    )
    assert token_digest(token.group(1)) in digests
    api = TestClient(world.app, headers={"Authorization": f"Bearer {token.group(1)}"})
    assert api.post("/api/v1/patients", json={"reference": "from-lab"}).status_code == 201


def test_operator_creates_a_clinic_and_sees_no_patient_data(world: World) -> None:
    op = sign_in(world.app, "root")
    page = op.get("/operator/clinics").text
    assert "Clinic A" in page and "ref-a-1" not in page
    r = op.post(
        "/operator/clinics",
        data={"csrf": csrf_of(page), "name": "Clinic C", "admin": "admin-c"},
    )
    assert r.status_code == 200 and "Clinic C" in r.text
    assert _choose_password(world.app, _link(r.text)) == 200
    admin_c = sign_in(world.app, "admin-c")
    assert "No patients yet" in admin_c.get("/patients").text
    assert admin_c.get("/operator/clinics").status_code == 403
    again = op.post(
        "/operator/clinics", data={"csrf": csrf_of(page), "name": "Clinic C", "admin": "x-c"}
    )
    assert again.status_code == 400
    assert op.get(f"/patients/{world.patient_a}").status_code == 404


def test_erasing_a_patient_removes_their_links_and_release(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    csrf = csrf_of(c.get("/patients").text)
    c.post(f"/patients/{world.patient_a}/links", data={"csrf": csrf})
    c.post(f"/assessments/{world.assessment_a}/release", data={"csrf": csrf, "released": "yes"})
    c.post(f"/assessments/{world.assessment_a}/links", data={"csrf": csrf})
    done = Store(world.db, "admin-a").erase_patient(world.patient_a)
    assert done.assessments == 1
    assert world.db.transaction(lambda conn: sharing.is_released(conn, world.assessment_a)) is False
    Store(world.db, "clin-a").save_assessment(
        Store(world.db, "clin-a").add_patient("after").id, json.dumps(example())
    )
