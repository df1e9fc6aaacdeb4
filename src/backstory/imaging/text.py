"""Render a scan explanation as readable plain text.

Kept apart from the core so the CLI and any other front end share one wording, and so the
core returns data only. An urgent explanation is a different document: the instruction to
act comes first and nothing in it reassures.
"""

from __future__ import annotations

import textwrap

from backstory.imaging.explain import Finding, ScanExplanation
from backstory.imaging.knowledge import ImagingKnowledge, load_imaging_knowledge

WIDTH = 78


def _wrap(text: str, indent: str = "", first: str | None = None) -> str:
    return textwrap.fill(
        " ".join(text.split()),
        width=WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
    )


def _heading(text: str) -> list[str]:
    return ["", text, "-" * len(text)]


def _name(f: Finding, kn: ImagingKnowledge) -> str:
    name = kn.finding(f.id).name_plain
    where = f" (at {f.level})" if f.level else ""
    words = " ".join(f.text.split())
    return f'{name[0].upper()}{name[1:]}{where} - the report\'s words: "{words}"'


def _finding_block(f: Finding, kn: ImagingKnowledge) -> list[str]:
    lines = [_wrap(_name(f, kn), indent="  ", first="* ")]
    # For an urgent finding the age-figure line only repeats that it needs attention.
    shown = (f.plain, f.note) if f.concern == "urgent" else (f.plain, f.prevalence_text, f.note)
    for part in shown:
        if part:
            lines.append(_wrap(part, indent="  "))
    return lines


def render_text(explanation: ScanExplanation, knowledge: ImagingKnowledge | None = None) -> str:
    """The readable explanation: findings, age figures, caveats, and the not-a-diagnosis line."""
    kn = knowledge if knowledge is not None else load_imaging_knowledge()
    msg = kn.messages
    out: list[str] = [msg.title.format(age=explanation.age)]
    present = explanation.present
    if explanation.urgent:
        out += _heading(msg.urgent_heading)
        out.append(_wrap(explanation.urgent_message or ""))
        for f in present:
            if f.concern == "urgent":
                out.append("")
                out += _finding_block(f, kn)
        others = [f for f in present if f.concern != "urgent"]
        if others:
            out.append("")
            for f in others:
                out.append(_wrap(f.plain, indent="  ", first="* "))
    else:
        out += _heading(msg.present_heading)
        if not present:
            out.append(_wrap(msg.no_findings))
        for i, f in enumerate(present):
            if i:
                out.append("")
            out += _finding_block(f, kn)
        if explanation.negated:
            out += _heading(msg.negated_heading)
            for f in explanation.negated:
                out.append(_wrap(_name(f, kn), indent="  ", first="* "))
    if explanation.caveats:
        out += _heading(msg.caveats_heading)
        for c in explanation.caveats:
            out.append(_wrap(c.text, indent="  ", first="* "))
    out.append("")
    out.append(_wrap(msg.closing))
    if explanation.citations:
        out += _heading(msg.sources_heading)
        for src in explanation.citations:
            ref = f"doi:{src.doi}" if src.doi else (src.url or "")
            line = f"{src.short} - {ref}" if ref else src.short
            out.append(_wrap(line, indent="  ", first="* "))
    out.append(f"(knowledge version {explanation.knowledge_version})")
    return "\n".join(out) + "\n"
