"""The API's worklist resources: the clinic's assessments as the worklist sees them.

``GET /api/v1/worklist`` is the clinician's worklist itself: each patient with unreviewed
work, an open episode or a raised programme flag, in the worklist page's order (a warning
sign in a programme check-in first of all, HZ-100). ``GET /api/v1/assessments`` lists current
assessments in the same order, a page at a time, searched in the database by patient
reference, optionally only unreviewed ones; the patient list (``api.py``) carries the same
facts for each patient's most pressing assessment. Every item carries its patient's programme
check-in flags (a warning sign, a worse check-in, missed check-ins; issue 15). Reading is
audited like the worklist page (``worklist.view``).
``GET /api/v1/followups/due`` lists the follow-up questionnaires due in the clinic, oldest
first, as the worklist page shows them (audited as ``followup.list``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backstory.storage import followups
from backstory.storage import worklist as work
from backstory.web import deps
from backstory.web.api import Reader, _store
from backstory.web.problems import responses
from backstory.web.work_schema import (
    AssessmentListItem,
    AssessmentPage,
    DueFollowUp,
    WorklistItem,
    WorklistPage,
    programme_facts,
    work_facts,
)

router = APIRouter(prefix="/api/v1", responses=responses(401))


@router.get(
    "/assessments",
    response_model=AssessmentPage,
    responses=responses(403, 422),
    tags=["assessments"],
)
def list_assessments(
    who: Reader,
    state: deps.WebDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    unreviewed: bool = False,
    limit: Annotated[int, Query(ge=1, le=work.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AssessmentPage:
    """The clinic's current assessments in the worklist's order (those of a patient whose
    programme check-in reported a warning sign first, then most serious first): `q` keeps
    those whose patient's reference contains the text, `unreviewed` only those nobody has
    reviewed yet. Each carries its patient's programme check-in flags."""
    today = state.now().date()
    found = _store(state, who, write=False).run(
        lambda conn, user: work.assessment_page(
            conn, user, q=q, unreviewed=unreviewed, limit=limit, offset=offset, today=today
        )
    )
    return AssessmentPage(
        items=[
            AssessmentListItem(
                reference=r.flags.reference,
                attention=r.flags.attention,
                programme=programme_facts(r.programme),
                **r.flags.to_dict(),
            )
            for r in found.items
        ],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


@router.get(
    "/worklist",
    response_model=WorklistPage,
    responses=responses(403, 422),
    tags=["assessments"],
)
def get_worklist(
    who: Reader,
    state: deps.WebDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=work.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> WorklistPage:
    """The clinician's worklist: every patient with an unreviewed assessment, an open
    episode, or a programme check-in flag (a warning sign, a worse check-in, two missed
    check-ins), in the worklist page's order - a warning sign in a check-in first of all,
    then unreviewed before reviewed, most serious first. `q` keeps patients whose reference
    contains the text."""
    today = state.now().date()
    found = _store(state, who, write=False).run(
        lambda conn, user: work.worklist(conn, user, q=q, limit=limit, offset=offset, today=today)
    )
    return WorklistPage(
        items=[
            WorklistItem(
                patient_id=i.patient_id,
                reference=i.reference,
                unreviewed=i.unreviewed,
                episode_open=i.episode_open,
                worklist=work_facts(i.focus),
                programme=programme_facts(i.programme),
            )
            for i in found.items
        ],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


@router.get(
    "/followups/due",
    response_model=list[DueFollowUp],
    responses=responses(403),
    tags=["patients"],
)
def due_followups(who: Reader, state: deps.WebDep) -> list[DueFollowUp]:
    """The follow-up questionnaires due in the clinic today (not sent, not cancelled),
    oldest first, with the patient's reference and how many days ago each fell due."""
    today = state.now().date()
    found = _store(state, who, write=False).run(
        lambda conn, user: followups.list_due(conn, user, today)
    )
    return [
        DueFollowUp(
            followup_id=d.followup.id,
            patient_id=d.followup.patient_id,
            episode_id=d.followup.episode_id,
            reference=d.patient_reference,
            weeks=d.followup.weeks,
            due_on=d.followup.due_on.isoformat(),
            days_overdue=d.days_overdue,
        )
        for d in found
    ]
