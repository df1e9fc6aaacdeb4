"""The records API: one actor's view of the database, each method one audited transaction.

Assessments are only ever inserted. A correction is a new version linked to the one it
replaces (``supersedes_id``) with a reason; the original stays as it was. An assessment is
validated and reasoned over before the transaction starts, so an invalid one stores nothing,
and the assessment, its report and the audit event commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from backstory.contract import Assessment, load_contract, parse_assessment_json
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.knowledge.loader import KnowledgeBase, load_knowledge
from backstory.storage import audit, export, reassess, users
from backstory.storage.database import Database, utcnow
from backstory.storage.erasure import Erasure, erase_patient
from backstory.storage.errors import Conflict, InvalidRequest, NotFound
from backstory.storage.ids import new_id, normalise_id
from backstory.storage.records import (
    Episode,
    EpisodeRecord,
    Patient,
    PatientRecord,
    StoredAssessment,
    canonical_json,
    clinic_patients,
    load_assessment,
    load_episode,
    load_episodes,
    load_patient,
    load_record,
    patient_counts,
    patient_of_episode,
)
from backstory.storage.tables import SEXES, assessment, episode, patient, report
from backstory.storage.users import Role, User

T = TypeVar("T")
MAX_REFERENCE = 100


def reference_problem(reference: str) -> str | None:
    """Why a patient reference is refused, or None (checked after :func:`normal_reference`).

    A reference is 1 to 100 printable characters: no control characters and no invisible
    ones (right-to-left overrides, zero-width spaces), which could make two references
    look alike or one look like another.
    """
    ref = unicodedata.normalize("NFC", reference).strip()
    if not ref or len(ref) > MAX_REFERENCE:
        return f"the reference must be 1 to {MAX_REFERENCE} characters"
    bad = next((ch for ch in ref if not ch.isprintable()), None)
    if bad is not None:
        return (
            f"the reference must not contain control or invisible characters (it holds "
            f"U+{ord(bad):04X}; for example a tab, a right-to-left override or a zero-width "
            "space)"
        )
    return None


def normal_reference(reference: str) -> str:
    """A reference as stored: Unicode NFC, without surrounding spaces.

    Raises:
        InvalidRequest: it breaks :func:`reference_problem`.
    """
    problem = reference_problem(reference)
    if problem is not None:
        raise InvalidRequest(problem)
    return unicodedata.normalize("NFC", reference).strip()


MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class Saved:
    """What one save wrote: the assessment, its report and the episode it joined."""

    assessment: StoredAssessment
    report: Report
    report_id: str
    episode: Episode
    opened_episode: bool


@dataclass(frozen=True, slots=True)
class PatientSummary:
    patient: Patient
    episodes: int
    assessments: int
    last_assessed: dt.date | None


@dataclass(frozen=True, slots=True)
class Reasoned:
    """A validated assessment and its report, made before any transaction starts."""

    text: str
    assessment: Assessment
    report: Report
    report_json: str


class Store:
    """The stored records as one actor sees them.

    Every public method runs in one transaction (retried whole on a lock timeout) and
    records who did it in the audit log within that same transaction.
    """

    def __init__(
        self,
        db: Database,
        actor: str,
        *,
        knowledge: KnowledgeBase | None = None,
        resolve: Callable[[Connection, str], User] | None = None,
    ) -> None:
        """``resolve`` finds the acting user inside each transaction; by default a stored
        user by name. The web app passes its own for API tokens and patient links, so
        their access is checked in the same transaction as the work it allows."""
        self.db = db
        self.actor = actor
        self._knowledge = knowledge
        self._resolve = resolve or users.resolve_actor

    @property
    def knowledge(self) -> KnowledgeBase:
        return self._knowledge or load_knowledge()

    def run(self, work: Callable[[Connection, User], T]) -> T:
        """Run ``work`` as the actor in one transaction; clashes become plain errors."""

        def body(conn: Connection) -> T:
            return work(conn, self._resolve(conn, self.actor))

        try:
            return self.db.transaction(body)
        except IntegrityError:
            raise Conflict(
                "the change clashes with records already stored (or saved at the same "
                "moment); nothing was saved"
            ) from None

    # -- users ------------------------------------------------------------------------------

    def whoami(self) -> User:
        return self.run(lambda conn, user: user)

    def add_user(self, username: str, role: Role, clinic: str | None = None) -> User:
        return self.run(lambda conn, user: users.add_user(conn, user, username, role, clinic))

    def list_users(self) -> list[User]:
        return self.run(users.list_users)

    def deactivate_user(self, username: str) -> None:
        self.run(lambda conn, user: users.deactivate_user(conn, user, username))

    # -- patients ---------------------------------------------------------------------------

    def add_patient(
        self, reference: str, *, birth_year: int | None = None, sex: str | None = None
    ) -> Patient:
        """A new pseudonymous patient in the actor's clinic."""
        reference = normal_reference(reference)
        this_year = dt.date.today().year
        if birth_year is not None and not 1900 <= birth_year <= this_year:
            raise InvalidRequest(f"the year of birth must be from 1900 to {this_year}")
        if sex is not None and sex not in SEXES:
            raise InvalidRequest(f"sex must be one of {', '.join(SEXES)}")

        def work(conn: Connection, user: User) -> Patient:
            taken = conn.execute(
                select(patient.c.id).where(
                    patient.c.clinic_id == user.clinic_id, patient.c.reference == reference
                )
            ).scalar_one_or_none()
            if taken is not None:
                raise Conflict(f"your clinic already has a patient with that reference ({taken})")
            new = Patient(new_id("P"), user.clinic_id, reference, birth_year, sex, utcnow())
            conn.execute(
                insert(patient).values(
                    id=new.id,
                    clinic_id=new.clinic_id,
                    reference=new.reference,
                    birth_year=new.birth_year,
                    sex=new.sex,
                    created_at=new.created_at,
                )
            )
            audit.record(
                conn, user.username, "patient.create", "patient", new.id, patient_id=new.id
            )
            return new

        return self.run(work)

    def list_patients(self) -> list[PatientSummary]:
        """The clinic's patients with counts and the date of the latest assessment."""

        def work(conn: Connection, user: User) -> list[PatientSummary]:
            counts = patient_counts(conn, patient.c.clinic_id == user.clinic_id)
            audit.record(conn, user.username, "patient.list", "clinic", user.clinic_id)
            return [
                PatientSummary(p, *counts.get(p.id, (0, 0, None)))
                for p in clinic_patients(conn, user)
            ]

        return self.run(work)

    def patient_record(self, patient_id: str) -> PatientRecord:
        """A patient with every episode, assessment version and report (audited as viewed)."""

        def work(conn: Connection, user: User) -> PatientRecord:
            found = load_patient(conn, user, patient_id)
            audit.record(
                conn, user.username, "patient.view", "patient", found.id, patient_id=found.id
            )
            return load_record(conn, found)

        return self.run(work)

    # -- episodes ---------------------------------------------------------------------------

    def open_episode(self, patient_id: str, started_on: dt.date | None = None) -> Episode:
        """Start a new episode; the patient's open episode, if any, must be closed first."""

        def work(conn: Connection, user: User) -> Episode:
            found = load_patient(conn, user, patient_id, lock=True)
            current = [e for e in load_episodes(conn, found.id) if e.is_open]
            if current:
                raise Conflict(f"episode {current[-1].id} is still open; close it first")
            return _open_episode(conn, user, found, started_on or dt.date.today())

        return self.run(work)

    def close_episode(self, episode_id: str, closed_on: dt.date | None = None) -> Episode:
        """Close an episode (the only change ever made to a stored episode)."""

        def work(conn: Connection, user: User) -> Episode:
            found = load_episode(conn, user, episode_id)
            load_patient(conn, user, found.patient_id, lock=True)
            if not found.is_open:
                raise Conflict(f"episode {found.id} is already closed")
            on = closed_on or dt.date.today()
            if on < found.started_on:
                raise InvalidRequest("an episode cannot close before it started")
            conn.execute(update(episode).where(episode.c.id == found.id).values(closed_on=on))
            audit.record(
                conn,
                user.username,
                "episode.close",
                "episode",
                found.id,
                patient_id=found.patient_id,
            )
            return Episode(found.id, found.patient_id, found.started_on, on, found.created_at)

        return self.run(work)

    # -- assessments ------------------------------------------------------------------------

    def reason(self, text: str, today: dt.date | None = None) -> Reasoned:
        """Validate and assess before touching the database (raises AssessmentError).

        ``today`` is the date dates are checked against (none later than it plus the
        contract's margin); without it only the earliest date is checked, as for answers
        already stored.
        """
        parsed = parse_assessment_json(text, contract=self.knowledge.contract, today=today)
        result = assess(parsed, self.knowledge)
        return Reasoned(text, parsed, result, canonical_json(result.to_dict()))

    def save_assessment(
        self,
        patient_id: str,
        text: str,
        *,
        episode_id: str | None = None,
        today: dt.date | None = None,
        also: Callable[[Connection, str], None] | None = None,
        then: Callable[[Connection, User, Saved], None] | None = None,
    ) -> Saved:
        """Store an assessment, its report and the audit event in one transaction.

        The assessment joins ``episode_id``, else the patient's open episode, else a new
        episode starting on its date. Its date is ``assessed_on``, or today when absent.
        ``also(conn, assessment_id)`` writes what belongs beside it in the same transaction
        (the questionnaire's "not sure" answers: ``worklist.recorder``).
        ``then`` runs in the same transaction after the save (a follow-up's own audit).

        Raises:
            AssessmentError: when the assessment is invalid (nothing is stored).
        """
        day = today or dt.date.today()
        done = self.reason(text, day)
        given = done.assessment.get("assessed_on")
        on = dt.date.fromisoformat(given) if isinstance(given, str) else day

        def work(conn: Connection, user: User) -> Saved:
            found = load_patient(conn, user, patient_id, lock=True)
            ep, opened = _episode_for(conn, user, found, episode_id, on)
            stored, rid = _insert_assessment(conn, user, ep.id, on, done, None, None, 1)
            audit.record(
                conn,
                user.username,
                "assessment.create",
                "assessment",
                stored.id,
                patient_id=found.id,
                episode_id=ep.id,
                report_id=rid,
                knowledge_version=done.report.knowledge_version,
            )
            if also is not None:
                also(conn, stored.id)
            saved = Saved(stored, done.report, rid, ep, opened)
            if then is not None:
                then(conn, user, saved)
            return saved

        return self.run(work)

    def correct_assessment(
        self, assessment_id: str, text: str, reason: str, *, today: dt.date | None = None
    ) -> Saved:
        """Store a corrected version of an assessment; the original is kept unchanged.

        Only the latest version can be corrected (so corrections form a single chain).
        """
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON:
            raise InvalidRequest(f"a correction needs a reason of 1 to {MAX_REASON} characters")
        done = self.reason(text, today or dt.date.today())
        given = done.assessment.get("assessed_on")

        def work(conn: Connection, user: User) -> Saved:
            old = load_assessment(conn, user, assessment_id)
            pid = patient_of_episode(conn, old.episode_id)
            load_patient(conn, user, pid, lock=True)
            later = conn.execute(
                select(assessment.c.id).where(assessment.c.supersedes_id == old.id)
            ).scalar_one_or_none()
            if later is not None:
                raise Conflict(
                    f"assessment {old.id} was already corrected by {later}; "
                    "correct the latest version"
                )
            on = dt.date.fromisoformat(given) if isinstance(given, str) else old.assessed_on
            stored, rid = _insert_assessment(
                conn, user, old.episode_id, on, done, old.id, reason, old.version + 1
            )
            audit.record(
                conn,
                user.username,
                "assessment.correct",
                "assessment",
                stored.id,
                patient_id=pid,
                episode_id=old.episode_id,
                supersedes_id=old.id,
                report_id=rid,
                knowledge_version=done.report.knowledge_version,
            )
            ep = load_episode(conn, user, old.episode_id)
            return Saved(stored, done.report, rid, ep, False)

        return self.run(work)

    def episode_history(self, patient_id: str, episode_id: str | None = None) -> EpisodeRecord:
        """One episode's assessments (by default the latest episode), audited as viewed."""

        def work(conn: Connection, user: User) -> EpisodeRecord:
            found = load_patient(conn, user, patient_id)
            record = load_record(conn, found)
            if not record.episodes:
                raise NotFound(f"patient {found.id} has no assessments yet")
            chosen = record.episodes[-1]
            if episode_id is not None:
                wanted = normalise_id(episode_id)
                matches = [e for e in record.episodes if e.episode.id == wanted]
                if not matches:
                    raise NotFound(f"patient {found.id} has no episode {wanted}")
                chosen = matches[0]
            audit.record(
                conn,
                user.username,
                "progress.view",
                "episode",
                chosen.episode.id,
                patient_id=found.id,
            )
            return chosen

        return self.run(work)

    # -- whole-patient and clinic-wide operations -----------------------------------------

    def export_patient(self, patient_id: str) -> dict[str, Any]:
        """Everything held about one patient, as JSON-ready data (audited)."""
        return self.run(lambda conn, user: export.export_patient(conn, user, patient_id))

    def erase_patient(self, patient_id: str) -> Erasure:
        """Erase a patient's personal and clinical records (admins only, audited)."""
        return self.run(lambda conn, user: erase_patient(conn, user, patient_id))

    def cohort(self) -> tuple[list[str], list[list[str]]]:
        """The clinic's current assessments, de-identified, as flat columns and rows."""
        return self.run(export.cohort)

    def reassess(self, *, save: bool = False) -> reassess.Reassessment:
        """Reports that the current knowledge would write differently (optionally stored)."""
        kb = self.knowledge
        return self.run(lambda conn, user: reassess.reassess(conn, user, kb, save=save))


