"""Every route against every kind of caller (HZ-14): who may do what, and what the rest get.

The routes are enumerated from the app itself, and every one must be classified below, so a
new route cannot be added without deciding who may use it. Callers: anonymous, the operator
(admin of their own clinic O), admin A, clinician A, clinician B of another clinic, a read
token of clinic A, a write token of clinic A, and an EHR trusted as a CDS client of clinic A
(a fresh signed JWT for each request, naming that request's URL), which may call the CDS
services and nothing else. Requests target clinic A's records, so a
caller from another clinic must get 404 - exactly what a missing record gets - and never 403,
which would reveal that the record exists.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from backstory.fhir.response import assessment_to_response
from backstory.storage import Store, programmes
from backstory.storage import accounts as acc
from backstory.storage.followups import schedule_followups
from backstory.web.forms import assessment_form
from backstory.web.security import token_digest
from backstory.web.settings import Settings

from .cds_clients import Keys, claims, make_keys, sign, write_clients
from .conftest import Clock, World, csrf_of, example, sign_in

PUBLIC, LINK, CLINIC, ADMIN, OPERATOR, OPERATOR_ADMIN, API_READ, API_WRITE = (
    "public",
    "link",
    "clinic",
    "admin",
    "operator",
    "operator-admin",
    "api-read",
    "api-write",
)

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    # the API documentation page is as public as the OpenAPI document it shows (it holds no
    # data; "Try it out" needs an API token like any other client)
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/api/docs/static/{name}"): PUBLIC,
    ("GET", "/api/v1/ping"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/signin"): PUBLIC,
    ("POST", "/signin"): PUBLIC,
    ("GET", "/setup/{token}"): LINK,
    ("POST", "/setup/{token}"): LINK,
    ("GET", "/password/{token}"): LINK,
    ("POST", "/password/{token}"): LINK,
    ("GET", "/p/{token}"): LINK,
    ("POST", "/p/{token}"): LINK,
    ("POST", "/signout"): CLINIC,
    ("GET", "/patients"): CLINIC,
    ("GET", "/patients/new"): CLINIC,
    ("POST", "/patients"): CLINIC,
    ("GET", "/patients/{patient_id}"): CLINIC,
    ("GET", "/patients/{patient_id}/episodes/{episode_id}/progress.svg"): CLINIC,
    ("POST", "/patients/{patient_id}/links"): CLINIC,
    ("GET", "/patients/{patient_id}/assessments/new"): CLINIC,
    ("POST", "/patients/{patient_id}/assessments"): CLINIC,
    ("GET", "/assessments/{assessment_id}"): CLINIC,
    ("GET", "/assessments/{assessment_id}/leaflet.pdf"): CLINIC,
    ("POST", "/assessments/{assessment_id}/review"): CLINIC,
    ("GET", "/assessments/{assessment_id}/correct"): CLINIC,
    ("POST", "/assessments/{assessment_id}/correct"): CLINIC,
    ("GET", "/assessments/{assessment_id}/summary.pdf"): CLINIC,
    ("POST", "/assessments/{assessment_id}/release"): CLINIC,
    ("POST", "/assessments/{assessment_id}/links"): CLINIC,
    ("GET", "/knowledge"): CLINIC,
    ("GET", "/worklist"): CLINIC,
    ("GET", "/admin/clinic"): ADMIN,
    ("POST", "/admin/clinic"): ADMIN,
    ("POST", "/episodes/{episode_id}/close"): CLINIC,
    ("POST", "/episodes/{episode_id}/followups"): CLINIC,
    ("POST", "/followups/{followup_id}/link"): CLINIC,
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("POST", "/admin/users/{user_id}/deactivate"): ADMIN,
    ("POST", "/admin/users/{user_id}/reset"): ADMIN,
    ("POST", "/admin/users/{user_id}/role"): ADMIN,
    ("POST", "/admin/users/{user_id}/unlock"): ADMIN,
    # an admin who is also an operator, acting in their own clinic (test_web_accounts.py)
    ("POST", "/admin/users/{user_id}/operator"): OPERATOR_ADMIN,
    ("GET", "/admin/tokens"): ADMIN,
    ("POST", "/admin/tokens"): ADMIN,
    ("POST", "/admin/tokens/{token_id}/revoke"): ADMIN,
    ("GET", "/operator/clinics"): OPERATOR,
    ("POST", "/operator/clinics"): OPERATOR,
    ("GET", "/api/v1/patients"): API_READ,
    ("POST", "/api/v1/patients"): API_WRITE,
    ("GET", "/api/v1/patients/{patient_id}"): API_READ,
    ("GET", "/api/v1/patients/{patient_id}/progress"): API_READ,
    ("POST", "/api/v1/patients/{patient_id}/assessments"): API_WRITE,
    ("GET", "/api/v1/assessments"): API_READ,
    ("GET", "/api/v1/assessments/{assessment_id}"): API_READ,
    ("GET", "/api/v1/assessments/{assessment_id}/report"): API_READ,
    ("GET", "/api/v1/assessments/{assessment_id}/fhir"): API_READ,
    ("GET", "/api/v1/programmes/{programme_id}/careplan"): API_READ,
    ("GET", "/api/v1/followups/due"): API_READ,
    ("GET", "/api/v1/worklist"): API_READ,
    ("GET", "/cds-services"): PUBLIC,
    ("POST", "/cds-services/{service_id}"): API_READ,
    ("POST", "/cds-services/{service_id}/feedback"): API_READ,
    ("GET", "/cds/report"): CLINIC,
    # the self-management programme between visits (issue 15)
    ("GET", "/assessments/{assessment_id}/programme"): CLINIC,
    ("POST", "/assessments/{assessment_id}/programme"): CLINIC,
    ("GET", "/programmes/{programme_id}"): CLINIC,
    ("GET", "/programmes/{programme_id}/plan.pdf"): CLINIC,
    ("GET", "/programmes/{programme_id}/careplan.json"): CLINIC,
    ("POST", "/programmes/{programme_id}/release"): CLINIC,
    ("POST", "/patients/{patient_id}/programme-links"): CLINIC,
    ("POST", "/programme-links/{link_id}/revoke"): CLINIC,
    ("POST", "/checkins/{checkin_id}/review"): CLINIC,
    ("GET", "/programme/{token}"): LINK,
    ("GET", "/programme/{token}/checkin"): LINK,
    ("POST", "/programme/{token}/checkin"): LINK,
}
"""Every route and who may use it (a test fails for any route missing here)."""

CALLERS = (
    "anonymous",
    "operator",
    "admin_a",
    "clinician_a",
    "clinician_b",
    "read_a",
    "write_a",
    "ehr_a",
)
SIGNED_IN = {
    "operator": "root",
    "admin_a": "admin-a",
    "clinician_a": "clin-a",
    "clinician_b": "clin-b",
}
ALLOWED = "allowed"
NOT_FOUND = 404


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers (flat or nested)."""

    def walk(routes: list[Any]) -> Iterator[tuple[str, str]]:
        for route in routes:
            nested = getattr(route, "original_router", None)
            if nested is not None:
                yield from walk(list(nested.routes))
            elif isinstance(route, Mount):
                yield "GET", route.path
            else:
                for method in sorted(getattr(route, "methods", None) or ()):
                    if method != "HEAD":
                        yield method, route.path

    return walk(list(app.routes))


