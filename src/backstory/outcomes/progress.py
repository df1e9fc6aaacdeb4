"""Progress over an episode: trajectories, recovery and the "not improving - reassess" prompt.

Pure: the caller passes the visits and today's date, so the same inputs always give the
same judgement (and tests need no clock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from backstory.outcomes.change import (
    RiskChange,
    Trajectory,
    Visit,
    ordered,
    risk_change,
    trajectory,
)
from backstory.outcomes.rules import OutcomeRules


@dataclass(frozen=True, slots=True)
class Progress:
    """What changed over one episode and whether to reassess."""

    visits: tuple[Visit, ...]
    trajectories: tuple[Trajectory, ...]
    risk: RiskChange | None
    recovered: bool | None
    """None when the latest visit lacks a required measure (unknown is never "no")."""
    days_followed: int
    """Days from the episode's first assessment to its latest."""
    reassess: tuple[str, ...]
    """Why to reassess, in plain words; empty when there is no prompt."""
    stale_days: int | None
    """Days since the latest assessment when that reaches the reassessment interval."""

    @property
    def notes(self) -> tuple[str, ...]:
        """Plain-words notes for measures whose baseline is too low to judge an improvement."""
        return tuple(floor_note(t) for t in self.trajectories if not t.improvement_evaluable)


def floor_note(t: Trajectory) -> str:
    """Why a measure's improvement cannot be judged (its baseline is below the floor)."""
    m = t.measure
    floor = m.improvement_evaluable_from
    assert floor is not None
    return (
        f"{m.label} started at {fmt(t.baseline.value)}, below {fmt(floor)}: too low to show an "
        f"important improvement, so a fall is not evaluable; a rise of "
        f"{fmt(t.important_amount)} or more still counts as worse"
    )


def recovered(visit: Visit, rules: OutcomeRules) -> bool | None:
    """Whether one visit meets the recovery rule (required criteria known, optional if given)."""
    for c in rules.recovery.criteria:
        value = visit.values.get(c.measure)
        if value is None:
            if c.required:
                return None
            continue
        if value > c.at_most:
            return False
    return True


def fmt(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent (46.0 -> 46, 1E+1 -> 10)."""
    return format(value.normalize(), "f")


def reassess_reasons(
    trajectories: Sequence[Trajectory],
    risk: RiskChange | None,
    days_followed: int,
    is_recovered: bool | None,
    rules: OutcomeRules,
) -> tuple[str, ...]:
    """Reasons to prompt "not improving - reassess": any worsening, or no improvement in time.

    Only an "improved" measure counts as improvement: a ``not_evaluable`` one (a baseline too
    low for an improvement to be judged) does not, so it never holds back the prompt, and the
    prompt names it so the clinician knows why it did not count. A worse measure prompts at
    once at any baseline.
    """
    reasons: list[str] = []
    for t in trajectories:
        if t.status == "worse":
            reasons.append(
                f"{t.measure.label} is worse: {fmt(t.baseline.value)} to {fmt(t.latest.value)}"
                f" (an important change is {fmt(t.important_amount)})"
            )
    if risk is not None and risk.move == "higher":
        reasons.append(f"{risk.group.label} is higher: {risk.baseline} to {risk.latest}")
    after = rules.reassess.after_days
    improved = any(t.status == "improved" for t in trajectories)
    if days_followed >= after and not improved and is_recovered is not True:
        compared = any(t.has_follow_up for t in trajectories)
        what = "no important improvement" if compared else "no measure that could be compared"
        reason = f"{what} {days_followed} days after the first assessment"
        too_low = [t.measure.label for t in trajectories if t.status == "not_evaluable"]
        if too_low:
            reason += (
                f" ({' and '.join(too_low)} {'was' if len(too_low) == 1 else 'were'} too low at "
                "the start to show one)"
            )
        reasons.append(reason)
    return tuple(reasons)


def progress(visits: Sequence[Visit], rules: OutcomeRules, today: dt.date) -> Progress:
    """Judge an episode's visits against the outcome rules.

    Raises:
        ValueError: when there are no visits.
    """
    if not visits:
        raise ValueError("an episode with no assessments has no progress to judge")
    seq = tuple(ordered(visits))
    trajectories = tuple(t for m in rules.measures if (t := trajectory(seq, m)) is not None)
    risk = risk_change(seq, rules.risk_group)
    is_recovered = recovered(seq[-1], rules)
    days = (seq[-1].on - seq[0].on).days
    age = (today - seq[-1].on).days
    return Progress(
        visits=seq,
        trajectories=trajectories,
        risk=risk,
        recovered=is_recovered,
        days_followed=days,
        reassess=reassess_reasons(trajectories, risk, days, is_recovered, rules),
        stale_days=age if age >= rules.reassess.after_days else None,
    )
