"""The report: frozen records of every conclusion and the answers and evidence behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REPORT_SCHEMA = "backstory/report@1"
PATTERN_STATEMENT = (
    "A description of how the pain behaves, based on best clinical reasoning; "
    "not a diagnosis and never confirmed by this assessment."
)
PATHWAY_WORDS = {
    "criteria_met": "criteria met",
    "not_indicated": "not indicated now",
    "incomplete": "not indicated now (criteria incomplete)",
}
"""A pathway's status in words, for every report format."""


def value_words(v: Any) -> str:
    """An answer's value as the reports print it: not answered, yes, no, or the value."""
    if v is None:
        return "not answered"
    if v is True:
        return "yes"
    if v is False:
        return "no"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value_words(x) for x in v) + "]"
    return str(v)


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer that contributed to a conclusion (value None: not answered)."""

    field: str
    value: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value}


@dataclass(frozen=True, slots=True)
class TriageReason:
    rule: str
    title: str
    level: str
    suspected: tuple[str, ...]
    action: str
    rationale: str
    escalates: str
    because: tuple[Answer, ...]
    citations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "level": self.level,
            "suspected": list(self.suspected),
            "action": self.action,
            "rationale": self.rationale,
            "escalates": self.escalates,
            "because": [a.to_dict() for a in self.because],
            "citations": list(self.citations),
        }


@dataclass(frozen=True, slots=True)
class Triage:
    level: str
    suspected: tuple[str, ...]
    action: str
    reasons: tuple[TriageReason, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "suspected": list(self.suspected),
            "action": self.action,
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    name: str
    rationale: str
    because: tuple[Answer, ...]
    citations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "name": self.name,
            "rationale": self.rationale,
            "because": [a.to_dict() for a in self.because],
            "citations": list(self.citations),
        }


@dataclass(frozen=True, slots=True)
class FeatureResult:
    id: str
    label: str
    points: int
    answers: tuple[Answer, ...]
    citations: tuple[str, ...]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "points": self.points,
            "answers": [a.to_dict() for a in self.answers],
            "citations": list(self.citations),
        }
        if self.note:
            d["note"] = self.note
        return d


@dataclass(frozen=True, slots=True)
class WhatIf:
    feature: str
    label: str
    fields: tuple[str, ...]
    could_become: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "label": self.label,
            "fields": list(self.fields),
            "could_become": list(self.could_become),
        }


@dataclass(frozen=True, slots=True)
class PatternResult:
    id: str
    name: str
    fit: str
    score: int
    answered: int
    informational: bool
    summary: str
    supporting: tuple[FeatureResult, ...]
    against: tuple[FeatureResult, ...]
    neutral: tuple[FeatureResult, ...]
    unknown: tuple[FeatureResult, ...]
    caps: tuple[str, ...]
    would_change: tuple[WhatIf, ...]
    accuracy_note: str
    citations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "fit": self.fit,
            "statement": PATTERN_STATEMENT,
            "informational": self.informational,
            "score": self.score,
            "answered": self.answered,
            "summary": self.summary,
            "for": [f.to_dict() for f in self.supporting],
            "against": [f.to_dict() for f in self.against],
            "neutral": [f.to_dict() for f in self.neutral],
            "unknown": [f.to_dict() for f in self.unknown],
            "limits": list(self.caps),
            "would_change": [w.to_dict() for w in self.would_change],
            "accuracy_note": self.accuracy_note,
            "citations": list(self.citations),
        }


@dataclass(frozen=True, slots=True)
class UnknownItem:
    field: str
    why: str
    kind: str
    could_raise_to: str | None = None
    rules: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"field": self.field, "why": self.why, "kind": self.kind}
        if self.could_raise_to:
            d["could_raise_to"] = self.could_raise_to
        if self.rules:
            d["rules"] = list(self.rules)
        return d


@dataclass(frozen=True, slots=True)
class WarningItem:
    code: str
    message: str
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fields": list(self.fields)}


@dataclass(frozen=True, slots=True)
class CautionItem:
    """A safety condition that holds for this person, shown with its recommendation."""

    id: str
    text: str
    because: tuple[Answer, ...]
    citations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "because": [a.to_dict() for a in self.because],
            "citations": list(self.citations),
        }


@dataclass(frozen=True, slots=True)
class RecommendationItem:
    id: str
    kind: str
    text: str
    reason: str
    guideline: str
    citations: tuple[str, ...]
    cautions: tuple[CautionItem, ...] = ()
    check_first: tuple[str, ...] = ()
    """Unanswered fields that decide whether a caution applies: ask before acting."""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "reason": self.reason,
            "guideline": self.guideline,
            "citations": list(self.citations),
        }
        if self.cautions:
            d["cautions"] = [c.to_dict() for c in self.cautions]
        if self.check_first:
            d["check_first"] = list(self.check_first)
        return d


@dataclass(frozen=True, slots=True)
class CriterionResult:
    id: str
    label: str
    met: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "met": self.met}


@dataclass(frozen=True, slots=True)
class PathwayResult:
    id: str
    name: str
    status: str
    summary: str
    criteria: tuple[CriterionResult, ...]
    citations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "criteria": [c.to_dict() for c in self.criteria],
            "citations": list(self.citations),
        }


@dataclass(frozen=True, slots=True)
class Management:
    recommended: tuple[RecommendationItem, ...]
    not_recommended: tuple[RecommendationItem, ...]
    pathways: tuple[PathwayResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommended": [r.to_dict() for r in self.recommended],
            "not_recommended": [r.to_dict() for r in self.not_recommended],
            "pathways": [p.to_dict() for p in self.pathways],
        }


@dataclass(frozen=True, slots=True)
class Screening:
    complete: bool
    asked: int
    total: int
    unanswered: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "asked": self.asked,
            "total": self.total,
            "unanswered": list(self.unanswered),
        }


@dataclass(frozen=True)
class Report:
    """Everything Backstory concluded about one assessment, with its reasons."""

    id: str | None
    assessed_on: str | None
    age: int
    triage: Triage
    classification: Classification
    patterns: tuple[PatternResult, ...]
    unknowns: tuple[UnknownItem, ...]
    warnings: tuple[WarningItem, ...]
    scores: dict[str, dict[str, Any] | None]
    """Every instrument's score by instrument id, in the knowledge's order (None: not scored;
    ``score_notes`` says why). The JSON form puts each under its id (``startback``, ``odi``,
    ``rmdq`` are the public contract's keys)."""
    score_notes: dict[str, str]
    pain: dict[str, int | None]
    screening: Screening
    management: Management
    knowledge_version: str
    citations: dict[str, str] = field(default_factory=dict)

    @property
    def category(self) -> str:
        return self.classification.category

    def pattern(self, pattern_id: str) -> PatternResult:
        """The result for one pattern by id."""
        for p in self.patterns:
            if p.id == pattern_id:
                return p
        raise KeyError(pattern_id)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the report (the contract's keys and more)."""
        return {
            "schema": REPORT_SCHEMA,
            "id": self.id,
            "assessed_on": self.assessed_on,
            "age": self.age,
            "knowledge_version": self.knowledge_version,
            "triage": self.triage.to_dict(),
            "category": self.classification.category,
            "classification": self.classification.to_dict(),
            "patterns": [p.to_dict() for p in self.patterns],
            "unknowns": [u.to_dict() for u in self.unknowns],
            "warnings": [w.to_dict() for w in self.warnings],
            "screening": self.screening.to_dict(),
            **self.scores,
            "score_notes": dict(self.score_notes),
            "pain": dict(self.pain),
            "management": self.management.to_dict(),
            "citations": dict(self.citations),
        }
