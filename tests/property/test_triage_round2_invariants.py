"""Triage round 2 invariants under random valid assessments (HZ-30, HZ-31, HZ-35)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from backstory.contract import parse_assessment
from backstory.core.engine import assess
from backstory.knowledge.loader import load_knowledge
from backstory.testing import assessments

KB = load_knowledge()
RANK = {"routine": 0, "soon": 1, "urgent": 2, "emergency": 3}
# Cauda equina features other than leg symptoms in both legs: the stenosis reading never
# touches them.
OTHER_CES: list[tuple[str, str]] = [
    ("red_flags", "saddle_anaesthesia"),
    ("red_flags", "bladder_dysfunction"),
    ("red_flags", "bowel_incontinence"),
    ("red_flags", "sexual_dysfunction"),
    ("exam", "saddle_sensation_reduced"),
    ("exam", "anal_tone_reduced"),
]


def run(data: dict[str, Any]) -> Any:
    return assess(parse_assessment(data), KB)


def with_answers(data: dict[str, Any], *answers: tuple[str, str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for group, key, value in answers:
        out.setdefault(group, {})[key] = value
    return out


@given(assessments(), st.sampled_from(OTHER_CES))
def test_claudication_never_hides_another_cauda_equina_feature(
    data: dict[str, Any], ces: tuple[str, str]
) -> None:
    d = with_answers(
        data,
        (*ces, True),
        ("neuro", "neurogenic_claudication", True),
        ("red_flags", "ces_symptoms_stable_over_2_weeks", True),
        ("history", "duration_weeks", 200),
    )
    r = run(d)
    assert "cauda_equina_syndrome" in r.triage.suspected
    assert RANK[r.triage.level] >= RANK["urgent"]


@given(assessments())
def test_claudication_without_stability_keeps_bilateral_leg_symptoms_an_emergency(
    data: dict[str, Any],
) -> None:
    d = with_answers(
        data,
        ("red_flags", "bilateral_leg_symptoms", True),
        ("neuro", "neurogenic_claudication", True),
    )
    d.get("red_flags", {}).pop("ces_symptoms_stable_over_2_weeks", None)
    assert run(d).triage.level == "emergency"


@given(assessments(), st.integers(min_value=7, max_value=10))
def test_sudden_severe_pain_on_blood_thinners_is_an_emergency(
    data: dict[str, Any], back: int
) -> None:
    d = with_answers(
        data,
        ("red_flags", "anticoagulants", True),
        ("history", "onset", "sudden"),
        ("pain", "back", back),
    )
    r = run(d)
    assert r.triage.level == "emergency"
    assert "bleeding" in r.triage.suspected


@given(assessments())
def test_collapse_is_an_emergency_at_any_age(data: dict[str, Any]) -> None:
    assert run(with_answers(data, ("red_flags", "collapse_or_faint", True))).triage.level == (
        "emergency"
    )
