"""Episodes end, and follow-ups are due: closing with an outcome, scheduled questionnaires.

Closing an episode records how it ended (discharged, referred, did not return, other) and
its outcome: the last scores against the first, judged by ``backstory.outcomes`` against
the smallest change that matters, as they stood at closing. Follow-up questionnaires are
scheduled some weeks after the episode's first assessment (by default 2, 6 and 12 weeks:
expert opinion, not a guideline's schedule - the clinic sets its own); one is due from its
date until a questionnaire link is made for it, and closing the episode cancels the ones
still outstanding. Every function runs in the caller's transaction and audits its work,
except :func:`due_followups`, a plain query for pages that audit their own reads.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from backstory.outcomes import load_outcome_rules, progress, visits_of
from backstory.outcomes.progress import fmt
from backstory.storage import audit
from backstory.storage.database import as_utc, utcnow
from backstory.storage.errors import Conflict, InvalidRequest, NotFound
from backstory.storage.ids import new_id, normalise_id
from backstory.storage.records import (
    Episode,
    EpisodeRecord,
    load_episode,
    load_patient,
    load_record,
)
from backstory.storage.tables import OUTCOME_KINDS, episode, episode_outcome, followup, patient
from backstory.storage.users import User

DEFAULT_WEEKS = (2, 6, 12)
"""Expert opinion, not a guideline's schedule: early (is the plan working?), around six weeks
(when most acute back pain has improved a good deal) and at twelve (whether it is becoming
persistent). Clinics set their own (``BACKSTORY_FOLLOWUP_WEEKS``)."""
MAX_WEEKS = 104
MAX_NOTE = 500
OUTCOME_WORDS = {
    "discharged": "discharged",
    "referred": "referred on",
    "did_not_return": "did not return",
    "other": "closed for another reason",
}


@dataclass(frozen=True, slots=True)
class FollowUp:
    """One scheduled follow-up questionnaire."""

    id: str
    patient_id: str
    episode_id: str
    weeks: int
    due_on: dt.date
    sent_at: dt.datetime | None
    cancelled_at: dt.datetime | None

    def state(self, today: dt.date) -> str:
        """``sent``, ``cancelled``, ``due`` (from its date on) or ``upcoming``."""
        if self.sent_at is not None:
            return "sent"
        if self.cancelled_at is not None:
            return "cancelled"
        return "due" if self.due_on <= today else "upcoming"


@dataclass(frozen=True, slots=True)
class DueFollowUp:
    """A follow-up due in a clinic: what a worklist shows."""

    followup: FollowUp
    patient_reference: str
    days_overdue: int


@dataclass(frozen=True, slots=True)
class EpisodeOutcome:
    episode_id: str
    kind: str
    note: str | None
    summary: dict[str, Any]
    closed_by: str
    created_at: dt.datetime

    @property
    def words(self) -> str:
        return OUTCOME_WORDS.get(self.kind, self.kind)


def parse_weeks(text: str) -> tuple[int, ...]:
    """``"2, 6, 12"`` as (2, 6, 12): whole weeks from 1 to 104, each once, ascending.

    Raises:
        InvalidRequest: for anything else.
    """
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts or not all(p.isdigit() and len(p) <= 3 for p in parts):
        raise InvalidRequest("follow-up weeks must be whole numbers separated by commas")
    weeks = tuple(sorted({int(p) for p in parts}))
    if weeks[0] < 1 or weeks[-1] > MAX_WEEKS or len(weeks) > 12:
        raise InvalidRequest(f"follow-up weeks must be 1 to {MAX_WEEKS}, at most 12 of them")
    return weeks


def _followup(row: Any) -> FollowUp:
    return FollowUp(
        row.id,
        row.patient_id,
        row.episode_id,
        row.weeks,
        row.due_on,
        as_utc(row.sent_at) if row.sent_at is not None else None,
        as_utc(row.cancelled_at) if row.cancelled_at is not None else None,
    )


def patient_followups(conn: Connection, patient_id: str) -> list[FollowUp]:
    """A patient's follow-ups, by due date (the caller has checked the clinic and audits)."""
    rows = conn.execute(
        select(followup)
        .where(followup.c.patient_id == patient_id)
        .order_by(followup.c.due_on, followup.c.weeks)
    )
    return [_followup(r) for r in rows]


def patient_outcomes(conn: Connection, patient_id: str) -> dict[str, EpisodeOutcome]:
    """The outcomes of a patient's closed episodes, by episode id."""
    rows = conn.execute(
        select(episode_outcome)
        .join(episode, episode.c.id == episode_outcome.c.episode_id)
        .where(episode.c.patient_id == patient_id)
    )
    return {
        r.episode_id: EpisodeOutcome(
            r.episode_id,
            r.kind,
            r.note,
            json.loads(r.summary_json),
            r.closed_by,
            as_utc(r.created_at),
        )
        for r in rows
    }


