"""The JSON API: strict models, contract validation, problem details, token scopes, OpenAPI."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.tables import api_token
from backstory.web.security import token_digest

from .conftest import World, csrf_of, example, sign_in

PROBLEM = "application/problem+json"


def api(world: World, token: str | None) -> TestClient:
    c = TestClient(world.app)
    if token:
        c.headers["Authorization"] = f"Bearer {token}"
    return c


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    assert body["status"] == status
    return dict(body)


def test_patients_assessments_reports_and_progress(world: World) -> None:
    c = api(world, world.write_token)
    made = c.post("/api/v1/patients", json={"reference": "api-1", "birth_year": 1980})
    assert made.status_code == 201
    pid = made.json()["id"]
    listed = c.get("/api/v1/patients").json()
    assert {p["reference"] for p in listed["items"]} == {"ref-a-1", "api-1"}  # clinic A only
    assert (listed["total"], listed["limit"], listed["offset"]) == (2, 50, 0)
    for params in ({"reference": "API"}, {"q": "API"}):
        found = c.get("/api/v1/patients", params=params).json()
        assert [p["reference"] for p in found["items"]] == ["api-1"] and found["total"] == 1
    saved = c.post(
        f"/api/v1/patients/{pid}/assessments",
        content=json.dumps(example(assessed_on="2026-01-10")),
        headers={"content-type": "application/json"},
    )
    assert saved.status_code == 201, saved.text
    body = saved.json()
    assert body["opened_episode"] and body["report"]["triage"]["level"]
    aid = body["assessment_id"]
    got = c.get(f"/api/v1/assessments/{aid}").json()
    assert got["answers"]["age"] == example()["age"] and got["released"] is False
    report = c.get(f"/api/v1/assessments/{aid}/report").json()
    assert report["report"] == body["report"] and report["report_id"] == body["report_id"]
    c.post(
        f"/api/v1/patients/{pid}/assessments",
        content=json.dumps(example(assessed_on="2026-02-10", pain={"back": 2})),
        headers={"content-type": "application/json"},
    )
    progress = c.get(f"/api/v1/patients/{pid}/progress").json()
    assert progress["episode_id"] == body["episode_id"] and len(progress["visits"]) == 2
    back = next(m for m in progress["measures"] if m["measure"] == "back_pain")
    assert back["status"] == "improved"
    detail = c.get(f"/api/v1/patients/{pid}").json()
    assert [len(e["assessments"]) for e in detail["episodes"]] == [2]
    actors = {e.actor for e in world.db.transaction(lambda conn: audit.events(conn, pid))}
    assert actors == {"token:" + world.db.transaction(lambda conn: _token_id(conn, world))}


def test_progress_from_a_low_rmdq_baseline_is_not_evaluable(world: World) -> None:
    c = api(world, world.write_token)
    pid = c.post("/api/v1/patients", json={"reference": "api-low"}).json()["id"]
    rmdq = [1, 1, 1] + [0] * 21  # 3 of 24
    for on, answers, back in (("2026-01-10", rmdq, 7), ("2026-02-10", [0, *rmdq[1:]], 2)):
        saved = c.post(
            f"/api/v1/patients/{pid}/assessments",
            content=json.dumps(example(assessed_on=on, rmdq=answers, pain={"back": back})),
            headers={"content-type": "application/json"},
        )
        assert saved.status_code == 201, saved.text
    progress = c.get(f"/api/v1/patients/{pid}/progress").json()
    measures = {m["measure"]: m for m in progress["measures"]}
    assert measures["rmdq"]["status"] == "not_evaluable"
    assert measures["rmdq"]["improvement_evaluable_from"] == 4.0
    assert measures["back_pain"]["status"] == "improved"
    assert measures["back_pain"]["improvement_evaluable_from"] is None
    assert progress["reassess"] == []  # back pain improved importantly
    doc = c.get("/api/v1/openapi.json").json()
    described = doc["paths"]["/api/v1/patients/{patient_id}/progress"]["get"]["description"]
    assert "not_evaluable" in described


def _token_id(conn: Connection, world: World) -> str:
    return str(
        conn.execute(
            select(api_token.c.id).where(api_token.c.digest == token_digest(world.write_token))
        ).scalar_one()
    )


def test_invalid_assessments_are_422_problems_with_the_contracts_messages(world: World) -> None:
    c = api(world, world.write_token)
    r = c.post(
        f"/api/v1/patients/{world.patient_a}/assessments",
        content=json.dumps({"age": 12, "red_flags": {"bladder_problems": True}}),
        headers={"content-type": "application/json"},
    )
    body = _problem(r, 422)
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert (
        "under 16" in fields["age"]
        and "bladder_dysfunction" in fields["red_flags.bladder_problems"]
    )
    bad_json = c.post(
        f"/api/v1/patients/{world.patient_a}/assessments",
        content="{not json",
        headers={"content-type": "application/json"},
    )
    _problem(bad_json, 400)
    dup = c.post(
        f"/api/v1/patients/{world.patient_a}/assessments",
        content='{"age": 40, "age": 41}',
        headers={"content-type": "application/json"},
    )
    _problem(dup, 422)


@pytest.mark.parametrize(
    "body",
    [
        {"reference": "x", "birth_year": "1980"},
        {"reference": "x", "birth_year": 1980.0},
        {"reference": "x", "birth_year": True},
        {"reference": 17},
        {"reference": "x", "nickname": "no"},
        {"reference": "x", "sex": "yes"},
        {},
    ],
)
def test_request_models_are_strict(world: World, body: dict[str, object]) -> None:
    r = api(world, world.write_token).post("/api/v1/patients", json=body)
    assert _problem(r, 422)["errors"]


def test_tokens_scopes_and_revocation(world: World) -> None:
    _problem(api(world, None).get("/api/v1/patients"), 401)
    assert api(world, None).get("/api/v1/patients").headers["www-authenticate"].startswith("Bearer")
    _problem(api(world, "bst_made_up").get("/api/v1/patients"), 401)
    reader = api(world, world.read_token)
    assert reader.get("/api/v1/patients").status_code == 200
    _problem(reader.post("/api/v1/patients", json={"reference": "nope"}), 403)
    _problem(reader.get(f"/api/v1/patients/{world.patient_b}"), 404)  # another clinic's
    _problem(reader.get("/api/v1/patients/PNOSUCHONE00"), 404)
    # a session cookie is no API credential
    signed = sign_in(world.app, "admin-a")
    _problem(signed.get("/api/v1/patients"), 401)
    admin = signed
    page = admin.get("/admin/tokens").text
    tid = re.findall(r'action="/admin/tokens/(T[0-9A-Z]+)/revoke"', page)[0]
    admin.post(f"/admin/tokens/{tid}/revoke", data={"csrf": csrf_of(page)})
    revoked = [
        t
        for t in (world.read_token, world.write_token)
        if api(world, t).get("/api/v1/patients").status_code == 401
    ]
    assert len(revoked) == 1


def test_ping_and_openapi(world: World) -> None:
    c = TestClient(world.app)
    assert c.get("/api/v1/ping").json() == {"pong": True}
    doc = c.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    assert set(paths) == {
        "/api/v1/ping",
        "/api/v1/patients",
        "/api/v1/patients/{patient_id}",
        "/api/v1/patients/{patient_id}/assessments",
        "/api/v1/patients/{patient_id}/progress",
        "/api/v1/assessments",
        "/api/v1/assessments/{assessment_id}",
        "/api/v1/assessments/{assessment_id}/report",
        "/api/v1/assessments/{assessment_id}/fhir",
        "/api/v1/programmes/{programme_id}/careplan",
        "/api/v1/followups/due",
        "/api/v1/worklist",
    }
    # the programme check-in flags (issue 15) are documented on every list that carries them
    schemas = doc["components"]["schemas"]
    flags = schemas["ProgrammeFacts"]["properties"]
    assert {"warning", "warning_checkins", "worse", "missed", "missed_flag"} <= set(flags)
    for name in ("PatientOut", "AssessmentListItem", "WorklistItem"):
        assert "ProgrammeFacts" in json.dumps(schemas[name]["properties"]["programme"]), name
    assert "401" in paths["/api/v1/worklist"]["get"]["responses"]
    create = paths["/api/v1/patients/{patient_id}/assessments"]["post"]
    for status in ("400", "401", "403", "404", "422"):
        assert status in create["responses"], status
        assert "application/problem+json" in create["responses"][status]["content"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["age"] and schema["additionalProperties"] is False
    assert "saddle_anaesthesia" in schema["properties"]["red_flags"]["properties"]
    assert "Problem" in doc["components"]["schemas"]