def expected(kind: str, caller: str, path: str, method: str) -> str | set[int]:
    """What a caller gets: "allowed", or the set of acceptable refusals."""
    signed_in = caller in SIGNED_IN
    token = caller in ("read_a", "write_a")
    targets_a = "{" in path  # every path parameter names a record of clinic A
    if kind == PUBLIC:
        return ALLOWED
    if kind == LINK:
        return {NOT_FOUND}  # a forged token finds nothing, whoever asks
    if kind in (API_READ, API_WRITE):
        if caller == "ehr_a":  # a trusted CDS client: the CDS services only
            return ALLOWED if path.startswith("/cds-services/") else {401}
        if not token:
            return {401}
        if kind == API_WRITE and caller == "read_a":
            return {403}
        return ALLOWED
    if not signed_in:
        return {401} if method == "POST" else {303}
    if kind == CLINIC:
        if caller in ("operator", "clinician_b") and targets_a:
            return {NOT_FOUND}
        return ALLOWED
    if kind == ADMIN:
        if caller in ("clinician_a", "clinician_b"):
            return {403}
        if caller == "operator" and targets_a:
            return {NOT_FOUND}
        return ALLOWED
    if kind == OPERATOR_ADMIN:
        # the operator is the admin of clinic O: clinic A's user looks missing to them
        return {NOT_FOUND} if caller == "operator" else {403}
    assert kind == OPERATOR
    return ALLOWED if caller == "operator" else {403}


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


