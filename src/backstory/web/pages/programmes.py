"""The clinician's programme pages: build from a report, review and edit, release, links.

From a report, the clinician builds a programme (``backstory.programme``: none while the
person needs assessment first, unless the clinician gives a reason), chooses the week's
exercises among those the person may do and the walk, and saves a version. Each edit is a
new version; releasing one is an explicit act. The programme page shows the plan, the
check-ins (a table and a chart, with the pain change against its important change) and the
patient's links, which can be made and revoked. Everything goes through ``Store``: confined
to the user's clinic and audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from backstory.programme import ProgrammeRefused
from backstory.programme.generate import exercise_options
from backstory.programme.render import ClinicContact, render_programme_pdf
from backstory.storage import programmes, sharing
from backstory.storage.clinic_settings import load_settings
from backstory.storage.programmes import ProgrammeLink
from backstory.storage.records import load_patient
from backstory.web import deps
from backstory.web.links import day_words
from backstory.web.programme_view import (
    LINK_DAYS,
    adherence,
    build,
    build_stored,
    careplan,
    chart_svg,
    checkin_rows,
    conditions,
    figures,
    knowledge,
    make_programme_link,
    pain_change,
    reasoned,
)
from backstory.web.qr import qr_data_uri

router = APIRouter(include_in_schema=False)


def _choices(form: dict[str, str], ranked: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The clinician's choices from the form, and what is wrong with them."""
    errors: list[str] = []
    chosen = [x for x in ranked if form.get(f"ex-{x}") == "yes"]
    goals = [g for g in knowledge().goal_ids() if form.get(f"goal-{g}") == "yes"]
    minutes_text = form.get("start_minutes", "").strip()
    minutes: int | None = None
    if minutes_text:
        if minutes_text.isdigit() and len(minutes_text) <= 3:
            minutes = int(minutes_text)
        else:
            errors.append("Write the walk as a whole number of minutes.")
    return {"exercises": chosen, "start_minutes": minutes, "goals": goals}, errors


def _edit_page(
    request: Request,
    state: deps.WebState,
    principal: deps.Principal,
    assessment_id: str,
    form: dict[str, str] | None,
    errors: list[str],
    supersedes: str | None = None,
    status: int = 200,
) -> Response:
    store = state.store(principal.user.username)
    patient, record, _released = store.run(
        lambda conn, user: sharing.view_assessment(conn, user, assessment_id, "report.view")
    )
    report, answers = reasoned(store, record.assessment.source_json)
    kn = knowledge()
    ranked, left_out = exercise_options(report, answers, kn, conditions=conditions(state))
    refused = None
    default = None
    try:
        default = build(state, report, answers, {}, None)
    except ProgrammeRefused as exc:
        refused = str(exc)
    values = form
    if values is None:
        values = {"start_minutes": str(kn.activity.start_minutes)}
        if default is not None:
            values.update({f"ex-{e.id}": "yes" for e in default.current.exercises})
    return deps.page(
        request,
        "programme_edit.html",
        {
            "title": "Self-management programme",
            "patient": patient,
            "assessment": record.assessment,
            "ranked": ranked,
            "left_out": left_out,
            "goals": kn.goals,
            "activity": kn.activity,
            "per_week": kn.exercises.per_week,
            "refused": refused,
            "values": values,
            "errors": errors,
            "supersedes": supersedes,
        },
        status_code=status,
    )


