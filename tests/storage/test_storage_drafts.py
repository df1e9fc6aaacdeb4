"""Questionnaire drafts: saved page by page, tied to one link, gone with it (HZ-120, HZ-121).

A draft is read only through its own link, refused once the link is used or expired, deleted
by expiry, sending and erasure, exported with the patient, and audited with counts only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest

from backstory.storage import Database, Store, audit
from backstory.storage.drafts import (
    MAX_ANSWERS,
    MAX_VALUE,
    discard_draft,
    expire_drafts,
    open_draft,
    patient_drafts,
    save_draft,
)
from backstory.storage.erasure import erase_patient
from backstory.storage.errors import InvalidRequest, NotAllowed
from backstory.storage.export import export_patient
from backstory.storage.sharing import create_link

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
EXPIRES = NOW + dt.timedelta(hours=72)
ANSWERS = {"red_flags.saddle_anaesthesia": "no", "movement.flexion": "worse"}


def _link(store: Store, patient_id: str, n: int = 1, purpose: str = "questionnaire") -> str:
    def make(conn, user):  # type: ignore[no-untyped-def]
        return create_link(conn, user, patient_id, purpose, f"{n}" * 64, NOW, EXPIRES).id

    return str(store.run(make))


def _events(db: Database, patient_id: str) -> list[audit.AuditEvent]:
    return [
        e
        for e in db.transaction(lambda conn: audit.events(conn, patient_id))
        if e.action.startswith("draft.")
    ]


def test_a_draft_is_saved_reopened_and_replaced(db: Database, store: Store) -> None:
    pid = store.add_patient("d1").id
    lid = _link(store, pid)
    assert db.transaction(lambda conn: open_draft(conn, lid, NOW)) is None  # nothing yet
    db.transaction(lambda conn: save_draft(conn, lid, ANSWERS, "p-pain", NOW))
    later = NOW + dt.timedelta(minutes=5)
    more = {**ANSWERS, "age": "44"}
    db.transaction(lambda conn: save_draft(conn, lid, more, "p-moving", later))
    found = db.transaction(lambda conn: open_draft(conn, lid, later))
    assert found is not None
    assert found.answers == more and found.part == "p-moving"
    assert found.created_at == NOW and found.updated_at == later
    events = _events(db, pid)
    assert [(e.action, e.actor, e.record_id) for e in events] == [
        ("draft.save", f"link:{lid}", lid),
        ("draft.save", f"link:{lid}", lid),
        ("draft.open", f"link:{lid}", lid),
    ]
    # the audit log holds counts, never an answer (HZ-14)
    assert [e.detail for e in events] == [{"count": 2}, {"count": 3}, {"count": 3}]
    assert "worse" not in json.dumps([e.to_dict() for e in events])


def test_a_draft_never_reaches_another_link(db: Database, store: Store) -> None:
    """HZ-121: a second link, even for the same patient, starts empty."""
    pid = store.add_patient("d2").id
    first, second = _link(store, pid, 1), _link(store, pid, 2)
    other = _link(store, store.add_patient("d3").id, 3)
    db.transaction(lambda conn: save_draft(conn, first, ANSWERS, "p-pain", NOW))
    assert db.transaction(lambda conn: open_draft(conn, second, NOW)) is None
    assert db.transaction(lambda conn: open_draft(conn, other, NOW)) is None
    assert db.transaction(lambda conn: open_draft(conn, first, NOW)) is not None


def test_no_draft_for_a_used_expired_or_explanation_link(
    db: Database, store: Store, assessment_text: Callable[..., str]
) -> None:
    pid = store.add_patient("d4").id
    lid = _link(store, pid)
    db.transaction(lambda conn: save_draft(conn, lid, ANSWERS, "p-pain", NOW))
    # the second the link expires, the draft is neither saved nor read, and it is deleted
    just_before = EXPIRES - dt.timedelta(seconds=1)
    assert db.transaction(lambda conn: open_draft(conn, lid, just_before)) is not None
    with pytest.raises(NotAllowed):
        db.transaction(lambda conn: save_draft(conn, lid, ANSWERS, "p-pain", EXPIRES))
    assert db.transaction(lambda conn: open_draft(conn, lid, EXPIRES)) is None
    assert db.transaction(lambda conn: patient_drafts(conn, pid)) == []
    assert _events(db, pid)[-1].action == "draft.expire"
    assert _events(db, pid)[-1].actor == "system"
    saved = store.save_assessment(pid, assessment_text())
    explain = store.run(
        lambda conn, user: (
            create_link(
                conn, user, pid, "explanation", "9" * 64, NOW, EXPIRES, saved.assessment.id
            ).id
        )
    )
    with pytest.raises(NotAllowed):
        db.transaction(lambda conn: save_draft(conn, explain, ANSWERS, "p-pain", NOW))
    with pytest.raises(NotAllowed):
        db.transaction(lambda conn: save_draft(conn, "KNOSUCHLINK", ANSWERS, "p-pain", NOW))


def test_expiry_sweeps_every_draft_of_an_expired_or_used_link(db: Database, store: Store) -> None:
    pid = store.add_patient("d5").id
    old, fresh = _link(store, pid, 1), _link(store, pid, 2)
    for lid in (old, fresh):
        db.transaction(lambda conn, lid=lid: save_draft(conn, lid, ANSWERS, "p-pain", NOW))
    assert db.transaction(lambda conn: expire_drafts(conn, EXPIRES - dt.timedelta(seconds=1))) == 0
    assert db.transaction(lambda conn: expire_drafts(conn, EXPIRES)) == 2
    assert db.transaction(lambda conn: patient_drafts(conn, pid)) == []
    assert [e.action for e in _events(db, pid)].count("draft.expire") == 2


def test_discard_is_audited_only_when_there_was_a_draft(db: Database, store: Store) -> None:
    pid = store.add_patient("d6").id
    lid = _link(store, pid)
    assert db.transaction(lambda conn: discard_draft(conn, lid)) is False
    db.transaction(lambda conn: save_draft(conn, lid, ANSWERS, "p-pain", NOW))
    assert db.transaction(lambda conn: discard_draft(conn, lid)) is True
    assert [e.action for e in _events(db, pid)] == ["draft.save", "draft.discard"]


def test_draft_limits(db: Database, store: Store) -> None:
    lid = _link(store, store.add_patient("d7").id)
    at_limit = {f"q{i}": "x" * MAX_VALUE for i in range(MAX_ANSWERS)}
    db.transaction(lambda conn: save_draft(conn, lid, at_limit, "p-pain", NOW))
    for bad in (
        {**at_limit, "one-more": "x"},
        {"age": "x" * (MAX_VALUE + 1)},
    ):
        with pytest.raises(InvalidRequest):
            db.transaction(lambda conn, bad=bad: save_draft(conn, lid, bad, "p-pain", NOW))
    with pytest.raises(InvalidRequest):
        db.transaction(lambda conn: save_draft(conn, lid, ANSWERS, "", NOW))


def test_drafts_are_exported_and_erased_with_the_patient(db: Database, store: Store) -> None:
    pid = store.add_patient("d8").id
    keep = store.add_patient("d9").id
    lid, other = _link(store, pid, 1), _link(store, keep, 2)
    for link in (lid, other):
        db.transaction(lambda conn, link=link: save_draft(conn, link, ANSWERS, "p-pain", NOW))
    exported = store.run(lambda conn, user: export_patient(conn, user, pid))
    assert [d["link_id"] for d in exported["questionnaire_drafts"]] == [lid]
    assert exported["questionnaire_drafts"][0]["answers"] == ANSWERS
    store.run(lambda conn, user: erase_patient(conn, user, pid))
    assert db.transaction(lambda conn: patient_drafts(conn, pid)) == []
    assert len(db.transaction(lambda conn: patient_drafts(conn, keep))) == 1
