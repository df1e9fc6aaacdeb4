"""Printed documents belong to someone (issue 14 item 6, HZ-90).

Both PDFs name the patient reference, the clinic, the clinician and the date on every page,
read back with pypdf; the leaflet ends with the clinic's contact details and the safety-net,
with its sources on a last page of their own; every public routine example's clinician summary
fits on two pages, its unanswered questions printed one row per reason.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from pypdf import PdfReader

from backstory.explain import (
    ClinicContact,
    DocumentOwner,
    compose_clinician,
    compose_patient,
    render_pdf,
)
from backstory.explain.render_pdf import css_string, for_print

from .conftest import EXAMPLES

OWNER = DocumentOwner(
    patient_reference="ref-4711",
    clinic=ClinicContact("Riverside Physio", phone="01632 960123", emergency_number="999"),
    clinician="dr-jones",
    on=dt.date(2026, 3, 2),
    printed=dt.date(2026, 3, 4),
)


def _pages(data: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages]


def _doc(cases: dict[str, Any], name: str, audience: str) -> Any:
    c = cases[name]
    if audience == "patient":
        return compose_patient(c.report, c.assessment.answers)
    return compose_clinician(c.report, c.assessment.answers)


@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize("name", ["p02-facet-pattern", "p01-cauda-equina"])
def test_every_page_names_patient_clinic_clinician_and_date(
    cases: dict[str, Any], name: str, audience: str
) -> None:
    pages = _pages(render_pdf(_doc(cases, name, audience), OWNER))
    assert len(pages) >= 1
    for n, text in enumerate(pages, start=1):
        assert "Patient ref-4711" in text, n
        assert "Riverside Physio" in text, n
        assert "Clinician dr-jones" in text, n
        assert "assessed 2026-03-02" in text, n
        assert f"Page {n} of {len(pages)}" in text, n


def test_without_an_owner_the_margin_names_nobody(cases: dict[str, Any]) -> None:
    pages = _pages(render_pdf(_doc(cases, "p02-facet-pattern", "patient")))
    assert not any("Patient ref-4711" in t or "Clinician dr-jones" in t for t in pages)


def _routine() -> list[str]:
    """The public examples the specification expects to be routine."""
    expected = json.loads((EXAMPLES / "expected.json").read_text())
    return sorted(
        n.removesuffix(".json") for n, e in expected.items() if e.get("level") == ["routine"]
    )


def test_the_routine_examples_are_the_expected_ones() -> None:
    assert {"p02-facet-pattern", "p03-sciatica", "p04-flexion-related"} <= set(_routine())
    assert "p07-high-risk-with-odi" in _routine()  # high risk, with many questions unanswered


@pytest.mark.parametrize("name", _routine())
def test_routine_clinician_summary_fits_on_two_pages(cases: dict[str, Any], name: str) -> None:
    assert cases[name].report.triage.level == "routine"
    pages = _pages(render_pdf(_doc(cases, name, "clinician"), OWNER))
    assert len(pages) <= 2, (name, len(pages))
    assert "Sources" in pages[-1] and "Codes" in " ".join(pages)  # nothing left out


def _unknown_rows(doc: Any) -> list[tuple[str, ...]]:
    section = next(s for s in doc.sections if s.id == "unknowns")
    return [r for m in section.messages for b in m.blocks if b.kind == "table" for r in b.rows]


def test_the_printed_unknowns_name_every_question_once_with_its_reason(
    cases: dict[str, Any],
) -> None:
    """Printed, the unknowns are one row per reason in two columns; no question and no
    reason is lost, and what it matters for is still said."""
    doc = _doc(cases, "p07-high-risk-with-odi", "clinician")
    before = _unknown_rows(doc)
    printed = for_print(doc, OWNER)
    after = _unknown_rows(printed)
    table = next(
        b
        for s in printed.sections
        if s.id == "unknowns"
        for m in s.messages
        for b in m.blocks
        if b.kind == "table"
    )
    assert table.header == ("Question", "Why it matters")
    assert len(after) < len(before)  # rows sharing a reason are merged...
    for question, matters, why in before:  # ...and none is lost
        rows = [r for r in after if question in r[0].split("; ")]
        assert len(rows) == 1, question
        reason = rows[0][1]
        assert why.removeprefix("Unanswered; the answer could ") in reason, (question, why)
        assert matters.split(" (")[0] in reason.lower(), (question, matters)
        if "could raise to " in matters:
            level = matters.split("could raise to ")[1].rstrip(")")
            assert f"raise the triage to {level} (" in reason, (question, matters)
    # a table that is not the unknowns, and a patient document, are printed as they are
    assert for_print(_doc(cases, "p02-facet-pattern", "patient"), None).sections == (
        _doc(cases, "p02-facet-pattern", "patient").sections
    )


def test_leaflet_ends_with_the_clinic_and_the_safety_net_then_sources(
    cases: dict[str, Any],
) -> None:
    doc = _doc(cases, "p02-facet-pattern", "patient")
    printed = for_print(doc, OWNER)
    assert [s.id for s in printed.sections][-2:] == ["clinic-contact", "get-help"]
    pages = _pages(render_pdf(doc, OWNER))
    first = next(i for i, t in enumerate(pages) if doc.sources_heading in t)
    before, after = " ".join(pages[:first]), " ".join(pages[first:])
    assert pages[first].split("Patient ref-4711")[0].startswith(doc.sources_heading)
    assert "phone 01632 960123" in before and "phone 999" in before
    assert "Your clinic" not in after and doc.sources_heading not in before
    assert before.rindex("Your clinic") > before.rindex(doc.sections[0].heading)


def test_leaflet_without_a_phone_still_names_the_clinic(cases: dict[str, Any]) -> None:
    bare = DocumentOwner(
        "ref-1", ClinicContact("Riverside Physio"), "dr-jones", dt.date(2026, 3, 2)
    )
    doc = for_print(_doc(cases, "p02-facet-pattern", "patient"), bare)
    contact = next(s for s in doc.sections if s.id == "clinic-contact")
    words = " ".join(b.text for m in contact.messages for b in m.blocks)
    assert "Riverside Physio" in words and "phone" not in words


def test_stored_text_cannot_break_out_of_the_margin_rule(cases: dict[str, Any]) -> None:
    hostile = 'x"; } @page { @top-left { content: "pwned'
    assert '"' not in css_string(hostile)[1:-1] and "}" not in css_string(hostile)
    owner = DocumentOwner(hostile, ClinicContact("C"), "d", dt.date(2026, 3, 2))
    pages = _pages(render_pdf(_doc(cases, "p02-facet-pattern", "patient"), owner))
    assert all(f"Patient {hostile}" in t for t in pages)


def test_an_urgent_leaflet_never_offers_the_clinic_instead_of_acting_now(
    cases: dict[str, Any],
) -> None:
    doc = for_print(_doc(cases, "p01-cauda-equina", "patient"), OWNER)
    assert doc.urgent and doc.sections[0].id == "do-now"  # the instruction stays first
    contact = next(s for s in doc.sections if s.id == "clinic-contact")
    words = " ".join(b.text for m in contact.messages for b in m.blocks)
    assert "do not wait to contact the clinic" in words
    assert "To contact the clinic" not in words and "01632 960123" in words
    assert [s.id for s in doc.sections][-2:] == ["clinic-contact", "get-help"]