def due_followups(conn: Connection, clinic: str, today: dt.date) -> list[DueFollowUp]:
    """Every follow-up due in a clinic on ``today`` (not sent, not cancelled), oldest first.

    A plain query for a worklist: the caller confines it to the user's own clinic
    (``user.clinic_id``) and audits the read (``followup.list``, or :func:`list_due`).
    """
    rows = conn.execute(
        select(followup, patient.c.reference)
        .join(patient, patient.c.id == followup.c.patient_id)
        .where(
            patient.c.clinic_id == clinic,
            followup.c.due_on <= today,
            followup.c.sent_at.is_(None),
            followup.c.cancelled_at.is_(None),
        )
        .order_by(followup.c.due_on, patient.c.reference, followup.c.id)
    )
    return [DueFollowUp(_followup(r), r.reference, (today - r.due_on).days) for r in rows.all()]


def list_due(conn: Connection, user: User, today: dt.date) -> list[DueFollowUp]:
    """The follow-ups due in the user's clinic, audited as read."""
    found = due_followups(conn, user.clinic_id, today)
    audit.record(conn, user.username, "followup.list", "clinic", user.clinic_id, count=len(found))
    return found


def _first_on(record: EpisodeRecord) -> dt.date:
    current = record.current
    return min(a.assessment.assessed_on for a in current) if current else record.episode.started_on


def _episode_record(conn: Connection, user: User, episode_id: str) -> EpisodeRecord:
    ep = load_episode(conn, user, episode_id)
    found = load_patient(conn, user, ep.patient_id, lock=True)
    for rec in load_record(conn, found).episodes:
        if rec.episode.id == ep.id:
            return rec
    raise NotFound(f"no episode {ep.id} in your clinic")  # pragma: no cover - loaded above


def schedule_followups(
    conn: Connection, user: User, episode_id: str, weeks: tuple[int, ...] = DEFAULT_WEEKS
) -> list[FollowUp]:
    """Schedule follow-up questionnaires ``weeks`` after the episode's first assessment.

    Weeks already scheduled for the episode are left as they are (so scheduling twice
    changes nothing). Raises Conflict for a closed episode.
    """
    rec = _episode_record(conn, user, episode_id)
    ep = rec.episode
    if not ep.is_open:
        raise Conflict(f"episode {ep.id} is closed; follow-ups are scheduled in an open one")
    have = {f.weeks for f in patient_followups(conn, ep.patient_id) if f.episode_id == ep.id}
    first = _first_on(rec)
    now = utcnow()
    made = []
    for w in weeks:
        if w in have:
            continue
        item = FollowUp(
            new_id("F"), ep.patient_id, ep.id, w, first + dt.timedelta(weeks=w), None, None
        )
        conn.execute(
            insert(followup).values(
                id=item.id,
                patient_id=item.patient_id,
                episode_id=item.episode_id,
                weeks=item.weeks,
                due_on=item.due_on,
                created_by=user.username,
                created_at=now,
                sent_at=None,
                link_id=None,
                cancelled_at=None,
            )
        )
        audit.record(
            conn,
            user.username,
            "followup.schedule",
            "followup",
            item.id,
            patient_id=ep.patient_id,
            episode_id=ep.id,
            weeks=w,
            due_on=item.due_on.isoformat(),
        )
        made.append(item)
    return made


