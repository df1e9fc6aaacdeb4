"""Render a document as a printable A4 PDF (WeasyPrint, imported only when used).

The PDF is the HTML page with a print stylesheet: A4 and page numbers in the bottom margin.
WeasyPrint's page-margin boxes do not inherit the body's font, so the font is set there too.

A PDF made for a person (``owner``) belongs to them on every page: the top margin names the
patient reference, the clinic, the clinician and the date, and the bottom margin numbers the
pages. The patient leaflet keeps large type (13pt and more) and ends with the clinic's
contact details and the safety-net advice; its sources move to a last page of their own.
The clinician summary is set compactly so that a routine case fits on two pages: smaller
type (the pattern details and the sources smallest), and the unanswered questions as one
table row per reason, naming every question it applies to, in two columns with fixed widths.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from backstory.explain.document import Block, Document, Message, Section
from backstory.explain.knowledge import load_explanations
from backstory.explain.render_html import render_html

FONT = '"DejaVu Sans", Verdana, Arial, sans-serif'
SAFETY_NET = "get-help"
"""The section of a patient document that says when and where to get help."""


@dataclass(frozen=True, slots=True)
class ClinicContact:
    """How a patient reaches the clinic: its name, and its phone numbers when it has them."""

    name: str
    phone: str | None = None
    emergency_number: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentOwner:
    """Whose document a PDF is: shown in the margin of every page."""

    patient_reference: str
    clinic: ClinicContact
    clinician: str
    on: dt.date
    """The date of the assessment the document explains."""
    printed: dt.date | None = None


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string: anything but plain letters, digits and spaces is
    written as a hexadecimal escape, so no stored text can end the string or the rule."""
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in " .,-_/():"):
            out.append(ch)
        elif ch < " " or ch == "\x7f":
            out.append(" ")
        else:
            out.append(f"\\{ord(ch):06x} ")  # the space ends the escape
    return '"' + "".join(out) + '"'


def _owner_lines(owner: DocumentOwner) -> tuple[str, str]:
    left = f"Patient {owner.patient_reference} - {owner.clinic.name}"
    right = f"Clinician {owner.clinician} - assessed {owner.on.isoformat()}"
    if owner.printed is not None and owner.printed != owner.on:
        right += f", printed {owner.printed.isoformat()}"
    return left, right


def pdf_css(doc: Document, owner: DocumentOwner | None = None) -> str:
    """The print stylesheet: A4, the owner in the top margin, page numbers at the bottom."""
    page, of = (w.replace('"', "'") for w in doc.page_words)
    compact = doc.audience == "clinician"
    margin_size = "8pt" if compact else "12pt"
    top = ""
    if owner is not None:
        left, right = _owner_lines(owner)
        top = f"""
  @top-left {{
    content: {css_string(left)};
    font-family: {FONT}; font-size: {margin_size}; color: #1b1b1b;
  }}
  @top-right {{
    content: {css_string(right)};
    font-family: {FONT}; font-size: {margin_size}; color: #1b1b1b;
  }}"""
    margin = "10mm 10mm 10mm" if compact else "20mm 16mm 22mm"
    css = f"""
@page {{
  size: A4;
  margin: {margin};{top}
  @bottom-center {{
    content: "{page} " counter(page) " {of} " counter(pages);
    font-family: {FONT};
    font-size: {margin_size};
    color: #1b1b1b;
  }}
}}
body {{ font-family: {FONT}; max-width: none; padding: 0; }}
a {{ color: #1b1b1b; }}
"""
    if compact:
        return (
            css
            + """
html { font-size: 8pt; }
body { line-height: 1.12; }
h1 { font-size: 13pt; margin: 0 0 0.3rem; }
h2 { font-size: 9.5pt; margin: 0.45rem 0 0.2rem; padding-bottom: 0.1rem; border-width: 1px; }
p, li { margin: 0 0 0.15rem; }
ul, ol { margin: 0 0 0.2rem; padding-left: 1rem; }
.intro { font-size: 9pt; }
.do-now { font-size: 9.5pt; border-width: 2px; padding: 0.3rem 0.5rem; }
main { }
table { font-size: 7.5pt; line-height: 1.12; margin: 0 0 0.3rem; }
th, td { padding: 0.05rem 0.2rem; }
section[data-section="patterns"] li { font-size: 7.5pt; }
section[data-section="unknowns"] table { table-layout: fixed; }
section[data-section="unknowns"] th:first-child { width: 58%; }
footer { margin-top: 0.4rem; padding-top: 0.2rem; font-size: 7.5pt; }
footer h2 { font-size: 9pt; margin: 0 0 0.2rem; }
footer ol { counter-reset: source; padding: 0; font-size: 7pt; line-height: 1.15; }
footer li { display: inline; margin: 0; counter-increment: source; }
footer li::before { content: "[" counter(source) "] "; }
footer li::after { content: "  "; }
"""
        )
    return (
        css
        + """
html { font-size: 13pt; }
h1 { font-size: 22pt; }
h2 { font-size: 16pt; }
table { font-size: 12pt; }
footer { font-size: 12pt; }
footer h2#s-sources { break-before: page; }
"""
    )


