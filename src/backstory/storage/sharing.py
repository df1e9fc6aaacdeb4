"""What a patient may see or send without an account: links, and released explanations.

A clinician makes a *questionnaire* link (answered once, then used up) or an *explanation*
link (viewed until it expires) for one patient. Links are stored as digests only. A patient's
explanation is shown only after the clinician releases it; releasing and withholding are
audited. Opening a link acts as a pseudonymous user ``link:ID`` in the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.database import as_utc
from backstory.storage.errors import InvalidRequest, NotAllowed, NotFound
from backstory.storage.ids import new_id
from backstory.storage.records import (
    AssessmentRecord,
    Patient,
    load_assessment,
    load_patient,
    load_record,
    patient_of_episode,
)
from backstory.storage.tables import assessment, clinic, patient, patient_link, release
from backstory.storage.users import User

LinkPurpose = Literal["questionnaire", "explanation"]


@dataclass(frozen=True, slots=True)
class PatientLink:
    id: str
    purpose: LinkPurpose
    patient_id: str
    clinic_id: str
    assessment_id: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at <= now

    def principal(self, clinic_name: str) -> User:
        """The link as an acting user, named ``link:ID`` in the audit log."""
        return User(self.id, self.clinic_id, clinic_name, f"link:{self.id}", "clinician", True)


def create_link(
    conn: Connection,
    user: User,
    patient_id: str,
    purpose: LinkPurpose,
    digest: str,
    now: dt.datetime,
    expires_at: dt.datetime,
    assessment_id: str | None = None,
) -> PatientLink:
    """A new link for a patient of the user's clinic (an explanation link names an assessment)."""
    found = load_patient(conn, user, patient_id)
    if purpose == "explanation":
        if assessment_id is None:
            raise InvalidRequest("an explanation link needs an assessment")
        stored = load_assessment(conn, user, assessment_id)
        if patient_of_episode(conn, stored.episode_id) != found.id:
            raise NotFound(f"no assessment {stored.id} for patient {found.id}")
        assessment_id = stored.id
    elif assessment_id is not None:
        raise InvalidRequest("a questionnaire link makes a new assessment; give none")
    lid = new_id("K")
    conn.execute(
        insert(patient_link).values(
            id=lid,
            digest=digest,
            purpose=purpose,
            patient_id=found.id,
            assessment_id=assessment_id,
            created_by=user.username,
            created_at=now,
            expires_at=expires_at,
            used_at=None,
        )
    )
    audit.record(
        conn, user.username, "link.create", "link", lid, patient_id=found.id, purpose=purpose
    )
    return PatientLink(lid, purpose, found.id, user.clinic_id, assessment_id, now, expires_at, None)


def link_by_digest(conn: Connection, digest: str) -> PatientLink | None:
    """The link behind a digest, used or not (the caller decides what each state shows)."""
    row = conn.execute(
        select(patient_link, patient.c.clinic_id)
        .join(patient, patient.c.id == patient_link.c.patient_id)
        .where(patient_link.c.digest == digest)
    ).one_or_none()
    if row is None:
        return None
    return PatientLink(
        row.id,
        row.purpose,
        row.patient_id,
        row.clinic_id,
        row.assessment_id,
        as_utc(row.created_at),
        as_utc(row.expires_at),
        as_utc(row.used_at) if row.used_at is not None else None,
    )


def questionnaire_resolver(digest: str, now: dt.datetime) -> Callable[[Connection, str], User]:
    """An actor resolver for ``Store``: it uses up the questionnaire link in the same
    transaction that saves the answers, so a link can never save twice."""

    def resolve(conn: Connection, _actor: str) -> User:
        found = link_by_digest(conn, digest)
        if found is None or found.purpose != "questionnaire":
            raise NotAllowed("this link is not valid")
        done = conn.execute(
            update(patient_link)
            .where(
                patient_link.c.id == found.id,
                patient_link.c.used_at.is_(None),
                patient_link.c.expires_at > now,
            )
            .values(used_at=now)
        ).rowcount
        if done != 1:
            raise NotAllowed("this link has been used already or has expired")
        name = conn.execute(select(clinic.c.name).where(clinic.c.id == found.clinic_id))
        user = found.principal(str(name.scalar_one()))
        audit.record(conn, user.username, "link.use", "link", found.id, patient_id=found.patient_id)
        return user

    return resolve


def linked_assessment(conn: Connection, link: PatientLink) -> str | None:
    """The assessment a link shows: the one it names, or the one its questionnaire made,
    followed through any corrections to the latest version."""
    current = link.assessment_id
    if current is None and link.purpose == "questionnaire":
        current = conn.execute(
            select(assessment.c.id)
            .where(assessment.c.created_by == f"link:{link.id}")
            .order_by(assessment.c.created_at)
            .limit(1)
        ).scalar_one_or_none()
    while current is not None:
        later = conn.execute(
            select(assessment.c.id).where(assessment.c.supersedes_id == current)
        ).scalar_one_or_none()
        if later is None:
            return str(current)
        current = later
    return None


def is_released(conn: Connection, assessment_id: str) -> bool:
    found = conn.execute(
        select(release.c.released).where(release.c.assessment_id == assessment_id)
    ).scalar_one_or_none()
    return bool(found)


def set_release(
    conn: Connection, user: User, assessment_id: str, released: bool, now: dt.datetime
) -> None:
    """Release (or withhold) an assessment's explanation to the patient (audited)."""
    stored = load_assessment(conn, user, assessment_id)
    pid = patient_of_episode(conn, stored.episode_id)
    load_patient(conn, user, pid, lock=True)
    exists = conn.execute(
        select(release.c.assessment_id).where(release.c.assessment_id == stored.id)
    ).first()
    values = {"released": released, "changed_at": now, "changed_by": user.username}
    if exists is None:
        conn.execute(insert(release).values(assessment_id=stored.id, **values))
    else:
        conn.execute(update(release).where(release.c.assessment_id == stored.id).values(**values))
    action = "report.release" if released else "report.withhold"
    audit.record(conn, user.username, action, "assessment", stored.id, patient_id=pid)


def view_assessment(
    conn: Connection, user: User, assessment_id: str, action: str = "assessment.view"
) -> tuple[Patient, AssessmentRecord, bool]:
    """One assessment of the user's clinic with its reports and release state (audited)."""
    stored = load_assessment(conn, user, assessment_id)
    pid = patient_of_episode(conn, stored.episode_id)
    found = load_patient(conn, user, pid)
    record = load_record(conn, found)
    for ep in record.episodes:
        for a in ep.assessments:
            if a.assessment.id == stored.id:
                audit.record(
                    conn,
                    user.username,
                    action,
                    "assessment",
                    stored.id,
                    patient_id=pid,
                    report_id=a.latest_report.id if a.latest_report else None,
                )
                return found, a, is_released(conn, stored.id)
    raise NotFound(f"no assessment {stored.id} in your clinic")  # pragma: no cover


def viewer_resolver(digest: str, now: dt.datetime) -> Callable[[Connection, str], User]:
    """An actor resolver for ``Store`` while a link is only read (not used up): the link must
    exist and not have expired; reads are audited as ``link:ID``."""

    def resolve(conn: Connection, _actor: str) -> User:
        found = link_by_digest(conn, digest)
        if found is None or found.expired(now):
            raise NotAllowed("this link has expired")
        name = conn.execute(select(clinic.c.name).where(clinic.c.id == found.clinic_id))
        return found.principal(str(name.scalar_one()))

    return resolve
