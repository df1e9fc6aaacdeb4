"""The batch mode gives exactly the single-assessment engine's answers (issue 6).

Hypothesis draws valid assessments; they go through the flat form (CSV text, read back
as text cells, and typed frames as a Parquet file holds them) and the compiled Polars
pipeline, and every output column is compared with Engine.assess per row. Bulk tests add
thousands of rows per run from seeded generators, so the fast profile still compares
many thousands of assessments.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backstory.batch.flat import row_to_assessment
from backstory.batch.run import score_frame
from backstory.batch.synth import cohort
from backstory.contract.spec import load_contract
from backstory.testing import assessments

from .conftest import Expect, assert_same, csv_frame, typed_frame


# Hypothesis cannot draw fifty full assessments in one example (its buffer overflows), so
# each example is a few drawn ones (which shrink) plus 45 from a drawn seed: ~50 rows.
@given(
    drawn=st.lists(assessments(), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_rows_score_like_the_engine(drawn: list[dict[str, Any]], seed: int, expect: Expect) -> None:
    rng = random.Random(seed)
    data = drawn + [_random_assessment(rng) for _ in range(45)]
    want = expect(data)
    for frame in (csv_frame(data), typed_frame(data)):
        res = score_frame(frame)
        assert res.rows_rejected == 0, res.errors.rows()
        assert_same(res.scored, want)


def _random_assessment(rng: random.Random) -> dict[str, Any]:
    """Like backstory.testing.assessments, drawn with random (thousands per second).

    Edge values are favoured: range ends, thresholds the knowledge uses, every enum value,
    red flags mostly false, instruments with gaps, and contradictory answers.
    """
    c = load_contract()
    density = rng.choice([0.2, 0.5, 0.8])
    data: dict[str, Any] = {
        "age": rng.choice(
            [16, 34, 35, 39, 40, 44, 45, 49, 50, 59, 60, 69, 70, 110, rng.randint(16, 110)]
        )
    }
    if rng.random() < 0.5:
        data["id"] = f"r{rng.randint(0, 10**6)}"
    for gname, fields in c.groups.items():
        group: dict[str, Any] = {}
        for key, spec in fields.items():
            if rng.random() >= density:
                continue
            if spec.type == "bool":
                group[key] = rng.random() < (0.25 if gname == "red_flags" else 0.5)
            elif spec.type == "enum":
                group[key] = rng.choice(spec.values)
            elif spec.type == "int":
                lo, hi = int(spec.minimum or 0), int(spec.maximum or 0)
                group[key] = rng.choice([lo, hi, rng.randint(lo, min(hi, 20)), rng.randint(lo, hi)])
            elif spec.type == "number":
                group[key] = rng.choice(
                    [0, 1.999, 2, 13, 13.0000001, 12.5, rng.uniform(0, 400), rng.randint(0, 5200)]
                )
        if group:
            data[gname] = group
    hist = data.get("history", {})
    if "age_at_first_onset" in hist:
        hist["age_at_first_onset"] = min(hist["age_at_first_onset"], data["age"])
    exam = data.get("exam", {})
    if "sij_provocation_positive" in exam and "sij_tests_done" in exam:
        exam["sij_provocation_positive"] = min(
            exam["sij_provocation_positive"], exam["sij_tests_done"]
        )
    for name, inst in c.instruments.items():
        if rng.random() < 0.4:
            continue
        items = []
        for spec in inst.items:
            items.append(
                rng.choice(spec.values)
                if spec.type == "enum"
                else rng.randint(int(spec.minimum or 0), int(spec.maximum or 0))
            )
        if not inst.required_all:
            gaps = rng.choice([0, 0, 1, 2])
            for i in rng.sample(range(inst.length), gaps):
                items[i] = None
        data[name] = items
    return data


@pytest.mark.parametrize("form", ["typed", "csv"])
def test_thousands_of_random_rows_score_like_the_engine(form: str, expect: Expect) -> None:
    rng = random.Random(6)
    n = 20 * (settings().max_examples or 150)  # 3,000 in the fast profile, 100,000 thorough
    data = [_random_assessment(rng) for _ in range(n)]
    res = score_frame(typed_frame(data) if form == "typed" else csv_frame(data))
    assert res.rows_rejected == 0, res.errors.head(5).rows()
    assert_same(res.scored, expect(data))


def test_synthetic_cohort_scores_like_the_engine(expect: Expect) -> None:
    df = cohort(3000, seed=11, missing_rate=0.1)
    data = [row_to_assessment(r) for r in df.iter_rows(named=True)]
    res = score_frame(df)
    assert_same(res.scored, expect(data))
