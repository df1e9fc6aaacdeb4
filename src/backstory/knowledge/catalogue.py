"""A readable catalogue of the knowledge, for clinical review without reading Python."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from backstory.knowledge.conditions import (
    All,
    AnyOf,
    AtLeast,
    Compare,
    CompareFields,
    Condition,
    FactRef,
    Known,
    Not,
)
from backstory.knowledge.loader import KnowledgeBase
from backstory.knowledge.reads import load_unread_answers
from backstory.knowledge.schema import Questionnaire

_OPS = {
    "is": "is",
    "is_not": "is not",
    "in": "is one of",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "gt_field": ">",
    "gte_field": ">=",
    "lt_field": "<",
    "lte_field": "<=",
}


def _v(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(_v(v) for v in value)
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def describe(cond: Condition) -> str:
    """A condition in words, on one line."""
    if isinstance(cond, Compare):
        s = f"{cond.field} {_OPS[cond.op]} {_v(cond.value)}"
        if cond.unknown is not None:
            s += f" (unanswered counts as {_v(cond.unknown)})"
        return s
    if isinstance(cond, CompareFields):
        return f"{cond.field} {_OPS[cond.op]} {cond.other}"
    if isinstance(cond, Known):
        return f"{cond.field} is answered"
    if isinstance(cond, FactRef):
        return f"[{cond.name}]"
    if isinstance(cond, Not):
        return f"NOT ({describe(cond.part)})"
    if isinstance(cond, All):
        return "ALL OF (" + "; ".join(describe(p) for p in cond.parts) + ")"
    if isinstance(cond, AnyOf):
        return "ANY OF (" + "; ".join(describe(p) for p in cond.parts) + ")"
    assert isinstance(cond, AtLeast)
    return f"AT LEAST {cond.n} OF (" + "; ".join(describe(p) for p in cond.parts) + ")"


def cite(ids: Iterable[str]) -> str:
    """Citation ids in brackets, as the catalogue shows them."""
    return ", ".join(f"[{c}]" for c in ids)


def render_questionnaire(form: Questionnaire) -> list[str]:
    """The pre-visit questionnaire's wording, with its sources, as Markdown lines."""
    out = ["", "## Pre-visit questionnaire (the patient's words)", ""]
    for when, words in (
        ("Before a visit", form.openings.pre_visit),
        ("At a scheduled follow-up (the same questions)", form.openings.follow_up),
    ):
        out.append(f"{when}, every page is headed **{words.title}** and the first opens:")
        out.append("")
        out.append(f"> {words.intro}")
        out.append("")
    for part in form.parts:
        out.append(f"### {part.title} (`{part.id}`)")
        out.append("")
        if part.intro:
            out.append(part.intro)
            out.append("")
        if part.note:
            out.append(f"{part.note} {cite(part.citations)}")
        else:
            out.append(f"Sources: {cite(part.citations)}")
        out.append("")
        for q in part.questions:
            flags = [q.kind] + (["required"] if q.required else [])
            flags += ["cauda equina: a yes shows the emergency banner"] if q.ces else []
            out.append(f'- `{q.field}` ({"; ".join(flags)}): "{q.text}"')
            if q.options:
                out.append("  - options: " + "; ".join(f"{o.value} = {o.label}" for o in q.options))
            if q.kind in ("yesno", "choice"):
                kept = "kept as uncertainty" if q.records_uncertainty else "left unanswered"
                out.append(f"  - added by the page: not_sure = {q.not_sure_text()} ({kept})")
            if q.hint:
                out.append(f"  - hint: {q.hint}")
            if q.note:
                out.append(f"  - why: {q.note}")
            out.append(f"  - sources: {cite(q.citations)}")
        out.append("")
    banner = form.emergency_banner
    out.append(f"### Emergency banner: {banner.title}")
    out.append("")
    out.append(
        "Shown at once for a yes to any cauda equina question. Words in braces are filled in "
        "from the clinic's settings (its country, below)."
    )
    out.append("")
    for paragraph in banner.paragraphs:
        out.append(f"> {paragraph}")
        out.append(">")
    out[-1] = ""
    out.append(f"Sources: {cite(banner.citations)}")
    out.append("")
    unsure = form.unsure_banner
    evidence = "expert opinion" if unsure.evidence == "expert_opinion" else "guideline"
    out.append(f"### Not-sure advice: {unsure.title} ({evidence})")
    out.append("")
    out.append(
        'Shown at once for a "not sure" to any cauda equina question (the answer stays '
        f"unknown). {unsure.note}"
    )
    out.append("")
    for text in [*unsure.paragraphs, unsure.with_contact, unsure.if_sure]:
        out.append(f"> {text}")
        out.append(">")
    out[-1] = ""
    out.append(
        f"Without a clinic contact, instead of the second paragraph: {unsure.without_contact}"
    )
    out.append("")
    out.append(f"Sources: {cite(unsure.citations)}")
    out.append("")
    out.append("### Where patients get help, by the clinic's country")
    out.append("")
    out.append("| country | emergency number | emergency place | urgent advice | sources |")
    out.append("|---|---|---|---|---|")
    for c in form.countries:
        out.append(
            f"| {c.name} ({c.code}) | {c.emergency_number} | {c.emergency_place} | "
            f"{c.urgent_advice} | {cite(c.citations)} |"
        )
    return out


