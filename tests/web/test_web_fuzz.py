"""API fuzzing: schemathesis against the app's own OpenAPI document, in process (no server).

Every operation under ``/api/v1`` gets generated requests - valid ones (positive) and ones
that break the schema (negative) - authenticated with a read-write API token of a test
clinic, once with generated identifiers and once with the clinic's real patient and
assessment (so bodies reach validation, the engine and storage). On both backends no
request may end in a server error, and every answer must match the document (status codes,
content types, response schemas). The number of examples is kept small so this stays fast;
``--thorough`` runs more.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

from .conftest import World, csrf_of, sign_in

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _examples(request: pytest.FixtureRequest) -> int:
    thorough = request.config.getoption("--thorough") or (
        os.environ.get("BACKSTORY_TEST_PROFILE") == "thorough"
    )
    return 200 if thorough else 12


def test_the_api_answers_every_generated_request_without_a_server_error(
    world: World, request: pytest.FixtureRequest
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", world.app)
    auth = {"Authorization": f"Bearer {world.write_token}"}
    real = {"patient_id": world.patient_a, "assessment_id": world.assessment_a}
    examples = _examples(request)
    failures: list[str] = []
    statuses: set[tuple[str, str, int]] = set()
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"an operation the document describes badly: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        names = {p.name for p in operation.path_parameters}
        known = {k: v for k, v in real.items() if k in names}
        strategies = [operation.as_strategy(mode) for mode in schemathesis.GenerationMode]
        if known:
            strategies.append(operation.as_strategy(path_parameters=known))

        @given(case=st.one_of(strategies))
        @settings(
            max_examples=examples * len(strategies),
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call_and_validate(headers=auth, checks=CHECKS)
            statuses.add((case.operation.method.upper(), case.operation.path, response.status_code))

        try:
            run()
        except Exception as exc:  # every operation is tried; all failures are reported
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 8, "the OpenAPI document lost its operations"
    assert not failures, "\n\n".join(failures)
    # the generated requests got past authentication into validation, the engine and storage
    saved = ("POST", "/api/v1/patients/{patient_id}/assessments", 201)
    assert saved in statuses and ("POST", "/api/v1/patients", 201) in statuses, statuses
    # the worklist's lists (issue 14) answered generated requests too
    lists = ("/api/v1/patients", "/api/v1/assessments", "/api/v1/followups/due", "/api/v1/worklist")
    for path in lists:
        assert ("GET", path, 200) in statuses, (path, statuses)


HOSTILE: dict[str, tuple[str | bytes, int]] = {
    # found by fuzzing: each of the first three was a server error (500)
    "an integer of 5,000 digits": ('{"age": 1' + "0" * 5000 + "}", 400),
    "arrays nested 100,000 deep": ("[" * 100_000 + "]" * 100_000, 400),
    "a lone surrogate in a text answer": ('{"id": "\\ud800", "age": 40, "pain": {"back": 5}}', 400),
    "objects nested 2,000 deep": ('{"a":' * 2000 + "1" + "}" * 2000, 400),
    "not UTF-8": (b'{"id": "\xff\xfe", "age": 40}', 400),
    "not JSON": ("{age: 40", 400),
    "a bare string": ('"assessment"', 422),
    # a NUL (or any control character) in a text answer is refused by the contract (HZ-63)
    "a NUL in a text answer": ('{"id": "a\\u0000b", "age": 40, "pain": {"back": 5}}', 422),
}


@pytest.mark.parametrize(("body", "status"), HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_assessment_bodies_never_cause_a_server_error(
    world: World, body: str | bytes, status: int
) -> None:
    c = TestClient(world.app, raise_server_exceptions=False)
    r = c.post(
        f"/api/v1/patients/{world.patient_a}/assessments",
        content=body if isinstance(body, bytes) else body.encode(),
        headers={
            "Authorization": f"Bearer {world.write_token}",
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == status, r.text
    if status >= 400:
        assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/patients/P%00X",
        "/api/v1/patients/P%00X/progress",
        "/api/v1/assessments/A%00X",
        "/api/v1/assessments/A%00X/report",
        "/api/v1/patients?reference=%00",
        "/api/v1/patients/%ED%A0%80",
    ],
)
def test_ids_with_nul_or_broken_text_find_nothing(world: World, path: str) -> None:
    """A NUL in an id made PostgreSQL fail (500); now such an id finds nothing."""
    c = TestClient(world.app, raise_server_exceptions=False)
    r = c.get(path, headers={"Authorization": f"Bearer {world.read_token}"})
    assert r.status_code in (200, 404), (r.status_code, r.text)


def test_references_with_control_characters_are_refused(world: World) -> None:
    c = TestClient(world.app, raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {world.write_token}"}
    for reference in ("a\u0000b", "line\nbreak", "tab\there"):
        r = c.post("/api/v1/patients", json={"reference": reference}, headers=auth)
        assert r.status_code == 422 and "control or invisible characters" in r.text, r.text
    page = sign_in(world.app, "clin-a")
    r = page.post(
        "/patients",
        data={"reference": "x\u0000y", "csrf": csrf_of(page.get("/patients/new").text)},
    )
    assert r.status_code == 400 and "control or invisible characters" in r.text
