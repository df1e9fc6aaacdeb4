"""Properties over generated reports: never crashes, negated never urgent, input errors plain."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backstory.imaging import ScanInputError, explain_scan

PHRASES = [
    "disc bulge",
    "disk protrusion",
    "extrusion",
    "annular tear",
    "HIZ",
    "DDD",
    "facet arthropathy",
    "grade 2 anterolisthesis",
    "retrolisthesis",
    "Modic type 1 changes",
    "canal stenosis",
    "compression of the cauda equina",
    "cord compression",
    "compression fracture",
    "metastasis",
    "discitis",
    "epidural abscess",
    "haemangioma",
    "contacting the S1 nerve root",
]
NEGATIONS = ["No", "No evidence of", "Without", "Negative for"]
LEVELS = ["L3/4", "L4-L5", "L4-5", "L5/S1", "at L2/3"]

negated_sentence = st.builds(
    lambda n, p, lv: f"{n} {p} {lv}.",
    st.sampled_from(NEGATIONS),
    st.sampled_from(PHRASES),
    st.sampled_from(LEVELS),
)
plain_sentence = st.builds(
    lambda p, lv: f"{p.capitalize()} {lv}.", st.sampled_from(PHRASES), st.sampled_from(LEVELS)
)


@settings(max_examples=60, deadline=None)
@given(st.lists(negated_sentence, min_size=1, max_size=6), st.integers(16, 110))
def test_only_negated_sentences_are_never_urgent(sentences: list[str], age: int) -> None:
    """A report that only says what is absent is never urgent and lists nothing as present."""
    result = explain_scan(" ".join(sentences), age)

    assert not result.urgent
    assert all(f.negated for f in result.findings)
    assert all(f.prevalence_percent is None for f in result.findings)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(negated_sentence, plain_sentence), min_size=1, max_size=8))
def test_urgent_iff_a_present_urgent_finding(sentences: list[str]) -> None:
    """The report is urgent exactly when a present finding is urgent."""
    result = explain_scan(" ".join(sentences), 50)

    assert result.urgent == any(f.concern == "urgent" for f in result.present)
    for f in result.findings:
        if f.concern == "urgent":
            assert f.prevalence_percent is None


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=300), st.integers(16, 110))
def test_any_text_never_crashes(text: str, age: int) -> None:
    """Arbitrary text gives an explanation or a plain input error, nothing else."""
    try:
        result = explain_scan(text, age)
    except ScanInputError:
        assert not text.strip()
    else:
        assert result.age == age


@pytest.mark.parametrize("age", [15, 111, -1, 0])
def test_age_out_of_range(age: int) -> None:
    """Ages outside 16-110 are refused with a plain message."""
    with pytest.raises(ScanInputError):
        explain_scan("Disc bulge.", age)


@pytest.mark.parametrize("age", [True, 45.0, "45"])
def test_age_not_an_integer(age: object) -> None:
    """Only a whole number of years is accepted."""
    with pytest.raises(ScanInputError):
        explain_scan("Disc bulge.", age)  # type: ignore[arg-type]
