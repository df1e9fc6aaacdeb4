"""No patient data in logs (HZ-14): a whole flow is logged at DEBUG, and nothing personal shows."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from backstory.web.questionnaire import CES_FIELDS
from backstory.web.startup import LOGGING

from .conftest import World, csrf_of, example, sign_in
from .questionnaire_walk import answers, walk

REFERENCE = "SECRET-REF-4242"
ANSWER_ID = "ANSWER-MARKER-777"


def test_a_full_flow_logs_routes_but_no_patient_data(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    c = sign_in(world.app, "clin-a")
    csrf = csrf_of(c.get("/patients").text)
    r = c.post("/patients", data={"csrf": csrf, "reference": REFERENCE}, follow_redirects=False)
    pid = r.headers["location"].rsplit("/", 1)[1]
    c.get("/patients", params={"q": REFERENCE})
    form = {"csrf": csrf, "age": "61", "id": ANSWER_ID, "pain.back": "7"}
    html = c.get(f"/patients/{pid}/assessments/new").text
    for name in set(
        re.findall(
            r'name="(red_flags\.[a-z_0-9]+|history\.trauma'
            r'|neuro\.(?:progressive_deficit|gait_disturbance))"',
            html,
        )
    ):
        form[name] = "not_asked"
    saved = c.post(f"/patients/{pid}/assessments", data=form, follow_redirects=False)
    assert saved.status_code == 303
    aid = saved.headers["location"].rsplit("/", 1)[1]
    c.get(f"/assessments/{aid}")
    c.get(f"/patients/{pid}")
    link_page = c.post(f"/patients/{pid}/links", data={"csrf": csrf}).text
    link = re.search(r'value="http://testserver(/p/[^"]+)"', link_page)
    assert link
    patient = TestClient(world.app)
    given = answers(**{f: "yes" for f in CES_FIELDS}, age="61", **{"movement.flexion": "worse"})
    assert walk(patient, link.group(1), given).status_code == 200
    api = TestClient(world.app, headers={"Authorization": f"Bearer {world.write_token}"})
    api.post("/api/v1/patients", json={"reference": REFERENCE + "-api"})
    api.post(
        f"/api/v1/patients/{pid}/assessments",
        content=json.dumps(example(id=ANSWER_ID)),
        headers={"content-type": "application/json"},
    )
    api.get("/api/v1/patients", params={"reference": REFERENCE})
    # the test client's own request log (httpx) is the browser's side, not the server's
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in server)
    assert "GET /patients/{patient_id} 200" in text  # routes are logged, as templates
    for secret in (REFERENCE, ANSWER_ID, link.group(1), world.write_token, pid, "ces_symptoms"):
        assert secret not in text, secret


def test_the_server_keeps_uvicorns_access_log_off() -> None:
    loggers = LOGGING["loggers"]
    assert isinstance(loggers, dict)
    assert loggers["uvicorn.access"]["handlers"] == []
    assert loggers["uvicorn.access"]["propagate"] is False
