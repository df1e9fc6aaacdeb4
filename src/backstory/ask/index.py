"""Lexical retrieval over the questions: BM25 ranking plus a confidence score for "no good match".

BM25 ranks entries against each other well, but its raw scores are not comparable between
questions, so it cannot say when *nothing* fits. The confidence score can. It is the share of
the question's informative words (weighted by rarity) that the best entry contains, where:

- words the knowledge has never seen count in full against the match: they are what makes
  "will I need knee surgery for a torn meniscus" a different question from "will I need surgery";
- words the knowledge knows but this entry lacks count half: they mean the question touches
  two topics, which is a partial fit within scope, not a sign that it is out of scope;
- everyday words the knowledge never uses ("push", "letter", "treatment") count not at all.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from backstory.ask.models import QuestionEntry, QuestionsKnowledge
from backstory.ask.text import (
    COMMON_STEMS,
    STOP_WORDS,
    apply_synonyms,
    correct_spelling,
    phrase_table,
    raw_tokens,
)

#: BM25 term-frequency saturation and length normalisation (the usual defaults).
K1 = 1.2
B = 0.75

#: How much a known word that the entry lacks counts against it (unknown words count 1).
PARTIAL_WEIGHT = 0.5

#: Minimum confidence for a match. Calibrated on tests/ask/eval_questions.yaml, between the
#: highest confidence of any out-of-scope question (0.53) and the lowest of a correctly ranked
#: paraphrase (0.58), erring towards "no good match": a wrong answer is worse than none.
MATCH_THRESHOLD = 0.55

#: The matched words must also carry this much weight in total, so a question made only of
#: words found everywhere ("back pain?") is not treated as a match for whichever entry ranks first.
MIN_MATCHED_WEIGHT = 1.0


@dataclass(frozen=True)
class Scored:
    """One entry's fit to a question: BM25 for ranking, confidence (0 to 1) for "is it a match"."""

    entry: QuestionEntry
    bm25: float
    confidence: float
    matched_weight: float

    @property
    def is_match(self) -> bool:
        """Good enough to show as the answer."""
        return self.confidence >= MATCH_THRESHOLD and self.matched_weight >= MIN_MATCHED_WEIGHT


@dataclass(frozen=True)
class Index:
    """Everything precomputed from the knowledge that a question is scored against."""

    entries: tuple[QuestionEntry, ...]
    phrases: dict[tuple[str, ...], str]
    longest_phrase: int
    spelling: frozenset[str]
    spelling_ordered: tuple[str, ...]
    doc_terms: tuple[Counter[str], ...]
    doc_lengths: tuple[int, ...]
    average_length: float
    idf: dict[str, float]
    unknown_idf: float

    def analyse(self, text: str, *, correct: bool = True) -> list[str]:
        """The matching terms of a text (typo fixing applies to questions, not to the data)."""
        tokens = raw_tokens(text)
        if correct:
            tokens = correct_spelling(tokens, self.spelling, self.spelling_ordered)
        pairs = apply_synonyms(tokens, self.phrases, self.longest_phrase)
        return [t for t, raw in pairs if t and raw not in STOP_WORDS and self._informative(t)]

    def _informative(self, term: str) -> bool:
        """Known terms always count; unknown ones only if neither generic nor numeric."""
        if term in self.idf or not self.idf:
            return True
        return term not in COMMON_STEMS and not any(c.isdigit() for c in term)

    def weight(self, term: str) -> float:
        """How informative a term is; unseen terms get the highest weight."""
        return self.idf.get(term, self.unknown_idf)

    def score(self, question: str) -> list[Scored]:
        """Every entry scored against the question, best first (ties keep file order)."""
        terms = list(dict.fromkeys(self.analyse(question)))
        unknown = sum(self.weight(t) for t in terms if t not in self.idf)
        scored: list[Scored] = []
        for entry, tf, length in zip(self.entries, self.doc_terms, self.doc_lengths, strict=True):
            bm25 = matched = missing = 0.0
            norm = K1 * (1 - B + B * length / self.average_length)
            for t in terms:
                f = tf.get(t, 0)
                if f:
                    bm25 += self.idf[t] * f * (K1 + 1) / (f + norm)
                    matched += self.idf[t]
                elif t in self.idf:
                    missing += self.idf[t]
            denominator = matched + unknown + PARTIAL_WEIGHT * missing
            confidence = matched / denominator if matched else 0.0
            scored.append(Scored(entry, bm25, confidence, matched))
        order = sorted(range(len(scored)), key=lambda i: (-scored[i].bm25, i))
        return [scored[i] for i in order]


def _entry_text(entry: QuestionEntry) -> str:
    return " . ".join((entry.question, *entry.variants, *entry.keywords))


@lru_cache(maxsize=8)
def build_index(knowledge: QuestionsKnowledge) -> Index:
    """Precompute the matching tables for a knowledge set (cached: the data is immutable)."""
    groups = [(g.canonical, g.terms) for g in knowledge.synonyms]
    phrases = phrase_table([*groups, ("", knowledge.ignore_phrases)])
    longest = max((len(k) for k in phrases), default=1)

    spelling: set[str] = set(STOP_WORDS)
    for entry in knowledge.entries:
        spelling.update(raw_tokens(_entry_text(entry)))
    for canonical, terms in groups:
        spelling.add(canonical)
        for term in terms:
            spelling.update(raw_tokens(term))
    spelling_ordered = tuple(sorted(w for w in spelling if w.isalpha()))

    base = Index(
        entries=knowledge.entries,
        phrases=phrases,
        longest_phrase=longest,
        spelling=frozenset(spelling),
        spelling_ordered=spelling_ordered,
        doc_terms=(),
        doc_lengths=(),
        average_length=1.0,
        idf={},
        unknown_idf=0.0,
    )
    docs = tuple(Counter(base.analyse(_entry_text(e), correct=False)) for e in knowledge.entries)
    lengths = tuple(sum(d.values()) for d in docs)
    n = len(docs)
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    idf = {t: math.log(1 + (n - k + 0.5) / (k + 0.5)) for t, k in df.items()}
    return Index(
        entries=knowledge.entries,
        phrases=phrases,
        longest_phrase=longest,
        spelling=frozenset(spelling),
        spelling_ordered=spelling_ordered,
        doc_terms=docs,
        doc_lengths=lengths,
        average_length=sum(lengths) / n if n else 1.0,
        idf=idf,
        unknown_idf=math.log(1 + (n + 0.5) / 0.5),
    )
