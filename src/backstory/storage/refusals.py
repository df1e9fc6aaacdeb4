"""Refused reads of patient data, in the audit log: who tried, which kind of record, when.

A request for a patient, episode or assessment that the actor's clinic cannot see - another
clinic's, or one that does not exist - is answered 404 exactly as a missing record is, and
recorded here as action ``refused`` (HZ-58). The row names the actor, the route's resource
kind (``patient``, ``episode``, ``assessment`` or ``report``), the kind of id refused, the
HTTP status, and the requested id - but only when it is an id Backstory itself issued: such
an id is a random pointer (``P7KQ2M9XD4R``) that carries nothing about the person, and an
investigator needs it to see which record was probed. Anything else a caller put in the
address might be a name, an NHS number or a clinic's own patient reference, so only a keyed
digest of it is kept (``h:`` and 38 hex characters of an HMAC-SHA256 under the app's secret,
made by the caller): it shows that the same value was tried again without saying what it
was. The row never carries a patient reference or any clinical content, and its
``patient_id`` stays empty, so a refused probe never enters that patient's own audit trail.

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.ids import normalise_id
from backstory.storage.tables import assessment, episode, patient
from backstory.storage.users import User

ID_PARAMS: dict[str, tuple[str, Table]] = {
    "patient_id": ("patient", patient),
    "episode_id": ("episode", episode),
    "assessment_id": ("assessment", assessment),
}
"""The path parameters that name patient data, in the order they are checked."""
RESOURCES = frozenset({"patient", "episode", "assessment", "report"})


def visible(conn: Connection, user: User, param: str, value: str) -> bool:
    """Whether the record named by a path parameter belongs to the actor's clinic."""
    ident = normalise_id(value)
    if param == "patient_id":
        query = select(func.count()).where(
            patient.c.id == ident, patient.c.clinic_id == user.clinic_id
        )
    elif param == "episode_id":
        query = (
            select(func.count())
            .select_from(episode.join(patient, patient.c.id == episode.c.patient_id))
            .where(episode.c.id == ident, patient.c.clinic_id == user.clinic_id)
        )
    elif param == "assessment_id":
        query = (
            select(func.count())
            .select_from(
                assessment.join(episode, episode.c.id == assessment.c.episode_id).join(
                    patient, patient.c.id == episode.c.patient_id
                )
            )
            .where(assessment.c.id == ident, patient.c.clinic_id == user.clinic_id)
        )
    else:
        raise ValueError(f"{param!r} does not name patient data")
    return bool(conn.execute(query).scalar_one())


def issued_id(conn: Connection, param: str, value: str) -> str | None:
    """The value as an id Backstory issued (of any clinic), or None."""
    _kind, table = ID_PARAMS[param]
    ident = normalise_id(value)
    found = conn.execute(select(table.c.id).where(table.c.id == ident)).scalar_one_or_none()
    return str(found) if found is not None else None


def record_refusal(
    conn: Connection,
    actor: User,
    resource: str,
    params: Mapping[str, str],
    status: int,
    digest: Callable[[str], str],
) -> bool:
    """Audit a refused request when one of its ids names a record the actor's clinic cannot
    see; returns whether a row was written. A refusal of something the actor may see (an
    episode with nothing to chart, a read-only token asked to write) is not a refused read
    of patient data and writes nothing here."""
    if resource not in RESOURCES:
        raise ValueError(f"unknown resource kind {resource!r}")
    for param, (kind, _table) in ID_PARAMS.items():
        value = params.get(param)
        if value is None or visible(conn, actor, param, value):
            continue
        shown = issued_id(conn, param, value) or "h:" + digest(value)[:38]
        audit.record(
            conn, actor.username, "refused", resource, shown, status=status, requested=kind
        )
        return True
    return False
