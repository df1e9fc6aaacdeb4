"""Edge inputs are refused in plain words (issue 13, item 4): ids, dates and hostile JSON.

Each case here was reproduced against the previous version, where it was accepted (an
empty id that later broke the FHIR export, dates in year 1 or 9999) or failed with a
Python error instead of an AssessmentError (deep nesting, huge integers, lone surrogates).
"""

from __future__ import annotations

import datetime as dt

import pytest

from backstory.contract import AssessmentError, parse_assessment, parse_assessment_json, safejson

TODAY = dt.date(2026, 12, 6)


def problems(data: object, today: dt.date | None = TODAY) -> list[str]:
    try:
        parse_assessment(data, today=today)
    except AssessmentError as exc:
        return [str(i) for i in exc.issues]
    return []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "empty text is not allowed"),
        ("\u202eabc", "U+202E, a control or invisible character"),
        ("a\u200bb", "U+200B"),
        ("a\u200db", "U+200D"),
        ("\ufeffp1", "U+FEFF"),
        ("a\tb", "U+0009"),
        ("a\nb", "U+000A"),
        ("a\x00b", "U+0000"),
        ("\u00a0", "U+00A0"),
        ("\ue000", "U+E000"),
        ("x" * 201, "201 characters is too long; at most 200"),
    ],
)
def test_ids_must_be_printable_text(value: str, words: str) -> None:
    got = problems({"age": 40, "id": value})
    assert len(got) == 1 and got[0].startswith("id: ") and words in got[0], got


@pytest.mark.parametrize("value", ["p1", " p 1 ", "café", "cafe\u0301", "患者-7", "x" * 200, "=1"])
def test_printable_ids_are_kept_as_given(value: str) -> None:
    assert problems({"age": 40, "id": value}) == []
    assert parse_assessment({"age": 40, "id": value}).id == value


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("1899-12-31", False),  # just before the earliest
        ("1900-01-01", True),  # the earliest
        ("0001-01-01", False),
        ("2026-12-07", True),  # today plus the one-day margin
        ("2026-12-08", False),  # just past it
        ("9999-12-31", False),
        ("2026-12-06", True),
    ],
)
def test_dates_are_within_1900_and_today_plus_one_day(value: str, ok: bool) -> None:
    got = problems({"age": 40, "assessed_on": value})
    assert (got == []) is ok, got
    if not ok:
        assert got[0].startswith("assessed_on: " + value)


def test_the_future_limit_needs_the_adapters_date() -> None:
    # the core has no clock: without a date only the earliest is checked
    assert problems({"age": 40, "assessed_on": "2090-01-01"}, today=None) == []
    assert problems({"age": 40, "assessed_on": "1899-12-31"}, today=None)
    msg = problems({"age": 40, "assessed_on": "2090-01-01"})[0]
    assert "in the future: the latest date accepted is 2026-12-07" in msg


HOSTILE = {
    "arrays nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "objects nested 65 deep": '{"a":' * 65 + "1" + "}" * 65,
    "an integer of 10,000 digits": '{"age": 1' + "0" * 10_000 + "}",
    "a lone surrogate": '{"age": 40, "id": "\\ud800"}',
    "a lone surrogate in a key": '{"age": 40, "\\udfff": 1}',
    "more than 1 MiB": '{"age": 40, "id": "' + "x" * (1024 * 1024) + '"}',
    "not JSON": "{age: 40",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_json_is_an_assessment_error(text: str) -> None:
    with pytest.raises(AssessmentError) as err:
        parse_assessment_json(text)
    assert len(err.value.issues) == 1 and err.value.issues[0].field == ""


def test_the_safe_reader_counts_only_real_nesting() -> None:
    # brackets inside strings (escaped quotes too) are text, not nesting
    text = '{"id": "[[[[\\"[[[[", "age": 40}'
    assert safejson.nesting_depth(text.encode(), 64) == 1
    assert safejson.loads("[" * 64 + "]" * 64) is not None
    with pytest.raises(safejson.UnsafeJson, match="nested more than 64"):
        safejson.loads("[" * 65 + "]" * 65)
    with pytest.raises(safejson.UnsafeJson, match="nested more than 3"):
        safejson.loads("[[[[]]]]", max_depth=3)
    assert safejson.loads("1" * 100) == int("1" * 100)
    with pytest.raises(safejson.UnsafeJson, match="101 digits"):
        safejson.loads("-" + "1" * 101)
    with pytest.raises(safejson.UnsafeJson, match="larger than 10 bytes"):
        safejson.loads(b"[1,2,3,4,5,6]", max_bytes=10)
    with pytest.raises(safejson.UnsafeJson, match="not UTF-8"):
        safejson.loads(b'"\xff"')
    assert safejson.loads('"\\ud83d\\ude00"') == "\U0001f600"  # a proper pair is fine


def test_whole_numbers_written_with_a_fraction_are_refused_in_plain_words() -> None:
    # the contract is strict (an integer is not 5.0); the API document says so in words,
    # since JSON Schema's integer type cannot (see tests/web/test_web_edges.py)
    assert problems({"age": 40.0}) == [
        "age: 40.0 is not allowed; expected a whole number from 16 to 110"
    ]
    assert problems({"age": 40, "odi": [1.0, *[None] * 9]}) == [
        "odi[1]: 1.0 is not allowed; expected a whole number from 0 to 5"
    ]
