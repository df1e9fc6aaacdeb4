"""A patient's stored assessments in one episode, as the visits progress is judged from.

Shared by the web pages, the JSON API and ``backstory progress`` so that they all read an
episode the same way. The episode comes from storage, but only its shape is named here
(protocols), so this package never imports the database layer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from backstory.outcomes.change import Visit, visit_from_report
from backstory.outcomes.rules import OutcomeRules, load_outcome_rules


class _Assessment(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def assessed_on(self) -> dt.date: ...


class _Report(Protocol):
    def data(self) -> dict[str, Any]: ...


class _AssessmentRecord(Protocol):
    @property
    def assessment(self) -> _Assessment: ...
    @property
    def latest_report(self) -> _Report | None: ...


class _Episode(Protocol):
    @property
    def current(self) -> Sequence[_AssessmentRecord]: ...


def visits_of(record: _Episode, rules: OutcomeRules | None = None) -> list[Visit]:
    """The episode's current assessments (corrections replace what they correct) as visits.

    An assessment without a report is left out. ``rules`` defaults to the bundled outcome rules.
    """
    rules = rules if rules is not None else load_outcome_rules()
    out = []
    for a in record.current:
        latest = a.latest_report
        if latest is not None:
            out.append(
                visit_from_report(a.assessment.id, a.assessment.assessed_on, latest.data(), rules)
            )
    return out
