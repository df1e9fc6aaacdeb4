"""Fill the knowledge's templates from a report: the patient leaflet as a ``Document``.

Pure apart from reading the bundled knowledge (cached). Every sentence comes from the
knowledge file; this module only chooses the parts that apply (by the conditions computed in
``select``), substitutes the placeholders and fills the lists the report provides, keeping each
message's id and sources so that tests and renderers can rely on them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backstory.core.report import Report, TriageReason
from backstory.explain.document import Block, Document, Message, Section, SourceRef
from backstory.explain.knowledge import (
    ExplanationsKnowledge,
    ListName,
    MessageSpec,
    Part,
    load_explanations,
    matches,
)
from backstory.explain.select import Selection, select
from backstory.imaging import load_imaging_knowledge, prevalence_for_age
from backstory.knowledge.loader import KnowledgeBase, load_knowledge

#: Lists whose entries are whole paragraphs rather than bullet items.
_PARAGRAPH_LISTS: frozenset[str] = frozenset({"reason_do_now", "reason_why", "reason_next"})
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def sentence(item: str) -> str:
    """A list item as a sentence: capital first letter and a full stop (reads as a unit)."""
    t = " ".join(item.split())
    if not t:
        return t
    t = t[0].upper() + t[1:]
    return t if t[-1] in ".!?:" else t + "."


def _date_words(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        d = _dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


@dataclass(frozen=True, slots=True)
class _Context:
    selection: Selection
    values: Mapping[str, str]
    lists: Mapping[ListName, tuple[str, ...]]
    list_citations: Mapping[ListName, tuple[str, ...]]


def _rule_texts(
    kn: ExplanationsKnowledge, reasons: Iterable[TriageReason], attr: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    texts: list[str] = []
    cites: list[str] = []
    for r in reasons:
        rule = kn.triage_rules.get(r.rule)
        text = getattr(rule, attr) if rule is not None else None
        if rule is not None and text and text not in texts:
            texts.append(text)
            cites.extend(rule.citations)
    return tuple(texts), tuple(dict.fromkeys(cites))


def placeholder_values(report: Report, kn: ExplanationsKnowledge) -> dict[str, str]:
    """The value of every placeholder for this report (age-matched scan figures included)."""
    table = load_imaging_knowledge().prevalence
    lo, hi = table.ages[0], table.ages[-1]
    age = report.age
    shown_age = min(max(age, lo), hi)
    people = (
        kn.labels.people_your_age
        if lo <= age <= hi
        else kn.labels.people_of_age.format(age=shown_age)
    )
    return {
        "age": str(age),
        "people_your_age": people,
        "disc_changes": str(prevalence_for_age(table, "disc_degeneration", age)),
        "disc_bulge": str(prevalence_for_age(table, "disc_bulge", age)),
        "facet_changes": str(prevalence_for_age(table, "facet_degeneration", age)),
        "date": _date_words(report.assessed_on),
        "version": f"{report.knowledge_version}/{kn.version}",
    }


def _context(
    report: Report,
    kn: ExplanationsKnowledge,
    answers: Mapping[str, Any] | None,
    kb: KnowledgeBase,
) -> _Context:
    table = load_imaging_knowledge().prevalence
    yes_no = frozenset(f for f, spec in kb.contract.fields.items() if spec.type == "bool")
    sel = select(
        report,
        kn,
        answers,
        table_ages=(table.ages[0], table.ages[-1]),
        yes_no_fields=yes_no,
        kb=kb,
    )
    top = tuple(r for r in sel.reasons if r.level == report.triage.level)
    do_now, do_now_c = _rule_texts(kn, top, "do_now")
    why, why_c = _rule_texts(kn, sel.reasons, "why")
    nxt, nxt_c = _rule_texts(kn, sel.reasons, "next")
    nr_cites = tuple(
        dict.fromkeys(c for r in report.management.not_recommended for c in r.citations)
    )
    lists: dict[ListName, tuple[str, ...]] = {
        "reason_do_now": do_now,
        "reason_why": why,
        "reason_next": nxt,
        "signs_found": sel.signs_found,
        "not_asked": sel.not_asked,
        "not_recommended": sel.not_recommended,
        "person_warnings": sel.person_warnings,
    }
    cites: dict[ListName, tuple[str, ...]] = {
        "reason_do_now": do_now_c,
        "reason_why": why_c,
        "reason_next": nxt_c,
        "not_recommended": nr_cites,
        "person_warnings": sel.person_warning_citations,
    }
    return _Context(sel, placeholder_values(report, kn), lists, cites)


def _fill(text: str, values: Mapping[str, str]) -> str:
    return " ".join(text.format_map(values).split())


def _part_blocks(part: Part, ctx: _Context) -> tuple[list[Block], tuple[str, ...]]:
    sig = ctx.selection.signals
    if not matches(part.when, sig):
        return [], ()
    text = part.text
    if part.one_of:
        text = next(v.text for v in part.one_of if matches(v.when, sig))
    items: tuple[str, ...] = part.items
    cites: tuple[str, ...] = ()
    if part.list is not None:
        items = ctx.lists[part.list]
        cites = ctx.list_citations.get(part.list, ())
        if not items:
            return [], ()  # an introduction to an empty list is not shown either
    blocks: list[Block] = []
    if text is not None:
        blocks.append(Block("paragraph", text=_fill(text, ctx.values)))
    if items:
        filled = tuple(_fill(i, ctx.values) for i in items)
        if part.list in _PARAGRAPH_LISTS:
            emphasis = part.list == "reason_do_now"
            blocks += [Block("paragraph", text=t, emphasis=emphasis) for t in filled]
        else:
            blocks.append(Block("list", items=tuple(sentence(i) for i in filled)))
    return blocks, cites


def _message(spec: MessageSpec, ctx: _Context) -> Message | None:
    if not matches(spec.when, ctx.selection.signals):
        return None
    blocks: list[Block] = []
    cites: list[str] = list(spec.citations)
    for part in spec.parts:
        b, c = _part_blocks(part, ctx)
        blocks += b
        cites += c
    if not blocks:
        return None
    return Message(spec.id, tuple(blocks), tuple(dict.fromkeys(cites)))


def source_refs(ids: Iterable[str], kb: KnowledgeBase) -> tuple[SourceRef, ...]:
    """The sources behind ``ids``, each once, as a reader can look them up."""
    out: list[SourceRef] = []
    for sid in dict.fromkeys(ids):
        src = kb.sources.get(sid)
        if src is None:
            out.append(SourceRef(sid, sid, None))
            continue
        out.append(SourceRef(sid, src.short, src.link))
    return tuple(out)


def compose_patient(
    report: Report,
    answers: Mapping[str, Any] | None = None,
    *,
    knowledge: ExplanationsKnowledge | None = None,
    kb: KnowledgeBase | None = None,
) -> Document:
    """The patient leaflet for a report.

    ``answers`` (the validated assessment's answers) lets the wording use answers the report
    does not carry, such as confidence to move; without them those parts are left out.
    """
    kn = knowledge or load_explanations()
    base = kb or load_knowledge()
    ctx = _context(report, kn, answers, base)
    spec = kn.document(ctx.selection.kind)
    sig = ctx.selection.signals
    sections: list[Section] = []
    for sec in spec.sections:
        messages = [m for m in (_message(kn.message(mid), ctx) for mid in sec.messages) if m]
        if messages:
            sections.append(Section(sec.id, sec.heading, tuple(messages)))
    title = next(v.text for v in spec.title if matches(v.when, sig))
    intro = next(v.text for v in spec.intro if matches(v.when, sig))
    cited = [c for s in sections for m in s.messages for c in m.citations]
    return Document(
        audience="patient",
        kind=ctx.selection.kind,
        title=_fill(title, ctx.values),
        intro=_fill(intro, ctx.values),
        sections=tuple(sections),
        sources_heading=kn.labels.sources_heading,
        sources=source_refs(cited, base),
        footer=_fill(kn.labels.version, ctx.values),
        urgent=ctx.selection.kind == "act_now",
        report_id=report.id,
        assessed_on=report.assessed_on,
        page_words=(kn.labels.page, kn.labels.of),
    )
