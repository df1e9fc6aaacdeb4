"""Render a document as Markdown (for notes systems and review).

Each message is preceded by an HTML comment naming its id, which Markdown viewers hide, so
the id survives copy and paste without cluttering the text.
"""

from __future__ import annotations

from backstory.explain.document import Block, Document

_SPECIAL = str.maketrans({"|": "\\|", "*": "\\*", "_": "\\_", "`": "\\`"})


def _esc(text: str) -> str:
    return " ".join(text.split()).translate(_SPECIAL)


def _block(block: Block) -> list[str]:
    if block.kind == "paragraph":
        text = _esc(block.text)
        return [f"**{text}**" if block.emphasis else text]
    if block.kind == "list":
        return [f"- {_esc(i)}" for i in block.items]
    lines = ["| " + " | ".join(_esc(h) for h in block.header) + " |"]
    lines.append("|" + "|".join("---" for _ in block.header) + "|")
    lines += ["| " + " | ".join(_esc(c) for c in r) + " |" for r in block.rows]
    return lines


def render_markdown(doc: Document) -> str:
    """The whole document as Markdown."""
    out = [f"# {_esc(doc.title)}", ""]
    if doc.intro:
        out += [_esc(doc.intro), ""]
    for section in doc.sections:
        out += [f"## {_esc(section.heading)}", ""]
        for message in section.messages:
            out += [f"<!-- message: {message.id} -->", ""]
            for block in message.blocks:
                out += [*_block(block), ""]
    if doc.sources:
        out += [f"## {_esc(doc.sources_heading)}", ""]
        for src in doc.sources:
            out.append(f"- {_esc(src.short)}" + (f" <{src.link}>" if src.link else ""))
        out.append("")
    out += [f"*{_esc(doc.footer)}*", ""]
    return "\n".join(out)
