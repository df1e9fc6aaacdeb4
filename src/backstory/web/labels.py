"""Plain labels for what clinicians read: a contract field by its meaning, never its key.

Pages show a field as the contract's ``meaning`` ("numbness or altered feeling between the
legs, buttocks or genitals"), capitalised; a field without one is shown as its last part in
words ("leg side"). Codes, file paths and internal names stay out of clinicians' pages.
"""

from __future__ import annotations

from functools import cache

from backstory.contract import load_contract
from backstory.knowledge.loader import load_knowledge

LEVEL_WORDS = {
    "emergency": "Emergency",
    "urgent": "Urgent",
    "soon": "Soon",
    "routine": "Routine",
}


@cache
def field_label(path: str) -> str:
    """A contract field in plain words (its meaning), never its dotted key."""
    spec = load_contract().fields.get(path)
    text = spec.meaning if spec is not None and spec.meaning else ""
    if not text:
        text = path.rpartition(".")[2].replace("_", " ")
    return text[:1].upper() + text[1:]


def level_word(level: str | None) -> str:
    """A triage level as a badge says it."""
    if level is None:
        return "No report"
    return LEVEL_WORDS.get(level, level.replace("_", " ").capitalize())


@cache
def level_meaning(level: str | None) -> str:
    """What a triage level asks of the clinician (red_flags.yaml)."""
    for lv in load_knowledge().red_flags.levels:
        if lv.id == level:
            return lv.meaning
    return ""


def category_words(category: str | None) -> str:
    return (category or "not classified").replace("_", " ")
