"""Pages a patient opens from a link, without an account: the pre-visit questionnaire and,
once the clinician releases it, their explanation.

Safety first (HZ-11): a "yes" to any cauda equina question reveals, at once and on the same
page, a banner telling the person to go to the emergency department today (its words are
knowledge: ``questionnaire.yaml``, passed to the template as ``ces_banner``). The banner is
always in the page (hidden); a small external script reveals it on change, and the server
shows it again on submit, so it works without JavaScript too. Every page says the result is
part of a clinical assessment. Answers are stored as an assessment for the clinician, audited
under the link's pseudonym (``link:ID``), and the link is used up in the same transaction.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backstory.contract import AssessmentError, Issue
from backstory.storage import accounts, sharing, worklist
from backstory.storage.clinic_settings import load_settings
from backstory.storage.errors import NotAllowed
from backstory.web import deps
from backstory.web.links import day_words, link_digest
from backstory.web.questionnaire import (
    NOT_SURE,
    PARTS,
    Help,
    answers_to_assessment,
    as_json,
    plain_issue,
    signals_ces,
    unsure_ces,
    unsure_fields,
)
from backstory.web.views import report_view

router = APIRouter(include_in_schema=False)


def _patient_page(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> Response:
    return deps.page(request, name, {"patient_page": True, **context}, status_code=status)


def _not_valid(request: Request, status: int = 404) -> Response:
    return _patient_page(
        request,
        "patient_message.html",
        {
            "title": "This link does not work",
            "message": "This link is not valid, or it has expired. Please ask your clinic "
            "for a new one.",
        },
        status,
    )


def _resolve(state: deps.WebState, token: str) -> tuple[str, sharing.PatientLink] | None:
    digest = link_digest(state.signer, "patient-link", token, state.settings.link_hours * 3600 + 60)
    if digest is None:
        return None
    link = state.db.transaction(lambda conn: sharing.link_by_digest(conn, digest))
    if link is None or link.expired(state.now()):
        return None
    return digest, link


def _help(state: deps.WebState, link: sharing.PatientLink) -> Help:
    """Where this clinic's patients get help (its country and contact; HZ-85)."""
    found = state.db.read(lambda conn: load_settings(conn, link.clinic_id))
    return Help.of(found.country, found.contact)


def _about(state: deps.WebState, link: sharing.PatientLink) -> dict[str, str]:
    """Who the link comes from and the day it stops working: every link page says both."""
    name = state.db.read(lambda conn: accounts.clinic_name(conn, link.clinic_id))
    return {"clinic": name, "expires_on": day_words(link.expires_at)}


def _banners(help_: Help, values: dict[str, str]) -> dict[str, Any]:
    return {
        "ces": signals_ces(values),
        "ces_banner": help_.emergency_banner(),
        "unsure": unsure_ces(values) and not signals_ces(values),
        "unsure_banner": help_.unsure_banner(),
        "help": help_,
    }


def _questionnaire(
    request: Request,
    state: deps.WebState,
    digest: str,
    link: sharing.PatientLink,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return _patient_page(
        request,
        "questionnaire.html",
        {
            "title": "Before your appointment",
            "parts": PARTS,
            "values": values,
            "errors": errors,
            "not_sure": NOT_SURE,
            **_about(state, link),
            **_banners(_help(state, link), values),
            "form_csrf": state.signer.csrf_token("link:" + digest),
        },
        status,
    )


def _explanation(
    request: Request, state: deps.WebState, digest: str, link: sharing.PatientLink
) -> Response:
    store = state.store(f"link:{link.id}", resolve=sharing.viewer_resolver(digest, state.now()))
    aid = state.db.transaction(lambda conn: sharing.linked_assessment(conn, link))
    released = aid is not None and state.db.transaction(lambda conn: sharing.is_released(conn, aid))
    if aid is None or not released:
        return _patient_page(
            request,
            "patient_message.html",
            {
                "title": "Your explanation is not ready yet",
                "message": "Thank you for your patience. Your clinician will look at your "
                "answers and may then share an explanation with you here.",
                "keep_link": True,
                **_about(state, link),
            },
        )
    _patient, record, _released = store.run(
        lambda conn, user: sharing.view_assessment(conn, user, aid, "report.view")
    )
    view = report_view(store, record)
    return _patient_page(
        request,
        "explanation.html",
        {"title": view.patient_doc.title, "doc": view.patient_doc, **_about(state, link)},
    )


@router.get("/p/{token}")
def open_link(request: Request, token: str, state: deps.WebDep) -> Response:
    found = _resolve(state, token)
    if found is None:
        return _not_valid(request)
    digest, link = found
    if link.purpose == "questionnaire" and link.used_at is None:
        return _questionnaire(request, state, digest, link, {}, {})
    return _explanation(request, state, digest, link)


@router.post("/p/{token}")
def submit(request: Request, token: str, state: deps.WebDep, raw: deps.RawForm) -> Response:
    found = _resolve(state, token)
    if found is None:
        return _not_valid(request)
    digest, link = found
    form = deps.link_form(raw, state, "link:" + digest)
    if link.purpose != "questionnaire" or link.used_at is not None:
        return _explanation(request, state, digest, link)
    data, issues = answers_to_assessment(form, state.now().date())
    if form.get("consent") != "yes":
        issues.append(Issue("consent", "Please tick the box to agree before you send."))
    if not issues:
        store = state.store(
            f"link:{link.id}", resolve=sharing.questionnaire_resolver(digest, state.now())
        )
        try:
            store.save_assessment(
                link.patient_id,
                as_json(data),
                today=state.now().date(),
                also=worklist.recorder(unsure_fields(form), state.now()),
            )
        except AssessmentError as exc:
            issues = list(exc.issues)
        except NotAllowed:
            return _not_valid(request, 410)
    if issues:
        errors = {
            i.field: (
                i.message
                if i.field in ("consent",) or "please" in i.message.lower()
                else plain_issue(i)
            )
            for i in issues
        }
        return _questionnaire(request, state, digest, link, form, errors, 422)
    return _patient_page(
        request,
        "questionnaire_done.html",
        {"title": "Thank you", **_about(state, link), **_banners(_help(state, link), form)},
    )
