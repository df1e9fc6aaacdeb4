"""Boundary pairs for the bands the leaflets choose wording by (written in code, not in the
knowledge, so the mutation check in tests/core/test_boundaries.py cannot move them).

The numbers are the ones explanations.yaml documents: fear of movement 0-3 low, 4-6
moderate, 7+ high; confidence to move 0-3 low, 4-6 moderate, 7+ high; pain for more than 12
weeks persistent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backstory.contract import parse_assessment
from backstory.core.report import Report
from backstory.explain.select import known_answers, signals


@pytest.mark.parametrize(
    ("field", "value", "signal", "expected"),
    [
        ("beliefs.fear_of_movement", 3, "fear", "low"),
        ("beliefs.fear_of_movement", 4, "fear", "moderate"),
        ("beliefs.fear_of_movement", 6, "fear", "moderate"),
        ("beliefs.fear_of_movement", 7, "fear", "high"),
        ("beliefs.confidence_to_move", 3, "confidence", "low"),
        ("beliefs.confidence_to_move", 4, "confidence", "moderate"),
        ("beliefs.confidence_to_move", 6, "confidence", "moderate"),
        ("beliefs.confidence_to_move", 7, "confidence", "high"),
        ("history.duration_weeks", 12, "duration", "recent"),
        ("history.duration_weeks", 13, "duration", "persistent"),
    ],
)
def test_leaflet_band_boundaries(
    field: str,
    value: int,
    signal: str,
    expected: str,
    run: Callable[[dict[str, Any]], Report],
) -> None:
    group, name = field.split(".")
    answers = {"age": 40, group: {name: value}}
    report = run(answers)
    flat = parse_assessment(answers).answers
    assert signals(report, known_answers(report, flat), table_ages=(20, 80))[signal] == expected
