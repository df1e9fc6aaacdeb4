"""The self-management programme between visits: versions, release, links and check-ins.

A clinician builds a programme from one of a patient's assessments and edits it: each edit
is a new version (``supersedes_id``), never an update. Releasing a version is an explicit,
audited act; the patient follows the latest released one. A programme made despite an
urgent or emergency triage or an incomplete warning-sign screen keeps the clinician's
reason, and the override is audited (``programme.override``).

The patient reaches it through a programme link (stored as a digest only) until it expires
or a clinician revokes it; opening it and sending a weekly check-in act as ``link:ID`` in
the audit log. A check-in sent unfinished is refused, but a warning sign in it is kept
(``checkin_warning``) and flagged like a check-in's. A check-in with a warning sign stays
unreviewed - in the banner on every
clinician page - until a clinician reviews it. Every function runs in the caller's
transaction and audits its own reads and writes, except the plain queries the worklist and
the banner use (named as such).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from backstory.programme import CheckInAnswers, load_programme_knowledge
from backstory.storage import audit
from backstory.storage.database import as_utc
from backstory.storage.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from backstory.storage.ids import new_id, normalise_id
from backstory.storage.records import load_assessment, load_patient, patient_of_episode
from backstory.storage.tables import (
    assessment,
    checkin_warning,
    clinic,
    patient,
    programme,
    programme_checkin,
    programme_link,
)
from backstory.storage.users import User

MAX_REASON = 500
WARNING_ANSWERS = ("yes", "no", "not_sure")
FLAGGED_ANSWERS = ("yes", "not_sure")
"""The answers that told the person to get help: a warning sign to review."""


class _Flagged:
    """What a check-in and a warning report share: their cauda equina answers and review."""

    __slots__ = ()
    id: str
    programme_id: str
    patient_id: str
    warnings: Mapping[str, str]
    created_at: dt.datetime
    reviewed_by: str | None
    reviewed_at: dt.datetime | None

    @property
    def warning_fields(self) -> tuple[str, ...]:
        """Questions answered yes or "not sure" (both told the person to get help)."""
        return tuple(f for f, v in self.warnings.items() if v in FLAGGED_ANSWERS)

    @property
    def needs_review(self) -> bool:
        return bool(self.warning_fields) and self.reviewed_at is None

    def _review_dict(self) -> dict[str, Any]:
        return {
            "warnings": dict(self.warnings),
            "created_at": self.created_at.isoformat(),
            "reviewed_by": self.reviewed_by,
            "reviewed_at": _iso(self.reviewed_at),
        }


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _utc(at: dt.datetime | None) -> dt.datetime | None:
    return as_utc(at) if at is not None else None


@dataclass(frozen=True, slots=True)
class StoredProgramme:
    """One version of a patient's programme, as the clinician chose it."""

    id: str
    patient_id: str
    assessment_id: str
    version: int
    supersedes_id: str | None
    choices: Mapping[str, Any]
    """``exercises`` (ids, in order), ``start_minutes`` and ``goals``."""
    override_reason: str | None
    created_by: str
    created_at: dt.datetime
    released_by: str | None
    released_at: dt.datetime | None

    @property
    def released(self) -> bool:
        return self.released_at is not None


@dataclass(frozen=True, slots=True)
class ProgrammeLink:
    """A patient's link to their programme (the token itself is never stored)."""

    id: str
    patient_id: str
    clinic_id: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    def usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def principal(self, clinic_name: str) -> User:
        """The link as an acting user, named ``link:ID`` in the audit log."""
        return User(self.id, self.clinic_id, clinic_name, f"link:{self.id}", "clinician", True)


