"""Re-run stored assessments under the current knowledge and list the reports that would change.

A stored report is reproducible: the same assessment under the same knowledge version gives
the identical JSON. So any difference under the *same* version means the engine changed
without a knowledge version bump, which is flagged; under another version only a change of
content counts (not the version stamp itself), and the new report can be stored beside the
old one (reports are never overwritten).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from backstory.contract import AssessmentError, parse_assessment_json
from backstory.core.engine import assess
from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import audit
from backstory.storage.database import utcnow
from backstory.storage.ids import new_id
from backstory.storage.records import (
    AssessmentRecord,
    StoredReport,
    canonical_json,
    clinic_patients,
    load_record,
)
from backstory.storage.tables import report
from backstory.storage.users import User


@dataclass(frozen=True, slots=True)
class Difference:
    """One stored report that the current knowledge would write differently."""

    assessment_id: str
    patient_id: str
    stored_version: str
    current_version: str
    changed: tuple[str, ...]
    """Top-level report keys that differ (``invalid`` if the assessment no longer validates)."""
    saved_report_id: str | None

    @property
    def same_version(self) -> bool:
        """True when the difference cannot be explained by a knowledge update."""
        return self.stored_version == self.current_version


@dataclass(frozen=True, slots=True)
class Reassessment:
    checked: int
    differences: tuple[Difference, ...]


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """Top-level keys whose values differ, ignoring the knowledge version stamp itself."""
    keys = [k for k in dict.fromkeys([*old, *new]) if k != "knowledge_version"]
    return tuple(k for k in keys if old.get(k) != new.get(k))


def compare(source_json: str, stored: StoredReport, kb: KnowledgeBase) -> tuple[str, ...] | None:
    """What a fresh report would change in the stored one: None for nothing, else the keys."""
    try:
        fresh = assess(parse_assessment_json(source_json, kb.contract), kb).to_dict()
    except AssessmentError:
        return ("invalid",)
    if stored.knowledge_version == kb.version:
        if canonical_json(fresh) == stored.report_json:
            return None
        return changed_keys(stored.data(), fresh) or ("formatting",)
    return changed_keys(stored.data(), fresh) or None


def _store_report(
    conn: Connection, user: User, kb: KnowledgeBase, patient_id: str, a: AssessmentRecord
) -> str:
    fresh = assess(parse_assessment_json(a.assessment.source_json, kb.contract), kb)
    rid = new_id("R")
    conn.execute(
        insert(report).values(
            id=rid,
            assessment_id=a.assessment.id,
            knowledge_version=kb.version,
            report_json=canonical_json(fresh.to_dict()),
            created_at=utcnow(),
        )
    )
    audit.record(
        conn,
        user.username,
        "report.create",
        "report",
        rid,
        patient_id=patient_id,
        assessment_id=a.assessment.id,
        knowledge_version=kb.version,
    )
    return rid


def reassess(conn: Connection, user: User, kb: KnowledgeBase, *, save: bool) -> Reassessment:
    """Compare every current assessment's latest report with a fresh one (optionally store it).

    With ``save``, a changed report is stored under the current version unless one exists
    for it already (an assessment that no longer validates is only listed).
    """
    checked = 0
    found: list[Difference] = []
    for p in clinic_patients(conn, user):
        for ep in load_record(conn, p).episodes:
            for a in ep.current:
                latest = a.latest_report
                if latest is None:
                    continue
                checked += 1
                keys = compare(a.assessment.source_json, latest, kb)
                if keys is None:
                    continue
                saved = None
                stored_versions = {r.knowledge_version for r in a.reports}
                if save and keys != ("invalid",) and kb.version not in stored_versions:
                    saved = _store_report(conn, user, kb, p.id, a)
                found.append(
                    Difference(
                        a.assessment.id, p.id, latest.knowledge_version, kb.version, keys, saved
                    )
                )
    audit.record(conn, user.username, "reassess.run", "clinic", user.clinic_id, count=checked)
    return Reassessment(checked, tuple(found))
