"""Brinjikji 2015 Table 2: exact at the table's ages, interpolated between, clamped outside."""

from __future__ import annotations

from fractions import Fraction
from math import floor

import pytest

from backstory.imaging import explain_scan, load_imaging_knowledge, prevalence_for_age

# Brinjikji et al. 2015, AJNR 36:811, Table 2, typed in again here so the test does not
# trust the data file it checks.
TABLE_2 = {
    "disc_degeneration": [37, 52, 68, 80, 88, 93, 96],
    "disc_signal_loss": [17, 33, 54, 73, 86, 94, 97],
    "disc_height_loss": [24, 34, 45, 56, 67, 76, 84],
    "disc_bulge": [30, 40, 50, 60, 69, 77, 84],
    "disc_protrusion": [29, 31, 33, 36, 38, 40, 43],
    "annular_fissure": [19, 20, 22, 23, 25, 27, 29],
    "facet_degeneration": [4, 9, 18, 32, 50, 69, 83],
    "spondylolisthesis": [3, 5, 8, 14, 23, 35, 50],
}
AGES = [20, 30, 40, 50, 60, 70, 80]


def _expected(row: str, age: int) -> int:
    a = min(max(age, 20), 80)
    i = min((a - 20) // 10, 5)
    lo, hi = TABLE_2[row][i], TABLE_2[row][i + 1]
    return floor(lo + Fraction(hi - lo) * Fraction(a - AGES[i], 10) + Fraction(1, 2))


def test_data_file_holds_table_2() -> None:
    """The data file's table is Table 2, all 8 findings, exactly."""
    table = load_imaging_knowledge().prevalence

    assert list(table.ages) == AGES
    assert {k: list(v.values) for k, v in table.rows.items()} == TABLE_2


@pytest.mark.parametrize("row", sorted(TABLE_2))
@pytest.mark.parametrize("index", range(7))
def test_exact_at_table_ages(row: str, index: int) -> None:
    """At 20, 30, ... 80 the figure is the table's, unchanged."""
    table = load_imaging_knowledge().prevalence

    assert TABLE_2[row][index] == prevalence_for_age(table, row, AGES[index])


def test_interpolation_examples() -> None:
    """Straight-line between decades, rounded half up to a whole percent."""
    table = load_imaging_knowledge().prevalence

    assert prevalence_for_age(table, "disc_degeneration", 45) == 74  # (68 + 80) / 2
    assert prevalence_for_age(table, "disc_bulge", 45) == 55
    assert prevalence_for_age(table, "disc_protrusion", 45) == 35  # 34.5 rounds up
    assert prevalence_for_age(table, "facet_degeneration", 63) == 56  # 50 + 0.3 * 19 = 55.7
    assert prevalence_for_age(table, "spondylolisthesis", 71) == 37  # 35 + 1.5 = 36.5


@pytest.mark.parametrize("row", sorted(TABLE_2))
def test_every_age_matches_independent_formula(row: str) -> None:
    """Every whole age the explainer accepts agrees with an independent calculation."""
    table = load_imaging_knowledge().prevalence

    for age in range(16, 111):
        assert _expected(row, age) == prevalence_for_age(table, row, age)


def test_clamped_below_20_and_above_80() -> None:
    """Ages under 20 use the age-20 figures; ages over 80 use the age-80 figures."""
    table = load_imaging_knowledge().prevalence

    assert prevalence_for_age(table, "disc_degeneration", 16) == 37
    assert prevalence_for_age(table, "disc_degeneration", 19) == 37
    assert prevalence_for_age(table, "disc_degeneration", 81) == 96
    assert prevalence_for_age(table, "disc_degeneration", 110) == 96


def test_clamped_age_is_said_plainly() -> None:
    """The sentence names the age whose figure is used, and a caveat says why."""
    young = explain_scan("Mild disc bulge at L5/S1.", 16)
    old = explain_scan("Mild disc bulge at L5/S1.", 95)

    assert young.findings[0].prevalence_percent == 30
    assert young.prevalence_age == 20
    assert "aged 20" in (young.findings[0].prevalence_text or "")
    assert "age-below-table" in {c.id for c in young.caveats}
    assert old.findings[0].prevalence_percent == 84
    assert "age-above-table" in {c.id for c in old.caveats}


def test_prevalence_sentence() -> None:
    """The sentence the spec asks for, with the interpolated figure."""
    result = explain_scan("Disc degeneration at L4/5.", 45)

    assert result.findings[0].prevalence_text == (
        "About 74 in 100 people aged 45 with no back pain have this on a scan."
    )


@pytest.mark.parametrize(
    ("text", "finding_id"),
    [
        ("Modic type 1 changes at L4/5.", "modic"),
        ("Moderate canal stenosis at L4/5.", "stenosis"),
        ("Disc extrusion at L5/S1.", "disc_extrusion"),
    ],
)
def test_no_figure_said_plainly(text: str, finding_id: str) -> None:
    """Findings Table 2 has no figure for get null and a plain reason."""
    f = explain_scan(text, 45).findings[0]

    assert f.id == finding_id
    assert f.prevalence_percent is None
    assert f.prevalence_text
    assert "did not give one" in f.prevalence_text
