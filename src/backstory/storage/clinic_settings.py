"""A clinic's own settings, edited by its admin: its country and its same-day contact.

The country decides the emergency number, the emergency place and the urgent advice service
the patient pages name (from ``questionnaire.yaml``); the contact is how a patient reaches the
clinic for advice the same day. A clinic without settings uses the first country and no
contact (the patient is then sent to the country's urgent advice service).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.database import as_utc
from backstory.storage.errors import InvalidRequest
from backstory.storage.tables import clinic_setting
from backstory.storage.users import User, require_admin

MAX_CONTACT = 200


@dataclass(frozen=True, slots=True)
class ClinicSettings:
    clinic_id: str
    country: str | None
    contact: str | None
    updated_at: dt.datetime | None = None
    updated_by: str | None = None


def load_settings(conn: Connection, clinic_id: str) -> ClinicSettings:
    """A clinic's settings (empty ones when its admin has not set any). Not patient data."""
    row = conn.execute(
        select(clinic_setting).where(clinic_setting.c.clinic_id == clinic_id)
    ).one_or_none()
    if row is None:
        return ClinicSettings(clinic_id, None, None)
    return ClinicSettings(
        clinic_id, row.country, row.contact, as_utc(row.updated_at), row.updated_by
    )


def save_settings(
    conn: Connection,
    user: User,
    country: str,
    contact: str | None,
    now: dt.datetime,
    countries: tuple[str, ...],
) -> ClinicSettings:
    """Set the actor's clinic's settings (admins only, audited as ``clinic.settings``).

    Raises:
        InvalidRequest: an unknown country, or a contact that is too long or has control
            characters.
    """
    require_admin(user, "change the clinic's settings")
    if country not in countries:
        raise InvalidRequest(f"choose one of the countries listed ({', '.join(countries)})")
    text = " ".join((contact or "").split())
    if len(text) > MAX_CONTACT:
        raise InvalidRequest(f"the contact must be at most {MAX_CONTACT} characters")
    if any(ch < " " or ch == "\x7f" for ch in text):
        raise InvalidRequest("the contact must not contain control characters")
    values = {
        "country": country,
        "contact": text or None,
        "updated_at": now,
        "updated_by": user.username,
    }
    exists = conn.execute(
        select(clinic_setting.c.clinic_id).where(clinic_setting.c.clinic_id == user.clinic_id)
    ).one_or_none()
    if exists is None:
        conn.execute(insert(clinic_setting).values(clinic_id=user.clinic_id, **values))
    else:
        conn.execute(
            update(clinic_setting)
            .where(clinic_setting.c.clinic_id == user.clinic_id)
            .values(**values)
        )
    audit.record(conn, user.username, "clinic.settings", "clinic", user.clinic_id)
    return ClinicSettings(user.clinic_id, country, text or None, now, user.username)
