"""Edge inputs at the web adapters (issue 13, items 4 and 8), each reproduced first.

The published OpenAPI document is checked against the code on edge values: every bound of
the documented request bodies at and just past it, the cross-field rule, whole numbers
written with a fraction (1986.0), and the Allow header of a 405.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from .conftest import World


def client(world: World) -> TestClient:
    return TestClient(
        world.app,
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {world.write_token}"},
    )


def post_assessment(world: World, body: str | bytes, **headers: str) -> Any:
    return client(world).post(
        f"/api/v1/patients/{world.patient_a}/assessments",
        content=body if isinstance(body, bytes) else body.encode(),
        headers={"Content-Type": "application/json", **headers},
    )


def test_an_empty_id_is_refused_so_the_fhir_export_never_breaks(world: World) -> None:
    # reproduced: {"id": ""} was stored, then every FHIR export of it was a 500 (audited)
    r = post_assessment(world, json.dumps({"id": "", "age": 40}))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "id"
    ok = post_assessment(world, json.dumps({"id": "p-1", "age": 40}))
    assert ok.status_code == 201
    fhir = client(world).get(f"/api/v1/assessments/{ok.json()['assessment_id']}/fhir")
    assert fhir.status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "9999-12-31", "2999-01-01"])
def test_dates_out_of_range_are_refused(world: World, day: str) -> None:
    # reproduced: 0001-01-01 and 9999-12-31 were stored ("3652058 days" of follow-up)
    r = post_assessment(world, json.dumps({"assessed_on": day, "age": 40}))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "assessed_on"


def test_a_body_over_the_limit_is_refused_while_it_streams(world: World) -> None:
    # reproduced: a 50 MB body was read whole before the size check (and answered 400);
    # driven as raw ASGI so the body really arrives in pieces, without Content-Length
    pieces = 50 * 16  # 50 MB in 64 KiB pieces
    received = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal received
        received += 1
        more = received < pieces
        return {"type": "http.request", "body": b" " * 65536, "more_body": more}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/v1/patients/{world.patient_a}/assessments",
        "raw_path": b"",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {world.write_token}".encode()),
            (b"content-type", b"application/json"),
            (b"host", b"testserver"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    # in a thread of its own: another test may have left this thread's event loop running
    worker = threading.Thread(target=lambda: asyncio.run(world.app(scope, receive, send)))
    worker.start()
    worker.join()
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert json.loads(body)["detail"] == "The request body is larger than 256 KiB."
    assert received == 5  # refused as soon as it passed the limit: not read to the end


def test_a_declared_length_over_the_limit_is_refused_before_reading(world: World) -> None:
    r = client(world).post(
        "/api/v1/patients",
        content=b"{" + b" " * (256 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["status"] == 413
    cds = client(world).post("/cds-services/x", content=b" " * (2 * 1024 * 1024 + 1))
    assert cds.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"context": ' * 70 + "1" + "}" * 70,
        '{"hook": 1' + "0" * 10_000 + "}",
        '{"hook": "\\ud800"}',
    ],
    ids=["arrays 100,000 deep", "objects 70 deep", "10,000 digits", "lone surrogate"],
)
def test_hostile_json_at_the_cds_routes_is_a_400(world: World, body: str) -> None:
    # reproduced: deeply nested JSON was a 500 at the CDS routes
    for path in (
        "/cds-services/backstory-patient-view",
        "/cds-services/backstory-patient-view/feedback",
    ):
        r = client(world).post(path, content=body.encode())
        assert r.status_code == 400, (path, r.text)
        assert "error" in r.json()


@pytest.mark.parametrize(
    ("reference", "ok"),
    [
        ("abc\u202e123", False),  # right-to-left override
        ("a\u200bb", False),  # zero-width space
        ("a\u2066b", False),  # bidi isolate
        ("\u200d", False),
        ("a\tb", False),
        ("cafe\u0301-x", True),  # stored in NFC
    ],
)
def test_references_are_normalised_and_invisible_characters_refused(
    world: World, reference: str, ok: bool
) -> None:
    r = client(world).post("/api/v1/patients", json={"reference": reference})
    if not ok:
        assert r.status_code == 422, r.text
        assert "control or invisible" in json.dumps(r.json()["errors"])
        return
    assert r.status_code == 201, r.text
    assert r.json()["reference"] == "caf\u00e9-x"
    # the same reference typed the other way is the same patient
    again = client(world).post("/api/v1/patients", json={"reference": "caf\u00e9-x"})
    assert again.status_code == 409
    found = client(world).get("/api/v1/patients", params={"reference": "CAFE\u0301"})
    assert [p["reference"] for p in found.json()["items"]] == ["caf\u00e9-x"]


# -- the published document against the code ---------------------------------------------


def document(world: World) -> dict[str, Any]:
    doc: dict[str, Any] = client(world).get("/api/v1/openapi.json").json()
    return doc


def _schema_of(doc: dict[str, Any], name: str) -> dict[str, Any]:
    out: dict[str, Any] = doc["components"]["schemas"][name]
    return out


def test_the_birth_year_bounds_are_the_codes_bounds(world: World) -> None:
    doc = document(world)
    year = _schema_of(doc, "PatientIn")["properties"]["birth_year"]["anyOf"][0]
    lo, hi = int(year["minimum"]), int(year["maximum"])  # the document may write 1900.0
    c = client(world)
    # 1986.0: JSON Schema's integer admits it, so the document says in words that it is
    # refused (strict types, as everywhere in Backstory), and the code does refuse it
    assert "not 1986.0" in _schema_of(doc, "PatientIn")["properties"]["birth_year"]["description"]
    for i, (value, accepted) in enumerate(
        [(lo, True), (lo - 1, False), (hi, True), (hi + 1, False), (float(hi), False)]
    ):
        r = c.post("/api/v1/patients", json={"reference": f"by-{i}", "birth_year": value})
        assert (r.status_code == 201) is accepted, (value, r.text)
        if accepted:
            assert r.json()["birth_year"] == value
        else:
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "birth_year"


def _documented(spec: dict[str, Any], value: Any) -> bool:
    """The document's verdict: its bounds, and for an integer its words "not 5.0"."""
    if spec["type"] == "integer" and type(value) is float:
        assert "not 5.0" in spec["description"]
        return False
    return bool(spec.get("minimum", -(10**9)) <= value <= spec.get("maximum", 10**9))


