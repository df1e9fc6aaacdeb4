"""The address a patient agreed to get follow-up reminders at: kept sealed, or not at all.

Storage never sees the address in clear: the caller passes a ``seal`` function (from
``backstory.delivery``, under a key the database never holds) that is given the patient's
canonical id to bind the sealed value to. Setting and removing are audited
(``contact.set``, ``contact.remove``) without the address; erasing the patient erases it
(:mod:`backstory.storage.erasure`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.errors import InvalidRequest
from backstory.storage.records import load_patient
from backstory.storage.tables import patient_contact
from backstory.storage.users import User

MAX_SEALED = 600


def sealed_address(conn: Connection, patient_id: str) -> str | None:
    """The patient's sealed address, or None (the caller has checked the clinic)."""
    found = conn.execute(
        select(patient_contact.c.email_sealed).where(patient_contact.c.patient_id == patient_id)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def has_address(conn: Connection, user: User, patient_id: str) -> bool:
    """Whether reminders have an address for this patient of the user's clinic."""
    found = load_patient(conn, user, patient_id)
    return sealed_address(conn, found.id) is not None


def set_address(
    conn: Connection,
    user: User,
    patient_id: str,
    seal: Callable[[str], str],
    now: dt.datetime,
) -> None:
    """Keep (or replace) a patient's reminder address, sealed by ``seal(patient_id)``."""
    found = load_patient(conn, user, patient_id, lock=True)
    sealed = seal(found.id)
    if len(sealed) > MAX_SEALED:
        raise InvalidRequest("the address is too long")
    values = {"email_sealed": sealed, "updated_at": now, "updated_by": user.username}
    if sealed_address(conn, found.id) is None:
        conn.execute(insert(patient_contact).values(patient_id=found.id, **values))
    else:
        conn.execute(
            update(patient_contact).where(patient_contact.c.patient_id == found.id).values(**values)
        )
    audit.record(conn, user.username, "contact.set", "patient", found.id, patient_id=found.id)


def remove_address(conn: Connection, user: User, patient_id: str) -> bool:
    """Forget a patient's reminder address (True when there was one)."""
    found = load_patient(conn, user, patient_id, lock=True)
    gone = conn.execute(
        delete(patient_contact).where(patient_contact.c.patient_id == found.id)
    ).rowcount
    audit.record(conn, user.username, "contact.remove", "patient", found.id, patient_id=found.id)
    return bool(gone)


def contact_export(conn: Connection, patient_id: str) -> dict[str, object]:
    """For the patient's data export: whether an address is kept (sealed: the export carries
    neither the address nor its sealed form)."""
    return {"reminder_address_kept": sealed_address(conn, patient_id) is not None}
