"""Export of everything held about a patient, and erasure of it (right to erasure)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import ColumnElement, Table, func, select

from backstory.storage import Database, NotAllowed, NotFound, Store
from backstory.storage import audit as audit_log
from backstory.storage.tables import assessment, episode, patient, report


def test_export_holds_everything_about_the_patient(
    store: Store, assessment_text: Callable[..., str]
) -> None:
    p = store.add_patient("r1", birth_year=1979)
    other = store.add_patient("r2")
    v1 = store.save_assessment(p.id, assessment_text(assessed_on="2026-01-05"))
    store.correct_assessment(v1.assessment.id, assessment_text(back=4), "typo")
    store.save_assessment(other.id, assessment_text())
    data = json.loads(json.dumps(store.export_patient(p.id)))
    assert data["schema"] == "backstory/patient-export@1"
    assert data["patient"]["id"] == p.id and data["patient"]["birth_year"] == 1979
    [ep] = data["episodes"]
    first, second = ep["assessments"]
    assert first["superseded_by"] == second["id"] and second["supersedes_id"] == first["id"]
    assert first["answers"]["pain"]["back"] == 7 and second["answers"]["pain"]["back"] == 4
    assert first["reports"][0]["report"]["triage"]["level"] == "routine"
    assert {e["patient_id"] for e in data["audit"]} == {p.id}
    assert data["audit"][-1]["action"] == "patient.export"


def test_erasure_removes_personal_and_clinical_data_and_keeps_a_pseudonymous_trail(
    db: Database, store: Store, assessment_text: Callable[..., str]
) -> None:
    p = store.add_patient("erase-me", birth_year=1950, sex="male")
    keep = store.add_patient("keep-me")
    v1 = store.save_assessment(p.id, assessment_text(assessed_on="2026-01-05"))
    store.correct_assessment(v1.assessment.id, assessment_text(back=2), "typo")
    store.save_assessment(keep.id, assessment_text())
    store.add_user("carol", "clinician")
    with pytest.raises(NotAllowed):
        Store(db, "carol").erase_patient(p.id)
    done = store.erase_patient(p.id)
    assert (done.episodes, done.assessments, done.reports) == (1, 2, 2)

    def remaining(table: Table, where: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(table).where(where)
        return int(db.transaction(lambda c: c.execute(query).scalar_one()))

    assert remaining(patient, patient.c.id == p.id) == 0
    assert remaining(episode, episode.c.patient_id == p.id) == 0
    assert remaining(assessment, assessment.c.id == v1.assessment.id) == 0
    assert remaining(report, report.c.assessment_id == v1.assessment.id) == 0
    assert [s.patient.id for s in store.list_patients()] == [keep.id]
    with pytest.raises(NotFound):
        store.export_patient(p.id)
    trail = db.transaction(lambda conn: audit_log.events(conn, p.id))
    assert trail[-1].action == "patient.erase" and trail[-1].detail["assessments"] == 2
    assert "erase-me" not in json.dumps([e.to_dict() for e in trail])
