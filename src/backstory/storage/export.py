"""Exports: everything held about one patient (JSON), and a de-identified cohort (CSV).

The cohort uses the contract's flat batch columns so it can be read like any batch file.
De-identification: no patient ids, references, years of birth or dates leave; ``id`` and
``assessed_on`` are left empty, ages of 90 and over are written as 90, and three added
columns link rows with random surrogates made afresh for every export (``cohort_patient``,
``cohort_episode``) and the days since the episode's first assessment (``day``).
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from backstory.knowledge.loader import load_knowledge
from backstory.storage import audit
from backstory.storage.checkin_reminders import checkin_reminders_export
from backstory.storage.contacts import contact_export
from backstory.storage.database import utcnow
from backstory.storage.drafts import drafts_export
from backstory.storage.followups import followups_export
from backstory.storage.programmes import programmes_export
from backstory.storage.records import clinic_patients, load_patient, load_record
from backstory.storage.users import User, require_admin

EXPORT_SCHEMA = "backstory/patient-export@1"
LINK_COLUMNS = ("cohort_patient", "cohort_episode", "day")
AGE_TOP_CODE = 90
_BLANKED = ("id", "assessed_on")


def export_patient(conn: Connection, user: User, patient_id: str) -> dict[str, Any]:
    """All data held about one patient, including who accessed it (the audit events)."""
    found = load_patient(conn, user, patient_id)
    audit.record(conn, user.username, "patient.export", "patient", found.id, patient_id=found.id)
    record = load_record(conn, found)
    return {
        "schema": EXPORT_SCHEMA,
        "exported_at": utcnow().isoformat(),
        "patient": found.to_dict(),
        "episodes": [
            {
                **e.episode.to_dict(),
                "assessments": [
                    {
                        **a.assessment.to_dict(),
                        "superseded_by": a.superseded_by,
                        "reports": [r.to_dict() for r in a.reports],
                    }
                    for a in e.assessments
                ],
            }
            for e in record.episodes
        ],
        **followups_export(conn, found.id),
        **programmes_export(conn, found.id),
        **contact_export(conn, found.id),
        **checkin_reminders_export(conn, found.id),
        **drafts_export(conn, found.id),
        "audit": [event.to_dict() for event in audit.events(conn, found.id)],
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten(data: Mapping[str, Any]) -> dict[str, str]:
    """One assessment (its JSON form) as the contract's flat columns, de-identified."""
    contract = load_knowledge().contract
    row: dict[str, str] = {}
    for name in contract.top:
        if name == "schema":
            continue
        value = None if name in _BLANKED else data.get(name)
        if name == "age" and isinstance(value, int):
            value = min(value, AGE_TOP_CODE)
        row[name] = _cell(value)
    for gname, fields in contract.groups.items():
        group = data.get(gname) or {}
        for key in fields:
            row[f"{gname}_{key}"] = _cell(group.get(key))
    for iname, inst in contract.instruments.items():
        items = data.get(iname) or [None] * inst.length
        for i in range(inst.length):
            row[f"{iname}_{i + 1}"] = _cell(items[i] if i < len(items) else None)
    return row


def cohort(conn: Connection, user: User) -> tuple[list[str], list[list[str]]]:
    """The clinic's current assessments as de-identified flat rows (admins only)."""
    require_admin(user, "export a cohort")
    columns = [*load_knowledge().contract.flat_columns(), *LINK_COLUMNS]
    rows: list[tuple[str, int, int, list[str]]] = []
    used: set[str] = set()
    for found in clinic_patients(conn, user):
        surrogate = secrets.token_hex(4)
        while surrogate in used:
            surrogate = secrets.token_hex(4)
        used.add(surrogate)
        for n, ep in enumerate(load_record(conn, found).episodes, start=1):
            current = ep.current
            if not current:
                continue
            first = min(a.assessment.assessed_on for a in current)
            for a in current:
                day = (a.assessment.assessed_on - first).days
                flat = flatten(json.loads(a.assessment.source_json))
                flat.update(cohort_patient=surrogate, cohort_episode=str(n), day=str(day))
                rows.append((surrogate, n, day, [flat[c] for c in columns]))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    audit.record(conn, user.username, "cohort.export", "clinic", user.clinic_id, count=len(rows))
    return columns, [r[3] for r in rows]


def write_private(path: Path, write: Any) -> None:
    """Write a file only its owner can read, whole or not at all (temporary file, rename)."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Write the cohort as CSV (owner-only permissions, atomic)."""

    def write(fh: Any) -> None:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(columns)
        out.writerows(rows)

    write_private(path, write)
