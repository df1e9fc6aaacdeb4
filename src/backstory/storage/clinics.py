"""Clinics, seen by operators: list and create them (with a first admin), and look one up.

An operator sees each clinic's number of users and nothing about any patient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from backstory.storage import audit, users
from backstory.storage.account_common import check_name, insert_user, require_operator, user_by_id
from backstory.storage.account_links import insert_link
from backstory.storage.database import as_utc
from backstory.storage.errors import Conflict
from backstory.storage.tables import account, app_user, clinic, patient
from backstory.storage.users import User


@dataclass(frozen=True, slots=True)
class ClinicInfo:
    id: str
    name: str
    users: int
    created_at: dt.datetime


def list_clinics(conn: Connection, actor: User) -> list[ClinicInfo]:
    """Every clinic with its number of users - and nothing about any patient."""
    require_operator(conn, actor, "list clinics")
    counts: dict[str, int] = dict(
        conn.execute(
            select(app_user.c.clinic_id, func.count()).group_by(app_user.c.clinic_id)
        ).all()
    )
    rows = conn.execute(select(clinic).order_by(clinic.c.name)).all()
    audit.record(conn, actor.username, "clinic.list", "clinic", None)
    return [ClinicInfo(r.id, r.name, int(counts.get(r.id, 0)), as_utc(r.created_at)) for r in rows]


def create_clinic(
    conn: Connection,
    actor: User,
    name: str,
    admin_username: str,
    digest: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> tuple[str, User]:
    """A new clinic and its first admin, who sets a password through the link."""
    require_operator(conn, actor, "create clinics")
    label = check_name(name, "the clinic's name", 200)
    taken = conn.execute(select(clinic.c.id).where(clinic.c.name == label)).scalar_one_or_none()
    if taken is not None:
        raise Conflict(f"a clinic named {label!r} exists already")
    cid = users.clinic_id(conn, label, create=True)
    audit.record(conn, actor.username, "clinic.create", "clinic", cid)
    uid = insert_user(
        conn, cid, admin_username, "admin", operator=False, password_hash=None, now=now
    )
    insert_link(conn, "invite", digest, uid, actor.username, now, expires_at)
    audit.record(conn, actor.username, "user.invite", "user", uid, role="admin")
    found = user_by_id(conn, uid)
    assert found is not None
    return cid, found


def clinic_by_name(conn: Connection, name: str) -> str | None:
    found = conn.execute(select(clinic.c.id).where(clinic.c.name == name)).scalar_one_or_none()
    return str(found) if found is not None else None


def clinic_name(conn: Connection, clinic_id: str) -> str:
    return str(conn.execute(select(clinic.c.name).where(clinic.c.id == clinic_id)).scalar_one())


def clinic_patient_count(conn: Connection, clinic_id: str) -> int:
    """How many patients the clinic has."""
    query = select(func.count()).select_from(patient).where(patient.c.clinic_id == clinic_id)
    return int(conn.execute(query).scalar_one())


def first_operator_clinic(conn: Connection) -> str | None:
    """The clinic of the first operator (where ``serve --demo`` puts its patients)."""
    found = conn.execute(
        select(app_user.c.clinic_id)
        .join(account, account.c.user_id == app_user.c.id)
        .where(account.c.operator.is_(True))
        .order_by(app_user.c.created_at)
        .limit(1)
    ).scalar_one_or_none()
    return str(found) if found is not None else None
