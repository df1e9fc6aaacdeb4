"""The FHIR export under the web API: a stored assessment's report as an R4 Bundle, and a
released self-management programme's current week as an R4 CarePlan."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from backstory.contract import Assessment, parse_assessment_json
from backstory.core.engine import assess
from backstory.explain import explain_report, render
from backstory.fhir.bundle import PatientText, export_bundle
from backstory.storage import programmes, sharing
from backstory.web import api, deps
from backstory.web.problems import responses
from backstory.web.programme_view import careplan

router = APIRouter(prefix="/api/v1", responses=responses(401))


@router.get(
    "/assessments/{assessment_id}/fhir",
    responses={
        **responses(403, 404, 422),
        200: {"content": {"application/fhir+json": {}}, "description": "A FHIR R4 Bundle"},
    },
    tags=["reports"],
)
def assessment_bundle(assessment_id: str, who: api.Reader, state: deps.WebDep) -> JSONResponse:
    """The assessment, its report and the patient explanation as a FHIR R4 collection Bundle.

    The subject is the pseudonymous Backstory patient id; the report is made under the
    current knowledge (identical to the stored one under the same version).
    """

    def view(conn: Any, user: Any) -> tuple[Any, Any, Assessment]:
        patient, record, _released = sharing.view_assessment(
            conn, user, assessment_id, "report.view"
        )
        # parsed inside the audited read: an assessment that cannot be exported (stored
        # before a contract rule, such as a non-empty id) is a 422 and no view is recorded
        return (
            patient,
            record,
            parse_assessment_json(record.assessment.source_json, state.knowledge.contract),
        )

    patient, record, assessment = api._store(state, who, write=False).run(view)
    report = assess(assessment, state.knowledge)
    doc = explain_report(report, assessment.answers)
    bundle = export_bundle(
        assessment,
        report=report,
        knowledge=state.knowledge,
        explanation=PatientText(render(doc, "html"), "text/html", doc.title, doc.lang),
        subject={"reference": f"Patient/{patient.id}"},
        recorded=record.assessment.created_at,
    )
    return JSONResponse(bundle, media_type="application/fhir+json")


@router.get(
    "/programmes/{programme_id}/careplan",
    responses={
        **responses(404),
        200: {"content": {"application/fhir+json": {}}, "description": "A FHIR R4 CarePlan"},
    },
    tags=["reports"],
)
def programme_careplan(programme_id: str, who: api.Reader, state: deps.WebDep) -> JSONResponse:
    """A released programme version's current week as a FHIR R4 CarePlan.

    The week is the one the patient is on after their check-ins; the subject is the
    pseudonymous Backstory patient id and ``created`` the day the version was released. A
    draft version, like another clinic's, is a 404.
    """
    store = api._store(state, who, write=False)
    view = store.run(lambda conn, user: programmes.export_programme(conn, user, programme_id))
    return JSONResponse(careplan(state, store, view), media_type="application/fhir+json")
