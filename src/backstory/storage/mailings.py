"""What the records keep about e-mails sent to patients: that one was sent, never to whom.

A clinician may e-mail a link they have just made (a questionnaire, follow-up, explanation or
programme link; the address is typed, used for that one message and not kept). The e-mail
is audited as ``link.email`` only after the mail server accepted it, with the link, the
patient's id and the kind of link - not the address.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.engine import Connection

from backstory.storage import audit, programmes
from backstory.storage.errors import Conflict, NotFound
from backstory.storage.programmes import ProgrammeLink
from backstory.storage.sharing import PatientLink, link_by_digest
from backstory.storage.tables import clinic, followup
from backstory.storage.users import User


def link_kind(conn: Connection, link: PatientLink) -> str:
    """``followup`` for a questionnaire link made for a follow-up, else the link's purpose."""
    if link.purpose == "questionnaire":
        found = conn.execute(select(followup.c.id).where(followup.c.link_id == link.id)).first()
        if found is not None:
            return "followup"
    return str(link.purpose)


def emailable_link(
    conn: Connection, user: User, digest: str, now: dt.datetime
) -> tuple[PatientLink, str, str]:
    """A link of the user's clinic that can still be opened, its kind and the clinic's name.

    Raises:
        NotFound: no such link in the user's clinic (another clinic's looks missing).
        Conflict: the link has expired, or its questionnaire was already answered.
    """
    link = link_by_digest(conn, digest)
    if link is None or link.clinic_id != user.clinic_id:
        raise NotFound("no such link in your clinic")
    if link.expired(now):
        raise Conflict("this link has expired; make a new one")
    if link.purpose == "questionnaire" and link.used_at is not None:
        raise Conflict("this questionnaire was already answered; make a new link")
    name = conn.execute(select(clinic.c.name).where(clinic.c.id == link.clinic_id)).scalar_one()
    return link, link_kind(conn, link), str(name)


def emailable_programme_link(
    conn: Connection, user: User, digest: str, now: dt.datetime
) -> tuple[ProgrammeLink, str]:
    """A programme link of the user's clinic that still works, and the clinic's name.

    Raises:
        NotFound: no such link in the user's clinic.
        Conflict: the link was revoked or has expired.
    """
    link = programmes.link_by_digest(conn, digest)
    if link is None or link.clinic_id != user.clinic_id:
        raise NotFound("no such link in your clinic")
    if not link.usable(now):
        raise Conflict("this link was revoked or has expired; make a new one")
    name = conn.execute(select(clinic.c.name).where(clinic.c.id == link.clinic_id)).scalar_one()
    return link, str(name)


def record_email(
    conn: Connection,
    user: User,
    link: PatientLink | ProgrammeLink,
    kind: str,
    *,
    reminder: bool = False,
) -> None:
    """Audit that the link went by e-mail (called only once the server accepted it)."""
    audit.record(
        conn,
        user.username,
        "link.email",
        "link",
        link.id,
        patient_id=link.patient_id,
        kind=kind,
        reminder=reminder,
    )
