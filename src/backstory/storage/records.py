"""The stored records as frozen values, and the queries that load them for one clinic.

Every lookup of a patient goes through :func:`load_patient`, which refuses patients of
another clinic with the same "not found" as a missing one, so ids cannot be probed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Connection

from backstory.storage.database import as_utc
from backstory.storage.errors import NotFound
from backstory.storage.ids import normalise_id
from backstory.storage.tables import assessment, episode, patient, report
from backstory.storage.users import User


def canonical_json(data: Mapping[str, Any]) -> str:
    """The one JSON text a report is stored as, so equal reports are equal strings."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Patient:
    """A pseudonymous patient: a random id, the clinic's own reference, little else."""

    id: str
    clinic_id: str
    reference: str
    birth_year: int | None
    sex: str | None
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "birth_year": self.birth_year,
            "sex": self.sex,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Episode:
    """One course of back pain, from its first assessment until it is closed."""

    id: str
    patient_id: str
    started_on: dt.date
    closed_on: dt.date | None
    created_at: dt.datetime

    @property
    def is_open(self) -> bool:
        return self.closed_on is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_on": self.started_on.isoformat(),
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class StoredAssessment:
    """An assessment exactly as given (its JSON text), never changed once written."""

    id: str
    episode_id: str
    version: int
    supersedes_id: str | None
    correction_reason: str | None
    assessed_on: dt.date
    contract_version: str
    source_json: str
    created_at: dt.datetime
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "supersedes_id": self.supersedes_id,
            "correction_reason": self.correction_reason,
            "assessed_on": self.assessed_on.isoformat(),
            "contract_version": self.contract_version,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "answers": json.loads(self.source_json),
        }


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A report as produced under one knowledge version (canonical JSON text)."""

    id: str
    assessment_id: str
    knowledge_version: str
    report_json: str
    created_at: dt.datetime

    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.report_json)
        return loaded

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "knowledge_version": self.knowledge_version,
            "created_at": self.created_at.isoformat(),
            "report": self.data(),
        }


@dataclass(frozen=True, slots=True)
class AssessmentRecord:
    """An assessment with its reports (oldest first) and the correction that replaced it."""

    assessment: StoredAssessment
    reports: tuple[StoredReport, ...]
    superseded_by: str | None

    @property
    def is_current(self) -> bool:
        return self.superseded_by is None

    @property
    def latest_report(self) -> StoredReport | None:
        return self.reports[-1] if self.reports else None


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    episode: Episode
    assessments: tuple[AssessmentRecord, ...]

    @property
    def current(self) -> tuple[AssessmentRecord, ...]:
        """The assessments not replaced by a correction, by date then save order."""
        return tuple(a for a in self.assessments if a.is_current)


@dataclass(frozen=True, slots=True)
class PatientRecord:
    patient: Patient
    episodes: tuple[EpisodeRecord, ...]


def _patient(row: Any) -> Patient:
    return Patient(
        row.id, row.clinic_id, row.reference, row.birth_year, row.sex, as_utc(row.created_at)
    )


def _episode(row: Any) -> Episode:
    return Episode(row.id, row.patient_id, row.started_on, row.closed_on, as_utc(row.created_at))


def _assessment(row: Any) -> StoredAssessment:
    return StoredAssessment(
        id=row.id,
        episode_id=row.episode_id,
        version=row.version,
        supersedes_id=row.supersedes_id,
        correction_reason=row.correction_reason,
        assessed_on=row.assessed_on,
        contract_version=row.contract_version,
        source_json=row.source_json,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
    )


def _report(row: Any) -> StoredReport:
    return StoredReport(
        row.id, row.assessment_id, row.knowledge_version, row.report_json, as_utc(row.created_at)
    )


def load_patient(conn: Connection, user: User, patient_id: str, *, lock: bool = False) -> Patient:
    """One patient of the actor's clinic; ``lock`` serialises writers for this patient.

    Raises:
        NotFound: for a missing patient or one of another clinic (indistinguishable).
    """
    query = select(patient).where(
        patient.c.id == normalise_id(patient_id), patient.c.clinic_id == user.clinic_id
    )
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"no patient {normalise_id(patient_id)} in your clinic")
    return _patient(row)


def clinic_patients(conn: Connection, user: User) -> list[Patient]:
    """Every patient of the actor's clinic, by reference."""
    query = (
        select(patient).where(patient.c.clinic_id == user.clinic_id).order_by(patient.c.reference)
    )
    return [_patient(row) for row in conn.execute(query)]


