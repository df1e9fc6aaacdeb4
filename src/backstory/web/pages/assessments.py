"""The new-assessment form, the report page, PDF leaflets and the patient's release switch.

Saving validates through the contract, reasons, stores and audits in one transaction
(``Store.save_assessment``); an invalid form stores nothing and comes back with each problem
next to its field. The report page shows the clinician summary beside the patient
explanation; the patient sees the explanation only once it is released (audited).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from backstory.contract import AssessmentError, Issue
from backstory.explain import render_pdf
from backstory.storage import Connection, sharing
from backstory.storage.ids import normalise_id
from backstory.storage.records import AssessmentRecord
from backstory.storage.repository import MAX_REASON
from backstory.storage.users import User
from backstory.web import deps, followup
from backstory.web.documents import document_owner, owned_assessment
from backstory.web.forms import (
    NOT_ASKED,
    assessment_form,
    form_to_assessment,
    issues_by_field,
    values_of,
)
from backstory.web.instrument_parts import INSTRUMENT_WORDING, own_words_note
from backstory.web.labels import printable_summary
from backstory.web.links import new_link
from backstory.web.pages.patients import _link_page, patient_heading
from backstory.web.report_top import prefill, report_extras
from backstory.web.views import report_view

router = APIRouter(include_in_schema=False)


def _form_page(
    request: Request,
    patient_id: str,
    heading: str,
    values: Mapping[str, str],
    issues: list[Issue],
    status: int = 200,
    *,
    fill: followup.Prefill | None = None,
    correcting: AssessmentRecord | None = None,
) -> Response:
    errors = issues_by_field(issues)
    sections = assessment_form(deps.web(request).knowledge)
    anchors = {
        f.name: f.id + ("-1" if f.kind == "radio" else "") for s in sections for f in s.fields
    }
    if correcting is not None:
        anchors["reason"] = "f-reason"
    follow = fill is not None and fill.source is not None
    return deps.page(
        request,
        "assessment_form.html",
        {
            "title": "Correct an assessment" if correcting else "New assessment",
            "patient_id": patient_id,
            "heading": heading,
            "sections": sections,
            "values": values,
            "errors": errors,
            "anchors": anchors,
            "not_asked": NOT_ASKED,
            "error_count": len(issues),
            # follow-ups (web/followup.py): what was carried forward, and from when
            "carried": fill.marks if fill else {},
            "follow_up": follow,
            "source": fill.source if follow and fill else None,
            "since": fill.since if fill else "",
            "previous_warnings": fill.previous_warnings if fill else {},
            "confirm_name": followup.CONFIRM,
            "source_name": followup.SOURCE,
            "correcting": correcting,
        },
        status_code=status,
    )


@router.get("/patients/{patient_id}/assessments/new")
def new_assessment(
    request: Request,
    patient_id: str,
    principal: deps.SignedIn,
    state: deps.WebDep,
    from_: Annotated[str, Query(alias="from", max_length=20)] = "",
    blank: str = "",
) -> Response:
    """The form, pre-filled from the patient's latest assessment unless ``blank``; with
    ``from`` (the report's "record the missing answers"), filled from that assessment so
    only its missing answers are left."""
    if from_:
        heading = patient_heading(state, principal, patient_id)
        values = {"assessed_on": state.now().date().isoformat()}
        found, earlier, _released = state.store(principal.user.username).run(
            lambda conn, user: sharing.view_assessment(conn, user, from_)
        )
        if found.id == normalise_id(patient_id):
            values = prefill(earlier.assessment.source_json, state.now().date())
        return _form_page(request, patient_id, heading, values, [])
    record = state.store(principal.user.username).patient_record(patient_id)
    heading = f"{record.patient.reference} ({record.patient.id})"
    fill = followup.prefill(record, state.now().date(), carry=not blank)
    return _form_page(request, record.patient.id, heading, fill.values, [], fill=fill)


@router.post("/patients/{patient_id}/assessments")
def save_assessment(
    request: Request,
    patient_id: str,
    principal: deps.SignedIn,
    form: deps.Form,
    state: deps.WebDep,
) -> Response:
    store = state.store(principal.user.username)
    submitted = form
    then = None
    source_id = form.get(followup.SOURCE, "").strip()
    if source_id:
        source_patient, source, _released = store.run(
            lambda conn, user: sharing.view_assessment(conn, user, source_id, "assessment.view")
        )
        followup.check_source(patient_id, source, source_patient)
        confirmed = form.get(followup.CONFIRM) == "yes"
        carried: tuple[str, ...] = ()
        if confirmed:
            form, carried = followup.confirmed_warnings(form, source)
        then = followup.audit_follow_up(source, confirmed, len(carried))
    data, issues = form_to_assessment(form, kb=state.knowledge)
    if not issues:
        try:
            saved = store.save_assessment(
                patient_id, json.dumps(data, indent=2), today=state.now().date(), then=then
            )
        except AssessmentError as exc:
            issues = list(exc.issues)
        else:
            return RedirectResponse(f"/assessments/{saved.assessment.id}", status_code=303)
    heading = patient_heading(state, principal, patient_id)
    fill = None
    if source_id:
        record = store.patient_record(patient_id)
        fill = followup.prefill(record, state.now().date())
    return _form_page(request, patient_id, heading, submitted, issues, status=422, fill=fill)


@router.get("/assessments/{assessment_id}/correct")
def correction_form(
    request: Request, assessment_id: str, principal: deps.SignedIn, state: deps.WebDep
) -> Response:
    """The assessment's own answers, to correct as a new version (the original is kept)."""
    store = state.store(principal.user.username)
    patient, record, _released = store.run(
        lambda conn, user: sharing.view_assessment(conn, user, assessment_id, "assessment.view")
    )
    values = values_of(json.loads(record.assessment.source_json))
    for name in followup.warning_fields():  # a warning sign left out was not asked
        values.setdefault(name, NOT_ASKED)
    heading = f"{patient.reference} ({patient.id})"
    return _form_page(request, patient.id, heading, values, [], correcting=record)


@router.post("/assessments/{assessment_id}/correct")
def save_correction(
    request: Request,
    assessment_id: str,
    principal: deps.SignedIn,
    form: deps.Form,
    state: deps.WebDep,
) -> Response:
    store = state.store(principal.user.username)
    patient, record, _released = store.run(
        lambda conn, user: sharing.view_assessment(conn, user, assessment_id, "assessment.view")
    )
    data, issues = form_to_assessment(form, kb=state.knowledge)
    reason = form.get("reason", "").strip()
    if not reason or len(reason) > MAX_REASON:
        issues.append(
            Issue("reason", f"give the reason for the correction (1 to {MAX_REASON} characters)")
        )
    if not issues:
        try:
            saved = store.correct_assessment(
                record.assessment.id, json.dumps(data, indent=2), reason, today=state.now().date()
            )
        except AssessmentError as exc:
            issues = list(exc.issues)
        else:
            return RedirectResponse(f"/assessments/{saved.assessment.id}", status_code=303)
    heading = f"{patient.reference} ({patient.id})"
    return _form_page(request, patient.id, heading, form, issues, status=422, correcting=record)


@router.get("/assessments/{assessment_id}")
def report_page(
    request: Request, assessment_id: str, principal: deps.SignedIn, state: deps.WebDep
) -> Response:
    store = state.store(principal.user.username)
    patient, record, released = store.run(
        lambda conn, user: sharing.view_assessment(conn, user, assessment_id, "report.view")
    )
    view = report_view(store, record)
    return deps.page(
        request,
        "report.html",
        {
            "title": f"Report {record.assessment.assessed_on.isoformat()}",
            "patient": patient,
            "record": record,
            "view": view,
            "released": released,
            "instruments": state.knowledge.instruments.instruments,
            "wording_note": own_words_note(
                state.knowledge, state.extra.get(INSTRUMENT_WORDING), view.answers
            )
            if record.assessment.created_by.startswith("link:")
            else "",
            **report_extras(store, record, view),
        },
    )


def _pdf(state: deps.WebState, principal: deps.Principal, assessment_id: str, who: str) -> Response:
    store = state.store(principal.user.username)
    patient, record, clinic = store.run(
        lambda conn, user: owned_assessment(conn, user, assessment_id)
    )
    view = report_view(store, record)
    # the printed summary reads like the report page: labels, no file paths or message ids
    doc = view.patient_doc if who == "patient" else printable_summary(view.clinician_doc)
    name = "leaflet" if who == "patient" else "summary"
    owner = document_owner(patient, record, clinic, principal.user.username, state.now().date())
    return Response(
        render_pdf(doc, owner),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{record.assessment.id}.pdf"'
        },
    )


