"""Follow-up visits without re-typing: a new assessment starts from the last one.

The form is pre-filled from the patient's latest current assessment (the clinician's or the
patient's pre-visit questionnaire, which is stored the same way) and every pre-filled answer
is marked "carried forward" with its date. Age and sex come from the patient record when it
holds them. Warning signs are never carried silently: they start unanswered, and either
each is asked again or the clinician ticks one box confirming they are unchanged since that
date; only then are the previous answers used, for the ones not answered again, and the
confirmation is audited as its own action in the same transaction as the save (HZ-91).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from backstory.storage import Connection, audit
from backstory.storage.errors import InvalidRequest
from backstory.storage.records import AssessmentRecord, Patient, PatientRecord
from backstory.storage.repository import Saved
from backstory.storage.users import User
from backstory.web.forms import NOT_ASKED, assessment_form, values_of

CONFIRM = "warnings_unchanged"
"""The checkbox: "the warning signs are unchanged since DATE"."""
SOURCE = "carried_from"
"""The hidden field naming the assessment the form was pre-filled from."""
NOT_CARRIED = frozenset({"id", "assessed_on"})
"""Never carried: a new visit has its own date (today by default) and its own id."""


def warning_fields() -> tuple[str, ...]:
    """The warning-sign questions (the red_flags group and the neuro warning signs)."""
    return tuple(f.name for f in assessment_form()[0].fields)


@dataclass(frozen=True)
class Prefill:
    """A follow-up form's starting values and where each came from."""

    values: dict[str, str]
    marks: dict[str, str] = field(default_factory=dict)
    """Field name -> the words shown beside it ("carried forward from 2026-01-05")."""
    source: AssessmentRecord | None = None
    previous_warnings: dict[str, str] = field(default_factory=dict)
    """The source's warning-sign answers (``not_asked`` when it left one out)."""

    @property
    def since(self) -> str:
        return self.source.assessment.assessed_on.isoformat() if self.source else ""


def latest_assessment(record: PatientRecord) -> AssessmentRecord | None:
    """The patient's latest current assessment over every episode (by date, then save)."""
    current = [a for e in record.episodes for a in e.current]
    if not current:
        return None
    return max(current, key=lambda a: (a.assessment.assessed_on, a.assessment.created_at))


def age_from(patient: Patient, today: dt.date) -> int | None:
    """Age in years from the recorded year of birth (can be a year too high before the
    birthday; the mark beside the field says so)."""
    if patient.birth_year is None:
        return None
    return today.year - patient.birth_year


def prefill(record: PatientRecord, today: dt.date, *, carry: bool = True) -> Prefill:
    """The new-assessment form for this patient: carried forward from their latest
    (unless not ``carry``), with age and sex from the patient record either way."""
    values = {"assessed_on": today.isoformat()}
    marks: dict[str, str] = {}
    source = latest_assessment(record) if carry else None
    warnings = set(warning_fields())
    previous: dict[str, str] = {}
    if source is not None:
        old = values_of(json.loads(source.assessment.source_json))
        on = source.assessment.assessed_on.isoformat()
        what = "questionnaire" if source.assessment.created_by.startswith("link:") else "visit"
        for name, value in old.items():
            if name in NOT_CARRIED:
                continue
            if name in warnings:
                previous[name] = value
                continue
            values[name] = value
            marks[name] = f"Carried forward from the {what} of {on}"
        previous = {name: previous.get(name, NOT_ASKED) for name in warning_fields()}
    patient = record.patient
    age = age_from(patient, today)
    if age is not None:
        values["age"] = str(age)
        marks["age"] = (
            f"From the year of birth in the patient record ({patient.birth_year}); "
            "one year less if the birthday is still to come"
        )
    if patient.sex is not None:
        values["sex"] = patient.sex
        marks["sex"] = "From the patient record"
    return Prefill(values, marks, source, previous)


def confirmed_warnings(
    form: Mapping[str, str], source: AssessmentRecord
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The form with the unanswered warning signs taken from ``source``, and which they were.

    Only called when the clinician ticked the confirmation; an answer given again on the
    form always wins over the previous one.
    """
    old = values_of(json.loads(source.assessment.source_json))
    out = dict(form)
    carried = []
    for name in warning_fields():
        if not form.get(name):
            out[name] = old.get(name, NOT_ASKED)
            carried.append(name)
    return out, tuple(carried)


def check_source(patient_id: str, source: AssessmentRecord, source_patient: Patient) -> None:
    if source_patient.id != patient_id.strip().upper():
        raise InvalidRequest("the assessment carried forward belongs to another patient")


def audit_follow_up(
    source: AssessmentRecord, confirmed: bool, carried_warnings: int
) -> Callable[[Connection, User, Saved], None]:
    """The audit of a follow-up, run in the save's own transaction."""

    def then(conn: Connection, user: User, saved: Saved) -> None:
        pid = saved.episode.patient_id
        since = source.assessment.assessed_on.isoformat()
        audit.record(
            conn,
            user.username,
            "assessment.carry",
            "assessment",
            saved.assessment.id,
            patient_id=pid,
            assessment_id=source.assessment.id,
            since=since,
        )
        if confirmed:
            audit.record(
                conn,
                user.username,
                "assessment.warnings_unchanged",
                "assessment",
                saved.assessment.id,
                patient_id=pid,
                assessment_id=source.assessment.id,
                since=since,
                count=carried_warnings,
            )

    return then
