"""Follow-up reminders by e-mail: which are due, and sending each at most once.

A reminder is due for a follow-up of the user's clinic that is due (not sent, not
cancelled), whose patient has a reminder address (:mod:`backstory.storage.contacts`) and that
has no reminder yet. Sending one is three short transactions around the e-mail itself, so
that no transaction stays open while the mail server is slow and a database retry can never
send twice:

1. :func:`claim` records the reminder (its primary key lets exactly one of two runs claim a
   follow-up) and makes the questionnaire link;
2. the caller sends the e-mail;
3. :func:`confirm` records it as sent (the follow-up is then sent, as when a clinician makes
   its link) - or, when the send failed, :func:`release` removes the claim and the link, so
   nothing is recorded as sent and the next run tries again.

A run that stops between 1 and 3 leaves an *unfinished* claim: it is never retried on its
own (at most once beats a storm), and the follow-up stays due on the worklist.

The claim, confirm and release rows and audits are shared with the weekly check-in reminders
(:mod:`backstory.storage.reminder_claims`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from backstory.storage import audit, followups, mailings, reminder_claims, sharing
from backstory.storage.errors import Conflict
from backstory.storage.tables import followup, patient, patient_contact, patient_link
from backstory.storage.tables import reminder as reminder_table
from backstory.storage.users import User


@dataclass(frozen=True, slots=True)
class DueReminder:
    followup: followups.FollowUp
    sealed_address: str
    """Opened only by the caller, with the key the database never holds."""


Claim = reminder_claims.Claim[sharing.PatientLink]


def _slot(item: DueReminder) -> reminder_claims.Slot:
    return reminder_claims.Slot(
        reminder_table,
        reminder_table.c.followup_id == item.followup.id,
        patient_link,
        "followup",
        item.followup.id,
        item.followup.patient_id,
    )


def due_reminders(conn: Connection, user: User, today: dt.date) -> list[DueReminder]:
    """Reminders due in the user's clinic, oldest follow-up first, one per patient (the
    oldest of theirs; the next run takes the next). Audited as ``followup.list``."""
    claimed = select(reminder_table.c.followup_id)
    rows = conn.execute(
        select(followup, patient_contact.c.email_sealed)
        .join(patient, patient.c.id == followup.c.patient_id)
        .join(patient_contact, patient_contact.c.patient_id == followup.c.patient_id)
        .where(
            patient.c.clinic_id == user.clinic_id,
            followup.c.due_on <= today,
            followup.c.sent_at.is_(None),
            followup.c.cancelled_at.is_(None),
            followup.c.id.not_in(claimed),
        )
        .order_by(followup.c.due_on, followup.c.id)
    ).all()
    seen: set[str] = set()
    out = []
    for row in rows:
        if row.patient_id in seen:
            continue
        seen.add(row.patient_id)
        out.append(DueReminder(followups._followup(row), str(row.email_sealed)))
    audit.record(conn, user.username, "followup.list", "clinic", user.clinic_id, count=len(out))
    return out


def unfinished(conn: Connection, user: User) -> int:
    """Reminders of the user's clinic claimed but never confirmed (a run stopped half-way)."""
    rows = conn.execute(
        select(reminder_table.c.followup_id)
        .join(followup, followup.c.id == reminder_table.c.followup_id)
        .join(patient, patient.c.id == followup.c.patient_id)
        .where(patient.c.clinic_id == user.clinic_id, reminder_table.c.sent_at.is_(None))
    ).all()
    return len(rows)


def claim(
    conn: Connection,
    user: User,
    item: DueReminder,
    digest: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> Claim:
    """Claim the reminder and make its questionnaire link (Conflict: claimed already, or the
    follow-up is no longer due)."""
    current = followups.load_followup(conn, user, item.followup.id)
    if current.state(now.date()) != "due":
        raise Conflict(f"follow-up {current.id} is no longer due")
    slot = _slot(item)
    reminder_claims.ensure_free(conn, slot)
    link = sharing.create_link(
        conn, user, current.patient_id, "questionnaire", digest, now, expires_at
    )
    return reminder_claims.take(conn, user, slot, link, link.id, {"followup_id": current.id}, now)


def confirm(conn: Connection, user: User, item: DueReminder, made: Claim, now: dt.datetime) -> None:
    """The mail server accepted the reminder: record it, and the follow-up as sent."""
    current = followups.load_followup(conn, user, item.followup.id)
    followups.mark_sent(conn, user, current, made.link.id)
    mailings.record_email(conn, user, made.link, "followup", reminder=True)
    reminder_claims.mark_sent(conn, user, _slot(item), now)


def release(conn: Connection, user: User, item: DueReminder, made: Claim, reason: str) -> None:
    """The send failed: forget the claim and its link (nobody received it), audit why."""
    reminder_claims.release(conn, user, _slot(item), made.link.id, reason)
