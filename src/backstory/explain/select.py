"""Which leaflet a person gets, and which facts about them choose its wording. Pure.

The choice of leaflet follows the shared spec (key-messages.md): an emergency or urgent triage
gets the act-now leaflet and nothing reassuring; a suspected condition at level soon gets the
referral leaflet; otherwise the working classification picks the sciatica or the back pain
explanation. Everything else the wording depends on is reduced here to named conditions
(``signals``) that the knowledge file tests, so the data never needs logic of its own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backstory.core.report import Answer, Report, TriageReason
from backstory.explain.knowledge import (
    CONDITIONS,
    DocumentKind,
    ExplanationsKnowledge,
    PersonWarning,
    load_explanations,
    matches,
    signal_conditions,
)
from backstory.knowledge.loader import KnowledgeBase, load_knowledge

#: Questions a person can answer about warning signs; unanswered ones that could raise the
#: triage are named in the leaflet (examination findings are left to the clinician summary).
_ASKABLE_PREFIXES = ("red_flags.", "neuro.")


def document_kind(report: Report, kn: ExplanationsKnowledge | None = None) -> DocumentKind:
    """The leaflet this report calls for (``leaflet_choice`` in explanations.yaml)."""
    choice = (kn or load_explanations()).leaflet_choice
    if report.triage.level in choice.act_now_levels:
        return "act_now"
    if (
        report.triage.level in choice.referral_levels
        or report.triage.suspected
        or report.category not in choice.by_category
    ):
        return "referral"
    return choice.by_category[report.category]


def leaflet_reasons(
    report: Report, kind: DocumentKind, kn: ExplanationsKnowledge | None = None
) -> tuple[TriageReason, ...]:
    """The triage reasons a leaflet explains: act-now and referral reasons, by level."""
    choice = (kn or load_explanations()).leaflet_choice
    if kind == "act_now":
        return tuple(r for r in report.triage.reasons if r.level in choice.act_now_levels)
    if kind == "referral":
        return tuple(r for r in report.triage.reasons if r.level in choice.referral_levels)
    return ()


def _report_answers(report: Report) -> Iterable[Answer]:
    for r in report.triage.reasons:
        yield from r.because
    yield from report.classification.because
    for p in report.patterns:
        for f in (*p.supporting, *p.against, *p.neutral):
            yield from f.answers


def known_answers(report: Report, answers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every answer known: the assessment's own, then the values the engine reasoned with.

    The report holds only the answers behind its conclusions, as the engine read them after
    resolving contradictions to the safer reading; those win. The assessment (when given)
    adds the rest, such as confidence to move, which tailor the wording.
    """
    known: dict[str, Any] = {k: v for k, v in (answers or {}).items() if v is not None}
    for a in _report_answers(report):
        if a.value is not None:
            known[a.field] = a.value
    for k, v in (report.pain or {}).items():
        if v is None:
            known.pop(f"pain.{k}", None)  # unanswered, or set aside as contradictory
        else:
            known[f"pain.{k}"] = v
    known["age"] = report.age
    return known


def answer_signals(
    report: Report, known: Mapping[str, Any], kn: ExplanationsKnowledge, kb: KnowledgeBase
) -> dict[str, str]:
    """The signals the knowledge computes from the answers (``signals`` in explanations.yaml).

    Each is evaluated with the rules' own condition language and named facts, over the
    known answers and what the report concluded, so no threshold or fact lives here.
    """
    env: dict[str, Any] = dict(known)
    env["category"] = report.category
    env["triage.level"] = report.triage.level
    if report.scores.get("startback"):
        env["scores.startback.risk"] = (report.scores.get("startback") or {}).get("risk")
    for c in kb.red_flags.conditions:
        env[f"suspected.{c.id}"] = c.id in report.triage.suspected
    recommended = {r.id for r in report.management.recommended}
    for r in kb.management.recommendations:
        env[f"recommended.{r.id}"] = r.id in recommended
    for p in report.patterns:
        env[f"patterns.{p.id}.fit"] = p.fit
    out: dict[str, str] = {}
    specs = {g.id: g for g in kn.signals}
    for sid, values in signal_conditions(kn).items():
        spec = specs[sid]
        results = [(value, kb.compile(cond)(env)) for value, cond in values]
        chosen = next((value for value, r in results if r is True), None)
        if chosen is None:
            chosen = spec.unknown if any(r is None for _, r in results) else spec.otherwise
        out[sid] = chosen
    return out


