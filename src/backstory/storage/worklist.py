"""The clinician's worklist: what needs looking at, most serious first, and who reviewed it.

A patient is on the worklist while they have an assessment nobody has reviewed yet (a new
pre-visit questionnaire is one) or an open episode. Each row shows the assessment that most
needs attention: its triage level, whether essential warning-sign questions were left
unanswered, whether the patient said "not sure" to any of them, its date and who reviewed it.
Rows waiting for review come first, then those reviewed (an open episode keeps a patient on
the list); each group is sorted by attention (``attention``): emergency first, then an
assessment whose cauda equina questions are unanswered or unsure (the patient was told to get
advice today), then urgent, soon and routine.

Reviewing is an explicit act (a button), stored with who and when, and audited. The same
facts, with each patient's programme check-in flags (``ProgrammeFlags``: a warning sign first
of all, a worse check-in, missed check-ins), feed the API's worklist, patient and assessment
lists (paged, searched in the database by reference) and the banner every clinician page
shows while an emergency or urgent questionnaire result is unreviewed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from backstory.knowledge.loader import load_knowledge
from backstory.programme import load_programme_knowledge
from backstory.programme.followup import signals
from backstory.storage import audit, programmes
from backstory.storage.database import Database, as_utc
from backstory.storage.errors import DatabaseUnavailable, InvalidRequest
from backstory.storage.records import (
    Patient,
    load_assessment,
    patient_counts,
    patient_of_episode,
)
from backstory.storage.tables import (
    assessment,
    assessment_review,
    assessment_unsure,
    episode,
    patient,
    report,
)
from backstory.storage.users import User

T = TypeVar("T")
MAX_LIMIT = 200
QUESTIONNAIRE_ACTOR = "link:"
"""Assessments saved through a patient's link are audited and stored as ``link:ID``."""
ALERT_LEVELS = ("emergency", "urgent")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class Flags:
    """One current assessment, as the worklist, the banner and the API lists see it."""

    assessment_id: str
    patient_id: str
    reference: str
    episode_id: str
    episode_open: bool
    assessed_on: dt.date
    created_at: dt.datetime
    from_questionnaire: bool
    level: str | None
    category: str | None
    unanswered: tuple[str, ...]
    """Essential warning-sign questions left unanswered (contract field names)."""
    unsure: tuple[str, ...]
    """Questions the patient answered "not sure" (contract field names)."""
    ces_open: tuple[str, ...]
    """Cauda equina questions unanswered or answered "not sure"."""
    reviewed_by: str | None
    reviewed_at: dt.datetime | None

    @property
    def reviewed(self) -> bool:
        return self.reviewed_at is not None

    @property
    def ces_unsure(self) -> bool:
        return any(f in self.unsure for f in self.ces_open)

    @property
    def attention(self) -> int:
        """Higher first: emergency 10; cauda equina questions unanswered or answered "not
        sure" 8 (below emergency only); urgent 4; soon 2; routine 0; one more when essential
        warning-sign questions are unanswered (so an incomplete screen never sorts below a
        complete one of the same level)."""
        rank = _ranks().get(self.level or "", 0)
        extra = 1 if self.unanswered else 0
        if rank >= _ranks()["emergency"]:
            return 10 + extra
        if self.ces_open:
            return 8
        return rank * 2 + extra

    @property
    def alert(self) -> bool:
        """An unreviewed questionnaire result the banner on every page shows."""
        return (
            self.from_questionnaire
            and not self.reviewed
            and (self.level in ALERT_LEVELS or self.ces_unsure)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "assessment_id": self.assessment_id,
            "patient_id": self.patient_id,
            "episode_id": self.episode_id,
            "assessed_on": self.assessed_on.isoformat(),
            "from_questionnaire": self.from_questionnaire,
            "triage": self.level,
            "category": self.category,
            "unanswered_warning_signs": list(self.unanswered),
            "unsure": list(self.unsure),
            "cauda_equina_open": list(self.ces_open),
            "reviewed_by": self.reviewed_by,
            "reviewed_at": self.reviewed_at.isoformat() if self.reviewed_at else None,
        }