def render_catalogue(
    kb: KnowledgeBase,
    questionnaire: Questionnaire | None = None,
    unread: Mapping[str, str] | None = None,
) -> str:
    """The knowledge as Markdown: rules, patterns, scoring, plan, the questionnaire and sources.

    ``unread`` (field -> reason) are the answers no rule reads; by default the bundled
    ``unread_answers.yaml``.
    """
    out = [
        f"# {kb.manifest.name} - version {kb.version}",
        "",
        kb.manifest.summary,
        "",
        "## Triage levels",
        "",
    ]
    for lv in sorted(kb.red_flags.levels, key=lambda x: -x.rank):
        out.append(f"- **{lv.id}**: {lv.meaning} {lv.action}")
    out += ["", "## Named facts", ""]
    for fact in kb.facts.values():
        out.append(f"- **{fact.id}**: {fact.description}")
        if fact.when is not None:
            out.append(f"  - when: {describe(fact.when)}")
        else:
            assert fact.true_when is not None and fact.false_when is not None
            out.append(f"  - yes when: {describe(fact.true_when)}")
            out.append(f"  - no when: {describe(fact.false_when)}")
        if fact.citations:
            out.append(f"  - sources: {cite(fact.citations)}")
    out += ["", "## Contradictions (resolved to the safer reading)", ""]
    for c in kb.contradictions:
        out.append(f"- **{c.id}**: {c.message}")
        out.append(f"  - when: {describe(c.when)}")
    out += ["", "## Red-flag rules", ""]
    for r in kb.red_flags.rules:
        out.append(f"### {r.id}: {r.title}")
        out.append("")
        escalates = r.escalates.replace("_", " ")
        out.append(
            f"- level: **{r.level}**; suspected: {', '.join(r.suspected)}; escalates {escalates}"
        )
        out.append(f"- when: {describe(r.when)}")
        out.append(f"- action: {r.action}")
        out.append(f"- why: {r.rationale}")
        out.append(f"- sources: {cite(r.citations)}")
        out.append("")
    out += ["## Working classification (first match wins)", ""]
    for i, cat in enumerate(kb.classification.precedence, start=1):
        when = describe(cat.when) if cat.when is not None else "otherwise"
        out.append(f"{i}. **{cat.name}** when {when}. {cat.rationale} {cite(cat.citations)}")
    out += ["", "## Pain patterns", ""]
    for p in kb.patterns.patterns:
        out.append(f"### {p.name} (`{p.id}`)")
        out.append("")
        out.append(p.summary)
        out.append("")
        out.append(
            f"Fit: unknown below {p.min_answered} answered features; strong from {p.strong_at} "
            f"points; possible from {p.possible_at}; otherwise unlikely."
        )
        out.append("")
        out.append("| feature | reads | points | sources |")
        out.append("|---|---|---|---|")
        for f in p.features:
            if f.when is not None:
                reads = describe(f.when)
                pts = f"yes {f.if_true:+d}, no {f.if_false:+d}"
            else:
                reads = str(f.field)
                pts = ", ".join(f"{_v(k)} {v:+d}" for k, v in (f.points or {}).items())
            failed = " (failed validation: counts towards possible only)"
            label = f.label + (failed if f.validation == "failed" else "")
            out.append(f"| {label} | {reads} | {pts} | {cite(f.citations)} |")
        for cap in p.caps:
            out.append(f"\n- at most **{cap.max_fit}** when {describe(cap.when)}: {cap.reason}")
        if p.failed_validation_limit:
            out.append(
                f"\n- at most **possible** when the score without the positive points of the "
                f"failed-validation features is below {p.possible_at}: "
                f"{p.failed_validation_limit}"
            )
        out.append("")
        out.append(f"Accuracy: {p.accuracy_note} {cite(p.citations)}")
        out.append("")
    out += ["## Instruments", ""]
    for inst in kb.instruments.instruments:
        out.append(
            f"- **{inst.name}** ({inst.method}). Licence: {inst.licence} {cite(inst.citations)}"
        )
    out += ["", "## Management", ""]
    for rec in kb.management.recommendations:
        out.append(
            f"- **{rec.id}** [{rec.kind}] {rec.text} - when {describe(rec.when)}. "
            + cite(rec.citations)
        )
        for cx in rec.cautions:
            out.append(
                f"  - caution **{cx.id}** when {describe(cx.when)}: {cx.text} " + cite(cx.citations)
            )
    for pw in kb.management.pathways:
        out.append(f"- **{pw.name}** applies when {describe(pw.applies_when)}; criteria:")
        for cr in pw.criteria:
            out.append(f"  - {cr.label}: {describe(cr.when)}")
    if kb.management.exclusive:
        out += ["", "Never together in one plan (at most one of each group):", ""]
        for ex in kb.management.exclusive:
            out.append(f"- {', '.join(ex.ids)}: {ex.reason} {cite(ex.citations)}")
    out += ["", "## Essential screening questions", ""]
    for q in kb.screening.essential:
        out.append(f"- {q.field} ({q.group.replace('_', ' ')}): {q.why}")
    out += ["", "## Answers no rule reads (and why)", ""]
    for field, reason in (load_unread_answers() if unread is None else unread).items():
        out.append(f"- {field}: {reason}")
    if questionnaire is not None:
        out += render_questionnaire(questionnaire)
    out += ["", "## Sources", ""]
    for s in sorted(kb.sources.values(), key=lambda s: s.id):
        link = s.link or ""
        line = f"- [{s.id}] {s.short}. {s.title}. {s.authors} ({s.year}). {link}"
        out.append(f"{line} - {s.verified}. {s.note}".rstrip())
    return "\n".join(out) + "\n"
