"""A readable plain-text report for the terminal (deterministic, no colour codes)."""

from __future__ import annotations

import textwrap

from backstory.core.report import (
    PATHWAY_WORDS,
    PATTERN_STATEMENT,
    Report,
    value_words,
)
from backstory.knowledge.loader import KnowledgeBase, load_knowledge

WIDTH = 88
_FIT_WORDS = {
    "strong": "fits strongly",
    "possible": "possibly fits",
    "unlikely": "unlikely",
    "unknown": "unknown (too little answered)",
}


def _wrap(text: str, indent: int = 2, bullet: str = "") -> list[str]:
    first = " " * indent + bullet
    rest = " " * (indent + len(bullet))
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest) or [first]


def render_text(report: Report, kb: KnowledgeBase | None = None) -> str:
    """The whole report as plain text (triage levels worded as red_flags.yaml words them)."""
    base = kb or load_knowledge()
    levels: dict[str, str] = {lv.id: lv.label for lv in base.red_flags.levels}
    instruments = base.instruments.instruments
    out: list[str] = []
    title = f"Backstory report - {report.id}" if report.id else "Backstory report"
    out += [title, "=" * len(title)]
    meta = f"Age {report.age}"
    if report.assessed_on:
        meta += f", assessed on {report.assessed_on}"
    out.append(f"{meta}. Knowledge version {report.knowledge_version}.")
    out.append("")

    t = report.triage
    out.append(f"TRIAGE: {levels[t.level]}")
    out += _wrap(t.action)
    if t.suspected:
        out.append("  Suspected: " + ", ".join(s.replace("_", " ") for s in t.suspected))
    for r in t.reasons:
        out += _wrap(f"[{r.level}] {r.title} ({r.rule})", 2, "- ")
        answers = ", ".join(f"{a.field} = {value_words(a.value)}" for a in r.because)
        out += _wrap(f"because: {answers}", 6)
        out += _wrap(f"action: {r.action}", 6)
        out += _wrap("evidence: " + "; ".join(report.citations[c] for c in r.citations), 6)
    out.append("")

    c = report.classification
    out.append(f"WORKING CLASSIFICATION: {c.name}")
    out += _wrap(c.rationale)
    if c.because:
        out += _wrap(
            "because: " + ", ".join(f"{a.field} = {value_words(a.value)}" for a in c.because)
        )
    out.append("")

    out.append("PAIN PATTERNS")
    out += _wrap(PATTERN_STATEMENT)
    if c.category != base.classification.precedence[-1].id:  # the patterns' own category
        out += _wrap("The category is not non-specific, so these fits are for information only.")
    for p in report.patterns:
        out.append(f"  * {p.name}: {_FIT_WORDS[p.fit]} (score {p.score}, {p.answered} answered)")
        if p.supporting:
            out += _wrap("fits: " + "; ".join(f.label for f in p.supporting), 6)
        if p.against:
            against = "; ".join(
                f"{f.label} ({', '.join(f'{a.field} = {value_words(a.value)}' for a in f.answers)})"
                for f in p.against
            )
            out += _wrap("against: " + against, 6)
        if p.caps:
            out += _wrap("limited because: " + " ".join(p.caps), 6)
        if p.would_change:
            changes = "; ".join(
                f"{w.label} -> could become {' or '.join(w.could_become)}" for w in p.would_change
            )
            out += _wrap("would change: " + changes, 6)
        if p.id == "facet" and p.fit in ("strong", "possible"):
            out += _wrap("accuracy: " + p.accuracy_note, 6)
    out.append("")

    out.append("SCORES")
    if report.pain.get("back") is not None or report.pain.get("leg") is not None:
        back, leg = value_words(report.pain.get("back")), value_words(report.pain.get("leg"))
        out.append(f"  Pain: back {back}/10, leg {leg}/10")
    for inst in instruments:
        result = report.scores.get(inst.id)
        if result:
            out.append(f"  {inst.short}: {inst.summary(result)}")
    for name, note in sorted(report.score_notes.items()):
        out += _wrap(f"{name}: {note}", 2)
    out.append("")

    m = report.management
    out.append("PLAN")
    for rec in m.recommended:
        out += _wrap(f"[{rec.kind}] {rec.text}", 2, "- ")
        if rec.guideline:
            out += _wrap(f"({rec.guideline})", 6)
        for cx in rec.cautions:
            out += _wrap(f"CAUTION: {cx.text}", 6)
        if rec.check_first:
            out += _wrap(f"Check first (unanswered): {', '.join(rec.check_first)}", 6)
    if m.not_recommended:
        out.append("  Not recommended:")
        for rec in m.not_recommended:
            out += _wrap(rec.text, 4, "- ")
    for pw in m.pathways:
        out.append(f"  {pw.name}: {PATHWAY_WORDS[pw.status]}")
        for cr in pw.criteria:
            mark = {True: "met", False: "not met", None: "unknown"}[cr.met]
            out += _wrap(f"{cr.label}: {mark}", 6, "- ")
        out += _wrap(pw.summary, 6)
    out.append("")

    if report.unknowns:
        out.append("UNANSWERED QUESTIONS THAT MATTER")
        groups = (
            ("screening", "Essential warning-sign questions not asked"),
            ("triage", "Could raise the triage level"),
            ("classification", "Could change the classification"),
        )
        for kind, heading in groups:
            items = [u for u in report.unknowns if u.kind == kind]
            if not items:
                continue
            out.append(f"  {heading}:")
            for u in items:
                extra = f" (up to {u.could_raise_to})" if u.could_raise_to else ""
                out += _wrap(f"{u.field}{extra}", 4, "- ")
        out.append("")
    if report.warnings:
        out.append("WARNINGS")
        for w in report.warnings:
            out += _wrap(w.message, 2, "- ")
        out.append("")
    out += _wrap(base.screening.report_safety_net, 0)
    return "\n".join(out) + "\n"