@dataclass(frozen=True, slots=True)
class ProgrammeFlags:
    """What a patient's programme check-ins tell the clinician (``programme.yaml`` rules)."""

    programme_id: str
    warning_checkins: tuple[str, ...]
    """Check-ins with a cauda equina question answered yes or "not sure", and such answers
    kept from unfinished check-ins (``checkin_warning``), not yet reviewed."""
    worse: bool
    """The latest check-in is worse than the one before (``checkin.flags.worse``)."""
    missed: int
    missed_flag: bool
    """``checkin.flags.missed`` check-ins in a row fell due and none came."""

    @property
    def warning(self) -> bool:
        return bool(self.warning_checkins)

    @property
    def raised(self) -> bool:
        return self.warning or self.worse or self.missed_flag

    def to_dict(self) -> dict[str, Any]:
        return {
            "programme_id": self.programme_id,
            "warning": self.warning,
            "warning_checkins": list(self.warning_checkins),
            "worse": self.worse,
            "missed": self.missed,
            "missed_flag": self.missed_flag,
        }


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One patient on the worklist and the assessment that most needs attention."""

    patient_id: str
    reference: str
    focus: Flags
    unreviewed: int
    episode_open: bool
    others: tuple[Flags, ...] = field(default=())
    programme: ProgrammeFlags | None = None


@cache
def _ranks() -> dict[str, int]:
    return {lv.id: lv.rank for lv in load_knowledge().red_flags.levels}


@cache
def _ces_fields() -> tuple[str, ...]:
    return tuple(q.field for q in load_knowledge().screening.essential if q.group == "cauda_equina")


def _like(text: str) -> str:
    """Search text as the database can take it: no control characters (a NUL breaks
    PostgreSQL) and no lone surrogates, at most 100 characters."""
    kept = "".join(ch for ch in text if ch >= " " and not 0xD800 <= ord(ch) <= 0xDFFF)
    return kept.strip().lower()[:100]


Summary = tuple[str | None, str | None, tuple[str, ...]]
_SUMMARIES: dict[str, Summary] = {}
"""Triage level, category and unanswered essential questions by report id. A stored report
never changes (a new knowledge version writes a new report), so what one process read once
stays true; bounded, so a long-running process cannot grow without limit."""
_SUMMARIES_MAX = 50_000


def _summary(report_id: str, text: str | None) -> Summary:
    found = _SUMMARIES.get(report_id)
    if found is not None:
        return found
    data: dict[str, Any] = json.loads(text) if text else {}
    summary: Summary = (
        data.get("triage", {}).get("level"),
        data.get("category"),
        tuple(data.get("screening", {}).get("unanswered", ())),
    )
    if len(_SUMMARIES) >= _SUMMARIES_MAX:
        _SUMMARIES.clear()
    _SUMMARIES[report_id] = summary
    return summary


def _flags(
    conn: Connection,
    clinic_id: str,
    where: Iterable[Any] = (),
) -> list[Flags]:
    """Every current (not corrected) assessment of the clinic matching ``where``."""
    corrected = select(assessment.c.supersedes_id).where(assessment.c.supersedes_id.is_not(None))
    query = (
        select(
            assessment.c.id,
            assessment.c.episode_id,
            assessment.c.assessed_on,
            assessment.c.created_at,
            assessment.c.created_by,
            episode.c.patient_id,
            episode.c.closed_on,
            patient.c.reference,
            assessment_review.c.reviewed_by,
            assessment_review.c.reviewed_at,
            assessment_unsure.c.fields.label("unsure"),
        )
        .join(episode, episode.c.id == assessment.c.episode_id)
        .join(patient, patient.c.id == episode.c.patient_id)
        .outerjoin(assessment_review, assessment_review.c.assessment_id == assessment.c.id)
        .outerjoin(assessment_unsure, assessment_unsure.c.assessment_id == assessment.c.id)
        .where(patient.c.clinic_id == clinic_id, assessment.c.id.not_in(corrected), *where)
    )
    rows = conn.execute(query).all()
    latest: dict[str, tuple[dt.datetime, str]] = {}
    texts: dict[str, str] = {}
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        for rep in conn.execute(
            select(report.c.assessment_id, report.c.created_at, report.c.id).where(
                report.c.assessment_id.in_(ids[start : start + 500])
            )
        ):
            key = (as_utc(rep.created_at), rep.id)
            if rep.assessment_id not in latest or key > latest[rep.assessment_id]:
                latest[rep.assessment_id] = key
    wanted = [rid for _at, rid in latest.values() if rid not in _SUMMARIES]
    for start in range(0, len(wanted), 500):
        for text_row in conn.execute(
            select(report.c.id, report.c.report_json).where(
                report.c.id.in_(wanted[start : start + 500])
            )
        ):
            texts[text_row.id] = text_row.report_json
    summaries = {aid: _summary(rid, texts.get(rid)) for aid, (_at, rid) in latest.items()}
    ces = _ces_fields()
    out = []
    for r in rows:
        level, category, unanswered = summaries.get(r.id, (None, None, ()))
        unsure = tuple(json.loads(r.unsure)) if r.unsure else ()
        out.append(
            Flags(
                assessment_id=r.id,
                patient_id=r.patient_id,
                reference=r.reference,
                episode_id=r.episode_id,
                episode_open=r.closed_on is None,
                assessed_on=r.assessed_on,
                created_at=as_utc(r.created_at),
                from_questionnaire=str(r.created_by).startswith(QUESTIONNAIRE_ACTOR),
                level=level,
                category=category,
                unanswered=unanswered,
                unsure=unsure,
                ces_open=tuple(f for f in ces if f in unanswered or f in unsure),
                reviewed_by=r.reviewed_by,
                reviewed_at=as_utc(r.reviewed_at) if r.reviewed_at else None,
            )
        )
    return out


def _order(f: Flags) -> tuple[int, int, int, float]:
    """Unreviewed before reviewed; in each, most attention first; then the newest first."""
    return (
        1 if f.reviewed else 0,
        -f.attention,
        -f.assessed_on.toordinal(),
        -f.created_at.timestamp(),
    )


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be from 1 to {MAX_LIMIT}")
    if offset < 0:
        raise InvalidRequest("offset must be 0 or more")


def _reference_filter(q: str | None) -> list[Any]:
    needle = _like(q or "")
    if not needle:
        return []
    return [func.lower(patient.c.reference).contains(needle, autoescape=True)]


def _day(today: dt.date | None) -> dt.date:
    return today or dt.datetime.now(dt.UTC).date()


def _warning_first(programme: ProgrammeFlags | None) -> int:
    """A warning sign in a programme check-in comes before everything else (HZ-100)."""
    return 0 if programme is not None and programme.warning else 1


def programme_flags(
    conn: Connection,
    clinic_id: str,
    today: dt.date,
    patient_ids: Sequence[str] | None = None,
) -> dict[str, ProgrammeFlags]:
    """Each followed patient's programme flags by patient id, for the whole clinic or only
    ``patient_ids`` (a plain query: the worklist audits its own read)."""
    kn = load_programme_knowledge()
    out: dict[str, ProgrammeFlags] = {}
    for f in programmes.clinic_followed(conn, clinic_id, patient_ids):
        checkins = f.checkins
        released = f.programme.released_at
        since = today
        if checkins:
            since = checkins[-1].created_at.date()
        elif released is not None:
            since = released.date()
        found = signals(
            kn, json.loads(f.source_json), [c.answers() for c in checkins], since, today
        )
        out[f.patient_id] = ProgrammeFlags(
            f.programme.id,
            # a warning sign in an unfinished check-in is flagged like a check-in's (HZ-100)
            tuple(c.id for c in checkins if c.needs_review)
            + tuple(r.id for r in f.reports if r.needs_review),
            found.worse,
            found.missed,
            # a programme holds at most one week per education session: after the last
            # week's check-in nothing more falls due
            found.missed_flag(kn) and len(checkins) < len(kn.education),
        )
    return out


def _items(flags: list[Flags], extra: dict[str, ProgrammeFlags] | None = None) -> list[WorkItem]:
    extra = extra or {}
    by_patient: dict[str, list[Flags]] = {}
    for f in flags:
        by_patient.setdefault(f.patient_id, []).append(f)
    items = []
    for pid, mine in by_patient.items():
        waiting = [f for f in mine if not f.reviewed]
        open_ones = [f for f in mine if f.episode_open]
        followed = extra.get(pid)
        raised = followed is not None and followed.raised
        if not waiting and not open_ones and not raised:
            continue
        pool = waiting or open_ones or list(mine)
        pool.sort(key=_order)
        focus = pool[0]
        items.append(
            WorkItem(
                pid,
                focus.reference,
                focus,
                len(waiting),
                bool(open_ones),
                tuple(f for f in sorted(waiting, key=_order) if f is not focus),
                followed,
            )
        )
    # a warning sign in a check-in comes before everything else (HZ-100)
    items.sort(
        key=lambda i: (
            _warning_first(i.programme),
            *_order(i.focus),
            i.reference,
        )
    )
    return items


def worklist(
    conn: Connection,
    user: User,
    *,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    today: dt.date | None = None,
) -> Page[WorkItem]:
    """The actor's clinic's worklist, most serious first (audited as ``worklist.view``): a
    warning sign in a programme check-in first of all, and a worse check-in or missed
    check-ins flagged (``today`` judges the missed ones; by default the UTC date)."""
    _check_page(limit, offset)
    extra = programme_flags(conn, user.clinic_id, _day(today))
    items = _items(_flags(conn, user.clinic_id, _reference_filter(q)), extra)
    audit.record(conn, user.username, "worklist.view", "clinic", user.clinic_id)
    return Page(items[offset : offset + limit], len(items), limit, offset)


@dataclass(frozen=True, slots=True)
class PatientRow:
    """A patient in the API's list, with the worklist's facts about their latest work."""

    patient: Patient
    episodes: int
    assessments: int
    last_assessed: dt.date | None
    latest: Flags | None
    unreviewed: int
    programme: ProgrammeFlags | None = None


def patient_page(
    conn: Connection,
    user: User,
    *,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    today: dt.date | None = None,
) -> Page[PatientRow]:
    """The clinic's patients by reference, searched and paged in the database (audited as
    ``patient.list``); each with its most pressing assessment (as on the worklist) and its
    programme check-in flags (``today`` judges missed check-ins; by default the UTC date)."""
    _check_page(limit, offset)
    where = [patient.c.clinic_id == user.clinic_id, *_reference_filter(q)]
    total = conn.execute(select(func.count()).select_from(patient).where(*where)).scalar_one()
    rows = conn.execute(
        select(patient)
        .where(*where)
        .order_by(patient.c.reference, patient.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [r.id for r in rows]
    counts = patient_counts(conn, episode.c.patient_id.in_(ids))
    flags: dict[str, list[Flags]] = {}
    for f in _flags(conn, user.clinic_id, [patient.c.id.in_(ids)]):
        flags.setdefault(f.patient_id, []).append(f)
    followed = programme_flags(conn, user.clinic_id, _day(today), ids) if ids else {}
    out = []
    for r in rows:
        mine = flags.get(r.id, [])
        waiting = [f for f in mine if not f.reviewed]
        pool = sorted(waiting or mine, key=_order)
        out.append(
            PatientRow(
                Patient(r.id, r.clinic_id, r.reference, r.birth_year, r.sex, as_utc(r.created_at)),
                *counts.get(r.id, (0, 0, None)),
                pool[0] if pool else None,
                len(waiting),
                followed.get(r.id),
            )
        )
    audit.record(conn, user.username, "patient.list", "clinic", user.clinic_id)
    return Page(out, int(total), limit, offset)


@dataclass(frozen=True, slots=True)
class AssessmentRow:
    """An assessment in the API's list, with its patient's programme check-in flags."""

    flags: Flags
    programme: ProgrammeFlags | None = None


def assessment_page(
    conn: Connection,
    user: User,
    *,
    q: str | None = None,
    unreviewed: bool = False,
    limit: int = 50,
    offset: int = 0,
    today: dt.date | None = None,
) -> Page[AssessmentRow]:
    """The clinic's current assessments in the worklist's order (those of a patient whose
    programme check-in reported a warning sign first, then most serious first), optionally
    only unreviewed ones or those of patients whose reference contains ``q``; each with its
    patient's programme check-in flags (audited as ``worklist.view``)."""
    _check_page(limit, offset)
    where = _reference_filter(q)
    if unreviewed:
        where.append(assessment_review.c.assessment_id.is_(None))
    followed = programme_flags(conn, user.clinic_id, _day(today))
    rows = [
        AssessmentRow(f, followed.get(f.patient_id)) for f in _flags(conn, user.clinic_id, where)
    ]
    rows.sort(key=lambda r: (_warning_first(r.programme), *_order(r.flags)))
    audit.record(conn, user.username, "worklist.view", "clinic", user.clinic_id)
    return Page(rows[offset : offset + limit], len(rows), limit, offset)


