"""Every answer reads at Flesch-Kincaid grade 7 or lower (hazard HZ-07: unreadable text).

Needs textstat==0.7.8 in the test environment: later versions download data at run time.
"""

from __future__ import annotations

import pytest
import textstat  # type: ignore[import-untyped]

from backstory.ask import QuestionEntry, load_questions_knowledge

KB = load_questions_knowledge()
MAX_GRADE = 7.0


def _grade(text: str) -> float:
    return float(textstat.flesch_kincaid_grade(" ".join(text.split())))


@pytest.mark.parametrize("entry", KB.entries, ids=lambda e: e.id)
def test_answer_reading_grade(entry: QuestionEntry) -> None:
    grade = _grade(entry.answer)
    assert grade <= MAX_GRADE, f"{entry.id}: grade {grade:.1f}"


@pytest.mark.parametrize("name", ["no_match", "not_diagnosis", "safety_net"])
def test_fixed_message_reading_grade(name: str) -> None:
    grade = _grade(getattr(KB.messages, name))
    assert grade <= MAX_GRADE, f"{name}: grade {grade:.1f}"


def test_grader_is_not_trivially_passing() -> None:
    hard = (
        "Lumbar zygapophysial arthropathy demonstrates considerable interindividual "
        "heterogeneity regarding radiological manifestations and symptomatology."
    )
    assert _grade(hard) > MAX_GRADE
