"""Explanations of a report: the patient leaflet and the clinician summary, in four formats.

The leaflet a person gets depends on the report (act-now, referral, sciatica or back pain);
every sentence comes from ``knowledge/data/explanations.yaml`` with its message id and
sources, and the clinician summary adds verified codes from ``knowledge/data/codes.yaml``
(the code table shared with the FHIR export, ``backstory.knowledge.codes``)::

    from backstory.explain import explain, render
    doc = explain({"age": 42, "pain": {"back": 6}})             # the patient leaflet
    render(doc, "text"), render(doc, "html"), doc.message_ids()
    render(explain(data, audience="clinician"), "md")

Composition is pure apart from reading the bundled knowledge once; PDF output needs
WeasyPrint, imported only when a PDF is made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from backstory.contract import Assessment, parse_assessment
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.explain.clinician import compose_clinician
from backstory.explain.codes import CodeResult, EmittedCode, codes_for
from backstory.explain.compose import compose_patient
from backstory.explain.document import Block, Document, Message, Section, SourceRef
from backstory.explain.knowledge import (
    ExplainKnowledgeError,
    ExplanationsKnowledge,
    load_explanations,
)
from backstory.explain.render_html import render_html
from backstory.explain.render_markdown import render_markdown
from backstory.explain.render_pdf import ClinicContact, DocumentOwner
from backstory.explain.render_text import render_text
from backstory.explain.select import document_kind
from backstory.knowledge.codes import CodeTable, load_code_table
from backstory.knowledge.loader import load_knowledge

Audience = Literal["patient", "clinician"]
TextFormat = Literal["text", "md", "html", "json"]
FORMATS = ("text", "md", "html", "pdf", "json")

__all__ = [
    "FORMATS",
    "Block",
    "ClinicContact",
    "CodeResult",
    "CodeTable",
    "Document",
    "DocumentOwner",
    "EmittedCode",
    "ExplainKnowledgeError",
    "ExplanationsKnowledge",
    "Message",
    "Section",
    "SourceRef",
    "TextFormat",
    "codes_for",
    "compose_clinician",
    "compose_patient",
    "document_kind",
    "explain",
    "explain_report",
    "load_code_table",
    "load_explanations",
    "render",
    "render_html",
    "render_markdown",
    "render_pdf",
    "render_text",
]


def explain_report(
    report: Report,
    answers: Mapping[str, Any] | None = None,
    audience: Audience = "patient",
) -> Document:
    """The document for a report; ``answers`` (the assessment's) tailor the wording."""
    if audience == "clinician":
        return compose_clinician(report, answers)
    return compose_patient(report, answers)


def explain(assessment: Assessment | Mapping[str, Any], audience: Audience = "patient") -> Document:
    """Validate (if needed) and assess an assessment, then compose its document.

    Raises:
        AssessmentError: when a mapping breaks the contract; nothing is explained.
    """
    if not isinstance(assessment, Assessment):
        assessment = parse_assessment(assessment, load_knowledge().contract)
    report = assess(assessment, load_knowledge())
    return explain_report(report, assessment.answers, audience)


def render(doc: Document, fmt: TextFormat) -> str:
    """A document as text, Markdown, HTML or JSON (use ``render_pdf`` for a PDF)."""
    if fmt == "text":
        return render_text(doc)
    if fmt == "md":
        return render_markdown(doc)
    if fmt == "html":
        return render_html(doc)
    if fmt == "json":
        return json.dumps(doc.to_dict(), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def render_pdf(doc: Document, owner: DocumentOwner | None = None) -> bytes:
    """A document as an A4 PDF (needs WeasyPrint); ``owner`` names it on every page."""
    from backstory.explain.render_pdf import render_pdf as _render_pdf

    return _render_pdf(doc, owner)