def test_every_contract_bound_is_decided_as_documented(world: World) -> None:
    """Each documented minimum and maximum, at it and just past it, and 40.0 for 40."""
    doc = document(world)
    path = doc["paths"]["/api/v1/patients/{patient_id}/assessments"]["post"]
    schema = path["requestBody"]["content"]["application/json"]["schema"]
    cases: list[tuple[dict[str, Any], bool]] = []
    for name, prop in schema["properties"].items():
        targets = [(None, name, prop)]
        if prop.get("type") == "object":
            targets = [(name, k, v) for k, v in prop["properties"].items()]
        for group, key, spec in targets:
            if spec.get("type") not in ("integer", "number"):
                continue
            edges = [spec["minimum"], spec["maximum"]]
            step = 1 if spec["type"] == "integer" else 0.5
            values = [*edges, edges[0] - step, edges[1] + step, float(edges[1])]
            for v in values:
                body: dict[str, Any] = {"age": 40} if key != "age" else {}
                if group:
                    body[group] = {key: v}
                else:
                    body[key] = v
                if key == "age_at_first_onset":
                    body["age"] = 110
                cases.append((body, _documented(spec, v)))
    assert len(cases) > 50
    for body, documented in cases:
        r = post_assessment(world, json.dumps(body))
        assert (r.status_code == 201) is documented, (body, r.text)


