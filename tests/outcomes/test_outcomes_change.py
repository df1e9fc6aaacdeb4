"""Change from baseline against the minimal important change (Ostelo 2008), exactly."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backstory.contract import parse_assessment
from backstory.core.engine import assess
from backstory.knowledge.loader import KnowledgeBase
from backstory.outcomes import (
    Visit,
    classify,
    important_amount,
    load_outcome_rules,
    risk_change,
    trajectory,
    visit_from_report,
)
from backstory.outcomes.rules import ImportantChange

RULES = load_outcome_rules()
PAIN = RULES.measure("back_pain").important_change
ODI = RULES.measure("odi").important_change
RMDQ = RULES.measure("rmdq").important_change


@pytest.mark.parametrize(
    ("rule", "baseline", "value", "status"),
    [
        (PAIN, "6", "4", "improved"),  # 2 points
        (PAIN, "6", "5", "no_important_change"),  # 1 point, 17%
        (PAIN, "3", "2", "improved"),  # 1 point but 33% of baseline
        (PAIN, "10", "8", "improved"),
        (PAIN, "6", "8", "worse"),
        (PAIN, "6", "7", "no_important_change"),
        (PAIN, "2", "3", "worse"),  # a 50% deterioration
        (PAIN, "0", "1", "no_important_change"),  # baseline 0: only the absolute rule
        (PAIN, "0", "2", "worse"),
        (PAIN, "0", "0", "no_important_change"),
        (ODI, "46.0", "32.2", "improved"),  # 13.8 points
        (ODI, "23.0", "16.1", "improved"),  # exactly 30%: decimals, not floats
        (ODI, "23.0", "16.2", "no_important_change"),
        (ODI, "40", "30", "improved"),
        (ODI, "20", "30", "worse"),
        (RMDQ, "12", "7", "improved"),
        (RMDQ, "20", "16", "no_important_change"),  # 4 points, 20%
        (RMDQ, "12", "17", "worse"),
    ],
)
def test_classify(rule: ImportantChange, baseline: str, value: str, status: str) -> None:
    assert classify(D(baseline), D(value), rule) == status


def test_important_amount_is_the_smaller_of_absolute_and_relative() -> None:
    assert important_amount(D(10), PAIN) == D(2)
    assert important_amount(D(5), PAIN) == D("1.5")
    assert important_amount(D(0), PAIN) == D(2)


@given(st.integers(0, 10), st.integers(0, 10), st.integers(0, 10))
def test_classification_is_monotonic(baseline: int, a: int, b: int) -> None:
    rank = {"improved": 0, "no_important_change": 1, "worse": 2}
    low, high = sorted((a, b))
    assert rank[classify(D(baseline), D(low), PAIN)] <= rank[classify(D(baseline), D(high), PAIN)]
    assert classify(D(baseline), D(baseline), PAIN) == "no_important_change"


RMDQ_FLOOR = RULES.measure("rmdq").improvement_evaluable_from


@pytest.mark.parametrize(
    ("baseline", "value", "status"),
    [
        ("3", "2", "not_evaluable"),  # "33%" from a baseline below the floor: noise, not judged
        ("3", "0", "not_evaluable"),
        ("3", "3", "not_evaluable"),  # below the floor nothing but "worse" is judged
        ("3", "9", "worse"),  # deterioration is judged at any baseline
        ("2", "10", "worse"),
        ("0", "5", "worse"),
        ("0", "4", "not_evaluable"),  # baseline 0: the absolute amount only, 4 is under 5
        ("4", "2", "improved"),  # at the floor: 50% of the baseline
        ("4", "3", "no_important_change"),  # 25%
        ("4", "6", "worse"),
        ("12", "7", "improved"),
    ],
)
def test_rmdq_below_its_floor_an_improvement_is_not_evaluable(
    baseline: str, value: str, status: str
) -> None:
    assert D(4) == RMDQ_FLOOR
    assert classify(D(baseline), D(value), RMDQ, RMDQ_FLOOR) == status


def test_only_rmdq_has_a_floor_so_pain_and_odi_are_judged_from_any_baseline() -> None:
    floors = {m.id: m.improvement_evaluable_from for m in RULES.measures}
    assert floors == {"back_pain": None, "leg_pain": None, "odi": None, "rmdq": D(4)}
    low = [visit(0, back_pain="3", leg_pain="1", odi="3"), visit(9, back_pain="2", odi="2")]
    for measure_id in ("back_pain", "odi"):
        t = trajectory(low, RULES.measure(measure_id))
        assert t is not None and t.improvement_evaluable and t.status == "improved"


@given(st.integers(0, 24), st.integers(0, 24))
def test_below_the_floor_only_worse_or_not_evaluable(baseline: int, value: int) -> None:
    plain = classify(D(baseline), D(value), RMDQ)
    floored = classify(D(baseline), D(value), RMDQ, RMDQ_FLOOR)
    if baseline >= 4:
        assert floored == plain
    elif plain == "worse":
        assert floored == "worse"
    else:
        assert floored == "not_evaluable"


def test_rmdq_trajectory_from_a_low_baseline() -> None:
    rmdq = RULES.measure("rmdq")
    fall = trajectory([visit(0, rmdq="3"), visit(30, rmdq="2")], rmdq)
    assert fall is not None and not fall.improvement_evaluable
    assert fall.status == "not_evaluable" and fall.status != "improved"
    rise = trajectory([visit(0, rmdq="3"), visit(30, rmdq="9")], rmdq)
    assert rise is not None and rise.status == "worse"
    at_floor = trajectory([visit(0, rmdq="4"), visit(30, rmdq="2")], rmdq)
    assert at_floor is not None and at_floor.improvement_evaluable
    assert at_floor.status == "improved"
    # The floor judges the baseline, never a later value: 12 falling to 2 is improved.
    big = trajectory([visit(0, rmdq="12"), visit(9, rmdq="3"), visit(30, rmdq="2")], rmdq)
    assert big is not None and [p.status for p in big.points] == [None, "improved", "improved"]


def visit(day: int, risk: str | None = None, **values: str) -> Visit:
    on = dt.date(2026, 1, 1) + dt.timedelta(days=day)
    return Visit(f"A{day}", on, {k: D(v) for k, v in values.items()}, risk)


def test_baseline_is_the_first_assessment_that_has_the_measure() -> None:
    visits = [visit(0, back_pain="6"), visit(14, back_pain="5", odi="40"), visit(30, odi="28")]
    odi = trajectory(visits, RULES.measure("odi"))
    assert odi is not None and odi.baseline.on == dt.date(2026, 1, 15)
    assert odi.latest.change == D(-12) and odi.status == "improved"
    back = trajectory(list(reversed(visits)), RULES.measure("back_pain"))  # order by date
    assert back is not None and [p.value for p in back.points] == [D(6), D(5)]
    assert back.status == "no_important_change"
    assert trajectory(visits, RULES.measure("rmdq")) is None


def test_startback_change_is_a_move_between_risk_groups() -> None:
    group = RULES.risk_group
    assert risk_change([visit(0)], group) is None
    one = risk_change([visit(0, "high")], group)
    assert one is not None and one.move is None
    moves = [
        risk_change([visit(0, a), visit(1), visit(9, b)], group)
        for a, b in [("high", "low"), ("medium", "medium"), ("low", "medium")]
    ]
    assert [m.move for m in moves if m] == ["lower", "same", "higher"]


def test_visit_from_a_real_report(kb: KnowledgeBase) -> None:
    data = json.loads(
        (
            Path(__file__).parents[1] / "data" / "examples" / "p07-high-risk-with-odi.json"
        ).read_text()
    )
    report = assess(parse_assessment(data), kb).to_dict()
    v = visit_from_report("A1", dt.date(2026, 1, 1), report, RULES)
    assert v.values == {"back_pain": D(7), "odi": D("46.0")} and v.risk == "high"
