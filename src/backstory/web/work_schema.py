"""The worklist's facts as the API shows them (shared by the patient and assessment lists)."""

from __future__ import annotations

from pydantic import BaseModel

from backstory.storage import worklist as work


class WorkFacts(BaseModel):
    """What the worklist shows about one assessment."""

    assessment_id: str
    patient_id: str
    episode_id: str
    assessed_on: str
    from_questionnaire: bool
    triage: str | None
    category: str | None
    unanswered_warning_signs: list[str]
    """Essential warning-sign questions left unanswered (contract field names)."""
    unsure: list[str]
    """Questions the patient answered "not sure" (contract field names; unanswered in the
    assessment)."""
    cauda_equina_open: list[str]
    """Cauda equina questions unanswered or answered "not sure"."""
    attention: int
    """The worklist's order, higher first: emergency 10, cauda equina questions unanswered
    or "not sure" 8, urgent 4, soon 2, routine 0, plus 1 when essential warning-sign
    questions are unanswered (unreviewed assessments come before reviewed ones)."""
    reviewed_by: str | None
    reviewed_at: str | None


def work_facts(f: work.Flags) -> WorkFacts:
    return WorkFacts(attention=f.attention, **f.to_dict())


class AssessmentListItem(WorkFacts):
    reference: str


class AssessmentPage(BaseModel):
    items: list[AssessmentListItem]
    total: int
    limit: int
    offset: int


class DueFollowUp(BaseModel):
    """A follow-up questionnaire that has fallen due (the worklist's list of them)."""

    followup_id: str
    patient_id: str
    episode_id: str
    reference: str
    weeks: int
    """Weeks after the episode's first assessment."""
    due_on: str
    days_overdue: int
