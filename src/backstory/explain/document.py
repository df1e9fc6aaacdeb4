"""A composed document: sections of messages, each carrying its stable id and its sources.

Patient leaflets and the clinician summary share this shape, so every renderer (text,
Markdown, HTML, PDF, JSON) handles both, and tests can check by message id what a document
says without parsing prose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Audience = Literal["patient", "clinician"]
BlockKind = Literal["paragraph", "list", "table"]


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph, a bulleted list, or a table (clinician summary only)."""

    kind: BlockKind
    text: str = ""
    items: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    emphasis: bool = False
    """Shown prominently (the act-now instructions)."""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind}
        if self.kind == "paragraph":
            d["text"] = self.text
        elif self.kind == "list":
            d["items"] = list(self.items)
        else:
            d["header"] = list(self.header)
            d["rows"] = [list(r) for r in self.rows]
        if self.emphasis:
            d["emphasis"] = True
        return d

    def plain(self) -> list[str]:
        """The block's words, one string per paragraph, item or row."""
        if self.kind == "paragraph":
            return [self.text]
        if self.kind == "list":
            return list(self.items)
        return [" | ".join(r) for r in (self.header, *self.rows)]


@dataclass(frozen=True, slots=True)
class Message:
    """One message: its stable id, its blocks, and the sources behind it."""

    id: str
    blocks: tuple[Block, ...]
    citations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "blocks": [b.to_dict() for b in self.blocks],
            "citations": list(self.citations),
        }


@dataclass(frozen=True, slots=True)
class Section:
    """A headed section of a document."""

    id: str
    heading: str
    messages: tuple[Message, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "heading": self.heading,
            "messages": [m.to_dict() for m in self.messages],
        }


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A source a document cites, as a reader can look it up."""

    id: str
    short: str
    link: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "short": self.short, "link": self.link}


@dataclass(frozen=True, slots=True)
class Document:
    """A whole document, ready to render."""

    audience: Audience
    kind: str
    title: str
    intro: str
    sections: tuple[Section, ...]
    sources_heading: str
    sources: tuple[SourceRef, ...]
    footer: str
    urgent: bool
    report_id: str | None
    assessed_on: str | None
    page_words: tuple[str, str] = ("Page", "of")
    lang: str = "en-GB"

    def message_ids(self) -> tuple[str, ...]:
        """The ids of every message in the document, in reading order."""
        return tuple(m.id for s in self.sections for m in s.messages)

    def message(self, message_id: str) -> Message:
        """The message with this id (KeyError if the document does not contain it)."""
        for s in self.sections:
            for m in s.messages:
                if m.id == message_id:
                    return m
        raise KeyError(message_id)

    def message_text(self, message_id: str) -> str:
        """All the words of one message, as one string."""
        return " ".join(t for b in self.message(message_id).blocks for t in b.plain())

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every message keeps its id and its citations."""
        return {
            "schema": "backstory/document@1",
            "audience": self.audience,
            "kind": self.kind,
            "lang": self.lang,
            "report_id": self.report_id,
            "assessed_on": self.assessed_on,
            "title": self.title,
            "intro": self.intro,
            "urgent": self.urgent,
            "message_ids": list(self.message_ids()),
            "sections": [s.to_dict() for s in self.sections],
            "sources_heading": self.sources_heading,
            "sources": [s.to_dict() for s in self.sources],
            "footer": self.footer,
        }
