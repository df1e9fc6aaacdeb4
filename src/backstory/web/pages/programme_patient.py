"""The patient's programme pages, opened from a link without an account (phone first).

The plan page shows this week: what changed since last week and why (one sentence from
``programme.yaml``), the topic, each exercise with its picture and dose, the walk and the
person's flare-up plan. The weekly check-in asks the cauda equina questions first, in the
pre-visit questionnaire's own words and with its banners (HZ-11, HZ-85): a "yes" shows the
act-now advice at once on the page (``warning.js``) and again from the server on sending, and
pauses the plan; a "not sure" shows the advice to get help today. A check-in sent with other
answers missing is refused, but a yes or "not sure" in it is kept and flagged for the
clinician (``save_warning_report``, HZ-100). Like every link page, each page names the
clinic and the day the link stops working. Every read and write is audited as
``link:ID``; a revoked or expired link shows only that it does not work.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backstory.storage import accounts, programmes
from backstory.storage.clinic_settings import load_settings
from backstory.storage.errors import NotAllowed, NotFound
from backstory.web import deps
from backstory.web.links import day_words, link_digest
from backstory.web.programme_view import LINK_DAYS, build_stored, figures, knowledge
from backstory.web.questionnaire import NOT_SURE, PARTS, Help, Question

router = APIRouter(include_in_schema=False)
NUMBERS = (
    ("pain", 10),
    ("confidence", 10),
    ("fear", 10),
    ("activity_days", 7),
    ("exercise_days", 7),
    ("flare_ups", 7),
)
"""The check-in's number questions and their highest answer (the generator's own limits)."""


def _warning_questions() -> list[Question]:
    """The cauda equina questions, exactly as the pre-visit questionnaire asks them."""
    wanted = set(knowledge().checkin.warning_fields)
    return [q for p in PARTS for q in p.questions if q.field in wanted]


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return deps.page(request, name, {"patient_page": True, **context}, status_code=status)


def _not_valid(request: Request) -> Response:
    return _page(
        request,
        "patient_message.html",
        {
            "title": "This link does not work",
            "message": "This link is not valid, or it has expired or been stopped. Please ask "
            "your clinic for a new one.",
        },
        404,
    )


def _resolve(state: deps.WebState, token: str) -> tuple[str, programmes.ProgrammeLink] | None:
    digest = link_digest(state.signer, "programme-link", token, LINK_DAYS * 86400 + 60)
    if digest is None:
        return None
    link = state.db.transaction(lambda conn: programmes.link_by_digest(conn, digest))
    if link is None or not link.usable(state.now()):
        return None
    return digest, link


def _help(state: deps.WebState, link: programmes.ProgrammeLink) -> Help:
    found = state.db.read(lambda conn: load_settings(conn, link.clinic_id))
    return Help.of(found.country, found.contact)


def _about(state: deps.WebState, link: programmes.ProgrammeLink) -> dict[str, str]:
    """Who the link comes from and the day it stops working, as every link page says."""
    name = state.db.read(lambda conn: accounts.clinic_name(conn, link.clinic_id))
    return {"clinic": name, "expires_on": day_words(link.expires_at)}


def _banners(help_: Help, values: dict[str, str]) -> dict[str, Any]:
    fields = [q.field for q in _warning_questions()]
    yes = any(values.get(f) == "yes" for f in fields)
    unsure = any(values.get(f) == NOT_SURE for f in fields)
    return {
        "ces": yes,
        "ces_banner": help_.emergency_banner(),
        "unsure": unsure and not yes,
        "unsure_banner": help_.unsure_banner(),
        "help": help_,
    }


def _open(
    state: deps.WebState, digest: str, link: programmes.ProgrammeLink
) -> tuple[Any, list[programmes.StoredCheckIn], Any, bool]:
    """The programme, its check-ins, the plan, and whether a "yes" kept from an unfinished
    check-in waits for a clinician (the plan stays paused until one reviews it: HZ-100)."""
    store = state.store(f"link:{link.id}", resolve=programmes.link_resolver(digest, state.now()))
    (stored, checkins, source), pending = store.run(
        lambda conn, user: (
            programmes.open_by_link(conn, user),
            programmes.pending_reports_by_link(conn, user),
        )
    )
    prog, _answers = build_stored(state, store, stored, source, checkins)
    waiting = any("yes" in r.warnings.values() for r in pending)
    return stored, checkins, prog, waiting


def _plan(request: Request, state: deps.WebState, token: str) -> Response:
    found = _resolve(state, token)
    if found is None:
        return _not_valid(request)
    digest, link = found
    try:
        _stored, checkins, prog, waiting = _open(state, digest, link)
    except (NotAllowed, NotFound):
        return _not_valid(request)
    help_ = _help(state, link)
    stopped = prog.stopped or waiting
    return _page(
        request,
        "programme_patient.html",
        {
            "title": "Your plan for this week",
            "prog": prog,
            "week": prog.current,
            "figures": figures(),
            "token": token,
            "checkins": len(checkins),
            "stopped": stopped,
            "paused": knowledge().checkin.paused,
            **_about(state, link),
            **_banners(help_, {}),
            "ces": stopped,
        },
    )


@router.get("/programme/{token}")
def plan(request: Request, token: str, state: deps.WebDep) -> Response:
    return _plan(request, state, token)


def _form(
    request: Request,
    state: deps.WebState,
    token: str,
    digest: str,
    link: programmes.ProgrammeLink,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    kn = knowledge()
    return _page(
        request,
        "programme_checkin.html",
        {
            "title": "Your weekly check-in",
            "questions": kn.checkin.questions,
            "numbers": NUMBERS,
            "warnings": _warning_questions(),
            "not_sure": NOT_SURE,
            "values": values,
            "errors": errors,
            "token": token,
            "form_csrf": state.signer.csrf_token("programme:" + digest),
            **_about(state, link),
            **_banners(_help(state, link), values),
        },
        status,
    )


@router.get("/programme/{token}/checkin")
def checkin_form(request: Request, token: str, state: deps.WebDep) -> Response:
    found = _resolve(state, token)
    if found is None:
        return _not_valid(request)
    digest, link = found
    return _form(request, state, token, digest, link, {}, {})


def _parse(form: dict[str, str]) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    values: dict[str, int] = {}
    warnings: dict[str, str] = {}
    errors: dict[str, str] = {}
    for q in _warning_questions():
        answer = (form.get(q.field) or "").strip()
        if answer not in ("yes", "no", NOT_SURE):
            errors[q.field] = "Please choose yes, no or not sure."
        else:
            warnings[q.field] = answer
    for name, high in NUMBERS:
        raw = (form.get(name) or "").strip()
        if not raw.isdigit() or len(raw) > 2 or int(raw) > high:
            errors[name] = f"Please write a whole number from 0 to {high}."
        else:
            values[name] = int(raw)
    return values, warnings, errors


@router.post("/programme/{token}/checkin")
def send_checkin(request: Request, token: str, state: deps.WebDep, raw: deps.RawForm) -> Response:
    found = _resolve(state, token)
    if found is None:
        return _not_valid(request)
    digest, link = found
    form = deps.link_form(raw, state, "programme:" + digest)
    values, warnings, errors = _parse(form)
    store = state.store(f"link:{link.id}", resolve=programmes.link_resolver(digest, state.now()))
    if errors:
        if any(v in ("yes", NOT_SURE) for v in warnings.values()):
            # a warning sign must reach the clinician even when the rest is refused (HZ-100)
            try:
                store.run(
                    lambda conn, user: programmes.save_warning_report(
                        conn, user, warnings, state.now()
                    )
                )
            except (NotAllowed, NotFound):
                return _not_valid(request)
        return _form(request, state, token, digest, link, form, errors, 422)
    try:
        store.run(
            lambda conn, user: programmes.save_checkin(conn, user, values, warnings, state.now())
        )
        _stored, _checkins, prog, waiting = _open(state, digest, link)
    except (NotAllowed, NotFound):
        return _not_valid(request)
    banners = _banners(_help(state, link), form)
    return _page(
        request,
        "programme_checkin_done.html",
        {
            "title": "Thank you",
            "prog": prog,
            "token": token,
            "paused": knowledge().checkin.paused,
            "stopped": prog.stopped or waiting,
            **_about(state, link),
            **banners,
            # a "yes" kept from an unfinished check-in keeps the advice up (HZ-100)
            "ces": banners["ces"] or waiting,
        },
    )
