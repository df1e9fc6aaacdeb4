"""A report built from the questionnaire can judge the pain patterns (issue 14 item 5).

Before the movement questions every pattern of a questionnaire's report was "unknown"; now
the answers a patient gives in plain words reach the fields the patterns read.
"""

from __future__ import annotations

import datetime as dt

import backstory
from backstory.web.questionnaire import CES_FIELDS, NOT_SURE, answers_to_assessment, unsure_fields

TODAY = dt.date(2026, 3, 2)
BASE = {f: "no" for f in CES_FIELDS} | {"age": "45", "pain.back": "6", "pain.leg": "1"}
FACET = {
    "movement.extension": "worse",
    "movement.rotation": "worse",
    "movement.side_bending": "worse",
    "movement.flexion": "no_change",
    "movement.lying_down": "better",
    "movement.cough_sneeze": "no_change",
    "pain.distribution": "localised",
    "pain.back_side": "left",
}
FLEXION = {
    "movement.flexion": "worse",
    "movement.sitting": "worse",
    "movement.rising_from_sitting": "worse",
    "movement.extension": "better",
    "movement.walking": "better",
    "movement.standing": "better",
}


def _fits(form: dict[str, str]) -> dict[str, str]:
    data, issues = answers_to_assessment(form, TODAY)
    assert issues == []
    return {p.id: p.fit for p in backstory.assess(data).patterns}


def test_without_movement_answers_every_pattern_is_unknown() -> None:
    assert set(_fits(BASE).values()) == {"unknown"}


def test_facet_movements_give_the_facet_pattern_a_fit() -> None:
    fits = _fits(BASE | FACET)
    assert fits["facet"] in ("possible", "strong")
    assert fits["flexion_related"] not in ("possible", "strong")


def test_flexion_movements_give_the_flexion_pattern_a_fit() -> None:
    fits = _fits(BASE | FLEXION)
    assert fits["flexion_related"] in ("possible", "strong")
    assert fits["facet"] not in ("possible", "strong")


def test_not_sure_stays_unknown_and_is_kept_as_uncertainty() -> None:
    """A "not sure" is never "no": the field stays unanswered and the pattern unknown."""
    unsure = {f: NOT_SURE for f in FLEXION}
    data, _issues = answers_to_assessment(BASE | unsure, TODAY)
    assert "movement" not in data
    assert set(_fits(BASE | unsure).values()) == {"unknown"}
    assert sorted(unsure_fields(BASE | unsure)) == sorted(FLEXION)