def assessment_flags(conn: Connection, user: User, assessment_id: str) -> Flags | None:
    """The worklist's facts about one assessment of the actor's clinic (None when it has
    been corrected). The caller audits the view (the report page does, as ``report.view``)."""
    stored = load_assessment(conn, user, assessment_id)
    found = _flags(conn, user.clinic_id, [assessment.c.id == stored.id])
    return found[0] if found else None


def alerts(conn: Connection, user: User) -> list[Flags]:
    """Unreviewed questionnaire results at an emergency or urgent level, or with a cauda
    equina question answered "not sure", for the banner on every page. The banner names no
    patient (only the level, the date and a link), so looking them up is not audited."""
    where = [
        assessment_review.c.assessment_id.is_(None),
        assessment.c.created_by.startswith(QUESTIONNAIRE_ACTOR, autoescape=True),
    ]
    return sorted((f for f in _flags(conn, user.clinic_id, where) if f.alert), key=_order)


def unreviewed_alerts(db: Database, user: User) -> list[Flags]:
    """``alerts`` read without the write lock, for the banner on every page (``user`` is
    the signed-in session's, already checked).

    Raises:
        DatabaseUnavailable: when the database cannot be read, so the page can say that it
            could not check rather than show nothing.
    """
    try:
        return db.read(lambda conn: alerts(conn, user))
    except SQLAlchemyError:
        raise DatabaseUnavailable("the database could not be read") from None


