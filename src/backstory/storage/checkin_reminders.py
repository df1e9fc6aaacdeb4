"""Weekly check-in reminders by e-mail: which are due, and sending each at most once.

A reminder is due for a patient of the user's clinic who follows a released programme, has
a reminder address (:mod:`backstory.storage.contacts`) and whose weekly check-in is due by
the programme knowledge (``checkin.flags.every_days`` from the release or the last
check-in: :func:`backstory.programme.followup.reminder_due_on`), once per due day. None is
due while the programme is *paused* - a warning sign (a yes or "not sure", in a check-in or
kept from an unfinished one) that no clinician has reviewed - or *stopped* (a check-in
answered yes to a warning sign: the patient is told to get help, not to carry on).

Sending one is three short transactions around the e-mail, by the mechanism follow-ups use
(:mod:`backstory.storage.reminder_claims`): :func:`claim` records the reminder (its primary key,
the programme and the due day, lets exactly one run claim it) and makes a fresh programme
link, as the web's *Make a link to the programme* does (links are stored as digests, so an
earlier link's token cannot be recovered; earlier links are left working); the caller sends;
:func:`confirm` records it as sent, or :func:`release` removes the claim and the link.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from backstory.programme import load_programme_knowledge
from backstory.programme.followup import reminder_due_on
from backstory.storage import audit, mailings, programmes, reminder_claims
from backstory.storage.database import as_utc
from backstory.storage.errors import Conflict
from backstory.storage.records import load_patient
from backstory.storage.tables import checkin_reminder, patient, patient_contact
from backstory.storage.tables import programme_link as programme_link_table
from backstory.storage.users import User


@dataclass(frozen=True, slots=True)
class DueCheckIn:
    patient_id: str
    programme_id: str
    due_on: dt.date
    week: int
    """The week whose check-in is awaited (complete check-ins so far, plus one)."""
    sealed_address: str
    """Opened only by the caller, with the key the database never holds."""


Claim = reminder_claims.Claim[programmes.ProgrammeLink]


def _slot(item: DueCheckIn) -> reminder_claims.Slot:
    return reminder_claims.Slot(
        checkin_reminder,
        and_(
            checkin_reminder.c.programme_id == item.programme_id,
            checkin_reminder.c.due_on == item.due_on,
        ),
        programme_link_table,
        "programme",
        item.programme_id,
        item.patient_id,
    )


def paused(
    checkins: list[programmes.StoredCheckIn], reports: list[programmes.WarningReport]
) -> bool:
    """A warning sign waits for a clinician, or a check-in answered one yes (stopped)."""
    if any(c.needs_review for c in checkins) or any(r.needs_review for r in reports):
        return True
    return any("yes" in c.warnings.values() for c in checkins)


def _due(
    current: programmes.StoredProgramme,
    checkins: list[programmes.StoredCheckIn],
    reports: list[programmes.WarningReport],
    today: dt.date,
) -> dt.date | None:
    released = current.released_at
    if released is None or paused(checkins, reports):
        return None
    since = checkins[-1].created_at.date() if checkins else released.date()
    return reminder_due_on(load_programme_knowledge(), since, today, len(checkins))


def due_checkins(conn: Connection, user: User, today: dt.date) -> list[DueCheckIn]:
    """Check-in reminders due in the user's clinic, oldest due day first, not yet claimed.
    Audited as ``programme.list``."""
    sealed = dict(
        conn.execute(
            select(patient_contact.c.patient_id, patient_contact.c.email_sealed)
            .join(patient, patient.c.id == patient_contact.c.patient_id)
            .where(patient.c.clinic_id == user.clinic_id)
        ).all()
    )
    claimed = set(
        conn.execute(select(checkin_reminder.c.programme_id, checkin_reminder.c.due_on)).all()
    )
    out = []
    for f in programmes.clinic_followed(conn, user.clinic_id):
        if f.patient_id not in sealed:
            continue
        due_on = _due(f.programme, f.checkins, f.reports, today)
        if due_on is None or (f.programme.id, due_on) in claimed:
            continue
        out.append(
            DueCheckIn(
                f.patient_id,
                f.programme.id,
                due_on,
                len(f.checkins) + 1,
                str(sealed[f.patient_id]),
            )
        )
    out.sort(key=lambda d: (d.due_on, d.programme_id))
    audit.record(conn, user.username, "programme.list", "clinic", user.clinic_id, count=len(out))
    return out


def unfinished(conn: Connection, user: User) -> int:
    """Check-in reminders of the user's clinic claimed but never confirmed."""
    rows = conn.execute(
        select(checkin_reminder.c.programme_id)
        .join(patient, patient.c.id == checkin_reminder.c.patient_id)
        .where(patient.c.clinic_id == user.clinic_id, checkin_reminder.c.sent_at.is_(None))
    ).all()
    return len(rows)


def _still_due(conn: Connection, item: DueCheckIn, today: dt.date) -> bool:
    current = programmes.current_of(conn, item.patient_id)
    if current is None or current.id != item.programme_id:
        return False
    checkins = programmes.checkins_of(conn, current.id)
    reports = programmes.reports_of(conn, current.id)
    return _due(current, checkins, reports, today) == item.due_on


def claim(
    conn: Connection,
    user: User,
    item: DueCheckIn,
    digest: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> Claim:
    """Claim the reminder and make a fresh programme link (Conflict: claimed already, or the
    check-in is no longer due - sent meanwhile, paused, or a new version released)."""
    load_patient(conn, user, item.patient_id, lock=True)  # one claim at a time per patient
    if not _still_due(conn, item, now.date()):
        raise Conflict(f"the check-in of programme {item.programme_id} is no longer due")
    slot = _slot(item)
    reminder_claims.ensure_free(conn, slot)
    link = programmes.create_link(conn, user, item.patient_id, digest, now, expires_at)
    row = {"programme_id": item.programme_id, "due_on": item.due_on, "patient_id": item.patient_id}
    return reminder_claims.take(conn, user, slot, link, link.id, row, now)


def confirm(conn: Connection, user: User, item: DueCheckIn, made: Claim, now: dt.datetime) -> None:
    """The mail server accepted the reminder: record it (audited, never the address)."""
    mailings.record_email(conn, user, made.link, "checkin", reminder=True)
    reminder_claims.mark_sent(conn, user, _slot(item), now, due_on=item.due_on.isoformat())


def release(conn: Connection, user: User, item: DueCheckIn, made: Claim, reason: str) -> None:
    """The send failed: forget the claim and its link (nobody received it), audit why."""
    reminder_claims.release(conn, user, _slot(item), made.link.id, reason)


def checkin_reminders_export(conn: Connection, patient_id: str) -> dict[str, Any]:
    """For the patient's data export: the check-in reminders claimed or sent (never the
    address, which is kept sealed, nor a link's token, which is never stored)."""
    rows = conn.execute(
        select(checkin_reminder)
        .where(checkin_reminder.c.patient_id == patient_id)
        .order_by(checkin_reminder.c.due_on, checkin_reminder.c.programme_id)
    ).all()
    return {
        "checkin_reminders": [
            {
                "programme_id": r.programme_id,
                "due_on": r.due_on.isoformat(),
                "link_id": r.link_id,
                "claimed_at": as_utc(r.claimed_at).isoformat(),
                "sent_at": as_utc(r.sent_at).isoformat() if r.sent_at is not None else None,
            }
            for r in rows
        ]
    }