@router.get("/assessments/{assessment_id}/programme")
def programme_form(
    request: Request,
    assessment_id: str,
    principal: deps.SignedIn,
    state: deps.WebDep,
    edit: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """Build a programme from this report, or (``edit``) change a saved version."""
    if not edit:
        return _edit_page(request, state, principal, assessment_id, None, [])
    stored = state.store(principal.user.username).run(
        lambda conn, user: programmes.load_programme(conn, user, edit)
    )
    c = stored.choices
    values = {f"ex-{x}": "yes" for x in c.get("exercises") or ()}
    values |= {f"goal-{g}": "yes" for g in c.get("goals") or ()}
    values["start_minutes"] = str(c.get("start_minutes") or knowledge().activity.start_minutes)
    values["override_reason"] = stored.override_reason or ""
    return _edit_page(
        request, state, principal, stored.assessment_id, values, [], supersedes=stored.id
    )


@router.post("/assessments/{assessment_id}/programme")
def save_programme(
    request: Request,
    assessment_id: str,
    principal: deps.SignedIn,
    form: deps.Form,
    state: deps.WebDep,
) -> Response:
    """Save a version as the clinician chose it (checked by building it first)."""
    store = state.store(principal.user.username)
    _patient, record, _released = store.run(
        lambda conn, user: sharing.view_assessment(conn, user, assessment_id, "report.view")
    )
    report, answers = reasoned(store, record.assessment.source_json)
    ranked, _left = exercise_options(report, answers, knowledge(), conditions=conditions(state))
    choices, errors = _choices(form, [e.id for e, _why in ranked])
    reason = form.get("override_reason", "").strip() or None
    supersedes = form.get("supersedes", "").strip() or None
    if not errors:
        if not choices["exercises"]:
            choices["exercises"] = None  # none ticked: the programme's own best fit
        try:
            build(state, report, answers, choices, reason)
        except ProgrammeRefused as exc:
            errors.append(f"{exc} Give the reason for overriding.")
        except ValueError as exc:
            errors.append(str(exc).capitalize() + ".")
    if errors:
        return _edit_page(
            request, state, principal, assessment_id, form, errors, supersedes, status=422
        )
    made = store.run(
        lambda conn, user: programmes.save_version(
            conn, user, record.assessment.id, choices, reason, state.now(), supersedes
        )
    )
    return RedirectResponse(f"/programmes/{made.id}", status_code=303)


@router.get("/programmes/{programme_id}")
def programme_page(
    request: Request, programme_id: str, principal: deps.SignedIn, state: deps.WebDep
) -> Response:
    store = state.store(principal.user.username)
    view = store.run(lambda conn, user: programmes.view_programme(conn, user, programme_id))
    stored, versions, checkins, links = view.programme, view.versions, view.checkins, view.links
    prog, answers = build_stored(state, store, stored, view.source_json, checkins)
    patient = store.run(lambda conn, user: load_patient(conn, user, stored.patient_id))
    now = state.now()
    return deps.page(
        request,
        "programme.html",
        {
            "title": f"Programme version {stored.version}",
            "stored": stored,
            "reference": patient.reference,
            "latest": versions[-1].id == stored.id,
            "versions": versions,
            "prog": prog,
            "figures": figures(),
            "rows": checkin_rows(answers, checkins),
            "reports": view.reports,
            "chart": chart_svg(checkins, f"chart-{stored.id}") if checkins else None,
            "pain": pain_change(answers, checkins),
            "adherence": adherence(checkins),
            "links": [(k, k.usable(now), day_words(k.expires_at)) for k in links],
            "released_current": any(v.released for v in versions),
        },
    )


@router.get("/programmes/{programme_id}/plan.pdf")
def programme_pdf(programme_id: str, principal: deps.SignedIn, state: deps.WebDep) -> Response:
    """This week's plan as A4 PDF, with the pictures, the clinic's contact and the safety
    net; the patient reference and the date on every page (read audited)."""
    store = state.store(principal.user.username)
    view = store.run(lambda conn, user: programmes.view_programme(conn, user, programme_id))
    stored = view.programme
    prog, _answers = build_stored(state, store, stored, view.source_json, view.checkins)
    patient, settings = store.run(
        lambda conn, user: (
            load_patient(conn, user, stored.patient_id),
            load_settings(conn, user.clinic_id),
        )
    )
    pdf = render_programme_pdf(
        prog,
        knowledge(),
        clinic=ClinicContact(principal.user.clinic, settings.contact),
        patient_ref=patient.reference,
        on=state.now().date().isoformat(),
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="programme-{stored.id}.pdf"'},
    )


@router.get("/programmes/{programme_id}/careplan.json")
def programme_careplan(programme_id: str, principal: deps.SignedIn, state: deps.WebDep) -> Response:
    """A released version's current week as a FHIR R4 CarePlan to download, the same
    resource as the API's ``/api/v1/programmes/{id}/careplan`` (read audited; a draft is a
    404)."""
    store = state.store(principal.user.username)
    view = store.run(lambda conn, user: programmes.export_programme(conn, user, programme_id))
    return JSONResponse(
        careplan(state, store, view),
        media_type="application/fhir+json",
        headers={
            "Content-Disposition": f'attachment; filename="careplan-{view.programme.id}.json"'
        },
    )


@router.post("/programmes/{programme_id}/release")
def release(
    programme_id: str, principal: deps.SignedIn, form: deps.Form, state: deps.WebDep
) -> Response:
    done = state.store(principal.user.username).run(
        lambda conn, user: programmes.release(conn, user, programme_id, state.now())
    )
    return RedirectResponse(f"/programmes/{done.id}", status_code=303)


@router.post("/patients/{patient_id}/programme-links")
def programme_link(
    request: Request,
    patient_id: str,
    principal: deps.SignedIn,
    form: deps.Form,
    state: deps.WebDep,
) -> Response:
    """A new link to the patient's released programme, shown once (and as a QR code)."""
    store = state.store(principal.user.username)
    link, url = make_programme_link(state, store, patient_id, deps.base_url(request, state))
    return programme_link_page(request, link, url)


def programme_link_page(
    request: Request,
    link: ProgrammeLink,
    url: str,
    *,
    mail: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The page that shows a programme link once, with the day it stops working (in the
    server's time zone, as on the other link pages) and the e-mail form when mail is on
    (``mail``: how e-mailing it went, ``web/pages/mail.py``)."""
    return deps.page(
        request,
        "link_created.html",
        {
            "title": "Link to the self-management programme",
            "what": "self-management programme",
            "url": url,
            "qr": qr_data_uri(url),
            "link": link,
            "days": LINK_DAYS,
            "expires_on": day_words(link.expires_at),
            "token": url.rsplit("/", 1)[1],
            "mail": mail or {},
        },
        status_code=status_code,
    )


@router.post("/programme-links/{link_id}/revoke")
def revoke(link_id: str, principal: deps.SignedIn, form: deps.Form, state: deps.WebDep) -> Response:
    done = state.store(principal.user.username).run(
        lambda conn, user: programmes.revoke_link(conn, user, link_id, state.now())
    )
    return RedirectResponse(f"/patients/{done.patient_id}#programme", status_code=303)


@router.post("/checkins/{checkin_id}/review")
def review_checkin(
    checkin_id: str, principal: deps.SignedIn, form: deps.Form, state: deps.WebDep
) -> Response:
    done = state.store(principal.user.username).run(
        lambda conn, user: programmes.review_checkin(conn, user, checkin_id, state.now())
    )
    return RedirectResponse(f"/programmes/{done.programme_id}#checkin-{done.id}", status_code=303)