def unreviewed_checkin_warnings(
    db: Database, user: User
) -> list[programmes.StoredCheckIn | programmes.WarningReport]:
    """Programme check-ins with a warning sign nobody has reviewed, for the banner on every
    clinician page (it names no patient: not audited).

    Raises:
        DatabaseUnavailable: when the database cannot be read.
    """
    try:
        return db.read(lambda conn: programmes.unreviewed_warnings(conn, user.clinic_id))
    except SQLAlchemyError:
        raise DatabaseUnavailable("the database could not be read") from None


def review(conn: Connection, user: User, assessment_id: str, now: dt.datetime) -> Flags:
    """Record that the actor reviewed an assessment (audited as ``assessment.review``).

    Reviewing twice keeps the first review (who and when) and records nothing more.
    """
    stored = load_assessment(conn, user, assessment_id)
    done = conn.execute(
        select(assessment_review.c.assessment_id).where(
            assessment_review.c.assessment_id == stored.id
        )
    ).one_or_none()
    if done is None:
        conn.execute(
            insert(assessment_review).values(
                assessment_id=stored.id, reviewed_by=user.username, reviewed_at=now
            )
        )
        audit.record(
            conn,
            user.username,
            "assessment.review",
            "assessment",
            stored.id,
            patient_id=patient_of_episode(conn, stored.episode_id),
        )
    flags = _flags(conn, user.clinic_id, [assessment.c.id == stored.id])
    if not flags:
        raise InvalidRequest(f"assessment {stored.id} was corrected; review the latest version")
    return flags[0]


def record_unsure(
    conn: Connection, assessment_id: str, fields: list[str], now: dt.datetime
) -> None:
    """Keep the questions a patient answered "not sure" beside their new assessment (in the
    same transaction as the assessment itself)."""
    if fields:
        conn.execute(
            insert(assessment_unsure).values(
                assessment_id=assessment_id, fields=json.dumps(fields), recorded_at=now
            )
        )


def recorder(fields: list[str], now: dt.datetime) -> Callable[[Connection, str], None]:
    """``record_unsure`` for ``Store.save_assessment(..., also=...)``."""
    return lambda conn, assessment_id: record_unsure(conn, assessment_id, fields, now)


__all__ = [
    "AssessmentRow",
    "Flags",
    "Page",
    "PatientRow",
    "ProgrammeFlags",
    "WorkItem",
    "alerts",
    "assessment_flags",
    "assessment_page",
    "patient_page",
    "programme_flags",
    "record_unsure",
    "recorder",
    "review",
    "unreviewed_alerts",
    "unreviewed_checkin_warnings",
    "worklist",
]
