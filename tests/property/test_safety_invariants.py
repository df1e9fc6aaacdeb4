"""Safety invariants under random valid assessments (Hypothesis).

Run the thorough profile with `pytest --thorough` or BACKSTORY_TEST_PROFILE=thorough.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from backstory.contract import parse_assessment
from backstory.contract.spec import load_contract
from backstory.core.engine import assess
from backstory.knowledge.loader import load_knowledge
from backstory.testing import assessments

KB = load_knowledge()
RANK = {"routine": 0, "soon": 1, "urgent": 2, "emergency": 3}
CES_SETTERS: list[tuple[str, str, Any]] = [
    ("red_flags", "saddle_anaesthesia", True),
    ("red_flags", "bladder_dysfunction", True),
    ("red_flags", "bowel_incontinence", True),
    ("red_flags", "sexual_dysfunction", True),
    ("red_flags", "bilateral_leg_symptoms", True),
    ("exam", "saddle_sensation_reduced", True),
    ("exam", "anal_tone_reduced", True),
]
RED_FLAGS = [
    k
    for k, s in load_contract().groups["red_flags"].items()
    if s.type == "bool" and k != "ces_symptoms_stable_over_2_weeks"
]


def run(data: dict[str, Any]) -> Any:
    return assess(parse_assessment(data), KB)


def with_answer(data: dict[str, Any], group: str, key: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out.setdefault(group, {})[key] = value
    return out


@given(assessments(), st.sampled_from(CES_SETTERS), st.sampled_from([None, False]))
def test_any_new_ces_feature_means_emergency(
    data: dict[str, Any], ces: tuple[str, str, Any], stable: bool | None
) -> None:
    """HZ-01: whatever else is present, a CES feature not marked stable means emergency."""
    d = with_answer(data, *ces)
    if stable is None:
        d.get("red_flags", {}).pop("ces_symptoms_stable_over_2_weeks", None)
    else:
        d = with_answer(d, "red_flags", "ces_symptoms_stable_over_2_weeks", False)
    r = run(d)
    assert r.triage.level == "emergency"
    assert "cauda_equina_syndrome" in r.triage.suspected
    assert r.category == "specific_pathology_suspected"


@given(assessments())
def test_bilateral_below_knee_pain_is_a_ces_feature(data: dict[str, Any]) -> None:
    d = with_answer(with_answer(data, "pain", "leg_side", "both"), "pain", "below_knee", True)
    d.get("red_flags", {}).pop("ces_symptoms_stable_over_2_weeks", None)
    assert run(d).triage.level == "emergency"


@given(assessments(), st.sampled_from(RED_FLAGS))
def test_adding_a_red_flag_never_lowers_triage(data: dict[str, Any], flag: str) -> None:
    """Reassuring answers never cancel a warning sign, and no flag lowers the level."""
    before = run(data).triage.level
    after = run(with_answer(data, "red_flags", flag, True)).triage.level
    assert RANK[after] >= RANK[before]


@given(assessments(), st.sampled_from([*RED_FLAGS, "saddle_sensation_reduced"]))
def test_unknown_is_never_read_as_absent(data: dict[str, Any], flag: str) -> None:
    """HZ-17: if answering an unasked warning sign would raise the level, it is listed."""
    group = "exam" if flag == "saddle_sensation_reduced" else "red_flags"
    d = copy.deepcopy(data)
    d.get(group, {}).pop(flag, None)
    base = run(d)
    raised = run(with_answer(d, group, flag, True))
    if RANK[raised.triage.level] > RANK[base.triage.level]:
        assert f"{group}.{flag}" in {u.field for u in base.unknowns}


@given(assessments())
def test_no_pattern_is_ever_confirmed(data: dict[str, Any]) -> None:
    """HZ-04: fits are descriptions; any 'confirm' in pattern text is negated."""
    r = run(data).to_dict()
    for p in r["patterns"]:
        assert p["fit"] in {"strong", "possible", "unlikely", "unknown"}
        text = json.dumps(p).lower()
        for m in re.finditer(r"confirm", text):
            before = text[max(0, m.start() - 50) : m.start()]
            assert re.search(r"\b(no|not|never|rarely|nothing)\b", before), before


@given(assessments())
def test_engine_is_deterministic_and_order_independent(data: dict[str, Any]) -> None:
    first = run(data).to_dict()
    reordered = {k: data[k] for k in reversed(list(data))}
    assert run(copy.deepcopy(data)).to_dict() == first == run(reordered).to_dict()


@given(assessments())
def test_level_and_category_agree(data: dict[str, Any]) -> None:
    r = run(data)
    assert (r.triage.level != "routine") == bool(r.triage.suspected)
    assert (r.category == "specific_pathology_suspected") == bool(r.triage.suspected)
    for reason in r.triage.reasons:
        assert reason.citations and all(c in KB.sources for c in reason.citations)
