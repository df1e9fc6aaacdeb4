"""Change from baseline over an episode, judged against the minimal important change.

Pure functions over plain values: no database, no clock. Values are compared as decimals so
that a 30% rule is exact (46.0 to 32.2 on the ODI is a 30% improvement, not 29.999...).

A measure may set a floor (``improvement_evaluable_from``): from a baseline below it the 30%
rule would make noise look important (an RMDQ of 3 falling to 2 is "33%"), so an improvement
cannot be judged there and the status is ``not_evaluable``; a deterioration is still judged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from backstory.outcomes.rules import ImportantChange, Measure, OutcomeRules, RiskGroup

Status = Literal["improved", "no_important_change", "not_evaluable", "worse"]
RiskMove = Literal["lower", "same", "higher"]


@dataclass(frozen=True, slots=True)
class Visit:
    """One assessment in an episode, reduced to the values outcomes need."""

    assessment_id: str
    on: dt.date
    values: Mapping[str, Decimal]
    """Measure id to value, only for the measures recorded at this visit."""
    risk: str | None = None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return Decimal(str(value))


def read_source(report: Mapping[str, Any], source: str) -> Any:
    """The value at a dotted path (``odi.percent``) of a report's JSON form, or None."""
    node: Any = report
    for part in source.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def visit_from_report(
    assessment_id: str, on: dt.date, report: Mapping[str, Any], rules: OutcomeRules
) -> Visit:
    """The outcome values of one stored report (its JSON form)."""
    values: dict[str, Decimal] = {}
    for m in rules.measures:
        number = _number(read_source(report, m.source))
        if number is not None:
            values[m.id] = number
    risk = read_source(report, rules.risk_group.source)
    return Visit(
        assessment_id,
        on,
        values,
        risk if isinstance(risk, str) and risk in rules.risk_group.order else None,
    )


def important_amount(baseline: Decimal, rule: ImportantChange) -> Decimal:
    """The change that counts as important from this baseline.

    A change matters when it reaches the absolute amount *or* the relative share of the
    baseline, so the amount is the smaller of the two; with a baseline of 0 the relative rule
    would make any change important, so only the absolute amount applies.
    """
    if baseline <= 0:
        return rule.absolute
    return min(rule.absolute, rule.relative * baseline)


def classify(
    baseline: Decimal,
    value: Decimal,
    rule: ImportantChange,
    evaluable_from: Decimal | None = None,
) -> Status:
    """Improved, no important change, not evaluable, or worse (higher values are worse).

    ``evaluable_from`` is the measure's floor (``improvement_evaluable_from``). From a baseline
    below it, anything that is not "worse" is ``not_evaluable``: a fall there cannot be told
    from noise, and calling a smaller change "no important change" would claim a judgement
    the baseline cannot support either (it would also rank a fall of one point below no
    change at all). Deterioration is judged at every baseline, with the same amounts, so a
    low starting score that rises is still reported as worse and still prompts reassessment.
    """
    amount = important_amount(baseline, rule)
    if value - baseline >= amount:
        return "worse"
    if evaluable_from is not None and baseline < evaluable_from:
        return "not_evaluable"
    if baseline - value >= amount:
        return "improved"
    return "no_important_change"


@dataclass(frozen=True, slots=True)
class Point:
    """A measure's value at one visit and its change from baseline."""

    assessment_id: str
    on: dt.date
    value: Decimal
    change: Decimal
    status: Status | None
    """None at the baseline itself."""


@dataclass(frozen=True, slots=True)
class Trajectory:
    """One measure across an episode: its baseline, every later value and the latest status."""

    measure: Measure
    points: tuple[Point, ...]

    @property
    def baseline(self) -> Point:
        return self.points[0]

    @property
    def latest(self) -> Point:
        return self.points[-1]

    @property
    def has_follow_up(self) -> bool:
        return len(self.points) > 1

    @property
    def status(self) -> Status | None:
        """The latest status, or None without a follow-up."""
        return self.latest.status

    @property
    def important_amount(self) -> Decimal:
        return important_amount(self.baseline.value, self.measure.important_change)

    @property
    def improvement_evaluable(self) -> bool:
        """Whether the baseline is high enough for an improvement to be judged."""
        return self.measure.improvement_evaluable(self.baseline.value)


def ordered(visits: Sequence[Visit]) -> list[Visit]:
    """Visits by date; the order given breaks ties (the order they were saved)."""
    return sorted(visits, key=lambda v: v.on)


def trajectory(visits: Sequence[Visit], measure: Measure) -> Trajectory | None:
    """The measure's trajectory from the first visit that has it, or None if never recorded."""
    points: list[Point] = []
    baseline: Decimal | None = None
    for v in ordered(visits):
        value = v.values.get(measure.id)
        if value is None:
            continue
        if baseline is None:
            baseline = value
            points.append(Point(v.assessment_id, v.on, value, Decimal(0), None))
            continue
        status = classify(
            baseline, value, measure.important_change, measure.improvement_evaluable_from
        )
        points.append(Point(v.assessment_id, v.on, value, value - baseline, status))
    return Trajectory(measure, tuple(points)) if points else None


@dataclass(frozen=True, slots=True)
class RiskChange:
    """The risk group at baseline and at the latest visit that recorded it."""

    group: RiskGroup
    baseline: str
    baseline_on: dt.date
    latest: str
    latest_on: dt.date
    move: RiskMove | None
    """None without a follow-up."""


def risk_change(visits: Sequence[Visit], group: RiskGroup) -> RiskChange | None:
    """Lower, same or higher risk group than at baseline; None if never recorded."""
    recorded = [v for v in ordered(visits) if v.risk is not None]
    if not recorded:
        return None
    first, last = recorded[0], recorded[-1]
    assert first.risk is not None and last.risk is not None
    move: RiskMove | None = None
    if len(recorded) > 1:
        a, b = group.order.index(first.risk), group.order.index(last.risk)
        move = "lower" if b < a else "higher" if b > a else "same"
    return RiskChange(group, first.risk, first.on, last.risk, last.on, move)
