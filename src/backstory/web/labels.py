"""Plain labels for what clinicians read: a contract field by its meaning, never its key.

Pages show a field as the contract's ``meaning`` ("numbness or altered feeling between the
legs, buttocks or genitals"), capitalised; a field without one is shown as its last part in
words ("leg side"). Codes, file paths and internal names stay out of clinicians' pages.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache

from backstory.contract import load_contract
from backstory.explain.document import Block, Document
from backstory.knowledge.loader import load_knowledge

DERIVED = {
    "triage.level": "triage level",
    "triage.suspected_any": "any serious condition suspected",
}
"""Values the rules derive from the answers, in words (pattern fits and scores below)."""

_SCORE_WORDS = {"risk": "risk group", "band": "band", "percent": "percent", "score": "score"}


@cache
def _scores() -> dict[str, str]:
    """Every instrument score the rules may read, in words ("STarT Back risk group")."""
    return {
        f"scores.{inst.id}.{key}": f"{inst.short} {_SCORE_WORDS.get(key, key + ' score')}"
        for inst in load_knowledge().instruments.instruments
        for key in inst.result_keys()
    }


@cache
def _instrument_names() -> dict[str, str]:
    """Each instrument's short name (instruments.yaml): its item is shown as "STarT Back
    item 2", never ``startback.2``."""
    return {inst.id: inst.short for inst in load_knowledge().instruments.instruments}


_ITEM = re.compile(r"^([a-z]+)\.(\d{1,2})$")


@cache
def _facts() -> frozenset[str]:
    return frozenset(load_knowledge().facts)


def known_name(name: str) -> bool:
    """Whether ``name`` is an answer, a derived value or a fact the rules read."""
    return (
        name in load_contract().fields
        or _instrument_item(name) is not None
        or name in DERIVED
        or name in _scores()
        or name in _facts()
        or (name.startswith("patterns.") and name.endswith(".fit"))
    )


def _instrument_item(name: str) -> str | None:
    """``startback.2`` as "STarT Back item 2" (a contract instrument's item), else None."""
    m = _ITEM.match(name)
    if m is None:
        return None
    inst = load_contract().instruments.get(m.group(1))
    if inst is None or not 1 <= int(m.group(2)) <= inst.length:
        return None
    return f"{_instrument_names().get(inst.name, inst.name.upper())} item {int(m.group(2))}"


@cache
def field_label(path: str) -> str:
    """A contract field in plain words (its meaning), never its dotted key; an instrument's
    item, a derived value or a fact in words too."""
    item = _instrument_item(path)
    if item is not None:
        return item
    spec = load_contract().fields.get(path)
    derived = DERIVED.get(path) or _scores().get(path, "")
    text = spec.meaning if spec is not None and spec.meaning else derived
    if not text and path.startswith("patterns.") and path.endswith(".fit"):
        text = f"fit of the {path.split('.')[1].replace('_', ' ')} pattern"
    if not text:
        text = path.rpartition(".")[2].replace("_", " ").replace("ces ", "cauda equina ")
    return text[:1].upper() + text[1:]


def level_word(level: str | None) -> str:
    """A triage level as a badge says it: its id in words ("Emergency"), with no list of
    levels here (red_flags.yaml defines them)."""
    if level is None:
        return "No report"
    return level.replace("_", " ").capitalize()


@cache
def category_words(category: str | None) -> str:
    """A working classification's name (classification.yaml), lower-cased for a sentence."""
    for c in load_knowledge().classification.precedence:
        if c.id == category:
            return c.name[:1].lower() + c.name[1:]
    return (category or "not classified").replace("_", " ")


_PAIR = re.compile(r"\b([a-z][a-z_0-9]*(?:\.[a-z0-9][a-z_0-9]*)*) = ")
_KEY = re.compile(r"\b([a-z][a-z_0-9]*(?:\.[a-z0-9][a-z_0-9]*)+)\b")
_CODE = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+: ")
_FILE = re.compile(r"\s*\((?:[\w.-]+/)*[\w.-]+\.ya?ml\)")
_KIND = re.compile(r"^\[([a-z][a-z -]*)\] ")
HIDDEN_SECTIONS = frozenset({"codes", "leaflet"})
"""Sections of the clinician summary the report page leaves out: the code table (codes and
the file they come from) and the leaflet's message ids (the page shows the explanation)."""


@cache
def _enum_words() -> re.Pattern[str]:
    """The contract's answer values written with underscores (``no_change``)."""
    values = {v for spec in load_contract().fields.values() for v in spec.values if "_" in v}
    return re.compile(
        r"\b(" + "|".join(sorted(map(re.escape, values), key=len, reverse=True)) + r")\b"
    )


def plain_text(text: str) -> str:
    """A clinician summary's text with field keys as labels, and no internal code or path."""

    def pair(m: re.Match[str]) -> str:
        return f"{field_label(m.group(1))}: " if known_name(m.group(1)) else m.group(0)

    def key(m: re.Match[str]) -> str:
        return field_label(m.group(1)) if known_name(m.group(1)) else m.group(0)

    text = _PAIR.sub(pair, text)
    text = _KEY.sub(key, text)
    text = _CODE.sub("", text)
    text = _FILE.sub("", text)
    text = _enum_words().sub(lambda m: m.group(1).replace("_", " "), text)
    return _KIND.sub(lambda m: m.group(1).capitalize() + ": ", text)


PRINT_HIDDEN = frozenset({"leaflet"})
"""The printed clinician summary keeps the verified codes (for the record) in words, without
the file they come from; it leaves out the leaflet's message ids."""


def readable_document(doc: Document, hidden: frozenset[str] = HIDDEN_SECTIONS) -> Document:
    """The clinician summary as clinicians read it (``plain_text`` everywhere, the
    ``hidden`` sections left out): on the report page, and printed (``PRINT_HIDDEN``).
    The stored report, the API and the command line are unchanged."""

    def block(b: Block) -> Block:
        return replace(
            b,
            text=plain_text(b.text),
            items=tuple(plain_text(i) for i in b.items),
            rows=tuple(tuple(plain_text(c) for c in row) for row in b.rows),
        )

    sections = tuple(
        replace(
            s,
            messages=tuple(
                replace(m, blocks=tuple(block(b) for b in m.blocks)) for m in s.messages
            ),
        )
        for s in doc.sections
        if s.id not in hidden
    )
    return replace(doc, sections=sections)


def printable_summary(doc: Document) -> Document:
    """The clinician summary as the web app prints it: readable (``PRINT_HIDDEN``). The PDF
    renderer sets its unknowns table compactly (``backstory.explain.render_pdf``:
    one row per reason, naming every question it applies to), so that a routine case fits
    on two pages."""
    return readable_document(doc, PRINT_HIDDEN)
