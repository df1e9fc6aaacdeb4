"""Refused reads of patient data are audited (HZ-58): who tried, which kind of record, which
id (or a keyed digest of whatever else was asked for), when - and nothing about the patient.

The finding: clinician B asking for clinic A's patient got a 404 and left no trace. Every
case below runs on SQLite and PostgreSQL (the ``world`` fixture's database).
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from backstory.storage import audit
from backstory.storage.audit import AuditEvent
from backstory.web.refusals import resource_kind
from backstory.web.security import keyed_digest

from .conftest import World, csrf_of, sign_in


def _refused(world: World) -> list[AuditEvent]:
    events = world.db.transaction(lambda conn: audit.events(conn))
    return [e for e in events if e.action == "refused"]


def test_a_refused_read_of_another_clinics_patient_is_audited(world: World) -> None:
    c = sign_in(world.app, "clin-b")
    assert _refused(world) == []
    r = c.get(f"/patients/{world.patient_a}")
    assert r.status_code == 404  # the answer is unchanged: it still looks missing
    [event] = _refused(world)
    assert (event.actor, event.action, event.record_type, event.record_id) == (
        "clin-b",
        "refused",
        "patient",
        world.patient_a,
    )
    assert event.patient_id is None  # a probe never enters the patient's own trail
    assert dict(event.detail) == {"status": 404, "requested": "patient"}
    assert "ref-a-1" not in json.dumps(event.to_dict())


WEB_ROUTES = [
    # (method, path template, resource kind, the id kind refused)
    ("GET", "/patients/{pa}", "patient", "patient"),
    ("GET", "/patients/{pa}/assessments/new", "patient", "patient"),
    ("POST", "/patients/{pa}/assessments", "patient", "patient"),
    ("POST", "/patients/{pa}/links", "patient", "patient"),
    ("GET", "/patients/{pa}/episodes/{ea}/progress.svg", "episode", "patient"),
    ("GET", "/assessments/{aa}", "assessment", "assessment"),
    ("GET", "/assessments/{aa}/summary.pdf", "report", "assessment"),
    ("GET", "/assessments/{aa}/leaflet.pdf", "report", "assessment"),
    ("POST", "/assessments/{aa}/release", "assessment", "assessment"),
    ("POST", "/assessments/{aa}/links", "assessment", "assessment"),
]


@pytest.mark.parametrize(("method", "template", "resource", "requested"), WEB_ROUTES)
def test_every_patient_route_audits_a_cross_clinic_refusal(
    world: World, method: str, template: str, resource: str, requested: str
) -> None:
    c = sign_in(world.app, "clin-b")
    path = (
        template.replace("{pa}", world.patient_a)
        .replace("{ea}", world.episode_a)
        .replace("{aa}", world.assessment_a)
    )
    data = {"csrf": csrf_of(c.get("/patients").text), "released": "yes"}
    r = c.request(method, path, data=data if method == "POST" else None)
    assert r.status_code == 404
    [event] = _refused(world)
    wanted_id = world.patient_a if requested == "patient" else world.assessment_a
    assert (event.actor, event.record_type, event.record_id) == ("clin-b", resource, wanted_id)
    assert dict(event.detail) == {"status": 404, "requested": requested}


API_ROUTES = [
    ("/api/v1/patients/{pb}", "patient", "patient"),
    ("/api/v1/patients/{pb}/progress", "patient", "patient"),
    ("/api/v1/assessments/{ab}", "assessment", "assessment"),
    ("/api/v1/assessments/{ab}/report", "report", "assessment"),
    ("/api/v1/assessments/{ab}/fhir", "assessment", "assessment"),
]


@pytest.mark.parametrize(("template", "resource", "requested"), API_ROUTES)
def test_the_api_audits_refusals_under_the_tokens_name(
    world: World, template: str, resource: str, requested: str
) -> None:
    api = TestClient(world.app, headers={"Authorization": f"Bearer {world.read_token}"})
    path = template.replace("{pb}", world.patient_b).replace("{ab}", world.assessment_b)
    assert api.get(path).status_code == 404
    [event] = _refused(world)
    wanted_id = world.patient_b if requested == "patient" else world.assessment_b
    assert event.actor.startswith("token:T")
    assert (event.record_type, event.record_id) == (resource, wanted_id)
    assert dict(event.detail) == {"status": 404, "requested": requested}


def test_a_missing_id_or_free_text_is_kept_only_as_a_keyed_digest(
    world: World, app_secret: str
) -> None:
    """A value Backstory never issued might be a name or an NHS number typed into the
    address: only an HMAC of it is kept, which shows repeats without saying what it was."""
    c = sign_in(world.app, "clin-b")
    for asked in ("P0000000000", "Jane-Doe-943 476 5919"):
        assert c.get(f"/patients/{asked}").status_code == 404
    first, second = _refused(world)
    for event, asked in ((first, "P0000000000"), (second, "Jane-Doe-943 476 5919")):
        assert event.record_id == "h:" + keyed_digest(app_secret, "refused-id", asked)[:38]
        assert event.record_type == "patient"
    dump = json.dumps([e.to_dict() for e in _refused(world)])
    assert "Jane" not in dump and "476" not in dump and "P0000000000" not in dump
    c.get("/patients/Jane-Doe-943 476 5919")
    assert _refused(world)[-1].record_id == second.record_id  # a repeat shows as one


def test_reads_the_clinic_may_make_write_no_refusal(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    assert c.get(f"/patients/{world.patient_a}").status_code == 200
    assert c.get(f"/assessments/{world.assessment_a}").status_code == 200
    api = TestClient(world.app, headers={"Authorization": f"Bearer {world.read_token}"})
    assert api.get(f"/api/v1/patients/{world.patient_a}").status_code == 200
    assert _refused(world) == []


def test_the_operator_is_audited_like_anyone_else(world: World) -> None:
    op = sign_in(world.app, "root")
    assert op.get(f"/patients/{world.patient_a}").status_code == 404
    [event] = _refused(world)
    assert (event.actor, event.record_id) == ("root", world.patient_a)


def test_resource_kinds_of_route_templates() -> None:
    assert resource_kind("/patients") is None
    assert resource_kind("/admin/users/{user_id}/reset") is None
    assert resource_kind("/patients/{patient_id}") == "patient"
    assert resource_kind("/patients/{patient_id}/episodes/{episode_id}/progress.svg") == "episode"
    assert resource_kind("/api/v1/assessments/{assessment_id}/report") == "report"
    assert resource_kind("/assessments/{assessment_id}") == "assessment"


@pytest.fixture
def app_secret(world: World) -> str:
    secret: str = world.app.state.web.settings.secret_key
    return secret
