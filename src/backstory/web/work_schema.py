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


class ProgrammeFacts(BaseModel):
    """What a patient's programme check-ins flag, as the worklist shows it (issue 15)."""

    programme_id: str
    warning: bool
    """A check-in (or the warning-sign answers kept from an unfinished one) reported a cauda
    equina warning sign - yes or "not sure" - that no clinician has reviewed yet: such a
    patient comes first of all in the worklist's order."""
    warning_checkins: list[str]
    """The check-ins and kept unfinished check-ins with an unreviewed warning sign."""
    worse: bool
    """The latest check-in is worse than the one before."""
    missed: int
    """Weekly check-ins that fell due and did not come, in a row."""
    missed_flag: bool
    """Enough check-ins in a row were missed to flag (two)."""


def programme_facts(p: work.ProgrammeFlags | None) -> ProgrammeFacts | None:
    return ProgrammeFacts(**p.to_dict()) if p is not None else None


class AssessmentListItem(WorkFacts):
    reference: str
    programme: ProgrammeFacts | None = None
    """The patient's programme check-in flags (null without a released programme)."""


class AssessmentPage(BaseModel):
    items: list[AssessmentListItem]
    total: int
    limit: int
    offset: int


class WorklistItem(BaseModel):
    """One patient on the worklist, as the clinician's home page shows them."""

    patient_id: str
    reference: str
    unreviewed: int
    """The patient's assessments nobody has reviewed yet."""
    episode_open: bool
    worklist: WorkFacts
    """The assessment that most needs attention."""
    programme: ProgrammeFacts | None = None
    """The patient's programme check-in flags (null without a released programme)."""


class WorklistPage(BaseModel):
    items: list[WorklistItem]
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
