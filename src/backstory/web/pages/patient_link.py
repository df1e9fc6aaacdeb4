"""Pages a patient opens from a link, without an account: the pre-visit questionnaire and,
once the clinician releases it, their explanation.

A link made for a scheduled follow-up (``storage/followups.py``) asks the same questions under
its own title and opening words (``openings`` in ``questionnaire.yaml``).
The questionnaire is one part per page (``questionnaire_steps``): each page posts its answers,
which join the link's server-side draft (``storage/drafts.py``) before the next page, the page
before ("Go back" keeps what was typed) or the same page with its problems; opening the link
again resumes where the patient was (HZ-120). The last page asks for consent and sends.

Safety first (HZ-11, HZ-85, HZ-122): a "yes" to any cauda equina question reveals, at once and
on the same page, a banner telling the person to go to the emergency department today, and a
"not sure" the advice to get help today (their words are knowledge: ``questionnaire.yaml``).
The banners are always in the page (hidden); a small external script reveals them on change,
and the server shows them on every later page from the draft, so they work without
JavaScript too. Every page says the result is part of a clinical assessment. Answers are
stored as an assessment for the clinician, audited under the link's pseudonym (``link:ID``);
the link is used up and its draft discarded in the same transaction.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backstory.contract import AssessmentError
from backstory.storage import accounts, drafts, followups, sharing, worklist
from backstory.storage.clinic_settings import load_settings
from backstory.storage.errors import NotAllowed
from backstory.web import deps
from backstory.web.instrument_parts import INSTRUMENT_WORDING, instrument_answers, instrument_parts
from backstory.web.links import day_words, link_digest
from backstory.web.questionnaire import (
    FORM_PARTS,
    NOT_SURE,
    Help,
    Part,
    as_json,
    opening,
    plain_issue,
    signals_ces,
    unsure_ces,
    unsure_fields,
)
from backstory.web.questionnaire_steps import (
    SEND,
    Instruments,
    Step,
    assessment_of,
    error_href,
    known_answers,
    merge,
    part_problems,
    problems,
    step,
)
from backstory.web.views import report_view

CONSENT_NEEDED = "Please tick the box to agree before you send."

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
    if link is None:
        return None
    if link.expired(state.now()):
        # its draft, and any other expired link's, goes now (HZ-120: expires with the link)
        state.db.transaction(lambda conn: drafts.expire_drafts(conn, state.now()))
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


def _instrument_parts(state: deps.WebState) -> tuple[Part, ...]:
    """The instrument parts (web/instrument_parts.py), in the wording the clinic loaded."""
    return instrument_parts(state.knowledge, state.extra.get(INSTRUMENT_WORDING))


def questionnaire_parts(state: deps.WebState) -> tuple[Part, ...]:
    """Every page of this app's questionnaire: the knowledge's own parts, then one per
    instrument asked (own words, or the clinic's licensed wording)."""
    return FORM_PARTS + _instrument_parts(state)


def _instruments(state: deps.WebState) -> Instruments:
    """Reads the instruments' answers from the draft (the arrays and their problems)."""
    parts = _instrument_parts(state)
    return lambda values: instrument_answers(values, parts, state.knowledge)


def _questionnaire(
    request: Request,
    state: deps.WebState,
    digest: str,
    link: sharing.PatientLink,
    values: dict[str, str],
    errors: dict[str, str],
    here: Step,
    status: int = 200,
) -> Response:
    title = here.part.title if here.part is not None else "Check and send"
    follow_up = state.db.read(lambda conn: followups.followup_of_link(conn, link.id))
    words = opening(follow_up is not None)
    return _patient_page(
        request,
        "questionnaire.html",
        {
            "title": f"{title} ({here.number} of {here.total}): {words.title}",
            "opening": words,
            "parts": (here.part,) if here.part is not None else (),
            "step": here,
            "values": values,
            "errors": errors,
            "error_href": {f: error_href(f, here.id, questionnaire_parts(state)) for f in errors},
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


def _draft(state: deps.WebState, link: sharing.PatientLink) -> drafts.Draft | None:
    return state.db.transaction(lambda conn: drafts.open_draft(conn, link.id, state.now()))


@router.get("/p/{token}")
def open_link(request: Request, token: str, state: deps.WebDep) -> Response:
    found = _resolve(state, token)
    if found is None:
        return _not_valid(request)
    digest, link = found
    if link.purpose == "questionnaire" and link.used_at is None:
        draft = _draft(state, link)
        wanted = request.query_params.get("part") or (draft.part if draft else None)
        values = dict(draft.answers) if draft else {}
        here = step(wanted, questionnaire_parts(state))
        return _questionnaire(request, state, digest, link, values, {}, here)
    return _explanation(request, state, digest, link)


def _save(state: deps.WebState, link: sharing.PatientLink, values: dict[str, str], at: str) -> None:
    state.db.transaction(
        lambda conn: drafts.save_draft(
            conn, link.id, known_answers(values, questionnaire_parts(state)), at, state.now()
        )
    )


@router.post("/p/{token}")
def submit(request: Request, token: str, state: deps.WebDep, raw: deps.RawForm) -> Response:
    found = _resolve(state, token)
    if found is None:
        return _not_valid(request)
    digest, link = found
    form = deps.link_form(raw, state, "link:" + digest)
    if link.purpose != "questionnaire" or link.used_at is not None:
        return _explanation(request, state, digest, link)
    draft = _draft(state, link)
    here = step(form.get("part"), questionnaire_parts(state))
    values = dict(draft.answers) if draft else {}
    if here.part is not None:
        values = merge(values, here.part, form)
    part, go = here.part, form.get("go")
    try:
        if go == "back":
            target = here.previous or here.id
            _save(state, link, values, target)
            return RedirectResponse(f"/p/{token}?part={target}", status_code=303)
        if part is not None:
            errors = part_problems(
                part, values, state.now().date(), _instruments(state), state.knowledge.contract
            )
            target = here.id if errors else here.next or SEND
            _save(state, link, values, target)
            if errors:
                return _questionnaire(request, state, digest, link, values, errors, here, 422)
            return RedirectResponse(f"/p/{token}?part={target}", status_code=303)
        _save(state, link, values, here.id)
    except NotAllowed:
        return _not_valid(request, 410)
    return _send(request, state, digest, link, values, form.get("consent") == "yes")


def _send(
    request: Request,
    state: deps.WebState,
    digest: str,
    link: sharing.PatientLink,
    values: dict[str, str],
    consent: bool,
) -> Response:
    """Send the whole draft as an assessment; the link is used up and the draft discarded in
    the same transaction. Any problem, on any page, is listed with a link to its page."""
    now = state.now()
    errors = problems(values, now.date(), _instruments(state), state.knowledge.contract)
    if not consent:
        errors["consent"] = CONSENT_NEEDED
    if not errors:
        data, _issues = assessment_of(values, now.date(), _instruments(state))
        store = state.store(f"link:{link.id}", resolve=sharing.questionnaire_resolver(digest, now))
        beside = drafts.discarding(link.id, worklist.recorder(unsure_fields(values), now))
        try:
            store.save_assessment(link.patient_id, as_json(data), today=now.date(), also=beside)
        except AssessmentError as exc:
            errors = {i.field: plain_issue(i) for i in exc.issues}
        except NotAllowed:
            return _not_valid(request, 410)
    if errors:
        last = step(SEND, questionnaire_parts(state))
        return _questionnaire(request, state, digest, link, values, errors, last, 422)
    return _patient_page(
        request,
        "questionnaire_done.html",
        {"title": "Thank you", **_about(state, link), **_banners(_help(state, link), values)},
    )