@dataclass(frozen=True, slots=True)
class Selection:
    """The leaflet chosen for a report and the facts that shape its wording."""

    kind: DocumentKind
    reasons: tuple[TriageReason, ...]
    signals: Mapping[str, str]
    signs_found: tuple[str, ...]
    not_asked: tuple[str, ...]
    person_warnings: tuple[str, ...]
    person_warning_citations: tuple[str, ...]
    not_recommended: tuple[str, ...]


def signs_found(reasons: Iterable[TriageReason], kn: ExplanationsKnowledge) -> tuple[str, ...]:
    """The answers behind the triage reasons, in plain words (each once, in order)."""
    out: list[str] = []
    for r in reasons:
        for a in r.because:
            words = kn.answer_words(a.field)
            text = words.found_text(a.value) if words is not None else None
            if text is not None and text not in out:
                out.append(text)
    return tuple(out)


def not_asked(
    report: Report, kn: ExplanationsKnowledge, yes_no_fields: Collection[str] = ()
) -> tuple[str, ...]:
    """Warning-sign questions that were not asked, in plain words.

    The essential screening questions first, then yes/no questions a person can answer
    (``yes_no_fields``) whose answer could raise the triage level (from the report's unknowns).
    """
    fields: list[str] = list(report.screening.unanswered)
    for u in report.unknowns:
        if (
            u.kind == "triage"
            and u.field.startswith(_ASKABLE_PREFIXES)
            and u.field in yes_no_fields
        ):
            fields.append(u.field)
    out: list[str] = []
    for f in fields:
        words = kn.answer_words(f)
        if words is not None and words.topic not in out:
            out.append(words.topic)
    return tuple(out)


def signals(
    report: Report,
    known: Mapping[str, Any],
    kn: ExplanationsKnowledge,
    kb: KnowledgeBase,
    *,
    table_ages: tuple[int, int],
) -> dict[str, str]:
    """The named conditions the knowledge file tests, computed for this person."""
    startback = (report.scores.get("startback") or {}).get("risk")
    age = report.age
    out = {
        "level": report.triage.level,
        "category": report.category,
        "screening": "complete" if report.screening.complete else "incomplete",
        "facet_fit": report.pattern("facet").fit,
        "startback": str(startback) if startback else "not_scored",
        "dated": "yes" if report.assessed_on else "no",
        "age_figures": (
            "below" if age < table_ages[0] else "above" if age > table_ages[1] else "within"
        ),
        "not_recommended": "some" if report.management.not_recommended else "none",
        **answer_signals(report, known, kn, kb),
    }
    for name, value in out.items():  # the knowledge file may only test these values
        assert value in CONDITIONS[name], (name, value)
    return out


def person_warnings(
    kn: ExplanationsKnowledge,
    sig: Mapping[str, str],
    reasons: Iterable[TriageReason],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Warning signs specific to this person, and the sources behind them.

    From the knowledge's person warnings that fit, and from the triage rules behind an act-now
    leaflet that say what would make it urgent to act at once.
    """
    texts: list[str] = []
    cites: list[str] = []
    for r in reasons:
        rule = kn.triage_rules.get(r.rule)
        if rule is not None and rule.worse_if and rule.worse_if not in texts:
            texts.append(rule.worse_if)
            cites.extend(rule.citations)
    chosen: list[PersonWarning] = [w for w in kn.person_warnings if matches(w.when, sig)]
    for w in chosen:
        if w.text not in texts:
            texts.append(w.text)
            cites.extend(w.citations)
    return tuple(texts), tuple(dict.fromkeys(cites))


def select(
    report: Report,
    kn: ExplanationsKnowledge,
    answers: Mapping[str, Any] | None = None,
    *,
    table_ages: tuple[int, int] = (20, 80),
    yes_no_fields: Collection[str] = (),
    kb: KnowledgeBase | None = None,
) -> Selection:
    """Choose the leaflet and compute everything its wording depends on."""
    kind = document_kind(report, kn)
    reasons = leaflet_reasons(report, kind, kn)
    base = kb or load_knowledge()
    sig = signals(report, known_answers(report, answers), kn, base, table_ages=table_ages)
    found = signs_found(reasons, kn)
    missing = not_asked(report, kn, yes_no_fields)
    warnings, warning_cites = person_warnings(kn, sig, reasons)
    sig["not_asked"] = "some" if missing else "none"
    sig["person_warnings"] = "some" if warnings else "none"
    plain_nr = tuple(kn.not_recommended[r.id] for r in report.management.not_recommended)
    return Selection(
        kind=kind,
        reasons=reasons,
        signals=sig,
        signs_found=found,
        not_asked=missing,
        person_warnings=warnings,
        person_warning_citations=warning_cites,
        not_recommended=plain_nr,
    )
