"""The clinician summary: every conclusion with its reasons, the plan, unknowns and codes.

Clinician vocabulary is fine here (ODI band names included). For an emergency, urgent or soon
triage it doubles as a referral summary: it opens with the reasons and the actions, so it can
travel with the person. Pure apart from reading the bundled knowledge (cached).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from backstory.core.report import (
    PATHWAY_WORDS,
    PATTERN_STATEMENT,
    Answer,
    PatternResult,
    Report,
    value_words,
)
from backstory.explain.codes import codes_for
from backstory.explain.compose import compose_patient, source_refs
from backstory.explain.document import Block, Document, Message, Section
from backstory.explain.knowledge import load_explanations
from backstory.knowledge.codes import load_code_table
from backstory.knowledge.loader import KnowledgeBase, load_knowledge

_LEAFLETS = {
    "act_now": "act-now leaflet (what to do now; no reassurance)",
    "referral": "referral leaflet",
    "sciatica": "sciatica explanation",
    "back_pain": "back pain explanation",
}
_MET = {True: "met", False: "not met", None: "unknown"}


def _answers(answers: Iterable[Answer]) -> str:
    return ", ".join(f"{a.field} = {value_words(a.value)}" for a in answers) or "-"


def level_words(kb: KnowledgeBase, level: str) -> str:
    """How a triage level is shown, as red_flags.yaml words it (one wording everywhere)."""
    return next(lv.label for lv in kb.red_flags.levels if lv.id == level)


def _msg(mid: str, blocks: Iterable[Block], citations: Iterable[str] = ()) -> Message:
    return Message(mid, tuple(blocks), tuple(dict.fromkeys(citations)))


def _p(text: str, emphasis: bool = False) -> Block:
    return Block("paragraph", text=text, emphasis=emphasis)


def _list(items: Iterable[str]) -> Block:
    return Block("list", items=tuple(items))


def _shorts(ids: Iterable[str], report: Report, kb: KnowledgeBase) -> str:
    names = []
    for i in ids:
        src = kb.sources.get(i)
        names.append(report.citations.get(i) or (src.short if src else i))
    return "; ".join(names)


def _referral(report: Report, kb: KnowledgeBase) -> Section | None:
    t = report.triage
    if t.level == min(kb.red_flags.levels, key=lambda lv: lv.rank).id:
        return None  # the lowest level is care without a referral
    items = [
        f"{r.title} [{r.rule}; {r.level}]. Action: {r.action} Because: {_answers(r.because)}."
        for r in t.reasons
    ]
    blocks = [
        _p(f"Triage {level_words(kb, t.level)}. {t.action}", emphasis=True),
        _p("Suspected: " + (", ".join(s.replace("_", " ") for s in t.suspected) or "-")),
        _list(items),
    ]
    if not report.screening.complete:
        blocks.append(
            _p(
                f"Warning-sign screen incomplete: {len(report.screening.unanswered)} of "
                f"{report.screening.total} essential questions not asked: "
                + ", ".join(report.screening.unanswered)
                + "."
            )
        )
    cites = [c for r in t.reasons for c in r.citations]
    return Section(
        "referral",
        "Reason for referral",
        (_msg("clinician-referral", blocks, cites),),
    )


def _triage(report: Report, kb: KnowledgeBase) -> Section:
    t = report.triage
    blocks = [_p(f"Level: {level_words(kb, t.level)}. Action: {t.action}")]
    if t.reasons:
        blocks.append(
            _list(
                f"{r.title} [{r.rule}; {r.level}; escalates {r.escalates.replace('_', ' ')}]. "
                f"Because: {_answers(r.because)}. {r.rationale} "
                f"Evidence: {_shorts(r.citations, report, kb)}."
                for r in t.reasons
            )
        )
    else:
        blocks.append(_p("No triage rule fired."))
    cites = [c for r in t.reasons for c in r.citations]
    return Section("triage", "Triage", (_msg("clinician-triage", blocks, cites),))


def _classification(report: Report) -> Section:
    c = report.classification
    blocks = [_p(f"{c.name}. {c.rationale}")]
    if c.because:
        blocks.append(_p(f"Because: {_answers(c.because)}."))
    return Section(
        "classification",
        "Working classification",
        (_msg("clinician-classification", blocks, c.citations),),
    )


def _features(label: str, feats: Iterable[Any]) -> str | None:
    parts = []
    for f in feats:
        pts = f" ({f.points:+d})" if f.points else ""
        note = f" - {f.note}" if f.note else ""
        parts.append(f"{f.label}{pts}: {_answers(f.answers)}{note}")
    return f"{label}: " + "; ".join(parts) if parts else None


def _pattern(p: PatternResult) -> list[Block]:
    head = f"{p.name}: {p.fit} (score {p.score}, {p.answered} features answered)."
    items = [
        _features("For", p.supporting),
        _features("Against", p.against),
        _features("Neutral", p.neutral),
        ("Unknown: " + "; ".join(f.label for f in p.unknown)) if p.unknown else None,
        ("Limits: " + "; ".join(p.caps)) if p.caps else None,
        (
            "What would change the fit: "
            + "; ".join(
                f"{w.label} ({', '.join(w.fields)}) could make it {' or '.join(w.could_become)}"
                for w in p.would_change
            )
        )
        if p.would_change
        else None,
        f"Accuracy: {p.accuracy_note}",
    ]
    return [_p(head), _list(i for i in items if i)]


def _patterns(report: Report, kb: KnowledgeBase) -> Section:
    blocks = [_p(PATTERN_STATEMENT)]
    # the patterns describe the category that applies otherwise (the last in precedence)
    if report.category != kb.classification.precedence[-1].id:
        blocks.append(_p("The category is not non-specific, so these fits are for information."))
    messages = [_msg("clinician-patterns", blocks)]
    for p in report.patterns:
        messages.append(
            _msg(f"clinician-pattern-{p.id.replace('_', '-')}", _pattern(p), p.citations)
        )
    return Section("patterns", "Pain patterns (descriptions, not diagnoses)", tuple(messages))


def _scores(report: Report, kb: KnowledgeBase) -> Section:
    rows: list[tuple[str, str, str]] = []
    for inst in kb.instruments.instruments:
        result = report.scores.get(inst.id)
        if result is not None:
            rows.append(
                (inst.short, inst.summary(result, "result"), inst.summary(result, "interpretation"))
            )
        else:
            rows.append((inst.short, "not scored", report.score_notes.get(inst.id, "")))
    pain = report.pain
    rows.append(
        (
            "Pain (0-10)",
            f"back {value_words(pain.get('back'))}, leg {value_words(pain.get('leg'))}",
            "",
        )
    )
    table = Block("table", header=("Measure", "Result", "Interpretation"), rows=tuple(rows))
    return Section("scores", "Scores", (_msg("clinician-scores", [table]),))


def _plan(report: Report) -> Section:
    m = report.management
    messages = []
    rec = [
        f"[{r.kind}] {r.text} ({r.guideline or 'NICE NG59'})"
        + "".join(f" CAUTION: {cx.text}" for cx in r.cautions)
        + (f" Check first (unanswered): {', '.join(r.check_first)}." if r.check_first else "")
        for r in m.recommended
    ]
    messages.append(
        _msg(
            "clinician-plan",
            [_list(rec) if rec else _p("No recommendation applies.")],
            [
                *(c for r in m.recommended for c in r.citations),
                *(c for r in m.recommended for cx in r.cautions for c in cx.citations),
            ],
        )
    )
    if m.not_recommended:
        messages.append(
            _msg(
                "clinician-not-recommended",
                [
                    _p("Do not offer (NICE NG59):"),
                    _list(f"{r.text} {r.reason} ({r.guideline})" for r in m.not_recommended),
                ],
                [c for r in m.not_recommended for c in r.citations],
            )
        )
    for pw in m.pathways:
        messages.append(
            _msg(
                f"clinician-pathway-{pw.id}",
                [
                    _p(f"{pw.name}: {PATHWAY_WORDS.get(pw.status, pw.status)}. {pw.summary}"),
                    _list(f"{c.label}: {_MET[c.met]}" for c in pw.criteria),
                ],
                pw.citations,
            )
        )
    return Section("plan", "Plan (NICE NG59)", tuple(messages))


def _unknowns(report: Report) -> Section | None:
    if not report.unknowns:
        return None
    rows = tuple(
        (
            u.field,
            u.kind + (f" (could raise to {u.could_raise_to})" if u.could_raise_to else ""),
            u.why,
        )
        for u in report.unknowns
    )
    table = Block("table", header=("Question", "Matters for", "Why"), rows=rows)
    return Section(
        "unknowns", "Unanswered questions that matter", (_msg("clinician-unknowns", [table]),)
    )


def _warnings(report: Report) -> Section | None:
    if not report.warnings:
        return None
    items = [f"{w.code}: {w.message}" for w in report.warnings]
    return Section("warnings", "Warnings", (_msg("clinician-warnings", [_list(items)]),))


def _codes(report: Report, answers: Mapping[str, Any] | None) -> Section:
    result = codes_for(report, answers)
    table = load_code_table()
    blocks: list[Block] = []
    if result.codes:
        blocks.append(
            Block(
                "table",
                header=("System", "Code", "Display"),
                rows=tuple((table.system(c.system).name, c.code, c.display) for c in result.codes),
            )
        )
    else:
        blocks.append(_p("No verified code applies to this working classification."))
    if result.held_back:
        blocks.append(
            _p(
                f"{result.held_back} candidate code(s) are held back until verified in their "
                "code system's own browser (knowledge/data/codes.yaml)."
            )
        )
    blocks.append(
        _p(
            "Only verified codes are shown, for the working classification only: suspected "
            "conditions and pain patterns are never coded."
        )
    )
    cites = [c for code in result.codes for c in code.citations]
    return Section("codes", "Codes", (_msg("clinician-codes", blocks, cites),))


def _leaflet(report: Report, answers: Mapping[str, Any] | None) -> Section:
    doc = compose_patient(report, answers)
    blocks = [
        _p(f"The person's leaflet: {_LEAFLETS[doc.kind]}."),
        _p("Messages: " + ", ".join(doc.message_ids()) + "."),
    ]
    return Section("leaflet", "Patient leaflet", (_msg("clinician-leaflet", blocks),))


def compose_clinician(
    report: Report,
    answers: Mapping[str, Any] | None = None,
    *,
    kb: KnowledgeBase | None = None,
) -> Document:
    """The clinician summary (a referral summary when the triage is not routine)."""
    base = kb or load_knowledge()
    referral = _referral(report, base)
    sections = [
        s
        for s in (
            referral,
            _triage(report, base),
            _classification(report),
            _patterns(report, base),
            _scores(report, base),
            _plan(report),
            _unknowns(report),
            _warnings(report),
            _codes(report, answers),
            _leaflet(report, answers),
        )
        if s is not None
    ]
    level = report.triage.level
    title = (
        f"Referral summary - {level_words(base, level)}"
        if referral is not None
        else "Clinician summary"
    )
    who = f"Assessment {report.id}" if report.id else "Assessment"
    when = f", assessed on {report.assessed_on}" if report.assessed_on else ""
    intro = (
        f"{who}{when}. Age {report.age}. "
        "Backstory supports clinical judgement and does not replace it."
    )
    cited = list(report.citations) + [c for s in sections for m in s.messages for c in m.citations]
    footer = (
        f"Knowledge version {report.knowledge_version}; explanations "
        f"{load_explanations().version}; codes {load_code_table().version}."
    )
    return Document(
        audience="clinician",
        kind="referral_summary" if referral is not None else "clinician_summary",
        title=title,
        intro=intro,
        sections=tuple(sections),
        sources_heading="Sources",
        sources=source_refs(cited, base),
        footer=footer,
        urgent=level in load_explanations().leaflet_choice.act_now_levels,
        report_id=report.id,
        assessed_on=report.assessed_on,
    )
