"""Shared test answers for the programme tests: a fully screened routine assessment."""

from __future__ import annotations

from typing import Any

from backstory.contract import parse_assessment
from backstory.contract.spec import load_contract
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.knowledge.loader import load_knowledge
from backstory.programme import Programme, build_programme, load_programme_knowledge

KB = load_knowledge()
KN = load_programme_knowledge()
CONDITIONS = tuple(c.id for c in KB.red_flags.conditions)
RED_FLAGS = [
    k
    for k, s in load_contract().groups["red_flags"].items()
    if s.type == "bool" and k != "ces_symptoms_stable_over_2_weeks"
]


def report_of(data: dict[str, Any]) -> Report:
    return assess(parse_assessment(data), KB)


def screened(**groups: Any) -> dict[str, Any]:
    """A routine, fully screened assessment with the given answers on top."""
    data: dict[str, Any] = {
        "age": 40,
        "red_flags": dict.fromkeys(RED_FLAGS, False),
        "history": {"trauma": "none", "duration_weeks": 8},
        "neuro": {"progressive_deficit": False, "gait_disturbance": False},
        "pain": {"leg_side": "none", "back": 5},
        "beliefs": {"fear_of_movement": 4, "confidence_to_move": 6},
    }
    for group, answers in groups.items():
        if isinstance(answers, dict):
            data.setdefault(group, {}).update(answers)
        else:
            data[group] = answers
    return data


def build(data: dict[str, Any], **kw: Any) -> Programme:
    return build_programme(report_of(data), data, KN, conditions=CONDITIONS, **kw)
