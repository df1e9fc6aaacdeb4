"""Render a document as plain text (the form the readability gate measures).

Deterministic and free of markup: headings are underlined, paragraphs wrapped, list items
bulleted, tables aligned. The same function renders patient leaflets and the clinician
summary.
"""

from __future__ import annotations

import textwrap

from backstory.explain.document import Block, Document

WIDTH = 78


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    return textwrap.wrap(
        " ".join(text.split()),
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def _table(block: Block) -> list[str]:
    rows = [block.header, *block.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(block.header))]
    if sum(widths) + 2 * (len(widths) - 1) > WIDTH:  # too wide: one wrapped bullet per row
        out = _wrap(" | ".join(block.header), "  ", "  ")
        for r in block.rows:
            out += _wrap(" | ".join(c for c in r if c), "- ", "  ")
        return out
    out = []
    for n, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def block_lines(block: Block) -> list[str]:
    """One block as lines of text."""
    if block.kind == "paragraph":
        if block.emphasis:
            return _wrap(block.text, "> ", "> ")
        return _wrap(block.text)
    if block.kind == "list":
        lines: list[str] = []
        for item in block.items:
            lines += _wrap(item, "- ", "  ")
        return lines
    return _table(block)


def render_text(doc: Document) -> str:
    """The whole document as plain text."""
    out: list[str] = [doc.title, "=" * len(doc.title)]
    if doc.intro:
        out += _wrap(doc.intro)
    for section in doc.sections:
        out += ["", section.heading, "-" * len(section.heading)]
        first = True
        for message in section.messages:
            for block in message.blocks:
                if not first:
                    out.append("")
                out += block_lines(block)
                first = False
    if doc.sources:
        out += ["", doc.sources_heading, "-" * len(doc.sources_heading)]
        for src in doc.sources:
            out += _wrap(src.short if src.short.endswith(".") else src.short + ".", "- ", "  ")
    out += ["", *_wrap(doc.footer)]
    return "\n".join(out) + "\n"