@pytest.fixture
def settings(tmp_path: Path, keys: Keys) -> Settings:
    """The web fixtures' settings, with a synthetic EHR trusted as clinic A's CDS client."""
    return Settings(
        environment="development",
        secret_key="test-secret-" + "x" * 40,
        cds_clients_file=str(write_clients(tmp_path, keys)),
    )


def test_every_route_is_classified(app: FastAPI) -> None:
    found = set(app_routes(app))
    unclassified = sorted(found - set(ROUTES))
    assert not unclassified, f"classify these routes in ROUTES: {unclassified}"
    assert not set(ROUTES) - found, f"ROUTES lists routes the app lacks: {set(ROUTES) - found}"


def _complete_form() -> dict[str, str]:
    form = {"age": "44", "pain.back": "5"}
    for section in assessment_form():
        for f in section.fields:
            if f.required and f.kind == "radio":
                form[f.name] = "no" if f.type == "bool" else "not_asked"
    return form


class Requests:
    """Builds a valid request for each route, with fresh targets where a request uses one up."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.n = itertools.count()

    def victim(self) -> str:
        now = dt.datetime.now(dt.UTC)
        name = f"victim-{next(self.n)}"
        digest = token_digest(name)
        user = self.w.db.transaction(
            lambda conn: acc.invite_user(
                conn, self.w.admin_a, name, "clinician", digest, now, now + dt.timedelta(hours=1)
            )
        )
        return user.id

    def token_id(self) -> str:
        now = dt.datetime.now(dt.UTC)
        digest = token_digest(f"matrix-token-{next(self.n)}")
        made = self.w.db.transaction(
            lambda conn: acc.create_token(conn, self.w.admin_a, "victim", "read", digest, now)
        )
        return made.id

    def fresh_episode(self) -> str:
        """An open episode of a new patient of clinic A (closing one uses it up)."""
        store = Store(self.w.db, "clin-a")
        p = store.add_patient(f"matrix-episode-{next(self.n)}")
        return store.save_assessment(p.id, json.dumps(example())).episode.id

    def fresh_assessment(self) -> str:
        """An assessment of a new patient of clinic A (correcting one supersedes it)."""
        store = Store(self.w.db, "clin-a")
        p = store.add_patient(f"matrix-correct-{next(self.n)}")
        return store.save_assessment(p.id, json.dumps(example())).assessment.id

    def followup_id(self) -> str:
        eid = self.fresh_episode()
        made = self.w.db.transaction(
            lambda conn: schedule_followups(conn, self.w.clinician_a, eid, (2,))
        )
        return made[0].id

    def programme(self, released: bool) -> tuple[str, str]:
        """A programme version of a new patient of clinic A (releasing one uses it up)."""
        store = Store(self.w.db, "clin-a")
        p = store.add_patient(f"matrix-programme-{next(self.n)}")
        aid = store.save_assessment(p.id, json.dumps(example())).assessment.id
        now = dt.datetime.now(dt.UTC)
        made = store.run(
            lambda conn, user: programmes.save_version(conn, user, aid, {}, "matrix", now)
        )
        if released:
            store.run(lambda conn, user: programmes.release(conn, user, made.id, now))
        return p.id, made.id

    def programme_link(self) -> str:
        pid, _gid = self.programme(released=True)
        now = dt.datetime.now(dt.UTC)
        digest = token_digest(f"matrix-programme-link-{next(self.n)}")
        made = Store(self.w.db, "clin-a").run(
            lambda conn, user: programmes.create_link(
                conn, user, pid, digest, now, now + dt.timedelta(days=1)
            )
        )
        return made.id

    def checkin_id(self) -> str:
        pid, _gid = self.programme(released=True)
        now = dt.datetime.now(dt.UTC)
        digest = token_digest(f"matrix-programme-link-{next(self.n)}")
        made = Store(self.w.db, "clin-a").run(
            lambda conn, user: programmes.create_link(
                conn, user, pid, digest, now, now + dt.timedelta(days=1)
            )
        )
        patient = Store(self.w.db, f"link:{made.id}", resolve=programmes.link_resolver(digest, now))
        values = dict.fromkeys(
            ("pain", "confidence", "fear", "activity_days", "exercise_days", "flare_ups"), 1
        )
        done = patient.run(
            lambda conn, user: programmes.save_checkin(
                conn, user, values, {"red_flags.bladder_dysfunction": "yes"}, now
            )
        )
        return done.id

    def url(self, path: str) -> str:
        values: dict[str, Callable[[], str]] = {
            "patient_id": (
                (lambda: self.programme(released=True)[0])
                if path.endswith("/programme-links")
                else lambda: self.w.patient_a
            ),
            # a CarePlan is exported from a released version only (a draft is a 404)
            "programme_id": lambda: self.programme(released="/careplan" in path)[1],
            "link_id": self.programme_link,
            "checkin_id": self.checkin_id,
            "episode_id": (
                self.fresh_episode if path.endswith("/close") else lambda: self.w.episode_a
            ),
            "followup_id": self.followup_id,
            "assessment_id": (
                self.fresh_assessment if path.endswith("/correct") else lambda: self.w.assessment_a
            ),
            "user_id": self.victim,
            "token_id": self.token_id,
            "token": lambda: "forged-or-expired-token",
            "service_id": lambda: "backstory-patient-view",
            "name": lambda: "swagger-ui.css",
        }
        out = path
        for key, make in values.items():
            if "{" + key + "}" in out:
                out = out.replace("{" + key + "}", make())
        if path == "/cds/report":
            signed = self.w.app.state.web.signer.sign("cds-report", example())
            return f"/cds/report?t={signed}"
        return "/static/backstory.css" if path == "/static" else out

    def body(self, method: str, path: str, csrf: str) -> dict[str, Any]:
        if method != "POST":
            return {}
        n = next(self.n)
        if path == "/api/v1/patients":
            return {"json": {"reference": f"api-ref-{n}"}}
        if path.endswith("/feedback"):
            return {"json": {"feedback": [{"card": f"card-{n}", "outcome": "accepted"}]}}
        if path.startswith("/cds-services/"):
            return {
                "json": {
                    "hook": "patient-view",
                    "hookInstance": f"matrix-{n}",
                    "context": {"userId": "Practitioner/1", "patientId": "ehr-1"},
                    "prefetch": {"assessment": assessment_to_response(example())},
                }
            }
        if path.endswith("/assessments") and path.startswith("/api/"):
            return {
                "content": json.dumps(example()),
                "headers": {"content-type": "application/json"},
            }
        form: dict[str, str] = {"csrf": csrf}
        if path == "/patients":
            form["reference"] = f"matrix-ref-{n}"
        elif path.endswith("/assessments"):
            form.update(_complete_form())
        elif path.endswith("/correct"):
            form.update(_complete_form(), reason=f"matrix correction {n}")
        elif path.endswith("/close"):
            form["kind"] = "discharged"
        elif path.endswith("/release"):
            form["released"] = "yes"
        elif path.startswith("/assessments/") and path.endswith("/programme"):
            form["override_reason"] = f"matrix override {n}"
        elif path == "/admin/users":
            form.update(username=f"invited-{n}", role="clinician")
        elif path.endswith("/role"):
            form["role"] = "admin"
        elif path.endswith("/operator"):
            form["operator"] = "yes"
        elif path == "/admin/tokens":
            form.update(name=f"matrix-{n}", scope="read")
        elif path == "/admin/clinic":
            form.update(country="GB", contact=f"phone 01632 960 {n:03d}")
        elif path == "/operator/clinics":
            form.update(name=f"Matrix clinic {n}", admin=f"matrix-admin-{n}")
        elif path == "/signin":
            form.update(username="nobody", password="wrong password here")
        return {"data": form}


def _client(world: World, caller: str) -> tuple[TestClient, str]:
    if caller in SIGNED_IN:
        c = sign_in(world.app, SIGNED_IN[caller])
        return c, csrf_of(c.get("/patients").text)
    c = TestClient(world.app)
    if caller == "read_a":
        c.headers["Authorization"] = f"Bearer {world.read_token}"
    elif caller == "write_a":
        c.headers["Authorization"] = f"Bearer {world.write_token}"
    return c, "not-a-valid-csrf-token"


@pytest.mark.parametrize("caller", CALLERS)
def test_role_route_matrix(world: World, caller: str, keys: Keys, clock: Clock) -> None:
    requests = Requests(world)
    c, csrf = _client(world, caller)
    if caller == "anonymous":
        # the sign-in form's own CSRF token, so a refused POST is refused for its role
        csrf = csrf_of(c.get("/signin").text)
    # signing out ends the session, so it goes last
    order = sorted(ROUTES, key=lambda r: (r == ("POST", "/signout"), r))
    problems = []
    for method, path in order:
        want = expected(ROUTES[(method, path)], caller, path, method)
        url = requests.url(path)
        body = requests.body(method, path, csrf)
        if caller == "ehr_a":
            jwt = sign(claims(f"http://testserver{url}", clock.now.timestamp()), keys.ec, "ec-1")
            body["headers"] = {**body.get("headers", {}), "Authorization": f"Bearer {jwt}"}
        r = c.request(method, url, follow_redirects=False, **body)
        if want == ALLOWED:
            # a wrong password (401), or a sign-in form the caller never fetched (403)
            ok = r.status_code < 400 or (path == "/signin" and r.status_code in (401, 403))
        else:
            assert isinstance(want, set)
            ok = r.status_code in want
            if r.status_code == 303:
                ok = ok and r.headers["location"] == "/signin"
        if not ok:
            problems.append(f"{caller} {method} {path}: got {r.status_code}, want {want}")
    assert not problems, "\n".join(problems)


def test_cross_clinic_answers_look_exactly_like_missing_records(world: World) -> None:
    """Clinician B asking for clinic A's patient gets the same page as for no patient at all."""
    c = sign_in(world.app, "clin-b")
    theirs = c.get(f"/patients/{world.patient_a}")
    missing = c.get("/patients/P0000000000")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace(world.patient_a, "X") == missing.text.replace("P0000000000", "X")
    api = TestClient(world.app, headers={"Authorization": f"Bearer {world.read_token}"})
    assert api.get(f"/api/v1/patients/{world.patient_b}").status_code == 404
    assert api.get(f"/api/v1/assessments/{world.assessment_b}/report").status_code == 404
