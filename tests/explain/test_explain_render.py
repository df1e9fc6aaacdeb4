"""The four formats: text, Markdown, standalone accessible HTML, and the A4 PDF leaflet."""

from __future__ import annotations

import io
import json
import math
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from pypdf import PdfReader

from backstory.explain import (
    compose_clinician,
    compose_patient,
    render,
    render_html,
    render_markdown,
    render_pdf,
    render_text,
)
from backstory.explain.document import Document


class _Page(HTMLParser):
    """Collects what the accessibility checks need from an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "br", "img", "link", "input"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}> in {self.stack}"
        self.stack.pop()


def _docs(cases: dict[str, Any]) -> list[Document]:
    out = []
    for c in cases.values():
        out.append(compose_patient(c.report, c.assessment.answers))
        out.append(compose_clinician(c.report, c.assessment.answers))
    return out


def test_html_is_standalone_semantic_and_carries_message_ids(cases: dict[str, Any]) -> None:
    for doc in _docs(cases):
        html = render_html(doc)
        page = _Page()
        page.feed(html)
        page.close()
        assert not page.stack, "every element is closed"
        tags = [t for t, _ in page.tags]
        assert html.startswith("<!DOCTYPE html>")
        assert dict(page.tags[0][1]).get("lang") == "en-GB"
        assert tags.count("h1") == 1 and "main" in tags and "header" in tags
        assert "footer" in tags and "title" in tags
        assert any(t == "meta" and a.get("charset") == "utf-8" for t, a in page.tags)
        ids = [a["data-message"] for t, a in page.tags if "data-message" in a]
        assert tuple(ids) == doc.message_ids()
        for t, a in page.tags:  # no external resources of any kind
            assert t not in ("script", "link", "img", "iframe", "object")
            assert "src" not in a
        assert "@import" not in html and "url(" not in html
        assert "@media print" in html and "@page" in html
        for section in doc.sections:
            assert f'aria-labelledby="s-{section.id}"' in html


def test_html_colours_have_strong_contrast() -> None:
    """Text and heading colours on white meet WCAG AAA (7:1) for normal text."""

    def lum(hexcolour: str) -> float:
        rgb = [int(hexcolour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    def ratio(a: str, b: str) -> float:
        la, lb = sorted((lum(a), lum(b)), reverse=True)
        return (la + 0.05) / (lb + 0.05)

    for fg in ("#1b1b1b", "#0b2545", "#a4001d"):
        assert ratio(fg, "#ffffff") >= 7.0, fg
    assert ratio("#1b1b1b", "#fff1f3") >= 7.0
    assert ratio("#0645ad", "#ffffff") >= 7.0


def test_act_now_instruction_is_not_colour_alone(cases: dict[str, Any]) -> None:
    c = cases["p01-cauda-equina"]
    html = render_html(compose_patient(c.report, c.assessment.answers))
    assert '<p class="do-now">Go to the emergency department (A&amp;E) now.' in html
    assert re.search(r"\.do-now \{[^}]*font-weight: bold[^}]*border: 4px solid", html)


def test_markdown_and_json_carry_message_ids(cases: dict[str, Any]) -> None:
    c = cases["p02-facet-pattern"]
    doc = compose_patient(c.report, c.assessment.answers)
    md = render_markdown(doc)
    assert md.startswith(f"# {doc.title}\n")
    for mid in doc.message_ids():
        assert f"<!-- message: {mid} -->" in md
    data = json.loads(render(doc, "json"))
    assert data["message_ids"] == list(doc.message_ids())
    assert [m["id"] for s in data["sections"] for m in s["messages"]] == data["message_ids"]
    assert all(m["citations"] for s in data["sections"] for m in s["messages"])


def test_text_form_holds_every_message(cases: dict[str, Any]) -> None:
    c = cases["p03-sciatica"]
    doc = compose_patient(c.report, c.assessment.answers)
    lines = [re.sub(r"^(- |> |  )", "", line) for line in render_text(doc).splitlines()]
    flat = " ".join(" ".join(lines).split())
    for mid in doc.message_ids():
        for block in doc.message(mid).blocks:
            for piece in block.plain():
                assert " ".join(piece.split()) in flat
    assert render(doc, "text") == render_text(doc)
    with pytest.raises(ValueError):
        render(doc, "rtf")  # type: ignore[arg-type]


def _pdf_facts(data: bytes) -> tuple[str, set[float], list[Any]]:
    reader = PdfReader(io.BytesIO(data))
    sizes: set[float] = set()

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text.strip():
            scale = math.hypot(tm[0], tm[1]) * math.hypot(cm[0], cm[1])
            sizes.add(round(size * scale, 1))

    text = "\n".join(p.extract_text(visitor_text=visit) for p in reader.pages)
    return " ".join(text.split()), sizes, [p.mediabox for p in reader.pages]


@pytest.mark.parametrize(
    ("name", "audience", "expected"),
    [
        (
            "p01-cauda-equina",
            "patient",
            ["Please act on this now", "emergency department (A&E) now"],
        ),
        (
            "p02-facet-pattern",
            "patient",
            [
                "sensitivity is not damage",
                "Facet joints are small paired joints",
                "part of a clinical assessment",
            ],
        ),
        ("p05-axial-spa", "clinician", ["Referral summary", "RF-AXSPA-IBP"]),
    ],
)
def test_pdf_leaflet_renders(
    cases: dict[str, Any], name: str, audience: str, expected: list[str]
) -> None:
    c = cases[name]
    doc = (
        compose_patient(c.report, c.assessment.answers)
        if audience == "patient"
        else compose_clinician(c.report, c.assessment.answers)
    )
    data = render_pdf(doc)
    assert data.startswith(b"%PDF")
    text, sizes, boxes = _pdf_facts(data)
    for phrase in expected:
        assert phrase in text, phrase
    assert "Page 1 of" in text  # the margin-box footer
    # large, readable type throughout a patient's leaflet; the clinician summary is set
    # compactly so that a routine case fits on two pages (test_explain_pdf_owner.py)
    assert min(sizes) >= (12.0 if audience == "patient" else 7.0), sorted(sizes)
    for box in boxes:  # A4 portrait
        assert abs(float(box.width) - 595.3) < 1 and abs(float(box.height) - 841.9) < 1