def load_followup(conn: Connection, user: User, followup_id: str) -> FollowUp:
    """One follow-up of the user's clinic (another clinic's looks missing)."""
    fid = normalise_id(followup_id)
    row = conn.execute(
        select(followup)
        .join(patient, patient.c.id == followup.c.patient_id)
        .where(followup.c.id == fid, patient.c.clinic_id == user.clinic_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no follow-up {fid} in your clinic")
    return _followup(row)


def followup_of_link(conn: Connection, link_id: str) -> FollowUp | None:
    """The follow-up a questionnaire link was made for, or None for any other link.

    A plain query for the link's own pages: the caller has resolved the link already.
    """
    row = conn.execute(select(followup).where(followup.c.link_id == link_id)).first()
    return _followup(row) if row is not None else None


def mark_sent(conn: Connection, user: User, item: FollowUp, link_id: str) -> FollowUp:
    """Record that a questionnaire link was made for a follow-up (it is then no longer due)."""
    if item.sent_at is not None or item.cancelled_at is not None:
        raise Conflict(f"follow-up {item.id} was already {'sent' if item.sent_at else 'cancelled'}")
    now = utcnow()
    conn.execute(
        update(followup).where(followup.c.id == item.id).values(sent_at=now, link_id=link_id)
    )
    audit.record(
        conn,
        user.username,
        "followup.send",
        "followup",
        item.id,
        patient_id=item.patient_id,
        episode_id=item.episode_id,
        weeks=item.weeks,
    )
    return FollowUp(item.id, item.patient_id, item.episode_id, item.weeks, item.due_on, now, None)


def outcome_summary(rec: EpisodeRecord, on: dt.date) -> dict[str, Any]:
    """The episode's last scores against its first, as ``backstory.outcomes`` judges them."""
    visits = visits_of(rec)
    summary: dict[str, Any] = {
        "visits": len(visits),
        "first_on": None,
        "last_on": None,
        "measures": [],
        "recovered": None,
    }
    if not visits:
        return summary
    result = progress(visits, load_outcome_rules(), on)
    summary["first_on"] = result.visits[0].on.isoformat()
    summary["last_on"] = result.visits[-1].on.isoformat()
    summary["recovered"] = result.recovered
    summary["measures"] = [
        {
            "measure": t.measure.id,
            "label": t.measure.label,
            "first": fmt(t.baseline.value),
            "last": fmt(t.latest.value) if t.has_follow_up else None,
            "change": fmt(t.latest.change) if t.has_follow_up else None,
            "important_change": fmt(t.important_amount),
            "status": t.status,
        }
        for t in result.trajectories
    ]
    return summary


def close_with_outcome(
    conn: Connection,
    user: User,
    episode_id: str,
    kind: str,
    note: str | None,
    on: dt.date,
) -> tuple[Episode, EpisodeOutcome]:
    """Close an open episode with how it ended and its outcome; outstanding follow-ups for
    it are cancelled. Everything in the caller's one transaction, each step audited."""
    if kind not in OUTCOME_KINDS:
        raise InvalidRequest(f"the outcome must be one of {', '.join(OUTCOME_KINDS)}")
    note = (note or "").strip() or None
    if note is not None and (len(note) > MAX_NOTE or any(c < " " for c in note)):
        raise InvalidRequest(f"the note must be one line of at most {MAX_NOTE} characters")
    rec = _episode_record(conn, user, episode_id)
    ep = rec.episode
    if not ep.is_open:
        raise Conflict(f"episode {ep.id} is already closed")
    if on < ep.started_on:
        raise InvalidRequest("an episode cannot close before it started")
    summary = {"kind": kind, "closed_on": on.isoformat(), **outcome_summary(rec, on)}
    now = utcnow()
    conn.execute(update(episode).where(episode.c.id == ep.id).values(closed_on=on))
    audit.record(conn, user.username, "episode.close", "episode", ep.id, patient_id=ep.patient_id)
    conn.execute(
        insert(episode_outcome).values(
            episode_id=ep.id,
            kind=kind,
            note=note,
            summary_json=json.dumps(summary, separators=(",", ":")),
            closed_by=user.username,
            created_at=now,
        )
    )
    audit.record(
        conn,
        user.username,
        "episode.outcome",
        "episode",
        ep.id,
        patient_id=ep.patient_id,
        outcome=kind,
    )
    for item in patient_followups(conn, ep.patient_id):
        if item.episode_id == ep.id and item.state(on) in ("due", "upcoming"):
            conn.execute(update(followup).where(followup.c.id == item.id).values(cancelled_at=now))
            audit.record(
                conn,
                user.username,
                "followup.cancel",
                "followup",
                item.id,
                patient_id=ep.patient_id,
                episode_id=ep.id,
            )
    closed = Episode(ep.id, ep.patient_id, ep.started_on, on, ep.created_at)
    return closed, EpisodeOutcome(ep.id, kind, note, summary, user.username, now)


def followups_export(conn: Connection, patient_id: str) -> dict[str, Any]:
    """A patient's episode outcomes and follow-ups, for their data export."""
    return {
        "episode_outcomes": [
            {
                "episode_id": o.episode_id,
                "kind": o.kind,
                "note": o.note,
                "summary": o.summary,
                "closed_by": o.closed_by,
                "created_at": o.created_at.isoformat(),
            }
            for o in patient_outcomes(conn, patient_id).values()
        ],
        "followups": [
            {
                "id": f.id,
                "episode_id": f.episode_id,
                "weeks": f.weeks,
                "due_on": f.due_on.isoformat(),
                "sent_at": f.sent_at.isoformat() if f.sent_at else None,
                "cancelled_at": f.cancelled_at.isoformat() if f.cancelled_at else None,
            }
            for f in patient_followups(conn, patient_id)
        ],
    }
