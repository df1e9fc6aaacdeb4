"""Batch validation decides exactly as the single-assessment validator (issue 6).

Each flat row stands for one JSON assessment (``row_to_assessment``); the batch checks must
reject the same rows, name the same fields and use the validator's own words.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backstory.batch.flat import columns_by_name, flat_columns, row_to_assessment
from backstory.batch.validate import ColumnError, Messages, check_columns, validate
from backstory.contract import AssessmentError, parse_assessment
from backstory.testing import assessments

from .conftest import csv_frame, typed_frame

COLUMNS = [c.name for c in flat_columns()]
TODAY = dt.date(2026, 6, 1)
"""The run's date in these tests: both validators get the same one (dates after it + 1 day
are refused)."""
CELLS: dict[str, list[str]] = {
    "bool": ["true", "false", "yes", "1", "TRUE", "", " true", "null"],
    "int": [
        "0",
        "-0",
        "5",
        "05",
        "+5",
        "5.0",
        "1e2",
        "-1",
        "11",
        "15",
        "16",
        "110",
        "111",
        "abc",
        "99999999999999999999999",
        " 3",
    ],
    "number": [
        "13",
        "13.5",
        "1e2",
        "1E+2",
        "-0.0",
        "-1",
        "5201",
        "5200.0000000000001",
        "NaN",
        "inf",
        ".5",
        "5.",
        "0x10",
        "1e400",
        "2",
    ],
    "enum": ["worse", "wrose", "Worse", "both", "none", "left", "positive", "female", "x"],
    "date": [
        "2024-01-31",
        "2024-02-30",
        "2024-W01-1",
        "20240101",
        "2024-1-1",
        "0000-01-01",
        "9999-12-31",
        "2024-01-01T00",
        # the range: not before 1900, not after the run's date plus one day (at and past)
        "1899-12-31",
        "1900-01-01",
        "0001-01-01",
        "2026-06-02",
        "2026-06-03",
    ],
    "string": [
        "p1",
        " ",
        "007",
        "\u202eabc",  # a right-to-left override
        "a\u200bb",  # a zero-width space
        "a\tb",
        "\ufeffp1",
        "caf\u00e9",
        "cafe\u0301",
        "\u00a0",
        "=HYPERLINK(1)",
        "x" * 200,
        "x" * 201,
        "\u00e9" * 201,
    ],
}


def expected(row: dict[str, Any]) -> set[tuple[str, str]]:
    """(column, message) for every problem the single-assessment validator finds."""
    try:
        parse_assessment(row_to_assessment(row), today=TODAY)
    except AssessmentError as exc:
        out = set()
        for issue in exc.issues:
            name = issue.field.replace("[", "_").rstrip("]").replace(".", "_")
            msg = issue.message.replace(" exam.sij_tests_done (", " exam_sij_tests_done (")
            out.add((name, msg))
        return out
    return set()


def check_same(raw: pl.DataFrame) -> None:
    res = validate(raw, messages=Messages(today=TODAY))
    got: dict[int, set[tuple[str, str]]] = {}
    for row, field, message in res.errors.select("row", "field", "message").iter_rows():
        got.setdefault(row, set()).add((field, message))
    for i, row in enumerate(raw.iter_rows(named=True), start=1):
        assert got.get(i, set()) == expected(row), f"row {i}: {row_to_assessment(row)}"
    valid = res.valid.collect()
    assert valid.height + res.rows_rejected == raw.height
    assert set(valid.get_column("row").to_list()).isdisjoint(got)


@st.composite
def broken_rows(draw: st.DrawFn) -> pl.DataFrame:
    """Valid assessments as CSV text, then some cells replaced by doubtful text."""
    data = draw(st.lists(assessments(), min_size=1, max_size=3))
    rows = csv_frame(data).to_dicts()
    by_name = columns_by_name()
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, len(rows) - 1))
        name = draw(st.sampled_from(COLUMNS))
        pool = CELLS[by_name[name].spec.type]
        rows[i][name] = draw(st.one_of(st.sampled_from(pool), st.text(max_size=4)))
    return pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String))


@given(raw=broken_rows())
def test_text_cells_get_the_validators_verdict(raw: pl.DataFrame) -> None:
    check_same(raw)


@pytest.mark.parametrize(
    ("name", "series"),
    [
        ("pain_back", pl.Series([5.0, 3.5, None, float("nan")])),
        ("pain_back", pl.Series([True, False, None, True])),
        ("pain_back", pl.Series([0, 10, 11, -1], dtype=pl.Int64)),
        ("red_flags_fever", pl.Series([1, 0, None, 1])),
        ("history_duration_weeks", pl.Series([1.5, float("nan"), float("inf"), 5200.5])),
        ("history_duration_weeks", pl.Series([13, 0, 5201, None], dtype=pl.Int32)),
        ("id", pl.Series([7, 8, None, 9])),
        (
            "assessed_on",
            pl.Series([dt.date(2024, 1, 2), None, dt.date(1, 1, 1), dt.date(9999, 12, 31)]),
        ),
        ("sex", pl.Series(["female", "Male", None, ""], dtype=pl.Categorical)),
        (
            "history_duration_weeks",
            pl.Series(
                [Decimal("5"), None, Decimal("5200.5"), Decimal("13.0")], dtype=pl.Decimal(6, 1)
            ),
        ),
        ("assessed_on", pl.Series([dt.datetime(2024, 1, 1), None, None, dt.datetime(2024, 2, 1)])),
        ("movement_extension", pl.Series(["worse", "wrose", None, "better"])),
        ("age", pl.Series([15, 16, 110, 111], dtype=pl.Int16)),
        ("startback_9", pl.Series([1, 2, 3, 4])),
        # columns judged whole from their minimum, maximum and NaNs (no per-row check)
        ("pain_back", pl.Series([0, 10, None, 5], dtype=pl.Int64)),
        ("pain_back", pl.Series([None, None, None, None], dtype=pl.Int8)),
        ("age", pl.Series([16, 110, 40, 40], dtype=pl.UInt64)),
        ("age", pl.Series([2**63 - 1, 40, 40, 40], dtype=pl.Int64)),
        ("age", pl.Series([-(2**63), 40, 40, 40], dtype=pl.Int64)),
        ("history_duration_weeks", pl.Series([13.5, 0.0, None, 5200.0])),
        ("history_duration_weeks", pl.Series([float("nan"), None, None, None])),
        ("history_duration_weeks", pl.Series([float("-inf"), None, None, 3.0])),
        ("history_duration_weeks", pl.Series([1, 2, None, 5200], dtype=pl.Int16)),
        ("assessed_on", pl.Series(["2024-01-31", None, "", "2024-02-01"])),
        ("assessed_on", pl.Series(["2024-01-31", None, "", "2024-02-30"])),
        ("assessed_on", pl.Series(["2024-01-31", "2024-W01-1", "", "2024-01-31"])),
        ("id", pl.Series(["a", "", None, " "])),
        ("id", pl.Series(["a\u202e", "\u200b", "ok", "\u00e9" * 200])),
        ("id", pl.Series(["x" * 200, "x" * 201, "\x00", "\u00e9" * 201])),
        ("assessed_on", pl.Series(["1899-12-31", "1900-01-01", "2026-06-02", "2026-06-03"])),
        (
            "assessed_on",
            pl.Series([dt.date(1899, 12, 31), dt.date(1900, 1, 1), TODAY, dt.date(9999, 12, 31)]),
        ),
    ],
)
def test_typed_columns_get_the_validators_verdict(name: str, series: pl.Series) -> None:
    base = typed_frame([{"age": 40}] * 4)
    raw = base.with_columns(series.alias(name))
    if name.startswith("startback"):
        raw = raw.with_columns(pl.lit(1, pl.Int8).alias(f"startback_{i}") for i in range(1, 9))
    check_same(raw)


def test_empty_cells_are_absent_and_quoted_empty_too() -> None:
    raw = pl.DataFrame({"age": ["40", "40"], "id": ["", None], "red_flags_fever": ["", None]})
    res = validate(raw)
    assert res.rows_rejected == 0
    valid = res.valid.collect()
    assert valid.get_column("id").to_list() == [None, None]
    assert valid.get_column("red_flags.fever").to_list() == [None, None]


def test_messages_are_plain_and_name_the_column() -> None:
    raw = pl.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "age": ["15", "", "40", "40", "30"],
            "red_flags_fever": ["yes", "true", "true", "false", "false"],
            "startback_1": [None, None, "1", None, None],
            "history_age_at_first_onset": [None, None, None, None, "31"],
        }
    )
    res = validate(raw)
    lines = set(res.errors.iter_rows())
    assert (
        1,
        "a",
        "age",
        "15 is under 16: Backstory is for people aged 16 or over, because "
        "back pain in children and younger teenagers needs a different assessment",
    ) in lines
    assert (1, "a", "red_flags_fever", '"yes" is not allowed; expected true or false') in lines
    assert (2, "b", "age", "required: give the age in years (16 to 110)") in lines
    assert (3, "c", "startback_2", "missing: all 9 answers are required") in lines
    assert (
        5,
        "e",
        "history_age_at_first_onset",
        "31 is more than age (30): the age when back "
        "pain first began cannot be more than the current age",
    ) in lines
    assert res.rows_rejected == 4
    assert res.valid.collect().get_column("row").to_list() == [4]


def test_unknown_columns_stop_the_run_with_suggestions() -> None:
    with pytest.raises(ColumnError) as err:
        check_columns(["age", "red_flags_bladder_problems", "pain_bakc"])
    text = str(err.value)
    assert (
        'unknown column "red_flags_bladder_problems". Did you mean "red_flags_bladder_dysfunction"?'
        in text
    )
    assert '"pain_back"' in text
    with pytest.raises(ColumnError, match="more than once"):
        check_columns(["age", "age"])
    with pytest.raises(ColumnError, match='no "age" column'):
        check_columns(["pain_back"])
    check_columns(COLUMNS)


def test_week_dates_follow_the_validator() -> None:
    # the single-assessment validator accepts ISO week dates (2024-W01-1) through
    # date.fromisoformat; the batch mode must decide the same way (reported upstream)
    raw = pl.DataFrame({"age": ["40"], "assessed_on": ["2024-W01-1"]})
    rejected = validate(raw, messages=Messages(today=TODAY)).rows_rejected
    assert rejected == (1 if expected(raw.row(0, named=True)) else 0)
