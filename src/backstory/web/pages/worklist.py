"""The clinician's home page: the worklist, the review button and the banner's alerts.

The worklist lists every patient with an unreviewed assessment (a new pre-visit
questionnaire is one) or an open episode, most serious first (``storage.worklist``). Each row
shows a triage badge, a flag when essential warning-sign questions were left unanswered or
the patient was not sure about a cauda equina question, the date, and who reviewed it.
Reviewing is an explicit act: a button, stored with who and when, audited
(``assessment.review``). Until then an emergency or urgent questionnaire result - or one with
a cauda equina question answered "not sure" - is shown in a banner on every clinician page.
Follow-up questionnaires that have fallen due (``storage.followups``) are listed on the first
page, below the patients, each with the button that makes its link; a line at the top says
how many there are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from backstory.storage import Connection, followups, worklist
from backstory.storage.errors import StorageError
from backstory.storage.users import User
from backstory.web import deps
from backstory.web.labels import category_words, field_label, level_word

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def alerts_for(state: deps.WebState, principal: deps.Principal) -> dict[str, object]:
    """What the banner on every clinician page shows (no patient reference: not audited)."""
    try:
        found = worklist.unreviewed_alerts(state.db, principal.user)
        checkins = worklist.unreviewed_checkin_warnings(state.db, principal.user)
    except StorageError:
        return {"alerts": [], "checkin_alerts": [], "alerts_failed": True}
    return {"alerts": found, "checkin_alerts": checkins, "alerts_failed": False}


def template_helpers() -> dict[str, object]:
    return {
        "field_label": field_label,
        "level_word": level_word,
        "category_words": category_words,
    }


@router.get("/worklist")
def worklist_page(
    request: Request,
    principal: deps.SignedIn,
    state: deps.WebDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    query = q.strip()[:100]
    today = state.now().date()

    def work(
        conn: Connection, user: User
    ) -> tuple[worklist.Page[worklist.WorkItem], list[followups.DueFollowUp]]:
        found = worklist.worklist(
            conn,
            user,
            q=query,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            today=today,
        )
        due = followups.list_due(conn, user, today) if page == 1 else []
        wanted = query.casefold()
        return found, [d for d in due if wanted in d.patient_reference.casefold()]

    found, due = state.store(principal.user.username).run(work)
    pages = max(1, -(-found.total // PAGE_SIZE))
    return deps.page(
        request,
        "worklist.html",
        {
            "title": "Worklist",
            "found": found,
            "due": due,
            "q": query,
            "page_no": page,
            "pages": pages,
        },
    )


def _back(target: str, assessment_id: str) -> str:
    """Where to go after reviewing: the worklist or the report, never another site."""
    if target == "report":
        return f"/assessments/{assessment_id.strip().upper()}"
    return "/worklist"


@router.post("/assessments/{assessment_id}/review")
def review(
    assessment_id: str, principal: deps.SignedIn, form: deps.Form, state: deps.WebDep
) -> Response:
    """Mark an assessment reviewed by the signed-in clinician (stored and audited)."""
    state.store(principal.user.username).run(
        lambda conn, user: worklist.review(conn, user, assessment_id, state.now())
    )
    return RedirectResponse(_back(form.get("back", ""), assessment_id), status_code=303)