@router.get("/assessments/{assessment_id}/leaflet.pdf")
def leaflet_pdf(assessment_id: str, principal: deps.SignedIn, state: deps.WebDep) -> Response:
    return _pdf(state, principal, assessment_id, "patient")


@router.get("/assessments/{assessment_id}/summary.pdf")
def summary_pdf(assessment_id: str, principal: deps.SignedIn, state: deps.WebDep) -> Response:
    return _pdf(state, principal, assessment_id, "clinician")


@router.post("/assessments/{assessment_id}/release")
def release(
    assessment_id: str, principal: deps.SignedIn, form: deps.Form, state: deps.WebDep
) -> Response:
    released = form.get("released") == "yes"
    state.store(principal.user.username).run(
        lambda conn, user: sharing.set_release(conn, user, assessment_id, released, state.now())
    )
    return RedirectResponse(
        f"/assessments/{assessment_id.strip().upper()}#release", status_code=303
    )


@router.post("/assessments/{assessment_id}/links")
def explanation_link(
    request: Request,
    assessment_id: str,
    principal: deps.SignedIn,
    form: deps.Form,
    state: deps.WebDep,
) -> Response:
    """A link the patient opens to read the explanation once it is released."""
    token, digest = new_link(state.signer, "patient-link")
    store = state.store(principal.user.username)

    def work(conn: Connection, user: User) -> sharing.PatientLink:
        patient, record, _released = sharing.view_assessment(conn, user, assessment_id)
        return sharing.create_link(
            conn,
            user,
            patient.id,
            "explanation",
            digest,
            state.now(),
            state.link_expiry(),
            assessment_id=record.assessment.id,
        )

    link = store.run(work)
    return _link_page(request, state, link, token)