def contact_section(clinic: ClinicContact, urgent: bool = False) -> Section:
    """The leaflet's last-but-one section: how to reach the clinic that gave it, in the words
    of ``clinic_contact`` in explanations.yaml.

    In an urgent leaflet the clinic is never offered as an alternative to acting now."""
    words = load_explanations().clinic_contact
    lines = [words.from_clinic.format(clinic=clinic.name)]
    if urgent:
        lines.append(words.urgent_first)
        if clinic.phone:
            lines.append(words.urgent_phone.format(phone=clinic.phone))
    elif clinic.phone:
        lines.append(words.phone.format(phone=clinic.phone))
    else:
        lines.append(words.no_phone)
    if clinic.emergency_number:
        lines.append(words.emergency.format(emergency_number=clinic.emergency_number))
    blocks = tuple(Block("paragraph", text=t) for t in lines)
    message = Message("clinic-contact", blocks, ())
    return Section("clinic-contact", words.heading, (message,))


UNKNOWNS = "unknowns"
"""The clinician summary's section of unanswered questions that matter."""
PRINTED_UNKNOWNS = ("Question", "Why it matters")
_COULD = re.compile(r"^Unanswered; the answer could (.+)$")
"""A reason that names what the answer could change (the triage level, the classification):
it says all that the "Matters for" column says."""


def _why_it_matters(matters: str, why: str) -> str:
    """One cell for "Matters for" and "Why": the reason when it names what the answer could
    change ("Could raise the triage to emergency (...)"), else what it matters for, then why."""
    found = _COULD.match(why)
    if found:
        return "Could " + found.group(1)
    return f"{matters[:1].upper()}{matters[1:]}: {why}"


def _printed_unknowns(b: Block) -> Block:
    """The unknowns table in two columns, one row per reason naming every question it
    applies to (in the order they first come): the same facts in fewer lines."""
    if b.kind != "table" or len(b.header) != 3 or any(len(r) != 3 for r in b.rows):
        return b
    groups: dict[str, list[str]] = {}
    for question, matters, why in b.rows:
        groups.setdefault(_why_it_matters(matters, why), []).append(question)
    rows = tuple(("; ".join(questions), why) for why, questions in groups.items())
    return dataclasses.replace(b, header=PRINTED_UNKNOWNS, rows=rows)


def compact_unknowns(doc: Document) -> Document:
    """The clinician summary with its unknowns table as printed (``_printed_unknowns``)."""
    sections = tuple(
        dataclasses.replace(
            s,
            messages=tuple(
                dataclasses.replace(m, blocks=tuple(_printed_unknowns(b) for b in m.blocks))
                for m in s.messages
            ),
        )
        if s.id == UNKNOWNS
        else s
        for s in doc.sections
    )
    return dataclasses.replace(doc, sections=sections)


def for_print(doc: Document, owner: DocumentOwner | None) -> Document:
    """The document as printed. The clinician summary sets its unknowns table compactly
    (``compact_unknowns``). The leaflet printed for a person ends with the clinic's contact
    details and then the safety-net advice (its sources follow on a page of their own)."""
    if doc.audience == "clinician":
        return compact_unknowns(doc)
    if owner is None or doc.audience != "patient":
        return doc
    net = [s for s in doc.sections if s.id == SAFETY_NET]
    rest = [s for s in doc.sections if s.id != SAFETY_NET]
    sections = (*rest, contact_section(owner.clinic, doc.urgent), *net)
    return dataclasses.replace(doc, sections=sections)


def render_pdf(doc: Document, owner: DocumentOwner | None = None) -> bytes:
    """The document as PDF bytes (with ``owner``: named on every page)."""
    from weasyprint import HTML  # type: ignore[import-untyped]  # deferred: heavy, PDF only

    printed = for_print(doc, owner)
    html = render_html(printed, extra_css=pdf_css(printed, owner))
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return bytes(pdf)
