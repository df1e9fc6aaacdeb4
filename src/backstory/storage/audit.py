"""The append-only audit log: who did what to which record, and when (UTC).

Events carry ids, never clinical content or personal details: the detail is limited to a
fixed set of keys whose values must look like ids, versions or counts. The repository only
ever inserts here, and triggers refuse UPDATE and DELETE for anyone else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from backstory.storage.database import as_utc, utcnow
from backstory.storage.tables import audit_event

ACTIONS = frozenset(
    {
        "user.bootstrap",
        "user.add",
        "user.deactivate",
        "user.role",
        "user.operator",
        "user.unlock",
        # a refused read of a patient, assessment or report (web/refusals.py)
        "refused",
        "user.list",
        "patient.create",
        "patient.list",
        "patient.view",
        "patient.export",
        "patient.erase",
        "episode.open",
        "episode.close",
        "assessment.create",
        "assessment.correct",
        "report.create",
        "progress.view",
        "cohort.export",
        "reassess.run",
        "database.backup",
        "database.restore",
        "database.upgrade",
        # the web app (storage/accounts.py, storage/sharing.py)
        "clinic.create",
        "clinic.list",
        "user.invite",
        "user.reset",
        "user.password",
        "session.signin",
        "cds.hook",
        "cds.feedback",
        "cds.fetch",
        "cds.refused",
        "cds.report",
        "session.signout",
        "token.create",
        "token.list",
        "token.revoke",
        "link.create",
        "link.use",
        "link.view",
        "assessment.view",
        "report.view",
        "report.release",
        "report.withhold",
        "assessment.review",
        "worklist.view",
        "clinic.settings",
        # follow-ups and episode outcomes (issue 14)
        "assessment.carry",
        "assessment.warnings_unchanged",
        "episode.outcome",
        "followup.schedule",
        "followup.list",
        "followup.send",
        "followup.cancel",
        # the self-management programme between visits (issue 15)
        "programme.create",
        "programme.override",
        "programme.release",
        "programme.view",
        "programme.link",
        "programme.link_revoke",
        "programme.list",
        "checkin.create",
        "checkin.warning",
        "checkin.list",
        "checkin.review",
        # e-mail delivery (issue 15): that a message went, never the address
        "link.email",
        "contact.set",
        "contact.remove",
        "reminder.send",
        "reminder.fail",
        # questionnaire drafts (storage/drafts.py)
        "draft.save",
        "draft.open",
        "draft.discard",
        "draft.expire",
    }
)
RECORD_TYPES = frozenset(
    {
        "clinic",
        "user",
        "patient",
        "episode",
        "assessment",
        "report",
        "database",
        "token",
        "link",
        "session",
        "followup",
        "programme",
        "checkin",
        "draft",
    }
)
DETAIL_KEYS = frozenset(
    {
        "episode_id",
        "assessment_id",
        "supersedes_id",
        "report_id",
        "knowledge_version",
        "role",
        "count",
        "episodes",
        "assessments",
        "reports",
        "schema",
        "format",
        "reapplied",
        "scope",
        "purpose",
        "operator",
        "card",
        "outcome",
        "override",
        "reason",
        "client",
        "status",
        "requested",
        # follow-ups and episode outcomes (issue 14)
        "since",
        "due_on",
        "weeks",
        # the programme (issue 15)
        "programme_id",
        "version",
        "week",
        "warning",
        "repeated",
        # e-mail delivery (issue 15)
        "kind",
        "reminder",
    }
)
_SAFE_TEXT = re.compile(r"^[A-Za-z0-9._@:+-]{0,60}$")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    at: dt.datetime
    actor: str
    action: str
    record_type: str
    record_id: str | None
    patient_id: str | None
    detail: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "record_type": self.record_type,
            "record_id": self.record_id,
            "patient_id": self.patient_id,
            "detail": dict(self.detail),
        }


def _check_detail(detail: Mapping[str, str | int | bool | None]) -> None:
    for key, value in detail.items():
        if key not in DETAIL_KEYS:
            raise ValueError(f"audit detail key {key!r} is not allowed")
        if isinstance(value, str) and not _SAFE_TEXT.match(value):
            raise ValueError(f"audit detail {key!r} must be an id, a version or a count")


def record(
    conn: Connection,
    actor: str,
    action: str,
    record_type: str,
    record_id: str | None,
    *,
    patient_id: str | None = None,
    **detail: str | int | bool | None,
) -> None:
    """Append one event in the caller's transaction (so it commits with the change itself)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if record_type not in RECORD_TYPES:
        raise ValueError(f"unknown audit record type {record_type!r}")
    _check_detail(detail)
    conn.execute(
        insert(audit_event).values(
            at=utcnow(),
            actor=actor,
            action=action,
            record_type=record_type,
            record_id=record_id,
            patient_id=patient_id,
            detail=json.dumps(detail, sort_keys=True),
        )
    )


def events(conn: Connection, patient_id: str | None = None) -> list[AuditEvent]:
    """Events in the order they were written, optionally only those about one patient."""
    query = select(audit_event).order_by(audit_event.c.id)
    if patient_id is not None:
        query = query.where(audit_event.c.patient_id == patient_id)
    return [
        AuditEvent(
            id=row.id,
            at=as_utc(row.at),
            actor=row.actor,
            action=row.action,
            record_type=row.record_type,
            record_id=row.record_id,
            patient_id=row.patient_id,
            detail=json.loads(row.detail),
        )
        for row in conn.execute(query)
    ]
