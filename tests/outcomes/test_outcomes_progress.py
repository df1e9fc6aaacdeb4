"""Recovery (Kamper 2010) and the "not improving - reassess" prompt (about six weeks)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from backstory.outcomes import Visit, load_outcome_rules, progress, recovered

RULES = load_outcome_rules()
START = dt.date(2026, 1, 1)


def visit(day: int, risk: str | None = None, **values: str) -> Visit:
    on = START + dt.timedelta(days=day)
    return Visit(f"A{day}", on, {k: D(v) for k, v in values.items()}, risk)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"back_pain": "0"}, True),
        ({"back_pain": "0", "leg_pain": "0", "rmdq": "2"}, True),
        ({"back_pain": "0", "rmdq": "3"}, False),
        ({"back_pain": "0", "leg_pain": "1"}, False),
        ({"back_pain": "1"}, False),
        ({"odi": "0"}, None),  # back pain not recorded: unknown, never "no"
    ],
)
def test_recovered(values: dict[str, str], expected: bool | None) -> None:
    assert recovered(visit(0, **values), RULES) is expected


def test_no_important_change_prompts_from_42_days() -> None:
    early = progress([visit(0, back_pain="6"), visit(41, back_pain="5")], RULES, START)
    assert early.reassess == ()
    due = progress([visit(0, back_pain="6"), visit(42, back_pain="5")], RULES, START)
    assert due.reassess == ("no important improvement 42 days after the first assessment",)
    improving = progress([visit(0, back_pain="6"), visit(60, back_pain="3")], RULES, START)
    assert improving.reassess == ()


def test_any_worsening_prompts_at_once() -> None:
    worse = progress([visit(0, back_pain="4"), visit(7, back_pain="7")], RULES, START)
    assert worse.reassess == ("Back pain is worse: 4 to 7 (an important change is 1.2)",)
    risk = progress([visit(0, "low", odi="30"), visit(7, "high", odi="28")], RULES, START)
    assert risk.reassess == ("STarT Back risk group is higher: low to high",)


def test_one_improved_measure_is_enough_and_recovery_needs_no_prompt() -> None:
    mixed = [visit(0, back_pain="6", odi="40"), visit(50, back_pain="6", odi="20")]
    assert progress(mixed, RULES, START).reassess == ()
    well = progress([visit(0, back_pain="1"), visit(50, back_pain="0")], RULES, START)
    assert well.recovered is True and well.reassess == ()


def test_a_worse_measure_from_a_low_baseline_prompts_at_once() -> None:
    worse = progress([visit(0, rmdq="2"), visit(7, rmdq="10")], RULES, START)
    assert worse.trajectories[0].status == "worse"
    assert worse.reassess == ("RMDQ is worse: 2 to 10 (an important change is 0.6)",)
    also = progress(
        [visit(0, rmdq="3", back_pain="6"), visit(7, rmdq="9", back_pain="2")], RULES, START
    )
    assert "RMDQ is worse: 3 to 9 (an important change is 0.9)" in also.reassess


def test_a_not_evaluable_measure_does_not_count_as_improved() -> None:
    visits = [visit(0, rmdq="3", back_pain="6"), visit(50, rmdq="1", back_pain="6")]
    result = progress(visits, RULES, START)
    assert [t.status for t in result.trajectories] == ["no_important_change", "not_evaluable"]
    assert result.reassess == (
        "no important improvement 50 days after the first assessment"
        " (RMDQ was too low at the start to show one)",
    )
    assert result.notes == (
        "RMDQ started at 3, below 4: too low to show an important improvement, so a fall is"
        " not evaluable; a rise of 0.9 or more still counts as worse",
    )
    alone = progress([visit(0, rmdq="3"), visit(50, rmdq="1")], RULES, START)
    assert alone.recovered is None and alone.reassess == (
        "no important improvement 50 days after the first assessment"
        " (RMDQ was too low at the start to show one)",
    )
    early = progress([visit(0, rmdq="3"), visit(41, rmdq="1")], RULES, START)
    assert early.reassess == ()
    # Another measure's important improvement is still enough.
    mixed = [visit(0, rmdq="3", back_pain="6"), visit(50, rmdq="2", back_pain="3")]
    assert progress(mixed, RULES, START).reassess == ()


def test_recovery_is_unaffected_by_the_floor() -> None:
    well = progress(
        [visit(0, back_pain="2", rmdq="3"), visit(50, back_pain="0", rmdq="2")], RULES, START
    )
    assert well.trajectories[1].status == "not_evaluable"
    assert well.recovered is True and well.reassess == ()


def test_nothing_comparable_after_six_weeks_still_prompts() -> None:
    result = progress([visit(0, back_pain="6"), visit(45, odi="30")], RULES, START)
    assert result.reassess == (
        "no measure that could be compared 45 days after the first assessment",
    )


def test_an_old_latest_assessment_is_called_stale() -> None:
    visits = [visit(0, back_pain="6")]
    assert progress(visits, RULES, START + dt.timedelta(days=41)).stale_days is None
    assert progress(visits, RULES, START + dt.timedelta(days=42)).stale_days == 42


def test_no_visits_is_an_error() -> None:
    with pytest.raises(ValueError):
        progress([], RULES, START)
