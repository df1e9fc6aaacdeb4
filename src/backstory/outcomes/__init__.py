"""Outcomes over an episode: change against the minimal important change, recovery, reassessment.

Pure functions with no database: storage hands in the visits (dates and report values), and
the thresholds come from ``knowledge/data/outcomes.yaml``.
"""

from backstory.outcomes.change import (
    Point,
    RiskChange,
    Trajectory,
    Visit,
    classify,
    important_amount,
    risk_change,
    trajectory,
    visit_from_report,
)
from backstory.outcomes.chart import render_chart
from backstory.outcomes.progress import Progress, progress, recovered
from backstory.outcomes.rules import OutcomeRules, load_outcome_rules, load_outcome_rules_from
from backstory.outcomes.visits import visits_of

__all__ = [
    "OutcomeRules",
    "Point",
    "Progress",
    "RiskChange",
    "Trajectory",
    "Visit",
    "classify",
    "important_amount",
    "load_outcome_rules",
    "load_outcome_rules_from",
    "progress",
    "recovered",
    "render_chart",
    "risk_change",
    "trajectory",
    "visit_from_report",
    "visits_of",
]