@dataclass(frozen=True, slots=True)
class StoredCheckIn(_Flagged):
    id: str
    programme_id: str
    patient_id: str
    week: int
    pain: int
    confidence: int
    fear: int
    activity_days: int
    exercise_days: int
    flare_ups: int
    warnings: Mapping[str, str]
    """Each cauda equina question: "yes", "no" or "not_sure"."""
    created_at: dt.datetime
    reviewed_by: str | None
    reviewed_at: dt.datetime | None

    @property
    def incomplete(self) -> bool:
        """A stored check-in is always complete (see ``WarningReport``)."""
        return False

    def answers(self) -> CheckInAnswers:
        """The check-in as the generator reads it: "not sure" is unknown (None), never no."""
        signs: dict[str, bool | None] = {
            f: (True if v == "yes" else False if v == "no" else None)
            for f, v in self.warnings.items()
        }
        return CheckInAnswers(
            self.pain,
            self.confidence,
            self.fear,
            self.activity_days,
            self.exercise_days,
            self.flare_ups,
            signs,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "programme_id": self.programme_id,
            "week": self.week,
            "pain": self.pain,
            "confidence": self.confidence,
            "fear": self.fear,
            "activity_days": self.activity_days,
            "exercise_days": self.exercise_days,
            "flare_ups": self.flare_ups,
            **self._review_dict(),
        }


@dataclass(frozen=True, slots=True)
class WarningReport(_Flagged):
    """A warning sign reported in a check-in sent unfinished: only the cauda equina answers
    (at least one yes or "not sure"). Never a week's check-in - no scores, not counted for
    adherence, charts or the next week - but flagged like one until a clinician reviews it."""

    id: str
    programme_id: str
    patient_id: str
    warnings: Mapping[str, str]
    """The cauda equina questions answered: "yes", "no" or "not_sure" (some may be missing)."""
    created_at: dt.datetime
    reviewed_by: str | None
    reviewed_at: dt.datetime | None

    @property
    def incomplete(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "programme_id": self.programme_id,
            **self._review_dict(),
        }


# ---------------------------------------------------------------------------- rows


def _programme(row: Any) -> StoredProgramme:
    return StoredProgramme(
        row.id,
        row.patient_id,
        row.assessment_id,
        row.version,
        row.supersedes_id,
        json.loads(row.choices_json),
        row.override_reason,
        row.created_by,
        as_utc(row.created_at),
        row.released_by,
        _utc(row.released_at),
    )


def _checkin(row: Any) -> StoredCheckIn:
    return StoredCheckIn(
        row.id,
        row.programme_id,
        row.patient_id,
        row.week,
        row.pain,
        row.confidence,
        row.fear,
        row.activity_days,
        row.exercise_days,
        row.flare_ups,
        json.loads(row.warnings_json),
        as_utc(row.created_at),
        row.reviewed_by,
        _utc(row.reviewed_at),
    )


def _report(row: Any) -> WarningReport:
    return WarningReport(
        row.id,
        row.programme_id,
        row.patient_id,
        json.loads(row.warnings_json),
        as_utc(row.created_at),
        row.reviewed_by,
        _utc(row.reviewed_at),
    )


def _link(row: Any, clinic_id: str) -> ProgrammeLink:
    return ProgrammeLink(
        row.id,
        row.patient_id,
        clinic_id,
        row.created_by,
        as_utc(row.created_at),
        as_utc(row.expires_at),
        _utc(row.revoked_at),
    )


# ---------------------------------------------------------------------------- plain queries


def versions_of(conn: Connection, patient_id: str) -> list[StoredProgramme]:
    """A patient's programme versions, oldest first (the caller checked the clinic)."""
    rows = conn.execute(
        select(programme)
        .where(programme.c.patient_id == patient_id)
        .order_by(programme.c.version, programme.c.id)
    )
    return [_programme(r) for r in rows]


def current_of(conn: Connection, patient_id: str) -> StoredProgramme | None:
    """The version the patient follows: the latest released one."""
    released = [p for p in versions_of(conn, patient_id) if p.released_at is not None]
    return max(released, key=lambda p: (p.released_at, p.version)) if released else None


def checkins_of(conn: Connection, programme_id: str) -> list[StoredCheckIn]:
    rows = conn.execute(
        select(programme_checkin)
        .where(programme_checkin.c.programme_id == programme_id)
        .order_by(programme_checkin.c.week, programme_checkin.c.created_at)
    )
    return [_checkin(r) for r in rows]


