"""What the patient page shows about how episodes ended and the follow-ups due.

Read in the user's clinic only; the page's own ``patient.view`` audit event covers it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from backstory.storage import Connection, followups
from backstory.storage.records import load_patient
from backstory.storage.users import User
from backstory.web import deps


@dataclass(frozen=True)
class EpisodeExtras:
    """What the patient page shows about one episode's end and its follow-ups."""

    outcome: followups.EpisodeOutcome | None = None
    followups: list[tuple[followups.FollowUp, str]] = field(default_factory=list)
    """Each follow-up with its state today (due, upcoming, sent, cancelled)."""


@dataclass(frozen=True)
class PatientExtras:
    episodes: dict[str, EpisodeExtras]
    due: list[followups.FollowUp]
    weeks: tuple[int, ...]
    outcome_kinds: dict[str, str]


def patient_extras(
    state: deps.WebState, principal: deps.Principal, patient_id: str, today: dt.date
) -> PatientExtras:
    """Outcomes and follow-ups for the patient page (read with the page's own
    ``patient.view``; confined to the user's clinic)."""

    def work(conn: Connection, user: User) -> PatientExtras:
        found = load_patient(conn, user, patient_id)
        outcomes = followups.patient_outcomes(conn, found.id)
        items = followups.patient_followups(conn, found.id)
        ids = {f.episode_id for f in items} | set(outcomes)
        per = {
            eid: EpisodeExtras(
                outcomes.get(eid),
                [(f, f.state(today)) for f in items if f.episode_id == eid],
            )
            for eid in ids
        }
        due = [f for f in items if f.state(today) == "due"]
        return PatientExtras(per, due, state.settings.followup_weeks, dict(followups.OUTCOME_WORDS))

    return state.store(principal.user.username).run(work)
