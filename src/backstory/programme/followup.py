"""What the clinician is told between visits: a worse check-in, a warning sign, missed weeks.

Pure functions over the check-ins a person sent, judged by the rules in ``programme.yaml``
(``checkin.flags``): a check-in is *worse* when its change from the one before (from the
assessment, for the first) meets ``flags.worse``; a *warning sign* is a yes or a "not sure"
to any cauda equina question (``checkin.warning_fields``); check-ins are *missed* when
``flags.missed`` of them fell due (every ``flags.every_days`` days from the release or the
last check-in) and none came.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backstory.knowledge.conditions import evaluate
from backstory.programme.generate import CheckInAnswers, _changes
from backstory.programme.knowledge import ProgrammeKnowledge


@dataclass(frozen=True, slots=True)
class Signals:
    """What one check-in (or the lack of them) tells the clinician."""

    warning: tuple[str, ...]
    """Cauda equina questions answered yes."""
    unsure: tuple[str, ...]
    """Cauda equina questions answered "not sure"."""
    worse: bool
    missed: int
    """Check-ins due and not sent, as of today."""

    def missed_flag(self, kn: ProgrammeKnowledge) -> bool:
        return self.missed >= kn.checkin.flags.missed


def baseline(answers: Mapping[str, Any]) -> tuple[int | None, int | None, int | None]:
    """Pain, confidence and fear at the assessment the programme was built from."""
    beliefs = answers.get("beliefs") or {}
    pain = answers.get("pain") or {}
    return (
        pain.get("back"),
        beliefs.get("confidence_to_move"),
        beliefs.get("fear_of_movement"),
    )


def changes(answers: Mapping[str, Any], checkins: Sequence[CheckInAnswers]) -> list[dict[str, Any]]:
    """Each check-in's changes from the one before (from the assessment, for the first)."""
    before = baseline(answers)
    out = []
    for c in checkins:
        out.append(_changes(c, before))
        before = (c.pain, c.confidence, c.fear)
    return out


def is_worse(kn: ProgrammeKnowledge, change: Mapping[str, Any]) -> bool:
    """Whether one check-in's changes meet the knowledge's rule for "worse"."""
    return evaluate(kn.checkin.flags.worse.when, dict(change), {}) is True


def warning_answers(kn: ProgrammeKnowledge, checkin: CheckInAnswers) -> tuple[str, ...]:
    return tuple(f for f in kn.checkin.warning_fields if checkin.warning_signs.get(f) is True)


def unsure_answers(kn: ProgrammeKnowledge, checkin: CheckInAnswers) -> tuple[str, ...]:
    """Warning-sign questions answered "not sure" (stored as None, never as no)."""
    return tuple(
        f
        for f in kn.checkin.warning_fields
        if f in checkin.warning_signs and checkin.warning_signs[f] is None
    )


def missed(kn: ProgrammeKnowledge, since: dt.date, today: dt.date) -> int:
    """Check-ins due since ``since`` (the release or the last check-in) up to today."""
    days = (today - since).days
    return max(0, days // kn.checkin.flags.every_days)


def reminder_due_on(
    kn: ProgrammeKnowledge, since: dt.date, today: dt.date, checked_in: int
) -> dt.date | None:
    """The day the check-in a reminder is due for fell due, or None when none is due.

    A check-in falls due every ``flags.every_days`` days from ``since`` (the release or the
    last check-in); the reminder is for the latest of them, so one is sent per due week
    however often the reminders run. None before the first is due, once the programme's
    last week has been checked in, and once more weeks have passed without a check-in than
    the programme has weeks (one per education session): nothing is due any more.
    """
    weeks = len(kn.education)
    due = missed(kn, since, today)
    if due == 0 or checked_in >= weeks or checked_in + due > weeks:
        return None
    return since + dt.timedelta(days=due * kn.checkin.flags.every_days)


def signals(
    kn: ProgrammeKnowledge,
    answers: Mapping[str, Any],
    checkins: Sequence[CheckInAnswers],
    since: dt.date,
    today: dt.date,
) -> Signals:
    """The latest check-in's signals and the check-ins missed since ``since``."""
    if not checkins:
        return Signals((), (), False, missed(kn, since, today))
    last = checkins[-1]
    return Signals(
        warning_answers(kn, last),
        unsure_answers(kn, last),
        is_worse(kn, changes(answers, checkins)[-1]),
        missed(kn, since, today),
    )