def test_the_cross_field_rule_is_documented_and_enforced(world: World) -> None:
    doc = document(world)
    path = doc["paths"]["/api/v1/patients/{patient_id}/assessments"]["post"]
    schema = path["requestBody"]["content"]["application/json"]["schema"]
    onset = schema["properties"]["history"]["properties"]["age_at_first_onset"]
    assert "Not more than age" in onset["description"]
    at = post_assessment(world, json.dumps({"age": 40, "history": {"age_at_first_onset": 40}}))
    past = post_assessment(world, json.dumps({"age": 40, "history": {"age_at_first_onset": 41}}))
    assert at.status_code == 201 and past.status_code == 422
    assert past.json()["errors"][0]["field"] == "history.age_at_first_onset"


def test_documented_text_and_date_rules_are_the_codes(world: World) -> None:
    doc = document(world)
    path = doc["paths"]["/api/v1/patients/{patient_id}/assessments"]["post"]
    props = path["requestBody"]["content"]["application/json"]["schema"]["properties"]
    ident, day = props["id"], props["assessed_on"]
    values = ["", "x", "x" * 200, "x" * 201, "a\u202eb", "a\u200bb", "a\tb", "caf\u00e9"]
    for v in values:
        documented = (
            ident["minLength"] <= len(v) <= ident["maxLength"]
            and re.search(ident["pattern"], v) is not None
        )
        r = post_assessment(world, json.dumps({"age": 40, "id": v}))
        assert (r.status_code == 201) is documented, (v, r.text)
    for d in ["1899-12-31", "1900-01-01", "2000-02-29"]:
        documented = re.search(day["pattern"], d) is not None
        r = post_assessment(world, json.dumps({"age": 40, "assessed_on": d}))
        assert (r.status_code == 201) is documented, (d, r.text)


def test_a_405_names_the_allowed_methods(world: World) -> None:
    doc = document(world)
    c = client(world)
    for path, ops in doc["paths"].items():
        concrete = path.replace("{patient_id}", world.patient_a).replace(
            "{assessment_id}", world.assessment_a
        )
        allowed = {m.upper() for m in ops}
        r = c.request("DELETE", concrete)
        assert r.status_code == 405, (path, r.status_code)
        assert r.headers["content-type"] == "application/problem+json"
        assert set(r.headers["allow"].replace(" ", "").split(",")) == allowed, path


def test_a_stored_assessment_that_cannot_be_exported_is_a_422_and_no_view(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # reproduced: an assessment stored with "id": "" (before the rule) made every FHIR
    # export a 500, and each failed export was audited as a view of the report
    from sqlalchemy import func, select

    from backstory.contract.validate import Assessment
    from backstory.storage import repository
    from backstory.storage.tables import audit_event

    def as_before(text: str, **_: Any) -> Assessment:  # the old rules: "" was an id
        data = json.loads(text)
        return Assessment(answers=dict(data), source=data)

    monkeypatch.setattr(repository, "parse_assessment_json", as_before)
    aid = post_assessment(world, json.dumps({"id": "", "age": 40})).json()["assessment_id"]
    monkeypatch.undo()

    def views() -> int:
        return int(
            world.db.read(
                lambda conn: conn.execute(
                    select(func.count()).where(audit_event.c.action == "report.view")
                ).scalar_one()
            )
        )

    before = views()
    r = client(world).get(f"/api/v1/assessments/{aid}/fhir")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "id"
    assert views() == before


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("assessed_on", "9999-12-31", "in the future"),
        ("assessed_on", "1899-12-31", "too early"),
        ("id", "p\u202e1", "U+202E"),
    ],
)
def test_the_web_form_shows_edge_values_by_their_field(
    world: World, field: str, value: str, words: str
) -> None:
    from .conftest import csrf_of, sign_in
    from .test_web_assessment_form import _complete

    c = sign_in(world.app, "clin-a")
    form = _complete(**{"csrf": csrf_of(c.get("/patients").text), field: value})
    r = c.post(f"/patients/{world.patient_a}/assessments", data=form)
    assert r.status_code == 422 and words in r.text
    assert f'id="f-{field}-error"' in r.text
