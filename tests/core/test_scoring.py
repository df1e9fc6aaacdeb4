"""Instrument scoring at every cut-off (HZ-05)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backstory.core.report import Report

Run = Callable[[dict[str, Any]], Report]
WORDS = ["not_at_all", "slightly", "moderately", "very_much", "extremely"]


@pytest.mark.parametrize(
    ("items", "nine", "total", "psych", "risk"),
    [
        ([0] * 8, 0, 0, 0, "low"),
        ([1, 1, 1, 1, 0, 0, 0, 0], 0, 4, 0, "medium"),
        ([1] * 8, 4, 9, 5, "high"),
        ([1, 0, 1, 0, 0, 1, 0, 0], 4, 4, 2, "medium"),
        ([1, 1, 1, 0, 0, 0, 0, 0], 2, 3, 0, "low"),
        ([0, 0, 0, 0, 1, 1, 1, 0], 3, 4, 4, "high"),
        ([1, 1, 1, 1, 1, 1, 1, 0], 1, 7, 3, "medium"),
        ([0, 0, 0, 0, 1, 1, 1, 1], 0, 4, 4, "high"),
        ([1, 1, 0, 0, 1, 1, 1, 0], 2, 5, 3, "medium"),
    ],
)
def test_startback(
    run: Run, items: list[int], nine: int, total: int, psych: int, risk: str
) -> None:
    """Published and derived boundary vectors (instruments.md section 1.6)."""
    r = run({"age": 40, "startback": [*items, WORDS[nine]]})
    assert r.scores["startback"] == {"total": total, "psychosocial": psych, "risk": risk}


@pytest.mark.parametrize("word", WORDS)
def test_bothersomeness_scores_only_very_much_or_extremely(run: Run, word: str) -> None:
    r = run({"age": 40, "startback": [0] * 8 + [word]})
    assert r.scores["startback"] is not None
    assert r.scores["startback"]["total"] == (1 if word in ("very_much", "extremely") else 0)


@pytest.mark.parametrize(
    ("odi", "percent", "band"),
    [
        ([0] * 10, 0.0, "minimal"),
        ([1] * 10, 20.0, "minimal"),
        ([1] * 9 + [2], 22.0, "moderate"),
        ([2] * 10, 40.0, "moderate"),
        ([2] * 9 + [3], 42.0, "severe"),
        ([3] * 10, 60.0, "severe"),
        ([4] * 10, 80.0, "crippled"),
        ([4] * 9 + [5], 82.0, "bed_bound"),
        ([5] * 10, 100.0, "bed_bound"),
        ([None, 2, 2, 2, 2, 2, 2, 2, 1, 1], 35.6, "moderate"),
        ([None, 1, 1, 1, 1, 1, 1, 1, 1, 1], 20.0, "minimal"),
        ([None, 1, 1, 1, 1, 1, 1, 1, 1, 2], 22.2, "moderate"),
    ],
)
def test_odi(run: Run, odi: list[int | None], percent: float, band: str) -> None:
    """Percent of the answered maximum, one decimal rounded half up; bands at 20/40/60/80."""
    r = run({"age": 40, "odi": odi})
    assert r.scores["odi"] == {"percent": percent, "band": band}


def test_odi_with_two_missing_sections_is_not_scored(run: Run) -> None:
    r = run({"age": 40, "odi": [None, None, 1, 1, 1, 1, 1, 1, 1, 1]})
    assert r.scores["odi"] is None and "more than one" in r.score_notes["odi"].lower()


def test_rmdq(run: Run) -> None:
    assert run({"age": 40, "rmdq": [1] * 24}).scores["rmdq"] == {"score": 24}
    assert run({"age": 40, "rmdq": [0] * 24}).scores["rmdq"] == {"score": 0}
    missing = run({"age": 40, "rmdq": [1] * 23 + [None]})
    assert missing.scores["rmdq"] is None and "rmdq" in missing.score_notes


def test_not_given_instruments_are_null_with_a_reason(run: Run) -> None:
    r = run({"age": 40})
    assert r.scores["startback"] is None and r.scores["odi"] is None and r.scores["rmdq"] is None
    assert set(r.score_notes) == {"startback", "odi", "rmdq"}
