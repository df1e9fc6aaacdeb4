"""Questionnaire drafts: a patient's answers saved page by page, tied to one link.

The pre-visit questionnaire is shown one part per page; after every page the answers so far
are saved here, so that going back, going on, or opening the link again later keeps them.
A draft belongs to exactly one questionnaire link and is only ever read through it (a new
link for the same patient starts empty: HZ-121). It lives as long as the link can still be
answered: sending the answers discards it in the same transaction that uses the link up, and
a draft whose link has expired or been used is deleted the next time anyone opens a link or
the web app starts (:func:`expire_drafts`). Erasing the patient erases their drafts; their
data export includes them.

Every save, read, discard and expiry is audited as the link (``link:ID``) or ``system``,
with the number of answers as the only detail - never an answer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from backstory.storage import audit
from backstory.storage.database import as_utc
from backstory.storage.errors import InvalidRequest, NotAllowed
from backstory.storage.tables import patient_link, questionnaire_draft

MAX_ANSWERS = 400
"""At most this many answers in one draft (the questionnaire asks far fewer)."""
MAX_VALUE = 40
"""At most this many characters in one answer (answers are option values or numbers)."""
MAX_PART = 40
SYSTEM = "system"
"""The audit actor of expiry, which no person does."""


@dataclass(frozen=True, slots=True)
class Draft:
    link_id: str
    part: str
    answers: dict[str, str]
    created_at: dt.datetime
    updated_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "link_id": self.link_id,
            "part": self.part,
            "answers": dict(self.answers),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _actor(link_id: str) -> str:
    return f"link:{link_id}"


def _live_link(conn: Connection, link_id: str, now: dt.datetime) -> str:
    """The patient of a questionnaire link that can still be answered.

    Raises:
        NotAllowed: the link does not exist, is not a questionnaire, is used or has expired.
    """
    row = conn.execute(
        select(
            patient_link.c.patient_id,
            patient_link.c.purpose,
            patient_link.c.used_at,
            patient_link.c.expires_at,
        ).where(patient_link.c.id == link_id)
    ).one_or_none()
    if (
        row is None
        or row.purpose != "questionnaire"
        or row.used_at is not None
        or as_utc(row.expires_at) <= now
    ):
        raise NotAllowed("this link can no longer be answered")
    return str(row.patient_id)


def _draft(row: Any) -> Draft:
    return Draft(
        row.link_id,
        row.part,
        dict(json.loads(row.answers_json)),
        as_utc(row.created_at),
        as_utc(row.updated_at),
    )


def _checked(answers: Mapping[str, str], part: str) -> str:
    if len(answers) > MAX_ANSWERS:
        raise InvalidRequest(f"a draft holds at most {MAX_ANSWERS} answers")
    for key, value in answers.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidRequest("draft answers are text")
        if len(key) > 100 or len(value) > MAX_VALUE:
            raise InvalidRequest(f"a draft answer is at most {MAX_VALUE} characters")
    if not part or len(part) > MAX_PART:
        raise InvalidRequest("a draft names the part reached")
    return json.dumps(dict(answers), sort_keys=True, ensure_ascii=False)


def save_draft(
    conn: Connection, link_id: str, answers: Mapping[str, str], part: str, now: dt.datetime
) -> Draft:
    """Save the answers so far and the part reached (replacing the link's earlier draft).

    Raises:
        NotAllowed: the link can no longer be answered (used or expired): nothing is saved.
        InvalidRequest: too many answers, or an answer too long.
    """
    patient_id = _live_link(conn, link_id, now)
    text = _checked(answers, part)
    found = conn.execute(
        select(questionnaire_draft.c.created_at).where(questionnaire_draft.c.link_id == link_id)
    ).one_or_none()
    if found is None:
        conn.execute(
            insert(questionnaire_draft).values(
                link_id=link_id, part=part, answers_json=text, created_at=now, updated_at=now
            )
        )
        created = now
    else:
        conn.execute(
            update(questionnaire_draft)
            .where(questionnaire_draft.c.link_id == link_id)
            .values(part=part, answers_json=text, updated_at=now)
        )
        created = as_utc(found.created_at)
    audit.record(
        conn,
        _actor(link_id),
        "draft.save",
        "draft",
        link_id,
        patient_id=patient_id,
        count=len(answers),
    )
    return Draft(link_id, part, dict(answers), created, now)


def open_draft(conn: Connection, link_id: str, now: dt.datetime) -> Draft | None:
    """The link's draft (audited as read), or None when it has none.

    A draft whose link has expired or been used is never returned: it is deleted.
    """
    try:
        patient_id = _live_link(conn, link_id, now)
    except NotAllowed:
        expire_drafts(conn, now)
        return None
    row = conn.execute(
        select(questionnaire_draft).where(questionnaire_draft.c.link_id == link_id)
    ).one_or_none()
    if row is None:
        return None
    found = _draft(row)
    audit.record(
        conn,
        _actor(link_id),
        "draft.open",
        "draft",
        link_id,
        patient_id=patient_id,
        count=len(found.answers),
    )
    return found


def discard_draft(conn: Connection, link_id: str) -> bool:
    """Delete the link's draft (its answers were sent); audited when there was one."""
    patient_id = conn.execute(
        select(patient_link.c.patient_id).where(patient_link.c.id == link_id)
    ).scalar_one_or_none()
    gone = conn.execute(
        delete(questionnaire_draft).where(questionnaire_draft.c.link_id == link_id)
    ).rowcount
    if gone:
        audit.record(
            conn, _actor(link_id), "draft.discard", "draft", link_id, patient_id=patient_id
        )
    return bool(gone)


def discarding(
    link_id: str, first: Callable[[Connection, str], None]
) -> Callable[[Connection, str], None]:
    """``Store.save_assessment(..., also=...)``: ``first``, then the link's draft is discarded,
    in the transaction that saves the answers and uses the link up."""

    def also(conn: Connection, assessment_id: str) -> None:
        first(conn, assessment_id)
        discard_draft(conn, link_id)

    return also


def expire_drafts(conn: Connection, now: dt.datetime) -> int:
    """Delete every draft whose link has expired or been used; each deletion is audited."""
    rows = conn.execute(
        select(questionnaire_draft.c.link_id, patient_link.c.patient_id)
        .join(patient_link, patient_link.c.id == questionnaire_draft.c.link_id)
        .where((patient_link.c.expires_at <= now) | patient_link.c.used_at.is_not(None))
    ).all()
    for row in rows:
        conn.execute(
            delete(questionnaire_draft).where(questionnaire_draft.c.link_id == row.link_id)
        )
        audit.record(conn, SYSTEM, "draft.expire", "draft", row.link_id, patient_id=row.patient_id)
    return len(rows)


def patient_drafts(conn: Connection, patient_id: str) -> list[Draft]:
    """A patient's drafts (for their export: the caller has checked access and audits it)."""
    rows = conn.execute(
        select(questionnaire_draft)
        .join(patient_link, patient_link.c.id == questionnaire_draft.c.link_id)
        .where(patient_link.c.patient_id == patient_id)
        .order_by(questionnaire_draft.c.created_at, questionnaire_draft.c.link_id)
    ).all()
    return [_draft(r) for r in rows]


def erase_drafts(conn: Connection, patient_id: str) -> int:
    """Delete a patient's drafts (part of erasing the patient, who is audited there)."""
    links = select(patient_link.c.id).where(patient_link.c.patient_id == patient_id)
    return int(
        conn.execute(
            delete(questionnaire_draft).where(questionnaire_draft.c.link_id.in_(links))
        ).rowcount
    )


def drafts_export(conn: Connection, patient_id: str) -> dict[str, Any]:
    """A patient's questionnaire drafts, for their data export."""
    return {"questionnaire_drafts": [d.to_dict() for d in patient_drafts(conn, patient_id)]}
