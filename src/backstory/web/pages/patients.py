"""The patient list (search by reference), adding a patient, and the patient page.

The patient page shows every episode with its dated assessments, the progress table and
chart (the chart's text equivalent is the table and its alt text), reassessment prompts, and
makes pre-visit questionnaire links. Everything here goes through ``Store``, which confines
a user to their clinic and audits each read and write.
"""

from __future__ import annotations

import unicodedata

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backstory.storage import Connection, audit, contacts, followups, sharing, worklist
from backstory.storage.errors import Conflict, InvalidRequest, NotFound
from backstory.storage.records import load_patient
from backstory.storage.users import User
from backstory.web import deps
from backstory.web.episode_view import patient_extras
from backstory.web.links import day_words, new_link
from backstory.web.programme_view import patient_programme
from backstory.web.qr import qr_data_uri
from backstory.web.views import chart_svg, episode_progress, summary_of

router = APIRouter(include_in_schema=False)
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
"""The chart is an image: its own <style> is allowed, and nothing else at all."""


@router.get("/patients")
def patient_list(
    request: Request, principal: deps.SignedIn, state: deps.WebDep, q: str = ""
) -> Response:
    # searched and counted in the database, with each patient's triage (storage.worklist);
    # references are stored in Unicode NFC: search in the same form ("é" finds "é")
    needle = unicodedata.normalize("NFC", q)
    found = state.store(principal.user.username).run(
        lambda conn, user: worklist.patient_page(conn, user, q=needle, limit=worklist.MAX_LIMIT)
    )
    return deps.page(
        request,
        "patients.html",
        {"title": "Patients", "patients": found.items, "q": q[:100], "total": found.total},
    )


@router.get("/patients/new")
def new_patient_form(request: Request, principal: deps.SignedIn) -> Response:
    return deps.page(request, "patient_new.html", {"title": "Add a patient", "values": {}})


@router.post("/patients")
def add_patient(
    request: Request, principal: deps.SignedIn, form: deps.Form, state: deps.WebDep
) -> Response:
    reference = form.get("reference", "")
    year_text = form.get("birth_year", "").strip()
    sex = form.get("sex", "") or None
    errors: dict[str, str] = {}
    year: int | None = None
    if year_text:
        if year_text.isdigit() and len(year_text) == 4:
            year = int(year_text)
        else:
            errors["birth_year"] = "Write the year of birth as four digits, or leave it empty."
    if not errors:
        try:
            p = state.store(principal.user.username).add_patient(
                reference, birth_year=year, sex=sex
            )
        except (Conflict, InvalidRequest) as exc:
            key = (
                "birth_year" if "year" in str(exc) else "sex" if "sex" in str(exc) else "reference"
            )
            errors[key] = str(exc)
        else:
            return RedirectResponse(f"/patients/{p.id}", status_code=303)
    return deps.page(
        request,
        "patient_new.html",
        {"title": "Add a patient", "values": form, "errors": errors},
        status_code=400,
    )


@router.get("/patients/{patient_id}")
def patient_page(
    request: Request,
    patient_id: str,
    principal: deps.SignedIn,
    state: deps.WebDep,
    reminders: str = "",
) -> Response:
    done = REMINDER_NOTICES.get(reminders)
    return render_patient(request, state, principal, patient_id, {"saved": done} if done else {})


REMINDER_NOTICES = {
    "kept": "The address is kept (sealed) for follow-up reminders.",
    "removed": "Reminders are off and the address is forgotten.",
}


def render_patient(
    request: Request,
    state: deps.WebState,
    principal: deps.Principal,
    patient_id: str,
    reminders: dict[str, str],
    status_code: int = 200,
) -> Response:
    """The patient page; ``reminders`` carries the reminder form's notice or error."""
    record = state.store(principal.user.username).patient_record(patient_id)
    today = state.now().date()
    episodes = [
        {
            "progress": episode_progress(e, today),
            "assessments": [(a, summary_of(a)) for a in e.assessments],
        }
        for e in reversed(record.episodes)
    ]
    # how episodes ended and the follow-ups due (issue 14: web/episode_view.py)
    extras = patient_extras(state, principal, record.patient.id, today)
    # the self-management programme and its check-ins (issue 15: web/programme_view.py)
    programme = patient_programme(state.store(principal.user.username), record.patient.id)
    reminder_form = None
    if state.settings.mail is not None and state.settings.address_key is not None:
        kept = state.store(principal.user.username).run(
            lambda conn, user: contacts.has_address(conn, user, record.patient.id)
        )
        reminder_form = {"kept": kept, **reminders}
    return deps.page(
        request,
        "patient.html",
        {
            "title": f"Patient {record.patient.reference}",
            "record": record,
            "episodes": episodes,
            "extras": extras,
            "programme": programme,
            "today": today,
            "reminders": reminder_form,
        },
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/episodes/{episode_id}/progress.svg")
def progress_chart(
    patient_id: str, episode_id: str, principal: deps.SignedIn, state: deps.WebDep
) -> Response:
    record = state.store(principal.user.username).episode_history(patient_id, episode_id)
    svg = chart_svg(record, state.now().date())
    if svg is None:
        raise NotFound("this episode has nothing to chart yet")
    return Response(svg, media_type="image/svg+xml", headers={"Content-Security-Policy": CHART_CSP})


@router.post("/patients/{patient_id}/links")
def questionnaire_link(
    request: Request,
    patient_id: str,
    principal: deps.SignedIn,
    form: deps.Form,
    state: deps.WebDep,
) -> Response:
    """A new pre-visit questionnaire link, shown once (printable, and as a QR code)."""
    token, digest = new_link(state.signer, "patient-link")
    store = state.store(principal.user.username)
    link = store.run(
        lambda conn, user: sharing.create_link(
            conn, user, patient_id, "questionnaire", digest, state.now(), state.link_expiry()
        )
    )
    return _link_page(request, state, link, token)


def _link_page(
    request: Request,
    state: deps.WebState,
    link: sharing.PatientLink,
    token: str,
    *,
    mail: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The page that shows a fresh link once; ``mail`` says how e-mailing it went
    (``sent``, or an ``error`` for the form: ``web/pages/mail.py``)."""
    url = f"{deps.base_url(request, state)}/p/{token}"
    what = "explanation"
    if link.purpose == "questionnaire":
        follow_up = state.db.read(lambda conn: followups.followup_of_link(conn, link.id))
        what = "pre-visit questionnaire" if follow_up is None else "follow-up questionnaire"
    return deps.page(
        request,
        "link_created.html",
        {
            "title": f"Link to the {what}",
            "what": what,
            "once": link.purpose == "questionnaire",
            "url": url,
            "qr": qr_data_uri(url),
            "link": link,
            "hours": state.settings.link_hours,
            "expires_on": day_words(link.expires_at),
            "token": token,
            "mail": mail or {},
        },
        status_code=status_code,
    )


def patient_heading(state: deps.WebState, principal: deps.Principal, patient_id: str) -> str:
    """A patient's reference for a page heading (a read of patient data: audited)."""

    def work(conn: Connection, user: User) -> str:
        found = load_patient(conn, user, patient_id)
        audit.record(conn, user.username, "patient.view", "patient", found.id, patient_id=found.id)
        return f"{found.reference} ({found.id})"

    return state.store(principal.user.username).run(work)