def load_episodes(conn: Connection, patient_id: str) -> list[Episode]:
    """A patient's episodes, oldest first."""
    query = (
        select(episode)
        .where(episode.c.patient_id == patient_id)
        .order_by(episode.c.started_on, episode.c.created_at, episode.c.id)
    )
    return [_episode(row) for row in conn.execute(query)]


def load_record(conn: Connection, found: Patient) -> PatientRecord:
    """A patient with every episode, assessment (all versions) and report."""
    episodes = load_episodes(conn, found.id)
    ids = [e.id for e in episodes]
    rows = conn.execute(
        select(assessment)
        .where(assessment.c.episode_id.in_(ids))
        .order_by(assessment.c.assessed_on, assessment.c.created_at, assessment.c.id)
    ).all()
    assessments = [_assessment(r) for r in rows]
    reports: dict[str, list[StoredReport]] = {}
    if assessments:
        for r in conn.execute(
            select(report)
            .where(report.c.assessment_id.in_([a.id for a in assessments]))
            .order_by(report.c.created_at, report.c.id)
        ):
            reports.setdefault(r.assessment_id, []).append(_report(r))
    replaced = {a.supersedes_id: a.id for a in assessments if a.supersedes_id}
    out = []
    for e in episodes:
        records = tuple(
            AssessmentRecord(a, tuple(reports.get(a.id, ())), replaced.get(a.id))
            for a in assessments
            if a.episode_id == e.id
        )
        out.append(EpisodeRecord(e, records))
    return PatientRecord(found, tuple(out))


def load_assessment(conn: Connection, user: User, assessment_id: str) -> StoredAssessment:
    """One assessment whose patient belongs to the actor's clinic.

    Raises:
        NotFound: otherwise.
    """
    aid = normalise_id(assessment_id)
    row = conn.execute(
        select(assessment)
        .join(episode, episode.c.id == assessment.c.episode_id)
        .join(patient, patient.c.id == episode.c.patient_id)
        .where(assessment.c.id == aid, patient.c.clinic_id == user.clinic_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no assessment {aid} in your clinic")
    return _assessment(row)


def patient_of_episode(conn: Connection, episode_id: str) -> str:
    """The patient id an episode belongs to."""
    return str(
        conn.execute(select(episode.c.patient_id).where(episode.c.id == episode_id)).scalar_one()
    )


def load_episode(conn: Connection, user: User, episode_id: str) -> Episode:
    """One episode whose patient belongs to the actor's clinic.

    Raises:
        NotFound: otherwise (a missing episode and another clinic's look the same).
    """
    eid = normalise_id(episode_id)
    row = conn.execute(
        select(episode)
        .join(patient, patient.c.id == episode.c.patient_id)
        .where(episode.c.id == eid, patient.c.clinic_id == user.clinic_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no episode {eid} in your clinic")
    return _episode(row)


def patient_counts(
    conn: Connection, *where: ColumnElement[bool]
) -> dict[str, tuple[int, int, dt.date | None]]:
    """For the patients matching ``where`` (over patient, episode and assessment): their
    number of episodes, of assessments, and the date of the latest assessment."""
    rows = conn.execute(
        select(
            episode.c.patient_id,
            func.count(func.distinct(episode.c.id)).label("episodes"),
            func.count(assessment.c.id).label("assessments"),
            func.max(assessment.c.assessed_on).label("last"),
        )
        .select_from(episode.outerjoin(assessment))
        .join(patient, patient.c.id == episode.c.patient_id)
        .where(*where)
        .group_by(episode.c.patient_id)
    )
    return {row.patient_id: (row.episodes, row.assessments, row.last) for row in rows}