def reports_of(conn: Connection, programme_id: str) -> list[WarningReport]:
    """Warning signs reported in unfinished check-ins of a programme, oldest first."""
    rows = conn.execute(
        select(checkin_warning)
        .where(checkin_warning.c.programme_id == programme_id)
        .order_by(checkin_warning.c.created_at, checkin_warning.c.id)
    )
    return [_report(r) for r in rows]


def links_of(conn: Connection, patient_id: str) -> list[ProgrammeLink]:
    rows = conn.execute(
        select(programme_link, patient.c.clinic_id)
        .join(patient, patient.c.id == programme_link.c.patient_id)
        .where(programme_link.c.patient_id == patient_id)
        .order_by(programme_link.c.created_at)
    )
    return [_link(r, r.clinic_id) for r in rows]


def source_of(conn: Connection, stored: StoredProgramme) -> str:
    """The assessment (contract JSON) the programme was built from."""
    return str(
        conn.execute(
            select(assessment.c.source_json).where(assessment.c.id == stored.assessment_id)
        ).scalar_one()
    )


# ---------------------------------------------------------------------------- clinician


def _reason(text: str | None) -> str | None:
    reason = (text or "").strip() or None
    if reason is not None and (len(reason) > MAX_REASON or any(c < " " for c in reason)):
        raise InvalidRequest(f"the reason must be one line of at most {MAX_REASON} characters")
    return reason


def save_version(
    conn: Connection,
    user: User,
    assessment_id: str,
    choices: Mapping[str, Any],
    override_reason: str | None,
    now: dt.datetime,
    supersedes_id: str | None = None,
) -> StoredProgramme:
    """Store a new version of the patient's programme, built from one of their assessments
    (the caller built it with ``backstory.programme`` first, so it is one the rules allow).

    Audited as ``programme.create``, and ``programme.override`` when made with a reason.
    """
    stored = load_assessment(conn, user, assessment_id)
    pid = patient_of_episode(conn, stored.episode_id)
    found = load_patient(conn, user, pid, lock=True)
    reason = _reason(override_reason)
    if supersedes_id is not None:
        before = load_programme(conn, user, supersedes_id)
        if before.patient_id != found.id:
            raise NotFound(f"no programme {before.id} for patient {found.id}")
        supersedes_id = before.id
    top = conn.execute(
        select(func.max(programme.c.version)).where(programme.c.patient_id == found.id)
    ).scalar_one()
    version = int(top or 0) + 1
    made = StoredProgramme(
        new_id("G"),
        found.id,
        stored.id,
        version,
        supersedes_id,
        dict(choices),
        reason,
        user.username,
        now,
        None,
        None,
    )
    conn.execute(
        insert(programme).values(
            id=made.id,
            patient_id=made.patient_id,
            assessment_id=made.assessment_id,
            version=version,
            supersedes_id=supersedes_id,
            choices_json=json.dumps(made.choices, sort_keys=True),
            override_reason=reason,
            created_by=user.username,
            created_at=now,
            released_by=None,
            released_at=None,
        )
    )
    audit.record(
        conn,
        user.username,
        "programme.create",
        "programme",
        made.id,
        patient_id=found.id,
        assessment_id=stored.id,
        supersedes_id=supersedes_id,
        version=version,
    )
    if reason is not None:
        audit.record(
            conn,
            user.username,
            "programme.override",
            "programme",
            made.id,
            patient_id=found.id,
            assessment_id=stored.id,
            override=True,
        )
    return made


def _in_clinic(conn: Connection, table: Table, row_id: str, user: User) -> Row[Any] | None:
    """The row of ``table`` with this id whose patient is of the user's clinic, if any."""
    return conn.execute(
        select(table)
        .join(patient, patient.c.id == table.c.patient_id)
        .where(table.c.id == row_id, patient.c.clinic_id == user.clinic_id)
    ).one_or_none()


def load_programme(conn: Connection, user: User, programme_id: str) -> StoredProgramme:
    """One programme version of the user's clinic (another clinic's looks missing)."""
    gid = normalise_id(programme_id)
    row = _in_clinic(conn, programme, gid, user)
    if row is None:
        raise NotFound(f"no programme {gid} in your clinic")
    return _programme(row)


