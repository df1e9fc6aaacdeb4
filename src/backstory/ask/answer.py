"""Answer a person's question by finding the best-matching entry: retrieval, never generation.

Every answer shown was written and reviewed in advance, with its sources; when no entry fits
well enough the person is told so plainly and pointed to the closest topics or their clinician,
rather than being shown an answer to a different question.
"""

from __future__ import annotations

from dataclasses import dataclass

from backstory.ask.index import MIN_MATCHED_WEIGHT, build_index
from backstory.ask.loader import load_questions_knowledge
from backstory.ask.models import QuestionsKnowledge

#: How many other topics to offer alongside (or instead of) an answer.
MAX_ALTERNATIVES = 3


@dataclass(frozen=True)
class Alternative:
    """Another entry worth offering: its id and its question."""

    id: str
    question: str


@dataclass(frozen=True)
class Answer:
    """The result of asking a question.

    ``matched`` is False when no entry fits well enough; then ``entry_id`` and ``question`` are
    None, ``answer`` is the plain "no good match" message and ``alternatives`` holds the closest
    topics (possibly none). ``score`` is the confidence for the best entry, from 0 to 1.
    """

    query: str
    matched: bool
    entry_id: str | None
    question: str | None
    answer: str
    score: float
    alternatives: tuple[Alternative, ...]
    citations: tuple[str, ...]
    knowledge_version: str

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict with the same keys as the fields."""
        return {
            "query": self.query,
            "matched": self.matched,
            "entry_id": self.entry_id,
            "question": self.question,
            "answer": self.answer,
            "score": self.score,
            "alternatives": [{"id": a.id, "question": a.question} for a in self.alternatives],
            "citations": list(self.citations),
            "knowledge_version": self.knowledge_version,
        }


def answer_question(question: str, knowledge: QuestionsKnowledge | None = None) -> Answer:
    """Find the entry that best answers ``question``.

    Pure: given ``knowledge`` it reads no files and always returns the same Answer for the same
    text. Without it, the bundled knowledge is used (loaded once and cached).
    Raises ValueError for an empty question, which callers should catch before asking.
    """
    if not question.strip():
        raise ValueError("the question is empty")
    kb = knowledge if knowledge is not None else load_questions_knowledge()
    ranked = build_index(kb).score(question)
    best = ranked[0]
    matched = best.is_match
    others = ranked[1:] if matched else ranked
    # Only offer entries that share at least one informative word with the question.
    alternatives = tuple(
        Alternative(s.entry.id, s.entry.question)
        for s in others
        if s.matched_weight >= MIN_MATCHED_WEIGHT
    )[:MAX_ALTERNATIVES]
    score = round(best.confidence, 3)
    if matched:
        entry = best.entry
        return Answer(
            query=question,
            matched=True,
            entry_id=entry.id,
            question=entry.question,
            answer=entry.answer,
            score=score,
            alternatives=alternatives,
            citations=entry.citations,
            knowledge_version=kb.version,
        )
    return Answer(
        query=question,
        matched=False,
        entry_id=None,
        question=None,
        answer=kb.messages.no_match,
        score=score,
        alternatives=alternatives,
        citations=(),
        knowledge_version=kb.version,
    )
