"""The contract: strict types, unknown and duplicate keys, ranges, cross-field checks."""

from __future__ import annotations

import json

import pytest

from backstory.contract import AssessmentError, parse_assessment, parse_assessment_json
from backstory.contract.suggest import damerau_levenshtein, suggest


def issues(data: object) -> list[str]:
    with pytest.raises(AssessmentError) as exc:
        parse_assessment(data)
    return [str(i) for i in exc.value.issues]


def test_minimal_assessment_needs_only_age() -> None:
    """Every field is optional except age."""
    a = parse_assessment({"age": 40})
    assert a.age == 40 and dict(a.answers) == {"age": 40}


def test_age_is_required() -> None:
    assert any(i.startswith("age: required") for i in issues({"pain": {"back": 3}}))


@pytest.mark.parametrize("age", [0, 10, 15])
def test_under_16_is_out_of_scope_with_a_reason(age: int) -> None:
    """HZ-10: children are refused with a plain reason naming 16."""
    (msg,) = issues({"age": age})
    assert "16" in msg and "different assessment" in msg


def test_age_upper_bound() -> None:
    assert "from 16 to 110" in issues({"age": 111})[0]


def test_unknown_key_is_an_error_with_a_suggestion_from_the_same_object() -> None:
    """HZ-09: a misspelt red flag never vanishes."""
    (msg,) = issues({"age": 50, "red_flags": {"bladder_problems": True}})
    assert msg.startswith("red_flags.bladder_problems: unknown question")
    assert '"bladder_dysfunction"' in msg


def test_unknown_top_level_key_suggests_group() -> None:
    (msg,) = issues({"age": 50, "redflags": {}})
    assert '"red_flags"' in msg


def test_suggestions_come_from_the_same_object_only() -> None:
    """A pain field misspelt inside red_flags is not matched to pain's keys."""
    (msg,) = issues({"age": 50, "red_flags": {"bak": True}})
    assert '"back"' not in msg


def test_duplicate_keys_are_errors_at_any_depth() -> None:
    text = '{"age": 50, "red_flags": {"fever": false, "fever": true}}'
    with pytest.raises(AssessmentError) as exc:
        parse_assessment_json(text)
    assert str(exc.value.issues[0]).startswith("red_flags.fever: given more than once")
    with pytest.raises(AssessmentError):
        parse_assessment_json('{"age": 50, "age": 51}')


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"age": 50, "red_flags": {"fever": 1}}, "red_flags.fever"),
        ({"age": 50, "red_flags": {"fever": "true"}}, "red_flags.fever"),
        ({"age": 50.0}, "age"),
        ({"age": "50"}, "age"),
        ({"age": True}, "age"),
        ({"age": 50, "pain": {"back": 5.0}}, "pain.back"),
        ({"age": 50, "pain": {"back": 11}}, "pain.back"),
        ({"age": 50, "pain": {"back": -1}}, "pain.back"),
        ({"age": 50, "pain": {"leg_side": "Left"}}, "pain.leg_side"),
        ({"age": 50, "history": {"duration_weeks": True}}, "history.duration_weeks"),
        ({"age": 50, "history": {"duration_weeks": 5201}}, "history.duration_weeks"),
        ({"age": 50, "assessed_on": "2026-13-01"}, "assessed_on"),
        ({"age": 50, "assessed_on": "2026-1-01"}, "assessed_on"),
        ({"age": 50, "movement": {"extension": "worst"}}, "movement.extension"),
        ({"age": 50, "pain": {"back": None}}, "pain.back"),
        ({"age": 50, "pain": [1]}, "pain"),
    ],
)
def test_strict_types_and_ranges(data: dict[str, object], field: str) -> None:
    """Wrong types are errors naming the field, the value and what is allowed."""
    msgs = issues(data)
    assert any(m.startswith(field + ":") for m in msgs), msgs


def test_enum_error_suggests_the_near_value() -> None:
    (msg,) = issues({"age": 50, "pain": {"leg_side": "Left"}})
    assert 'did you mean "left"' in msg


def test_number_accepts_decimals() -> None:
    assert (
        parse_assessment({"age": 50, "history": {"duration_weeks": 2.5}}).get(
            "history.duration_weeks"
        )
        == 2.5
    )


def test_absent_is_kept_distinct_from_false() -> None:
    a = parse_assessment({"age": 50, "red_flags": {"fever": False}})
    assert a.get("red_flags.fever") is False
    assert "red_flags.saddle_anaesthesia" not in a.answers


def test_all_errors_are_reported_together() -> None:
    msgs = issues({"age": 12, "pain": {"back": 12}, "oops": 1})
    assert len(msgs) == 3


def test_cross_field_checks() -> None:
    assert issues({"age": 30, "history": {"age_at_first_onset": 31}})[0].startswith(
        "history.age_at_first_onset"
    )
    assert issues({"age": 30, "exam": {"sij_tests_done": 2, "sij_provocation_positive": 3}})


def test_schema_value() -> None:
    parse_assessment({"age": 30, "schema": "backstory/assessment@1"})
    assert issues({"age": 30, "schema": "backstory/assessment@2"})[0].startswith("schema:")


class TestInstruments:
    def test_startback_needs_nine_answers(self) -> None:
        assert "expected 9 answers" in issues({"age": 30, "startback": [0] * 8})[0]

    def test_startback_item_nine_is_a_word(self) -> None:
        msg = issues({"age": 30, "startback": [0] * 8 + [3]})[0]
        assert msg.startswith("startback[9]") and "very_much" in msg

    def test_startback_items_are_zero_or_one(self) -> None:
        assert issues({"age": 30, "startback": [2] + [0] * 7 + ["slightly"]})[0].startswith(
            "startback[1]"
        )

    def test_startback_may_not_have_gaps(self) -> None:
        assert "required" in issues({"age": 30, "startback": [None] + [0] * 7 + ["slightly"]})[0]

    def test_odi_and_rmdq_allow_null(self) -> None:
        a = parse_assessment({"age": 30, "odi": [None] + [1] * 9, "rmdq": [None] * 24})
        assert a.get("odi")[0] is None

    def test_odi_range(self) -> None:
        assert issues({"age": 30, "odi": [6] + [1] * 9})[0].startswith("odi[1]")


def test_invalid_json_is_a_plain_error() -> None:
    with pytest.raises(AssessmentError) as exc:
        parse_assessment_json("{not json")
    assert "not valid JSON" in str(exc.value)
    with pytest.raises(AssessmentError):
        parse_assessment_json(json.dumps([1, 2]))


def test_damerau_levenshtein_counts_a_swap_as_one_edit() -> None:
    assert damerau_levenshtein("fever", "fevre") == 1
    assert damerau_levenshtein("abc", "abc") == 0
    assert damerau_levenshtein("", "abc") == 3
    assert damerau_levenshtein("kitten", "sitting") == 3


def test_suggest_orders_nearest_first_and_caps_at_three() -> None:
    got = suggest("feve", ["fever", "fear", "feet", "fevers", "xyz"])
    assert got[0] == "fever" and len(got) <= 3 and "xyz" not in got


@pytest.mark.parametrize(
    "text", ["2024-W01-1", "2024-001", "20240101", "2024-01-1 ", "２０２４-01-01"]
)
def test_dates_must_be_written_yyyy_mm_dd(text: str) -> None:
    """Week and ordinal dates that Python would parse are refused: the contract says YYYY-MM-DD."""
    assert issues({"age": 40, "assessed_on": text})[0].startswith("assessed_on:")