@dataclass(frozen=True, slots=True)
class ProgrammeView:
    """A programme version as its page shows it."""

    programme: StoredProgramme
    versions: list[StoredProgramme]
    checkins: list[StoredCheckIn]
    links: list[ProgrammeLink]
    source_json: str
    reports: list[WarningReport]
    """Warning signs reported in unfinished check-ins (never counted as check-ins)."""


def view_programme(conn: Connection, user: User, programme_id: str) -> ProgrammeView:
    """A programme version with the patient's other versions, its check-ins, the patient's
    links, the assessment it was built from and the warning signs reported in unfinished
    check-ins (audited as ``programme.view``)."""
    found = load_programme(conn, user, programme_id)
    _audit_view(conn, user, found)
    return _view(conn, found)


def _audit_view(conn: Connection, user: User, shown: StoredProgramme, **extra: Any) -> None:
    """Audit a read of a programme version as ``programme.view``."""
    audit.record(
        conn,
        user.username,
        "programme.view",
        "programme",
        shown.id,
        patient_id=shown.patient_id,
        **extra,
    )


def _view(conn: Connection, found: StoredProgramme) -> ProgrammeView:
    return ProgrammeView(
        found,
        versions_of(conn, found.patient_id),
        checkins_of(conn, found.id),
        links_of(conn, found.patient_id),
        source_of(conn, found),
        reports_of(conn, found.id),
    )


def export_programme(conn: Connection, user: User, programme_id: str) -> ProgrammeView:
    """A released programme version for an export such as its FHIR CarePlan (audited as
    ``programme.view`` with its ``format``); a draft, like another clinic's, looks missing."""
    found = load_programme(conn, user, programme_id)
    if not found.released:
        raise NotFound(f"no released programme {found.id} in your clinic")
    _audit_view(conn, user, found, format="fhir")
    return _view(conn, found)


def patient_summary(
    conn: Connection, user: User, patient_id: str
) -> tuple[StoredProgramme | None, StoredProgramme | None, list[StoredCheckIn], str | None]:
    """For the patient page: the latest version, the released one the patient follows, its
    check-ins and its assessment (audited as ``programme.view`` when there is one)."""
    found = load_patient(conn, user, patient_id)
    versions = versions_of(conn, found.id)
    if not versions:
        return None, None, [], None
    current = current_of(conn, found.id)
    _audit_view(conn, user, current or versions[-1])
    if current is None:
        return versions[-1], None, [], None
    return versions[-1], current, checkins_of(conn, current.id), source_of(conn, current)


def release(conn: Connection, user: User, programme_id: str, now: dt.datetime) -> StoredProgramme:
    """Release a version to the patient (once; audited as ``programme.release``)."""
    found = load_programme(conn, user, programme_id)
    load_patient(conn, user, found.patient_id, lock=True)
    later = conn.execute(
        select(func.max(programme.c.version)).where(programme.c.patient_id == found.patient_id)
    ).scalar_one()
    if found.released:
        raise Conflict(f"programme {found.id} was released already")
    if later != found.version:
        raise Conflict(f"programme {found.id} has a newer version; release that one")
    conn.execute(
        update(programme)
        .where(programme.c.id == found.id)
        .values(released_by=user.username, released_at=now)
    )
    audit.record(
        conn,
        user.username,
        "programme.release",
        "programme",
        found.id,
        patient_id=found.patient_id,
        version=found.version,
    )
    return load_programme(conn, user, found.id)


