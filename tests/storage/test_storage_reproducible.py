"""Stored reports are reproducible, and `reassess` lists exactly the reports that would change."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from backstory.contract import parse_assessment_json
from backstory.core.engine import assess
from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, Store
from backstory.storage.records import canonical_json

EXAMPLES = Path(__file__).parents[1] / "data" / "examples"
INVALID = {"p09-unknown-key.json", "p10-under-16.json"}
VALID = sorted(p.name for p in EXAMPLES.glob("p*.json") if p.name not in INVALID)


def changed_knowledge(kb: KnowledgeBase, version: str) -> KnowledgeBase:
    """The bundled knowledge with no essential screening questions, under a given version."""
    manifest = kb.manifest.model_copy(update={"version": version})
    screening = kb.screening.model_copy(update={"essential": []})
    return dataclasses.replace(kb, manifest=manifest, screening=screening)


def save_all(store: Store) -> str:
    p = store.add_patient("r1")
    for name in VALID:
        store.save_assessment(p.id, (EXAMPLES / name).read_text())
    return p.id


def test_same_assessment_same_knowledge_gives_identical_report_json(
    store: Store, kb: KnowledgeBase
) -> None:
    pid = save_all(store)
    [ep] = store.patient_record(pid).episodes
    assert len(ep.assessments) == len(VALID) >= 8
    for a in ep.assessments:
        stored = a.latest_report
        assert stored is not None and stored.knowledge_version == kb.version
        again = assess(parse_assessment_json(a.assessment.source_json), kb)
        assert canonical_json(again.to_dict()) == stored.report_json
    result = store.reassess()
    assert result.checked == len(VALID) and result.differences == ()


def test_reassess_lists_reports_a_knowledge_update_changes_and_can_store_them(
    db: Database, kb: KnowledgeBase
) -> None:
    save_all(Store(db, "alice", knowledge=changed_knowledge(kb, "2000.1.0")))
    current = Store(db, "alice")
    listed = current.reassess()
    assert listed.checked == len(VALID) and len(listed.differences) == len(VALID)
    for d in listed.differences:
        assert d.stored_version == "2000.1.0" and d.current_version == kb.version
        assert not d.same_version and "screening" in d.changed and d.saved_report_id is None
    stored = current.reassess(save=True)
    assert all(d.saved_report_id for d in stored.differences)
    assert current.reassess().differences == ()  # the latest reports are now current
    [ep] = current.patient_record(current.list_patients()[0].patient.id).episodes
    assert all(len(a.reports) == 2 for a in ep.assessments)  # the old reports are kept


def test_reassess_flags_a_change_under_the_same_knowledge_version(
    db: Database, kb: KnowledgeBase
) -> None:
    save_all(Store(db, "alice", knowledge=changed_knowledge(kb, kb.version)))
    result = Store(db, "alice").reassess(save=True)
    assert len(result.differences) == len(VALID)
    assert all(d.same_version and d.saved_report_id is None for d in result.differences)
