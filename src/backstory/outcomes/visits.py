"""A patient's stored assessments in one episode, as the visits progress is judged from.

Shared by the web pages, the JSON API and ``backstory progress`` so that they all read an
episode the same way. The episode record comes from storage; it is only read here (the type is
imported for checking, so this package still needs no database at run time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backstory.outcomes.change import Visit, visit_from_report
from backstory.outcomes.rules import OutcomeRules, load_outcome_rules

if TYPE_CHECKING:
    from backstory.storage.records import EpisodeRecord


def visits_of(record: EpisodeRecord, rules: OutcomeRules | None = None) -> list[Visit]:
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