def create_link(
    conn: Connection,
    user: User,
    patient_id: str,
    digest: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> ProgrammeLink:
    """A new programme link for a patient whose programme has been released (audited)."""
    found = load_patient(conn, user, patient_id, lock=True)
    if current_of(conn, found.id) is None:
        raise Conflict("release the programme before making its link")
    lid = new_id("L")
    conn.execute(
        insert(programme_link).values(
            id=lid,
            digest=digest,
            patient_id=found.id,
            created_by=user.username,
            created_at=now,
            expires_at=expires_at,
            revoked_by=None,
            revoked_at=None,
        )
    )
    audit.record(conn, user.username, "programme.link", "link", lid, patient_id=found.id)
    return ProgrammeLink(lid, found.id, user.clinic_id, user.username, now, expires_at, None)


def revoke_link(conn: Connection, user: User, link_id: str, now: dt.datetime) -> ProgrammeLink:
    """Revoke a programme link of the user's clinic: it stops working at once (audited)."""
    lid = normalise_id(link_id)
    row = _in_clinic(conn, programme_link, lid, user)
    if row is None:
        raise NotFound(f"no programme link {lid} in your clinic")
    if row.revoked_at is None:
        conn.execute(
            update(programme_link)
            .where(programme_link.c.id == lid)
            .values(revoked_by=user.username, revoked_at=now)
        )
        audit.record(
            conn, user.username, "programme.link_revoke", "link", lid, patient_id=row.patient_id
        )
    found = conn.execute(select(programme_link).where(programme_link.c.id == lid)).one()
    return _link(found, user.clinic_id)


def review_checkin(
    conn: Connection, user: User, checkin_id: str, now: dt.datetime
) -> StoredCheckIn | WarningReport:
    """Record that a clinician reviewed a check-in, or a warning sign reported in an
    unfinished one (the first review is kept; audited as ``checkin.review``)."""
    cid = normalise_id(checkin_id)
    for table in (programme_checkin, checkin_warning):
        row = _in_clinic(conn, table, cid, user)
        if row is None:
            continue
        if row.reviewed_at is None:
            conn.execute(
                update(table)
                .where(table.c.id == cid)
                .values(reviewed_by=user.username, reviewed_at=now)
            )
            audit.record(
                conn, user.username, "checkin.review", "checkin", cid, patient_id=row.patient_id
            )
        found = conn.execute(select(table).where(table.c.id == cid)).one()
        return _checkin(found) if table is programme_checkin else _report(found)
    raise NotFound(f"no check-in {cid} in your clinic")


# ---------------------------------------------------------------------------- the patient's link


def link_by_digest(conn: Connection, digest: str) -> ProgrammeLink | None:
    row = conn.execute(
        select(programme_link, patient.c.clinic_id)
        .join(patient, patient.c.id == programme_link.c.patient_id)
        .where(programme_link.c.digest == digest)
    ).one_or_none()
    return None if row is None else _link(row, row.clinic_id)


def link_resolver(digest: str, now: dt.datetime) -> Callable[[Connection, str], User]:
    """An actor resolver for ``Store``: the link must exist, not be revoked and not have
    expired; everything done through it is audited as ``link:ID``."""

    def resolve(conn: Connection, _actor: str) -> User:
        found = link_by_digest(conn, digest)
        if found is None or not found.usable(now):
            raise NotAllowed("this link is not valid")
        name = conn.execute(select(clinic.c.name).where(clinic.c.id == found.clinic_id))
        return found.principal(str(name.scalar_one()))

    return resolve


def _linked(conn: Connection, user: User) -> tuple[ProgrammeLink, StoredProgramme]:
    """The link acting as ``user`` and the programme it shows (the latest released)."""
    row = conn.execute(select(programme_link).where(programme_link.c.id == user.id)).one_or_none()
    if row is None or not user.username.startswith("link:"):
        raise NotAllowed("this link is not valid")
    link = _link(row, user.clinic_id)
    current = current_of(conn, link.patient_id)
    if current is None:
        raise NotFound("no programme has been released")
    return link, current


def _linked_for_answers(
    conn: Connection, user: User, warnings: Mapping[str, str]
) -> tuple[ProgrammeLink, StoredProgramme]:
    """``_linked``, with the patient locked and the warning-sign answers checked."""
    link, current = _linked(conn, user)
    load_patient(conn, user, link.patient_id, lock=True)
    asked = load_programme_knowledge().checkin.warning_fields
    bad = [f for f, v in warnings.items() if v not in WARNING_ANSWERS or f not in asked]
    if bad:
        raise InvalidRequest(f"warning-sign answers must be yes, no or not_sure: {bad}")
    return link, current


def open_by_link(conn: Connection, user: User) -> tuple[StoredProgramme, list[StoredCheckIn], str]:
    """What the patient's link shows: the programme, its check-ins and the assessment it was
    built from (audited as ``programme.view`` by ``link:ID``)."""
    _link_found, current = _linked(conn, user)
    _audit_view(conn, user, current)
    return current, checkins_of(conn, current.id), source_of(conn, current)


def pending_reports_by_link(conn: Connection, user: User) -> list[WarningReport]:
    """Warning signs the patient reported in unfinished check-ins that no clinician has
    reviewed yet (read with ``open_by_link``, in its transaction and under its audit)."""
    _link_found, current = _linked(conn, user)
    return [r for r in reports_of(conn, current.id) if r.needs_review]


def save_checkin(
    conn: Connection,
    user: User,
    values: Mapping[str, int],
    warnings: Mapping[str, str],
    now: dt.datetime,
) -> StoredCheckIn:
    """Store a weekly check-in sent through the patient's link (audited as
    ``checkin.create``, with whether it reported a warning sign)."""
    link, current = _linked_for_answers(conn, user, warnings)
    week = len(checkins_of(conn, current.id)) + 1
    made = StoredCheckIn(
        new_id("W"),
        current.id,
        link.patient_id,
        week,
        int(values["pain"]),
        int(values["confidence"]),
        int(values["fear"]),
        int(values["activity_days"]),
        int(values["exercise_days"]),
        int(values["flare_ups"]),
        dict(warnings),
        now,
        None,
        None,
    )
    made.answers()  # refuses values out of range, before anything is stored
    _insert_flagged(
        conn,
        programme_checkin,
        made,
        link.id,
        week=week,
        pain=made.pain,
        confidence=made.confidence,
        fear=made.fear,
        activity_days=made.activity_days,
        exercise_days=made.exercise_days,
        flare_ups=made.flare_ups,
    )
    _audit_flagged(
        conn, user, "checkin.create", made, made.id, week=week, warning=bool(made.warning_fields)
    )
    return made


def save_warning_report(
    conn: Connection, user: User, warnings: Mapping[str, str], now: dt.datetime
) -> WarningReport:
    """Keep the warning-sign answers of a check-in sent unfinished through the patient's link,
    when any is yes or "not sure", so that the clinician is told (HZ-100). The same answers
    sent again before a clinician reviewed them return the one already kept (``repeated``
    in the audit). Audited as ``checkin.warning``; refused (InvalidRequest) when no answer is
    a warning sign.
    """
    link, current = _linked_for_answers(conn, user, warnings)
    made = WarningReport(new_id("S"), current.id, link.patient_id, dict(warnings), now, None, None)
    if not made.warning_fields:
        raise InvalidRequest("an unfinished check-in is kept only when it reports a warning sign")
    same = [
        r
        for r in reports_of(conn, current.id)
        if r.needs_review and dict(r.warnings) == dict(made.warnings)
    ]
    if same:  # sent again unchanged before anyone reviewed it: one flag is enough
        _audit_flagged(conn, user, "checkin.warning", made, same[0].id, warning=True, repeated=True)
        return same[0]
    _insert_flagged(conn, checkin_warning, made, link.id)
    _audit_flagged(conn, user, "checkin.warning", made, made.id, warning=True)
    return made


def _insert_flagged(
    conn: Connection, table: Table, made: _Flagged, link_id: str, **columns: Any
) -> None:
    """Store a new check-in or warning report, unreviewed (``columns``: a check-in's own)."""
    conn.execute(
        insert(table).values(
            id=made.id,
            programme_id=made.programme_id,
            patient_id=made.patient_id,
            link_id=link_id,
            **columns,
            warnings_json=json.dumps(made.warnings, sort_keys=True),
            created_at=made.created_at,
            reviewed_by=None,
            reviewed_at=None,
        )
    )


def _audit_flagged(
    conn: Connection, user: User, action: str, made: _Flagged, target_id: str, **extra: Any
) -> None:
    audit.record(
        conn,
        user.username,
        action,
        "checkin",
        target_id,
        patient_id=made.patient_id,
        programme_id=made.programme_id,
        **extra,
    )


# ---------------------------------------------------------------------------- worklist, export


@dataclass(frozen=True, slots=True)
class Followed:
    """A patient following a released programme: what the worklist judges."""

    patient_id: str
    reference: str
    programme: StoredProgramme
    checkins: list[StoredCheckIn]
    source_json: str
    reports: list[WarningReport] = field(default_factory=list)
    """Warning signs reported in unfinished check-ins (never counted as check-ins)."""


def clinic_followed(
    conn: Connection, clinic_id: str, patient_ids: Sequence[str] | None = None
) -> list[Followed]:
    """Every patient of a clinic with a released programme, or only those of ``patient_ids``
    (one page of a list), by reference (a plain query: the worklist audits its own read,
    and confines it to the user's clinic)."""
    where = [
        patient.c.clinic_id == clinic_id,
        patient.c.id.in_(
            select(programme.c.patient_id).where(programme.c.released_at.is_not(None))
        ),
    ]
    if patient_ids is not None:
        where.append(patient.c.id.in_(list(patient_ids)))
    rows = conn.execute(
        select(patient.c.id, patient.c.reference).where(*where).order_by(patient.c.reference)
    ).all()
    out = []
    for r in rows:
        current = current_of(conn, r.id)
        if current is not None:
            out.append(
                Followed(
                    r.id,
                    r.reference,
                    current,
                    checkins_of(conn, current.id),
                    source_of(conn, current),
                    reports_of(conn, current.id),
                )
            )
    return out


def unreviewed_warnings(conn: Connection, clinic_id: str) -> list[StoredCheckIn | WarningReport]:
    """Check-ins with a warning sign nobody has reviewed, and warning signs reported in
    unfinished check-ins nobody has reviewed, oldest first, for the banner (which names no
    patient, so the lookup is not audited)."""
    rows = conn.execute(
        select(programme_checkin)
        .join(patient, patient.c.id == programme_checkin.c.patient_id)
        .where(
            patient.c.clinic_id == clinic_id,
            programme_checkin.c.reviewed_at.is_(None),
            # only check-ins with a yes or a "not sure" (their JSON, written here, holds the
            # answer in quotes; field names never do), not every check-in ever sent
            or_(*(programme_checkin.c.warnings_json.contains(f'"{a}"') for a in FLAGGED_ANSWERS)),
        )
    )
    reports = conn.execute(
        select(checkin_warning)
        .join(patient, patient.c.id == checkin_warning.c.patient_id)
        .where(patient.c.clinic_id == clinic_id, checkin_warning.c.reviewed_at.is_(None))
    )
    found: list[StoredCheckIn | WarningReport] = [_checkin(r) for r in rows]
    found += [_report(r) for r in reports]
    found.sort(key=lambda c: (c.created_at, c.id))
    return [c for c in found if c.needs_review]


def programmes_export(conn: Connection, patient_id: str) -> dict[str, Any]:
    """A patient's programmes, links (never their tokens) and check-ins, for their export."""
    versions = versions_of(conn, patient_id)
    return {
        "programmes": [
            {
                "id": p.id,
                "assessment_id": p.assessment_id,
                "version": p.version,
                "supersedes_id": p.supersedes_id,
                "choices": dict(p.choices),
                "override_reason": p.override_reason,
                "created_by": p.created_by,
                "created_at": p.created_at.isoformat(),
                "released_by": p.released_by,
                "released_at": _iso(p.released_at),
                "checkins": [c.to_dict() for c in checkins_of(conn, p.id)],
                "unfinished_checkin_warnings": [r.to_dict() for r in reports_of(conn, p.id)],
            }
            for p in versions
        ],
        "programme_links": [
            {
                "id": k.id,
                "created_by": k.created_by,
                "created_at": k.created_at.isoformat(),
                "expires_at": k.expires_at.isoformat(),
                "revoked_at": _iso(k.revoked_at),
            }
            for k in links_of(conn, patient_id)
        ],
    }
