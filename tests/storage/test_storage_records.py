"""Patients, episodes and assessments: stored whole, never updated, corrected by new versions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from backstory.contract import AssessmentError
from backstory.storage import Conflict, Database, InvalidRequest, NotAllowed, NotFound, Store
from backstory.storage.tables import TABLES_IN_ORDER, assessment, audit_event, report


def counts(db: Database) -> dict[str, int]:
    return db.transaction(
        lambda conn: {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in TABLES_IN_ORDER
        }
    )


def test_first_user_becomes_admin_and_patients_are_pseudonymous(store: Store) -> None:
    assert store.whoami().role == "admin"
    p = store.add_patient(" clinic-17 ", birth_year=1979, sex="female")
    assert p.id.startswith("P") and len(p.id) == 11 and p.reference == "clinic-17"
    [summary] = store.list_patients()
    assert summary.patient == p and summary.episodes == 0 and summary.last_assessed is None
    with pytest.raises(Conflict):
        store.add_patient("clinic-17")
    with pytest.raises(InvalidRequest):
        store.add_patient("x", birth_year=1850)
    with pytest.raises(InvalidRequest):
        store.add_patient("x", sex="yes")
    with pytest.raises(InvalidRequest):
        store.add_patient("   ")


def test_saves_join_the_open_episode_and_a_closed_one_starts_anew(
    store: Store, assessment_text: Callable[..., str]
) -> None:
    p = store.add_patient("r1")
    first = store.save_assessment(p.id, assessment_text(assessed_on="2026-01-05"))
    assert first.opened_episode and first.episode.started_on == dt.date(2026, 1, 5)
    second = store.save_assessment(p.id.lower(), assessment_text(assessed_on="2026-02-01"))
    assert not second.opened_episode and second.episode.id == first.episode.id
    store.close_episode(first.episode.id, dt.date(2026, 3, 1))
    with pytest.raises(Conflict):
        store.save_assessment(p.id, assessment_text(), episode_id=first.episode.id)
    third = store.save_assessment(p.id, assessment_text(assessed_on="2026-06-01"))
    assert third.opened_episode and third.episode.id != first.episode.id
    with pytest.raises(Conflict):
        store.open_episode(p.id)
    record = store.patient_record(p.id)
    assert [len(e.assessments) for e in record.episodes] == [2, 1]
    assert record.episodes[0].episode.closed_on == dt.date(2026, 3, 1)


def test_missing_date_is_today_at_save_time_and_the_text_is_kept_exactly(
    store: Store, assessment_text: Callable[..., str]
) -> None:
    p = store.add_patient("r1")
    original = assessment_text(assessed_on=None).replace(",", ",  ")
    saved = store.save_assessment(p.id, original, today=dt.date(2026, 4, 2))
    assert saved.assessment.assessed_on == dt.date(2026, 4, 2)
    [ep] = store.patient_record(p.id).episodes
    stored = ep.assessments[0]
    assert stored.assessment.source_json == original
    assert stored.assessment.contract_version == "backstory/assessment@1"
    latest = stored.latest_report
    assert latest is not None and latest.knowledge_version == store.knowledge.version
    assert latest.data() == saved.report.to_dict()


def test_invalid_assessment_is_rejected_whole(db: Database, store: Store) -> None:
    p = store.add_patient("r1")
    before = counts(db)
    with pytest.raises(AssessmentError):
        store.save_assessment(p.id, '{"age": 50, "pain": {"back": "7"}}')
    with pytest.raises(AssessmentError):
        store.save_assessment(p.id, '{"age": 50, "age": 51}')
    assert counts(db) == before


def test_unknown_patient_changes_nothing(
    db: Database, store: Store, assessment_text: Callable[..., str]
) -> None:
    store.whoami()
    before = counts(db)
    with pytest.raises(NotFound):
        store.save_assessment("PNOSUCHONE", assessment_text())
    assert counts(db) == before


def test_correction_is_a_new_version_and_the_original_stays(
    store: Store, assessment_text: Callable[..., str]
) -> None:
    p = store.add_patient("r1")
    v1 = store.save_assessment(p.id, assessment_text(back=7, assessed_on="2026-01-05"))
    with pytest.raises(InvalidRequest):
        store.correct_assessment(v1.assessment.id, assessment_text(back=5), "  ")
    v2 = store.correct_assessment(
        v1.assessment.id, assessment_text(back=5, assessed_on=None), "back pain typed wrongly"
    )
    assert v2.assessment.version == 2 and v2.assessment.supersedes_id == v1.assessment.id
    assert v2.assessment.assessed_on == dt.date(2026, 1, 5)  # kept from the original
    assert v2.report.pain["back"] == 5
    with pytest.raises(Conflict):
        store.correct_assessment(v1.assessment.id, assessment_text(back=4), "again")
    v3 = store.correct_assessment(v2.assessment.id, assessment_text(back=4), "and again")
    assert v3.assessment.version == 3
    [ep] = store.patient_record(p.id).episodes
    assert [a.assessment.version for a in ep.assessments] == [1, 2, 3]
    assert [a.is_current for a in ep.assessments] == [False, False, True]
    assert json.loads(ep.assessments[0].assessment.source_json)["pain"]["back"] == 7


def test_the_api_has_no_way_to_change_an_assessment() -> None:
    names = [n for n in dir(Store) if not n.startswith("_")]
    assert not [n for n in names if n.startswith(("update", "edit", "modify", "set_"))]


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("UPDATE assessment SET source_json = '{}'", assessment),
        ("UPDATE report SET report_json = '{}'", report),
        ("UPDATE audit_event SET actor = 'mallory'", audit_event),
        ("DELETE FROM audit_event", audit_event),
    ],
)
def test_database_refuses_changes_to_immutable_records(
    db: Database, store: Store, assessment_text: Callable[..., str], statement: str, table: object
) -> None:
    p = store.add_patient("r1")
    store.save_assessment(p.id, assessment_text())
    with pytest.raises(IntegrityError):
        db.transaction(lambda conn: conn.execute(text(statement)))


def test_clinics_do_not_see_each_others_patients(
    db: Database, store: Store, assessment_text: Callable[..., str]
) -> None:
    p = store.add_patient("r1")
    saved = store.save_assessment(p.id, assessment_text())
    store.add_user("bob", "clinician", clinic="north")
    bob = Store(db, "bob")
    assert bob.list_patients() == []
    with pytest.raises(NotFound):
        bob.patient_record(p.id)
    with pytest.raises(NotFound):
        bob.correct_assessment(saved.assessment.id, assessment_text(), "not mine")
    assert bob.add_patient("r1").reference == "r1"  # references are per clinic


def test_unknown_inactive_and_non_admin_users_are_refused(db: Database, store: Store) -> None:
    store.add_user("carol", "clinician")
    with pytest.raises(NotAllowed):
        Store(db, "mallory").list_patients()
    with pytest.raises(NotAllowed):
        Store(db, "carol").add_user("dave", "admin")
    with pytest.raises(InvalidRequest):
        store.add_user("bad name;", "clinician")
    store.deactivate_user("carol")
    with pytest.raises(NotAllowed):
        Store(db, "carol").list_patients()
    assert [(u.username, u.active) for u in store.list_users()] == [
        ("alice", True),
        ("carol", False),
    ]


def test_a_new_sqlite_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "records.db"
    with Database(f"sqlite:///{path}") as db:
        db.ensure_schema()
        Store(db, "alice").add_patient("r1")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    wal = path.with_name("records.db-wal")
    assert not wal.exists() or wal.stat().st_mode & 0o077 == 0


def test_episodes_of_another_clinic_cannot_be_closed(db: Database, store: Store) -> None:
    p = store.add_patient("r1")
    ep = store.open_episode(p.id, dt.date(2026, 1, 1))
    store.add_user("bob", "clinician", clinic="north")
    with pytest.raises(NotFound, match=f"no episode {ep.id}"):
        Store(db, "bob").close_episode(ep.id)
    with pytest.raises(InvalidRequest):
        store.close_episode(ep.id, dt.date(2025, 12, 31))
