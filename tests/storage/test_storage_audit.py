"""The audit log: every action on patient data, by whom and when, with ids and nothing more."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select

from backstory.storage import Database, Store
from backstory.storage import audit as audit_log
from backstory.storage.tables import audit_event


def test_every_action_is_audited_with_actor_time_and_ids_only(
    db: Database, store: Store, assessment_text: Callable[..., str]
) -> None:
    before = dt.datetime.now(dt.UTC)
    p = store.add_patient("Jane-Doe-Ward-7", birth_year=1961, sex="female")
    saved = store.save_assessment(p.id, assessment_text(assessed_on="2026-01-05"))
    store.correct_assessment(saved.assessment.id, assessment_text(back=3), "pain misread")
    store.list_patients()
    store.patient_record(p.id)
    store.episode_history(p.id)
    store.export_patient(p.id)
    events = db.transaction(lambda conn: audit_log.events(conn))
    assert [e.action for e in events] == [
        "user.bootstrap",
        "patient.create",
        "episode.open",
        "assessment.create",
        "assessment.correct",
        "patient.list",
        "patient.view",
        "progress.view",
        "patient.export",
    ]
    for e in events:
        assert e.actor == "alice"
        assert before - dt.timedelta(seconds=5) <= e.at <= dt.datetime.now(dt.UTC)
        assert e.at.tzinfo is not None and e.at.utcoffset() == dt.timedelta(0)
        assert set(e.detail) <= audit_log.DETAIL_KEYS
    created = events[3]
    assert created.record_type == "assessment" and created.record_id == saved.assessment.id
    assert created.patient_id == p.id and created.detail["episode_id"] == saved.episode.id
    # Nothing personal or clinical is in any audit column.
    rows = db.transaction(lambda conn: conn.execute(select(audit_event)).all())
    text = " ".join(str(v) for row in rows for v in row)
    for secret in ("Jane-Doe", "1961", "female", "diffuse", "very_much", "pain misread"):
        assert secret not in text


def test_audit_detail_refuses_anything_but_ids_and_counts(db: Database) -> None:
    def write(**detail: str | int) -> None:
        db.transaction(
            lambda conn: audit_log.record(conn, "alice", "patient.view", "patient", "P1", **detail)
        )

    write(episode_id="E123", count=3)
    with pytest.raises(ValueError, match="not allowed"):
        write(note="free text")
    with pytest.raises(ValueError, match="must be an id"):
        write(episode_id="back pain 7/10 since the fall")
    with pytest.raises(ValueError, match="unknown audit action"):
        db.transaction(lambda conn: audit_log.record(conn, "alice", "x.y", "patient", "P1"))