def _open_episode(conn: Connection, user: User, found: Patient, on: dt.date) -> Episode:
    new = Episode(new_id("E"), found.id, on, None, utcnow())
    conn.execute(
        insert(episode).values(
            id=new.id,
            patient_id=found.id,
            started_on=on,
            closed_on=None,
            created_at=new.created_at,
        )
    )
    audit.record(conn, user.username, "episode.open", "episode", new.id, patient_id=found.id)
    return new


def _episode_for(
    conn: Connection, user: User, found: Patient, episode_id: str | None, on: dt.date
) -> tuple[Episode, bool]:
    episodes = load_episodes(conn, found.id)
    if episode_id is not None:
        wanted = normalise_id(episode_id)
        matches = [e for e in episodes if e.id == wanted]
        if not matches:
            raise NotFound(f"patient {found.id} has no episode {wanted}")
        if not matches[0].is_open:
            raise Conflict(f"episode {wanted} is closed; leave out --episode to start a new one")
        return matches[0], False
    open_ones = [e for e in episodes if e.is_open]
    if open_ones:
        return open_ones[-1], False
    return _open_episode(conn, user, found, on), True


def _insert_assessment(
    conn: Connection,
    user: User,
    episode_id: str,
    on: dt.date,
    done: Reasoned,
    supersedes: str | None,
    reason: str | None,
    version: int,
) -> tuple[StoredAssessment, str]:
    now = utcnow()
    stored = StoredAssessment(
        id=new_id("A"),
        episode_id=episode_id,
        version=version,
        supersedes_id=supersedes,
        correction_reason=reason,
        assessed_on=on,
        contract_version=load_contract().schema,
        source_json=done.text,
        created_at=now,
        created_by=user.username,
    )
    values: dict[str, Any] = {
        "id": stored.id,
        "episode_id": stored.episode_id,
        "version": stored.version,
        "supersedes_id": stored.supersedes_id,
        "correction_reason": stored.correction_reason,
        "assessed_on": stored.assessed_on,
        "contract_version": stored.contract_version,
        "source_json": stored.source_json,
        "created_at": stored.created_at,
        "created_by": stored.created_by,
    }
    conn.execute(insert(assessment).values(**values))
    rid = new_id("R")
    conn.execute(
        insert(report).values(
            id=rid,
            assessment_id=stored.id,
            knowledge_version=done.report.knowledge_version,
            report_json=done.report_json,
            created_at=now,
        )
    )
    return stored, rid
