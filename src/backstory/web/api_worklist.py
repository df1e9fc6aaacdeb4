"""The API's worklist resources: the clinic's assessments as the worklist sees them.

``GET /api/v1/assessments`` lists current assessments most serious first (the worklist's
order), a page at a time, searched in the database by patient reference, optionally only
unreviewed ones; the patient list (``api.py``) carries the same facts for each patient's most
pressing assessment. Reading is audited like the worklist page (``worklist.view``).
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
from backstory.web.work_schema import AssessmentListItem, AssessmentPage, DueFollowUp

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
    """The clinic's current assessments, most serious first (the worklist's order): `q`
    keeps those whose patient's reference contains the text, `unreviewed` only those nobody
    has reviewed yet."""
    found = _store(state, who, write=False).run(
        lambda conn, user: work.assessment_page(
            conn, user, q=q, unreviewed=unreviewed, limit=limit, offset=offset
        )
    )
    return AssessmentPage(
        items=[
            AssessmentListItem(reference=f.reference, attention=f.attention, **f.to_dict())
            for f in found.items
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
