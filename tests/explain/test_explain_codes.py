"""Codes (HZ-06): only verified codes, with their source's exact display, and never a trap."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from backstory.contract import parse_assessment
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.explain import codes_for, compose_clinician, load_code_table
from backstory.knowledge.codes import CodeTableError, parse_codes
from backstory.knowledge.loader import KnowledgeBase, load_knowledge
from backstory.testing import assessments

# Displays as read in the source each verified code cites (the CMS ACCESS MSK value set),
# typed here so that a changed display in the data fails this test.
SOURCE_DISPLAYS = {
    ("ICD-10-CM", "M54.30"): "Sciatica, unspecified side",
    ("ICD-10-CM", "M54.31"): "Sciatica, right side",
    ("ICD-10-CM", "M54.32"): "Sciatica, left side",
    ("ICD-10-CM", "M54.40"): "Lumbago with sciatica, unspecified side",
    ("ICD-10-CM", "M54.41"): "Lumbago with sciatica, right side",
    ("ICD-10-CM", "M54.42"): "Lumbago with sciatica, left side",
}
# The coding traps of the evidence notes (clinical.md section 8), typed here.
TRAPS = {
    ("ICD-10-CM", "M47.816"),
    ("ICD-10-CM", "M47.26"),
    ("ICD-10-CM", "C79.31"),
    ("SNOMED-CT", "94503003"),
    ("ICD-10-CM", "M54.5"),
}
KB = load_knowledge()


def check_codes(report: Report, answers: Any = None) -> None:
    table = load_code_table()
    result = codes_for(report, answers)
    systems = [c.system for c in result.codes]
    assert len(systems) == len(set(systems)), "at most one code per system"
    for c in result.codes:
        entry = next(e for e in table.codes if e.id == c.entry)
        assert entry.status == "verified"
        assert (c.system, c.code) not in TRAPS
        assert not table.is_never_use(c.system, c.code)
        assert c.display == entry.display == SOURCE_DISPLAYS[(c.system, c.code)]
        assert report.category == "radicular"  # suspected conditions and patterns: no code
    if report.triage.suspected:
        assert result.codes == ()


def test_verified_entries_match_their_source() -> None:
    """The verified codes the clinician summary can show (those with `when`)."""
    table = load_code_table()
    verified = {
        (c.system, c.code): c.display for c in table.codes if c.status == "verified" and c.when
    }
    assert verified == SOURCE_DISPLAYS


def test_codes_without_when_are_never_in_the_summary(cases: dict[str, Any]) -> None:
    """The codes only the FHIR export names (G83.4 among them) never reach the summary."""
    fhir_only = {c.id for c in load_code_table().codes if not c.when}
    assert "icd10cm-g83-4" in fhir_only
    for c in cases.values():
        result = codes_for(c.report, c.assessment.answers)
        assert not {e.entry for e in result.codes} & fhir_only
    ces = cases["p01-cauda-equina"]
    text = compose_clinician(ces.report, ces.assessment.answers).message_text("clinician-codes")
    assert "G83.4" not in text


def test_every_trap_is_listed_with_a_reason() -> None:
    table = load_code_table()
    listed = {(n.system, n.code) for n in table.never_use}
    assert listed >= TRAPS
    assert all(n.reason and n.citations for n in table.never_use)
    assert not any((c.system, c.code) in listed for c in table.codes)


def test_snomed_and_who_codes_are_never_output() -> None:
    """SNOMED CT and WHO ICD-10 entries are held back until checked in their own browsers."""
    for c in load_code_table().codes:
        if c.system in ("SNOMED-CT", "ICD-10"):
            assert c.status != "verified", c.id


def test_table_refuses_a_trap_and_overlaps() -> None:
    raw: dict[str, Any] = {
        "version": "2026.1.0",
        "systems": [{"id": "ICD-10-CM", "uri": "u", "name": "n"}],
        "codes": [
            {
                "id": "bad",
                "system": "ICD-10-CM",
                "code": "M47.816",
                "display": "Spondylosis with radiculopathy, lumbar",
                "status": "verified",
                "when": {"category": ["non_specific"]},
                "citations": ["ex-access-msk-valueset"],
            },
            {
                "id": "other",
                "system": "ICD-10-CM",
                "code": "M54.50",
                "display": "Low back pain, unspecified",
                "status": "verified",
                "when": {"category": ["non_specific"]},
                "citations": ["ex-access-msk-valueset"],
            },
        ],
        "never_use": [
            {"system": "ICD-10-CM", "code": "M47.816", "reason": "r", "citations": ["x"]}
        ],
    }
    with pytest.raises(CodeTableError) as exc:
        parse_codes(raw)
    assert "is listed in never_use" in str(exc.value)
    assert "can apply to the same report" in str(exc.value)


def _one_code(**entry: Any) -> dict[str, Any]:
    return {
        "version": "2026.1.0",
        "systems": [
            {"id": "ICD-10-CM", "uri": "u", "name": "n"},
            {"id": "risk-probability", "uri": "r", "name": "r", "fhir_spec": True},
        ],
        "codes": [{"id": "c", "system": "ICD-10-CM", "code": "X", **entry}],
        "never_use": [{"system": "ICD-10-CM", "code": "Y", "reason": "r", "citations": ["x"]}],
    }


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"status": "verified", "citations": ["s"]}, "a verified code needs its display"),
        ({"status": "verified", "display": "D"}, "must cite the source that verifies it"),
        ({"status": "secondary", "display": "D"}, "needs a note saying why"),
        (
            {"status": "secondary", "display": "D", "note": "n", "when": {"category": ["x"]}},
            "needs a display and citations",
        ),
        (
            {"status": "verified", "display": "D", "citations": ["s"], "system": "ICD-11"},
            "system 'ICD-11' is not in systems",
        ),
    ],
)
def test_table_refuses_incomplete_entries(entry: dict[str, Any], words: str) -> None:
    with pytest.raises(CodeTableError, match=words):
        parse_codes(_one_code(**entry))


def test_fhir_spec_codes_need_no_citation_and_citations_must_resolve() -> None:
    spec = {"system": "risk-probability", "status": "verified", "display": "Low", "note": "n"}
    assert parse_codes(_one_code(**spec)).code("c").display == "Low"
    cited = {"status": "verified", "display": "D", "citations": ["no-such-source"]}
    with pytest.raises(CodeTableError, match="codes/c: cites unknown source 'no-such-source'"):
        parse_codes(_one_code(**cited), sources={"x": object()})


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"pain": {"back": 3, "leg": 8, "leg_side": "right", "below_knee": True}}, "M54.41"),
        ({"pain": {"back": 0, "leg": 8, "leg_side": "left", "below_knee": True}}, "M54.32"),
        (
            {
                "pain": {
                    "leg": 8,
                    "leg_side": "right",
                    "below_knee": True,
                    "leg_worse_than_back": True,
                }
            },
            "M54.31",
        ),
        (
            {"pain": {"back": 2, "leg": 8, "below_knee": True, "leg_worse_than_back": True}},
            "M54.40",
        ),
    ],
)
def test_sciatica_codes(extra: dict[str, Any], expected: str) -> None:
    report = assess(parse_assessment({"age": 40, **extra}), KB)
    assert report.category == "radicular"
    codes = codes_for(report, parse_assessment({"age": 40, **extra}).answers).codes
    assert [c.code for c in codes] == [expected]


@pytest.mark.parametrize(
    "extra",
    [
        # femoral nerve pain is not sciatica
        {
            "pain": {"back": 3, "leg": 6, "leg_side": "left"},
            "exam": {"femoral_stretch_positive": True},
        },
        # leg pain that stops above the knee
        {
            "pain": {"back": 3, "leg": 6, "leg_side": "left", "below_knee": False},
            "neuro": {"dermatomal": True},
        },
    ],
)
def test_radicular_without_a_fitting_code(extra: dict[str, Any]) -> None:
    a = parse_assessment({"age": 40, **extra})
    report = assess(a, KB)
    assert report.category == "radicular"
    assert codes_for(report, a.answers).codes == ()


def test_no_code_for_non_specific_or_suspected(cases: dict[str, Any]) -> None:
    for name in ("p01-cauda-equina", "p02-facet-pattern", "p05-axial-spa", "p08-spinal-infection"):
        c = cases[name]
        assert codes_for(c.report, c.assessment.answers).codes == ()
        text = compose_clinician(c.report, c.assessment.answers).message_text("clinician-codes")
        assert "No verified code applies" in text


def test_examples_and_clinician_table(cases: dict[str, Any], kb: KnowledgeBase) -> None:
    for c in cases.values():
        check_codes(c.report, c.assessment.answers)
    sciatica = cases["p03-sciatica"]
    doc = compose_clinician(sciatica.report, sciatica.assessment.answers, kb=kb)
    codes = doc.message("clinician-codes").blocks[0]
    assert codes.kind == "table"
    assert codes.rows == (("ICD-10-CM (US)", "M54.41", "Lumbago with sciatica, right side"),)


@given(assessments())
def test_generated_reports_never_emit_a_bad_code(data: dict[str, Any]) -> None:
    a = parse_assessment(data)
    check_codes(assess(a, KB), a.answers)
