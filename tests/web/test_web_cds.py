"""CDS Hooks over HTTP: discovery, both hooks, 412, feedback in the audit log, report link."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from backstory.fhir.response import assessment_to_response
from backstory.storage import audit

from .conftest import World, sign_in

EXAMPLES = Path(__file__).parents[1] / "data" / "examples"
PV = "/cds-services/backstory-patient-view"
OS = "/cds-services/backstory-order-select"


def qr(name: str) -> dict[str, Any]:
    return assessment_to_response(json.loads((EXAMPLES / f"{name}.json").read_text()))


def hook(name: str, prefetch: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "a6c1b1de-6d8e-4c46-9a2c-7b1f9c1d2e3f",
        "context": {"userId": "Practitioner/1", "patientId": "ehr-1"},
    }
    if prefetch:
        body["prefetch"] = {"assessment": qr(name)}
    return body


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_discovery_is_public(client: TestClient) -> None:
    r = client.get("/cds-services")
    assert r.status_code == 200 and len(r.json()["services"]) == 2


def test_hooks_need_a_token(world: World) -> None:
    c = TestClient(world.app)
    assert c.post(PV, json=hook("p01-cauda-equina")).status_code == 401


def test_emergency_is_critical_and_audited(world: World) -> None:
    c = TestClient(world.app)
    r = c.post(PV, json=hook("p01-cauda-equina"), headers=auth(world.read_token))
    assert r.status_code == 200, r.text
    card = r.json()["cards"][0]
    assert card["indicator"] == "critical" and card["uuid"] and card["source"]["label"]
    events = world.db.transaction(lambda conn: audit.events(conn))
    assert any(e.action == "cds.hook" for e in events)
    assert not any("ehr-1" in json.dumps(e.to_dict()) for e in events)


def test_missing_prefetch_is_412(world: World) -> None:
    c = TestClient(world.app)
    r = c.post(PV, json=hook("p02-facet-pattern", prefetch=False), headers=auth(world.read_token))
    assert r.status_code == 412


def test_order_select_over_http(world: World) -> None:
    # p02 with the one essential question it leaves out (new walking difficulty) answered
    screened = json.loads((EXAMPLES / "p02-facet-pattern.json").read_text())
    screened["neuro"] = {**screened.get("neuro", {}), "gait_disturbance": False}
    order = {
        "resourceType": "ServiceRequest",
        "id": "o1",
        "status": "draft",
        "intent": "order",
        "code": {"text": "Lumbar spine MRI"},
    }
    body = {
        "hook": "order-select",
        "hookInstance": "b6c1b1de-6d8e-4c46-9a2c-7b1f9c1d2e3f",
        "context": {
            "userId": "Practitioner/1",
            "patientId": "ehr-1",
            "selections": ["ServiceRequest/o1"],
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": order}],
            },
        },
        "prefetch": {"assessment": assessment_to_response(screened)},
    }
    r = TestClient(world.app).post(OS, json=body, headers=auth(world.read_token))
    card = r.json()["cards"][0]
    assert (
        card["indicator"] == "warning" and card["suggestions"][0]["actions"][0]["type"] == "delete"
    )


def test_feedback_is_recorded(world: World) -> None:
    c = TestClient(world.app)
    fb = {
        "feedback": [
            {
                "card": "7c1d9a2e-1111-4a55-8b4d-1e3a0c9d7b61",
                "outcome": "overridden",
                "overrideReason": {"reason": {"code": "specialist-decision"}},
                "outcomeTimestamp": "2026-11-27T10:00:00Z",
            }
        ]
    }
    r = c.post(f"{OS}/feedback", json=fb, headers=auth(world.read_token))
    assert r.status_code == 200
    events = world.db.transaction(lambda conn: audit.events(conn))
    fed = [e for e in events if e.action == "cds.feedback"]
    assert fed and fed[-1].detail["override"] == "specialist-decision"
    bad = c.post(
        f"{OS}/feedback",
        json={"feedback": [{"card": "<x>", "outcome": "accepted"}]},
        headers=auth(world.read_token),
    )
    assert bad.status_code == 400


def test_report_link_opens_for_signed_in_clinicians(world: World) -> None:
    c = TestClient(world.app)
    r = c.post(PV, json=hook("p02-facet-pattern"), headers=auth(world.read_token))
    url = r.json()["cards"][0]["links"][0]["url"]
    path = url.split("testserver", 1)[1]
    anonymous = TestClient(world.app).get(path, follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)
    page = sign_in(world.app, "clin-b").get(path)
    assert page.status_code == 200 and 'id="clinician-summary"' in page.text
    forged = sign_in(world.app, "clin-b").get(path[:-3] + "xyz")
    assert forged.status_code == 404


def test_fhir_bundle_under_the_api(world: World) -> None:
    c = TestClient(world.app)
    url = f"/api/v1/assessments/{world.assessment_a}/fhir"
    r = c.get(url, headers=auth(world.read_token))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle"
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"QuestionnaireResponse", "Observation", "Provenance", "DocumentReference"} <= kinds
    assert all(
        e["resource"].get("subject", {}).get("reference", f"Patient/{world.patient_a}")
        == f"Patient/{world.patient_a}"
        for e in bundle["entry"]
    )
    other = c.get(f"/api/v1/assessments/{world.assessment_b}/fhir", headers=auth(world.read_token))
    assert other.status_code == 404
