"""Claim before send, release on failure, confirm: the mechanism both e-mail reminders use.

A reminder is a row of its own table (``reminder`` for follow-ups, ``checkin_reminder`` for
weekly check-ins) whose primary key lets exactly one run claim it, with the link made for it.
:func:`take` records the claim (Conflict when another run has it already); after the caller
sent the e-mail, :func:`mark_sent` records it as sent and audits ``reminder.send``; when the
send failed, :func:`release` removes the claim and its link (nobody received it) and audits
``reminder.fail``, so the next run tries again. Each runs in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from backstory.storage import audit
from backstory.storage.errors import Conflict
from backstory.storage.tables import clinic
from backstory.storage.users import User

L = TypeVar("L")


@dataclass(frozen=True, slots=True)
class Claim(Generic[L]):
    """A claimed reminder: the link it carries and the clinic's name for the e-mail."""

    link: L
    clinic_name: str


@dataclass(frozen=True, slots=True)
class Slot:
    """One reminder's row, and what its audit entries name."""

    table: Table
    where: ColumnElement[bool]
    """Picks the reminder's row by its primary key."""
    link_table: Table
    target_type: str
    target_id: str
    patient_id: str


def ensure_free(conn: Connection, slot: Slot) -> None:
    """Conflict when another run claimed this reminder already (checked before the link is
    made; the primary key still refuses a second claim that slips in between)."""
    if conn.execute(select(slot.table).where(slot.where)).first() is not None:
        raise Conflict(f"a reminder for {slot.target_type} {slot.target_id} was claimed already")


def take(
    conn: Connection,
    user: User,
    slot: Slot,
    link: L,
    link_id: str,
    values: Mapping[str, Any],
    now: dt.datetime,
) -> Claim[L]:
    """Record the claim with its link (``values``: the row's own columns)."""
    conn.execute(insert(slot.table).values(**values, link_id=link_id, claimed_at=now, sent_at=None))
    name = conn.execute(select(clinic.c.name).where(clinic.c.id == user.clinic_id)).scalar_one()
    return Claim(link, str(name))


def mark_sent(conn: Connection, user: User, slot: Slot, now: dt.datetime, **extra: Any) -> None:
    """The mail server accepted the reminder: record it (audited, never the address)."""
    conn.execute(update(slot.table).where(slot.where).values(sent_at=now))
    audit.record(
        conn,
        user.username,
        "reminder.send",
        slot.target_type,
        slot.target_id,
        patient_id=slot.patient_id,
        **extra,
    )


def release(conn: Connection, user: User, slot: Slot, link_id: str, reason: str) -> None:
    """The send failed: forget the claim and its link (nobody received it), audit why."""
    conn.execute(delete(slot.table).where(slot.where, slot.table.c.sent_at.is_(None)))
    conn.execute(delete(slot.link_table).where(slot.link_table.c.id == link_id))
    audit.record(
        conn,
        user.username,
        "reminder.fail",
        slot.target_type,
        slot.target_id,
        patient_id=slot.patient_id,
        reason=reason,
    )
