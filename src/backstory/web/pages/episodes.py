"""Episodes end and follow-ups fall due: the patient page's closing and follow-up forms.

Closing an episode records how it ended and its outcome (the last scores against the first,
``backstory.storage.followups``); scheduling makes follow-up questionnaires due some weeks
after the episode's first assessment (the clinic's ``BACKSTORY_FOLLOWUP_WEEKS``); a due one
becomes a questionnaire link the patient opens like any other. All through ``Store.run``:
confined to the user's clinic, audited in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backstory.storage import Connection, followups, sharing
from backstory.storage.errors import InvalidRequest
from backstory.storage.records import load_episode
from backstory.storage.users import User
from backstory.web import deps
from backstory.web.links import new_link
from backstory.web.pages.patients import _link_page

router = APIRouter(include_in_schema=False)


def _back(conn: Connection, user: User, episode_id: str) -> str:
    ep = load_episode(conn, user, episode_id)
    return f"/patients/{ep.patient_id}#episode-{ep.id}"


def _date(text: str, today: dt.date) -> dt.date:
    text = text.strip()
    if not text:
        return today
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest("write the closing date as YYYY-MM-DD") from None


@router.post("/episodes/{episode_id}/close")
def close_episode(
    episode_id: str, principal: deps.SignedIn, form: deps.Form, state: deps.WebDep
) -> Response:
    """Close an episode with how it ended; its outcome is the last scores against the first."""
    today = state.now().date()
    on = _date(form.get("closed_on", ""), today)
    if on > today:
        raise InvalidRequest("an episode cannot close on a date still to come")
    kind = form.get("kind", "")
    note = form.get("note", "")

    def work(conn: Connection, user: User) -> str:
        followups.close_with_outcome(conn, user, episode_id, kind, note, on)
        return _back(conn, user, episode_id)

    return RedirectResponse(state.store(principal.user.username).run(work), status_code=303)


@router.post("/episodes/{episode_id}/followups")
def schedule(
    episode_id: str, principal: deps.SignedIn, form: deps.Form, state: deps.WebDep
) -> Response:
    """Schedule follow-up questionnaires (the clinic's weeks unless the form gives others)."""
    raw = form.get("weeks", "").strip()
    weeks = followups.parse_weeks(raw) if raw else state.settings.followup_weeks

    def work(conn: Connection, user: User) -> str:
        followups.schedule_followups(conn, user, episode_id, weeks)
        return _back(conn, user, episode_id)

    return RedirectResponse(state.store(principal.user.username).run(work), status_code=303)


@router.post("/followups/{followup_id}/link")
def followup_link(
    request: Request,
    followup_id: str,
    principal: deps.SignedIn,
    form: deps.Form,
    state: deps.WebDep,
) -> Response:
    """The questionnaire link for a due follow-up (shown once); the follow-up is then sent."""
    token, digest = new_link(state.signer, "patient-link")

    def work(conn: Connection, user: User) -> sharing.PatientLink:
        item = followups.load_followup(conn, user, followup_id)
        link = sharing.create_link(
            conn,
            user,
            item.patient_id,
            "questionnaire",
            digest,
            state.now(),
            state.link_expiry(),
        )
        followups.mark_sent(conn, user, item, link.id)
        return link

    link = state.store(principal.user.username).run(work)
    return _link_page(request, state, link, token)
