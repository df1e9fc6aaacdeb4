"""The right to erasure: a patient's personal and clinical records go, in one transaction.

What stays is the audit log, which holds only the patient's random id (now linked to
nothing) and ids of the records, plus one more event recording the erasure itself. Because
backups taken earlier still hold the patient, a restore re-applies every erasure the
replaced database knew about (see :mod:`backstory.storage.backup`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.drafts import erase_drafts
from backstory.storage.records import load_patient
from backstory.storage.tables import (
    assessment,
    assessment_review,
    assessment_unsure,
    audit_event,
    checkin_reminder,
    checkin_warning,
    episode,
    episode_outcome,
    followup,
    patient,
    patient_contact,
    patient_link,
    programme,
    programme_checkin,
    programme_link,
    release,
    reminder,
    report,
)
from backstory.storage.users import User, require_admin


@dataclass(frozen=True, slots=True)
class Erasure:
    patient_id: str
    episodes: int
    assessments: int
    reports: int


def _erase_rows(conn: Connection, patient_id: str) -> Erasure:
    episodes = list(
        conn.execute(select(episode.c.id).where(episode.c.patient_id == patient_id)).scalars()
    )
    assessments = list(
        conn.execute(select(assessment.c.id).where(assessment.c.episode_id.in_(episodes))).scalars()
    )
    # the web app's links and release switches point at the patient's records: they go first
    followups = select(followup.c.id).where(followup.c.patient_id == patient_id)
    conn.execute(delete(reminder).where(reminder.c.followup_id.in_(followups)))
    conn.execute(delete(checkin_reminder).where(checkin_reminder.c.patient_id == patient_id))
    conn.execute(delete(patient_contact).where(patient_contact.c.patient_id == patient_id))
    conn.execute(delete(followup).where(followup.c.patient_id == patient_id))
    conn.execute(delete(programme_checkin).where(programme_checkin.c.patient_id == patient_id))
    conn.execute(delete(checkin_warning).where(checkin_warning.c.patient_id == patient_id))
    conn.execute(delete(programme_link).where(programme_link.c.patient_id == patient_id))
    conn.execute(delete(programme).where(programme.c.patient_id == patient_id))
    conn.execute(delete(episode_outcome).where(episode_outcome.c.episode_id.in_(episodes)))
    erase_drafts(conn, patient_id)
    conn.execute(delete(patient_link).where(patient_link.c.patient_id == patient_id))
    conn.execute(delete(release).where(release.c.assessment_id.in_(assessments)))
    conn.execute(
        delete(assessment_review).where(assessment_review.c.assessment_id.in_(assessments))
    )
    conn.execute(
        delete(assessment_unsure).where(assessment_unsure.c.assessment_id.in_(assessments))
    )
    reports = conn.execute(delete(report).where(report.c.assessment_id.in_(assessments))).rowcount
    conn.execute(delete(assessment).where(assessment.c.id.in_(assessments)))
    conn.execute(delete(episode).where(episode.c.patient_id == patient_id))
    conn.execute(delete(patient).where(patient.c.id == patient_id))
    return Erasure(patient_id, len(episodes), len(assessments), int(reports))


def erase_patient(conn: Connection, user: User, patient_id: str) -> Erasure:
    """Erase one patient of the actor's clinic (admins only) and record it in the audit log."""
    require_admin(user, "erase a patient")
    found = load_patient(conn, user, patient_id, lock=True)
    done = _erase_rows(conn, found.id)
    audit.record(
        conn,
        user.username,
        "patient.erase",
        "patient",
        found.id,
        patient_id=found.id,
        episodes=done.episodes,
        assessments=done.assessments,
        reports=done.reports,
    )
    return done


def erased_patient_ids(conn: Connection) -> set[str]:
    """Every patient id this database's audit log says was erased."""
    query = select(audit_event.c.patient_id).where(audit_event.c.action == "patient.erase")
    return {pid for pid in conn.execute(query).scalars() if pid}


def reapply_erasures(conn: Connection, actor: str, patient_ids: set[str]) -> list[Erasure]:
    """Erase again any of these patients that a restored backup brought back."""
    present = set(conn.execute(select(patient.c.id).where(patient.c.id.in_(patient_ids))).scalars())
    done = []
    for pid in sorted(present):
        erased = _erase_rows(conn, pid)
        audit.record(
            conn,
            actor,
            "patient.erase",
            "patient",
            pid,
            patient_id=pid,
            reapplied=True,
            episodes=erased.episodes,
            assessments=erased.assessments,
            reports=erased.reports,
        )
        done.append(erased)
    return done
