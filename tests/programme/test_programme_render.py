"""The printable programme: every exercise with its picture, the plan, help and the clinic."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader

from backstory.programme import build_programme
from backstory.programme.render import (
    ClinicContact,
    render_programme_html,
    render_programme_pdf,
)

from .helpers import CONDITIONS, KN, report_of, screened

DATA = screened(
    age=52,
    movement={"sitting": "worse", "walking": "better"},
)
CLINIC = ClinicContact("Riverside Physio <&>", phone="01234 567890", email="desk@example.org")


def programme() -> Any:
    report = report_of(DATA)
    return build_programme(report, DATA, KN, conditions=CONDITIONS, goals=("sitting",))


def test_html_holds_the_week_and_escapes() -> None:
    prog = programme()
    html = render_programme_html(prog, KN, clinic=CLINIC, patient_ref="ref-7", on="2026-12-06")
    for ex in prog.current.exercises:
        assert f"<h3>{ex.name}</h3>" in html
        assert f'<title id="{ex.id.replace("_", "-")}-title">' in html
    assert "Riverside Physio &lt;&amp;&gt;" in html
    assert "emergency department" in html and "walking" in html
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")


def test_pdf_names_the_patient_on_every_page() -> None:
    prog = programme()
    pdf = render_programme_pdf(prog, KN, clinic=CLINIC, patient_ref="ref-7", on="2026-12-06")
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 2
    for i, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert "ref-7" in text and "2026-12-06" in text
        assert f"Page {i} of {len(pages)}" in text
    whole = " ".join(p.extract_text() for p in pages)
    assert "Riverside Physio" in whole and "01234 567890" in whole
    for ex in prog.current.exercises:
        assert ex.name in whole
