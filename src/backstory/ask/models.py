"""Schemas for the common-questions knowledge and its bibliography.

The YAML is reviewed by clinicians; validating it strictly at load (unknown keys rejected,
models frozen) guarantees that what they reviewed is exactly what the matcher and the CLI use.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backstory.knowledge.files import Source as Source  # the one bibliography entry model

_KEBAB = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

KebabId = Annotated[str, StringConstraints(pattern=_KEBAB)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Term = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SynonymGroup(_Frozen):
    """Terms the matcher treats as one word: each is replaced by ``canonical``."""

    canonical: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+$")]
    terms: tuple[Term, ...] = Field(min_length=1)


class Messages(_Frozen):
    """Fixed patient-facing text shown around every answer (and instead of one)."""

    no_match: Text
    not_diagnosis: Text
    safety_net: Text
    safety_net_citations: tuple[KebabId, ...] = Field(min_length=1)


class QuestionEntry(_Frozen):
    """One common question with its answer.

    ``variants`` and ``keywords`` exist only for matching; ``answer`` is what the person reads,
    and every factual claim in it traces to one of ``citations``.
    """

    id: KebabId
    question: Text
    variants: tuple[Text, ...] = Field(min_length=2)
    keywords: tuple[Term, ...] = Field(min_length=1)
    answer: Text
    citations: tuple[KebabId, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_repeats(self) -> QuestionEntry:
        for name in ("variants", "keywords", "citations"):
            items = [str(x).lower() for x in getattr(self, name)]
            if len(items) != len(set(items)):
                raise ValueError(f"{self.id}: {name} has repeated items")
        if self.question.lower() in {v.lower() for v in self.variants}:
            raise ValueError(f"{self.id}: a variant repeats the question")
        return self


class QuestionsKnowledge(_Frozen):
    """The whole questions file: matching data, wording policy, messages and entries."""

    version: Text
    synonyms: tuple[SynonymGroup, ...]
    ignore_phrases: tuple[Term, ...] = ()
    avoid_words: tuple[Term, ...] = Field(min_length=1)
    allowed_phrasings: tuple[Term, ...]
    messages: Messages
    entries: tuple[QuestionEntry, ...] = Field(min_length=25)

    @model_validator(mode="after")
    def _consistent(self) -> QuestionsKnowledge:
        ids = [e.id for e in self.entries]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"entry ids defined twice: {dupes}")
        canon = [g.canonical for g in self.synonyms]
        if len(canon) != len(set(canon)):
            raise ValueError("a synonym canonical token is used by two groups")
        seen: dict[str, str] = {}
        for group in self.synonyms:
            for term in group.terms:
                key = " ".join(term.split())
                if seen.get(key, group.canonical) != group.canonical:
                    raise ValueError(
                        f"synonym term {term!r} is in both {seen[key]!r} and {group.canonical!r}"
                    )
                seen[key] = group.canonical
        for phrase in self.allowed_phrasings:
            if not any(re.search(rf"\b{re.escape(w)}", phrase) for w in self.avoid_words):
                raise ValueError(f"allowed phrasing {phrase!r} contains no avoided word")
        return self

    def entry(self, entry_id: str) -> QuestionEntry:
        """The entry with this id; KeyError if there is none."""
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(entry_id)
