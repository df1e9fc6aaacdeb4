"""QuestionnaireResponse import and export: round trip, and plain errors like the contract's."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given

from backstory.contract import AssessmentError, parse_assessment
from backstory.fhir import assessment_to_response, response_to_assessment
from backstory.testing import assessments

EXAMPLE: dict[str, Any] = {
    "id": "x1",
    "assessed_on": "2026-01-05",
    "age": 52,
    "sex": "male",
    "history": {"duration_weeks": 2.5, "onset": "gradual"},
    "pain": {"back": 6, "leg": 0, "below_knee": False},
    "red_flags": {"fever": False, "bladder_dysfunction": False},
    "startback": [1, 0, 1, 0, 1, 1, 0, 0, "very_much"],
    "odi": [1, 2, None, 3, 4, 5, 0, 1, 2, 3],
}


def problems(qr: Any) -> list[str]:
    with pytest.raises(AssessmentError) as exc:
        response_to_assessment(qr)
    return [str(i) for i in exc.value.issues]


def qr_for(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(assessment_to_response(data)))


def find(qr: dict[str, Any], link_id: str) -> dict[str, Any]:
    stack = list(qr["item"])
    while stack:
        item = stack.pop()
        if item["linkId"] == link_id:
            return item
        stack.extend(item.get("item", []))
    raise KeyError(link_id)


@given(assessments())
def test_round_trip_gives_back_the_same_answers(
    fhir_check: Callable[[dict[str, Any]], list[str]], data: dict[str, Any]
) -> None:
    qr = qr_for(data)  # through JSON text, as another system would send it
    assert fhir_check(qr) == []
    back = response_to_assessment(qr)
    # An instrument given with no answer at all has no items to carry: it comes back as
    # not given (the only difference is which score note the report shows).
    expected = {k: v for k, v in data.items() if not (isinstance(v, list) and set(v) == {None})}
    assert back == expected
    assert parse_assessment(back).answers == parse_assessment(expected).answers


def test_the_response_mirrors_the_form() -> None:
    qr = qr_for(EXAMPLE)
    assert qr["status"] == "completed"
    assert qr["questionnaire"].startswith(
        "https://backstory.example/fhir/Questionnaire/assessment|"
    )
    assert qr["authored"] == "2026-01-05"
    assert [i["linkId"] for i in qr["item"]] == [
        "id",
        "assessed_on",
        "age",
        "sex",
        "history",
        "pain",
        "red_flags",
        "startback",
        "odi",
    ]
    assert find(qr, "pain.below_knee")["answer"] == [{"valueBoolean": False}]
    assert find(qr, "history.duration_weeks")["answer"] == [{"valueDecimal": 2.5}]
    coding = find(qr, "startback.9")["answer"][0]["valueCoding"]
    assert coding["code"] == "very_much" and coding["display"] == "Very much"
    assert find(qr, "odi.2")["answer"][0]["valueCoding"]["code"] == "score-2"
    with pytest.raises(KeyError):
        find(qr, "odi.3")  # unanswered: no item at all


def test_import_ignores_calculated_items_and_keeps_answers_a_form_would_hide() -> None:
    data = {"age": 40, "pain": {"leg": 0, "leg_worse_than_back": True}, "rmdq": [1] * 24}
    qr = qr_for(data)
    find(qr, "rmdq")["item"].append({"linkId": "rmdq.score", "answer": [{"valueInteger": 3}]})
    assert response_to_assessment(qr) == data


def test_items_are_found_by_link_id_wherever_they_sit() -> None:
    qr = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [
            {"linkId": "age", "answer": [{"valueInteger": 30}]},
            {"linkId": "red_flags.fever", "answer": [{"valueBoolean": True}]},
        ],
    }
    assert response_to_assessment(qr) == {"age": 30, "red_flags": {"fever": True}}


def test_unknown_link_ids_get_suggestions_like_unknown_keys() -> None:
    qr = qr_for(EXAMPLE)
    find(qr, "red_flags")["item"].append(
        {"linkId": "red_flags.bladder_problems", "answer": [{"valueBoolean": True}]}
    )
    qr["item"].append({"linkId": "fevr", "answer": [{"valueBoolean": True}]})
    qr["item"].append({"linkId": "pain.bak", "answer": [{"valueInteger": 3}]})
    got = problems(qr)
    assert (
        "red_flags.bladder_problems: unknown question. "
        'Did you mean "red_flags.bladder_dysfunction"? Unknown answers are never ignored.' in got
    )
    assert any(p.startswith('fevr: unknown question. Did you mean "red_flags.fever"') for p in got)
    assert any(p.startswith('pain.bak: unknown question. Did you mean "pain.back"') for p in got)


def test_bad_answers_get_the_contracts_messages() -> None:
    qr = qr_for(EXAMPLE)
    find(qr, "age")["answer"] = [{"valueInteger": 12}]
    find(qr, "pain.back")["answer"] = [{"valueDecimal": 5.5}]
    find(qr, "pain.below_knee")["answer"] = [{"valueString": "yes"}]
    find(qr, "sex")["answer"][0]["valueCoding"]["code"] = "mail"
    find(qr, "startback.3")["answer"][0]["valueCoding"]["code"] = "agreee"
    got = problems(qr)
    assert any(p.startswith("age: 12 is under 16") for p in got)
    assert "pain.back: 5.5 is not allowed; expected a whole number from 0 to 10" in got
    assert 'pain.below_knee: "yes" is not allowed; expected true or false' in got
    assert any(p.startswith('sex: "mail" is not an answer') and '"male"' in p for p in got)
    assert any(p.startswith('startback.3: "agreee"') and 'did you mean "agree"' in p for p in got)


def test_contract_checks_are_named_by_link_id() -> None:
    qr = qr_for(EXAMPLE)
    startback = find(qr, "startback")
    startback["item"] = [i for i in startback["item"] if i["linkId"] != "startback.4"]
    assert "startback.4: missing: all 9 answers are required" in problems(qr)
    qr = qr_for({"age": 30, "history": {"age_at_first_onset": 20}})
    find(qr, "history.age_at_first_onset")["answer"] = [{"valueInteger": 31}]
    assert any(
        p.startswith("history.age_at_first_onset: 31 is more than age") for p in problems(qr)
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda q: q["item"].append(copy.deepcopy(q["item"][2])), "age: given more than once"),
        (
            lambda q: find(q, "pain.back")["answer"].append({"valueInteger": 2}),
            "pain.back: 2 answers given; give one",
        ),
        (
            lambda q: find(q, "red_flags.fever")["answer"][0].update(
                {"item": [{"linkId": "x", "answer": [{"valueBoolean": True}]}]}
            ),
            "red_flags.fever: nested items are not expected under a question",
        ),
        (
            lambda q: find(q, "pain")["item"].insert(
                0, {"linkId": "pain.back", "answer": [{"valueCoding": {"code": "6"}}]}
            ),
            "pain.back: given more than once",
        ),
        (
            lambda q: find(q, "sex")["answer"][0]["valueCoding"].update({"system": "http://x"}),
            "sex: answer codes must come from",
        ),
        (
            lambda q: q.update({"questionnaire": "http://example.org/Questionnaire/phq9"}),
            "questionnaire: http://example.org/Questionnaire/phq9 is not a Backstory questionnaire",
        ),
        (lambda q: q.pop("status"), "not a valid FHIR QuestionnaireResponse"),
        (lambda q: q.update({"resourceType": "Patient"}), "expected a FHIR QuestionnaireResponse"),
    ],
)
def test_malformed_responses_are_refused_plainly(
    change: Callable[[dict[str, Any]], Any], expected: str
) -> None:
    qr = qr_for(EXAMPLE)
    change(qr)
    assert any(expected in p for p in problems(qr)), problems(qr)


def test_a_coded_answer_to_a_plain_question_is_refused() -> None:
    qr = qr_for(EXAMPLE)
    find(qr, "pain.leg")["answer"] = [{"valueCoding": {"code": "0"}}]
    assert any(p.startswith("pain.leg: a coded answer is not allowed") for p in problems(qr))


def test_not_an_object_is_refused() -> None:
    assert problems([1, 2]) == ["expected a FHIR QuestionnaireResponse (one JSON object)"]
