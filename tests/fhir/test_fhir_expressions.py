"""The Questionnaires' FHIRPath totals, run by a FHIRPath engine, equal Backstory's own scores."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from fhirpathpy import compile as fhirpath
from fhirpathpy.models import models
from hypothesis import given, settings
from hypothesis import strategies as st

from backstory.contract import parse_assessment
from backstory.core.engine import assess
from backstory.core.scoring import round_half_up
from backstory.fhir import questionnaire
from backstory.fhir.questionnaire import CALCULATED
from backstory.fhir.response import assessment_to_response
from backstory.knowledge.loader import KnowledgeBase
from backstory.testing import assessments, value_strategy

# A FHIRPath engine in Python is slow (about 20 ms per total), so these properties run a
# fifth of the profile's examples; the ODI rounding is checked exhaustively below anyway.
FEWER = settings(max_examples=max(30, settings().max_examples // 5))


@cache
def expressions() -> dict[str, Any]:
    """Each calculated item's expression, read back from the generated Questionnaire."""
    out = {}
    stack = list(questionnaire("assessment")["item"])
    while stack:
        item = stack.pop()
        stack.extend(item.get("item", []))
        for e in item.get("extension", []):
            if e["url"] == CALCULATED:
                out[item["linkId"]] = fhirpath(e["valueExpression"]["expression"], models["r4"])
    return out


def evaluate(qr: dict[str, Any], only: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every total (or ``only`` these) as the FHIRPath engine computes it (None: nothing)."""
    out = {}
    for link_id, fn in expressions().items():
        if only and link_id not in only:
            continue
        result = fn(qr, {"resource": qr})
        assert len(result) <= 1, (link_id, result)
        out[link_id] = result[0] if result else None
    return out


def python_scores(kb: KnowledgeBase, data: dict[str, Any]) -> dict[str, Any]:
    report = assess(parse_assessment(data), kb)
    scores = report.scores
    out = {}
    for link_id in expressions():
        group, _, key = link_id.partition(".")
        s = scores[group]
        out[link_id] = None if s is None else s[key]
    return out


def assert_equal(fhir: dict[str, Any], python: dict[str, Any]) -> None:
    assert fhir.keys() == python.keys()
    for link_id, value in python.items():
        got = fhir[link_id]
        if value is None:
            assert got is None, link_id
        else:
            assert isinstance(got, (int, Decimal)) and not isinstance(got, bool), link_id
            assert Decimal(str(got)) == Decimal(str(value)), (link_id, got, value)


@st.composite
def instrument_answers(draw: st.DrawFn, kb: KnowledgeBase) -> dict[str, Any]:
    """An assessment with random instrument answers, often incomplete where allowed."""
    data: dict[str, Any] = {"age": draw(st.integers(16, 110))}
    for name, inst in kb.contract.instruments.items():
        if draw(st.integers(0, 4)) == 0:
            continue
        values = [draw(value_strategy(spec)) for spec in inst.items]
        if not inst.required_all:
            missing = draw(st.sampled_from([0, 0, 1, 1, 2, 3]))
            for i in draw(st.permutations(range(inst.length)))[:missing]:
                values[i] = None
        data[name] = values
    return data


@FEWER
@given(st.data())
def test_fhirpath_totals_equal_python_scores_on_random_answers(
    kb: KnowledgeBase, data: st.DataObject
) -> None:
    answers = data.draw(instrument_answers(kb))
    qr = assessment_to_response(answers)
    assert_equal(evaluate(qr), python_scores(kb, answers))


@FEWER
@given(assessments())
def test_fhirpath_totals_equal_python_scores_on_whole_assessments(
    kb: KnowledgeBase, data: dict[str, Any]
) -> None:
    report = assess(parse_assessment(data), kb)
    # the exported response carries Backstory's totals too; the expressions must ignore them
    qr = assessment_to_response(data, report=report)
    assert_equal(evaluate(qr), python_scores(kb, data))


def odi_answers(total: int, answered: int, missing_at: int) -> list[int | None]:
    """Ten ODI sections with the given sum over the answered ones."""
    values: list[int | None] = []
    left = total
    for _ in range(answered):
        v = min(5, left)
        values.append(v)
        left -= v
    assert left == 0
    if answered == 9:
        values.insert(missing_at, None)
    return values


def test_odi_rounding_matches_half_up_for_every_possible_answer_pattern(kb: KnowledgeBase) -> None:
    """The ODI percent depends only on (sum, sections answered); every pair is checked, so
    FHIRPath round(1) and the contract's half-up rounding agree on every possible form."""
    checked = 0
    for answered in (10, 9):
        for total in range(0, 5 * answered + 1):
            data = {"age": 40, "odi": odi_answers(total, answered, total % 10)}
            got = evaluate(assessment_to_response(data), ("odi.percent",))["odi.percent"]
            exact = round_half_up(Fraction(total * 100, 5 * answered), 1)
            assert Decimal(str(got)) == Decimal(str(exact)), (total, answered, got, exact)
            assert python_scores(kb, data)["odi.percent"] == exact
            checked += 1
    assert checked == 51 + 46


def test_totals_are_empty_when_too_much_is_missing() -> None:
    data = {"age": 40, "odi": [1, None, 2, None, 3, 4, 5, 0, 1, 2], "rmdq": [1] * 23 + [None]}
    got = evaluate(assessment_to_response(data))
    assert got["odi.percent"] is None and got["rmdq.score"] is None
    assert got["startback.total"] is None and got["startback.psychosocial"] is None


def test_published_startback_vectors(kb: KnowledgeBase) -> None:
    """Test vectors from instruments.md 1.6 (item 9 coded by its answer)."""
    nine = ["not_at_all", "slightly", "moderately", "very_much", "extremely"]
    for items, item9, total, sub in (
        ([0] * 8, 0, 0, 0),
        ([1, 1, 1, 1, 0, 0, 0, 0], 0, 4, 0),
        ([1] * 8, 4, 9, 5),
        ([1, 0, 1, 0, 0, 1, 0, 0], 4, 4, 2),
        ([0, 0, 0, 0, 1, 1, 1, 0], 3, 4, 4),
        ([1, 1, 1, 1, 1, 1, 1, 0], 1, 7, 3),
    ):
        got = evaluate(assessment_to_response({"age": 40, "startback": [*items, nine[item9]]}))
        assert (got["startback.total"], got["startback.psychosocial"]) == (total, sub)
