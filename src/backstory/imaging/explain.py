"""Explain a free-text spine scan report in plain words, with age-matched context.

Reports are written for doctors, and their words ("degeneration", "tear") frighten people
more than the findings deserve. This finds the findings the knowledge knows, decides which
are negated ("no stenosis"), ties each to a spinal level, and gives how common it is in
people of the same age with no back pain. Findings that need prompt attention are flagged
urgent and never reassured. Everything it knows comes from the knowledge data; this module
only applies it, with no I/O, so the same report and age always give the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import floor
from typing import Any

from backstory.errors import InputError
from backstory.imaging.knowledge import (
    FLAGS,
    Concern,
    FindingSpec,
    ImagingKnowledge,
    PrevalenceTable,
    load_imaging_knowledge,
)

MIN_AGE = 16
MAX_AGE = 110


class ScanInputError(InputError):
    """A report or age the explainer cannot work with; the message is fit to show a person."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding as the report words it, with what it means and how much it matters."""

    id: str
    label: str
    text: str
    start: int
    end: int
    level: str | None
    negated: bool
    concern: Concern
    prevalence_percent: int | None
    prevalence_text: str | None
    plain: str
    note: str
    citations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this finding."""
        return {
            "id": self.id,
            "label": self.label,
            "text": self.text,
            "span": [self.start, self.end],
            "level": self.level,
            "negated": self.negated,
            "concern": self.concern,
            "prevalence_percent": self.prevalence_percent,
            "prevalence_text": self.prevalence_text,
            "plain": self.plain,
            "note": self.note or None,
            "citations": list(self.citations),
        }


@dataclass(frozen=True, slots=True)
class Caveat:
    """A caveat that applies to this explanation."""

    id: str
    text: str
    citations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Citation:
    """A source the explanation relies on."""

    id: str
    short: str
    url: str | None
    doi: str | None


@dataclass(frozen=True, slots=True)
class ScanExplanation:
    """The whole explanation of one report for a person of a given age."""

    age: int
    prevalence_age: int
    findings: tuple[Finding, ...]
    caveats: tuple[Caveat, ...]
    urgent: bool
    urgent_message: str | None
    knowledge_version: str
    citations: tuple[Citation, ...]

    @property
    def present(self) -> tuple[Finding, ...]:
        """Findings the report says are there."""
        return tuple(f for f in self.findings if not f.negated)

    @property
    def negated(self) -> tuple[Finding, ...]:
        """Findings the report says were looked for and not found."""
        return tuple(f for f in self.findings if f.negated)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``age`` and ``findings`` first, then the supporting keys."""
        return {
            "age": self.age,
            "findings": [f.to_dict() for f in self.findings],
            "prevalence_age": self.prevalence_age,
            "urgent": self.urgent,
            "urgent_message": self.urgent_message,
            "caveats": [
                {"id": c.id, "text": c.text, "citations": list(c.citations)} for c in self.caveats
            ],
            "knowledge_version": self.knowledge_version,
            "citations": [
                {"id": c.id, "short": c.short, "url": c.url, "doi": c.doi} for c in self.citations
            ],
        }


# ---------------------------------------------------------------------------- prevalence


def prevalence_age(table: PrevalenceTable, age: int) -> int:
    """The age whose figures apply: the table covers only its own age range."""
    return min(max(age, table.ages[0]), table.ages[-1])


def prevalence_for_age(table: PrevalenceTable, row: str, age: int) -> int:
    """Percent of people of ``age`` without back pain who show the finding in ``row``.

    Exact at the table's ages, straight-line between them, clamped outside them, and
    rounded half up to a whole percent (exact arithmetic, so no float surprises).
    """
    values = table.rows[row].values
    a = prevalence_age(table, age)
    for (a0, v0), (a1, v1) in zip(
        zip(table.ages, values, strict=True),
        zip(table.ages[1:], values[1:], strict=True),
        strict=False,
    ):
        if a0 <= a <= a1:
            exact = Fraction(v0) + Fraction(v1 - v0) * Fraction(a - a0, a1 - a0)
            return floor(exact + Fraction(1, 2))
    raise AssertionError("unreachable: age is clamped into the table")  # pragma: no cover


# ---------------------------------------------------------------------------- text anatomy


@lru_cache(maxsize=512)
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, FLAGS)


def _pat(kn: ImagingKnowledge, pattern: str) -> re.Pattern[str]:
    """A knowledge pattern with its ``{{fragments}}`` filled in, compiled once."""
    return _rx(kn.expand(pattern))


def _any(kn: ImagingKnowledge, patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern matching any of ``patterns`` (None when there are none)."""
    if not patterns:
        return None
    return _rx("|".join(f"(?:{kn.expand(p)})" for p in patterns))


@dataclass(frozen=True, slots=True)
class _Mention:
    spec: FindingSpec
    start: int
    end: int


Span = tuple[int, int]


def _mask_ignored_sections(text: str, kn: ImagingKnowledge) -> str:
    """Blank out sections that state the question, not the findings (same length)."""
    heading = re.compile(kn.expand(kn.text.heading), FLAGS | re.MULTILINE)
    ignore = _pat(kn, kn.text.ignore_headings)
    resume = _pat(kn, kn.text.resume_headings)
    chars = list(text)
    for m in heading.finditer(text):
        if not ignore.match(m.group("name").strip()):
            continue
        end = len(text)
        for stop in (
            heading.search(text, m.end()),
            re.compile(r"\n[ \t]*\n").search(text, m.end()),
            resume.search(text, m.end()),
        ):
            if stop is not None:
                end = min(end, stop.start())
        for i in range(m.start(), end):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def _segments(text: str, breaks: re.Pattern[str] | None) -> list[Span]:
    """Cut ``text`` at every match of ``breaks``; the matches themselves are dropped."""
    spans: list[Span] = []
    pos = 0
    if breaks is not None:
        for m in breaks.finditer(text):
            spans.append((pos, m.start()))
            pos = max(m.end(), pos)
    spans.append((pos, len(text)))
    return spans


def _containing(spans: list[Span], pos: int) -> Span:
    for s, e in spans:
        if s <= pos < e or (s == e == pos):
            return s, e
    return spans[-1]


def _find_mentions(text: str, kn: ImagingKnowledge) -> list[_Mention]:
    found: list[_Mention] = []
    for spec in kn.findings:
        rx = _any(kn, spec.patterns)
        assert rx is not None  # a finding always has patterns
        for m in rx.finditer(text):
            if m.end() > m.start():
                found.append(_Mention(spec, m.start(), m.end()))
    found.sort(key=lambda x: (x.start, -x.end, x.spec.id))
    return found


def _apply_yields(mentions: list[_Mention], clauses: list[Span]) -> list[_Mention]:
    """Drop a vague mention when a more specific one overlaps it (or shares its clause)."""
    kept: list[_Mention] = []
    for m in mentions:
        if m.spec.yields_to:
            clause = _containing(clauses, m.start)
            if any(
                o.spec.id in m.spec.yields_to
                and (
                    _overlap(m, o)
                    or (m.spec.yield_scope == "clause" and _containing(clauses, o.start) == clause)
                )
                for o in mentions
            ):
                continue
        kept.append(m)
    return kept


def _overlap(a: _Mention, b: _Mention) -> bool:
    return a.start < b.end and b.start < a.end


# ---------------------------------------------------------------------------- negation

_LIST_GLUE = re.compile(r"^(?:[\s,/]|\b(?:or|and|nor|and/or|a|an|the|any)\b)*$", FLAGS)


def _is_negated(
    text: str, m: _Mention, clause: Span, others: list[_Mention], kn: ImagingKnowledge
) -> bool:
    cs, ce = clause
    pseudo = _any(kn, kn.negation.pseudo)
    blocked = [(p.start(), p.end()) for p in pseudo.finditer(text, cs, ce)] if pseudo else []

    def valid(c: re.Match[str]) -> bool:
        return not any(c.start() < pe and ps < c.end() for ps, pe in blocked)

    before = _any(kn, kn.negation.before)
    if before is not None:
        for c in before.finditer(text, cs, m.start):
            if valid(c):
                return True
    after = _any(kn, kn.negation.after)
    if after is not None:
        for c in after.finditer(text, m.end, ce):
            if valid(c) and _reaches_back(text, m, c.start(), others):
                return True
    return False


def _reaches_back(text: str, m: _Mention, cue_start: int, others: list[_Mention]) -> bool:
    """A trailing cue ("is not seen") reaches back past commas only across a plain list."""
    gap = text[m.end : cue_start]
    if "," not in gap:
        return True
    chars = list(gap)
    for o in others:
        if o is m:
            continue
        for i in range(max(o.start, m.end), min(o.end, cue_start)):
            chars[i - m.end] = " "
    return bool(_LIST_GLUE.match("".join(chars)))


# ---------------------------------------------------------------------------- levels


def _normalise_level(upper: str, lower: str | None) -> str:
    up = upper.upper()
    if not lower:
        return up
    low = lower.upper()
    if low.isdigit():
        return f"{up}/{low}"
    if low[0] == up[0]:
        return f"{up}/{low[1:]}"
    return f"{up}/{low}"


def _level_of(match: re.Match[str]) -> str:
    return _normalise_level(match.group("upper"), match.group("lower"))


def _find_level(
    text: str,
    m: _Mention,
    sentence: Span,
    next_start: int,
    kn: ImagingKnowledge,
) -> str | None:
    """The spinal level a mention belongs to, or None when the report does not say.

    Tried in order: a level inside the mention ("L1 compression fracture"); one right after
    it with a linking word ("bulge at L4/5"); the nearest one before it in the sentence
    ("At L4/5 there is..."); any after it in the sentence; a level heading on its line.
    """
    level = _pat(kn, kn.levels.pattern)
    ss, se = sentence
    inside = level.search(text, m.start, m.end)
    if inside is not None:
        return _level_of(inside)
    region_end = min(se, next_start) if next_start > m.end else se
    after = level.search(text, m.end, region_end)
    if after is not None and _pat(kn, kn.levels.after_prefix).fullmatch(text, m.end, after.start()):
        return _level_of(after)
    before = [x for x in level.finditer(text, ss, m.start)]
    if before:
        return _level_of(before[-1])
    later = level.search(text, m.end, se)
    if later is not None:
        return _level_of(later)
    line_start = text.rfind("\n", 0, m.start) + 1
    head = re.compile(kn.expand(kn.levels.line_heading), FLAGS | re.MULTILINE).match(
        text, line_start, m.start
    )
    if head is not None:
        lv = level.search(head.group("level"))
        if lv is not None:
            return _level_of(lv)
    return None


# ---------------------------------------------------------------------------- assembly


def _concern(kn: ImagingKnowledge, spec: FindingSpec, window: str) -> tuple[Concern, str]:
    """The first concern rule found next to the mention wins; otherwise the default."""
    for rule in spec.concern_rules:
        if _pat(kn, rule.pattern).search(window):
            return rule.concern, rule.note
    return spec.concern, spec.note


def _check_inputs(report_text: str, age: int) -> None:
    if isinstance(age, bool) or not isinstance(age, int):
        raise ScanInputError("Age must be a whole number of years, for example 45.")
    if age < MIN_AGE:
        raise ScanInputError(
            f"This explainer is for people aged {MIN_AGE} and over; the age given was {age}."
        )
    if age > MAX_AGE:
        raise ScanInputError(f"An age of {age} is above {MAX_AGE}; please check the age.")
    if not isinstance(report_text, str) or not report_text.strip():
        raise ScanInputError("The report is empty: there is no text to explain.")


@dataclass(frozen=True, slots=True)
class _Resolved:
    mention: _Mention
    negated: bool
    level: str | None
    concern: Concern
    note: str


def _resolve(text: str, kn: ImagingKnowledge) -> list[_Resolved]:
    sentence_rx = _any(kn, kn.text.sentence_breaks)
    clause_rx = _any(kn, kn.text.sentence_breaks + kn.text.clause_breaks)
    sentences = _segments(text, sentence_rx)
    clauses = _segments(text, clause_rx)
    mentions = _apply_yields(_find_mentions(text, kn), clauses)
    resolved: list[_Resolved] = []
    for m in mentions:
        clause = _containing(clauses, m.start)
        sentence = _containing(sentences, m.start)
        same_clause = [o for o in mentions if o is not m and clause[0] <= o.start < clause[1]]
        prev_end = max([o.end for o in same_clause if o.end <= m.start], default=clause[0])
        next_start = min([o.start for o in same_clause if o.start >= m.end], default=clause[1])
        negated = _is_negated(text, m, clause, same_clause, kn)
        following = [o.start for o in mentions if o is not m and o.start >= m.end]
        level = _find_level(text, m, sentence, min(following, default=len(text)), kn)
        if negated:
            concern: Concern = "reassure"
            note = ""
        else:
            concern, note = _concern(kn, m.spec, text[max(clause[0], prev_end) : next_start])
        resolved.append(_Resolved(m, negated, level, concern, note))
    return _dedupe(resolved)


def _dedupe(items: list[_Resolved]) -> list[_Resolved]:
    """One entry per finding, level and negation; a mention without a level is dropped
    when the same finding is already listed with one (reports repeat findings in the
    impression)."""
    seen: set[tuple[str, str | None, bool]] = set()
    with_level = {(r.mention.spec.id, r.negated) for r in items if r.level is not None}
    out: list[_Resolved] = []
    for r in items:
        key = (r.mention.spec.id, r.level, r.negated)
        if key in seen:
            continue
        if r.level is None and (r.mention.spec.id, r.negated) in with_level:
            continue
        seen.add(key)
        out.append(r)
    return out


def _caveats(kn: ImagingKnowledge, age: int, present: set[str], urgent: bool) -> tuple[Caveat, ...]:
    out: list[Caveat] = []
    for cav in kn.caveats:
        if urgent and not cav.show_when_urgent:
            continue
        show = (
            cav.when == "always"
            or (cav.when == "finding_present" and bool(present & set(cav.applies_to)))
            or (cav.when == "age_below_table" and age < kn.prevalence.ages[0])
            or (cav.when == "age_above_table" and age > kn.prevalence.ages[-1])
        )
        if show:
            out.append(Caveat(cav.id, cav.text, cav.citations))
    return tuple(out)


def explain_scan(
    report_text: str, age: int, knowledge: ImagingKnowledge | None = None
) -> ScanExplanation:
    """Explain ``report_text`` for a person aged ``age``.

    Raises ScanInputError (with a plain message) for an empty report or an age outside
    16-110. Pass ``knowledge`` to use other knowledge than the bundled file.
    """
    _check_inputs(report_text, age)
    kn = knowledge if knowledge is not None else load_imaging_knowledge()
    text = _mask_ignored_sections(report_text, kn)
    resolved = _resolve(text, kn)
    urgent = any(r.concern == "urgent" and not r.negated for r in resolved)
    p_age = prevalence_age(kn.prevalence, age)
    findings: list[Finding] = []
    for r in resolved:
        spec = r.mention.spec
        percent: int | None = None
        if not r.negated and spec.prevalence_row is not None:
            percent = prevalence_for_age(kn.prevalence, spec.prevalence_row, age)
        if r.negated:
            prevalence_text: str | None = None
            plain, note = kn.messages.negated, ""
        elif urgent and r.concern != "urgent":
            # An urgent report is a different document: nothing in it reassures.
            prevalence_text = None
            plain, note = kn.urgent.also_mentions.format(name=spec.name_plain), ""
        else:
            prevalence_text = (
                kn.messages.prevalence.format(percent=percent, age=p_age)
                if percent is not None
                else spec.no_prevalence_reason
            )
            plain, note = spec.plain, r.note
        findings.append(
            Finding(
                id=spec.id,
                label=spec.label,
                text=report_text[r.mention.start : r.mention.end],
                start=r.mention.start,
                end=r.mention.end,
                level=r.level,
                negated=r.negated,
                concern=r.concern,
                prevalence_percent=percent,
                prevalence_text=prevalence_text,
                plain=plain,
                note=note,
                citations=() if urgent and r.concern != "urgent" else spec.citations,
            )
        )
    present = {f.id for f in findings if not f.negated}
    caveats = _caveats(kn, age, present, urgent)
    cited: list[str] = []
    for ids in (
        *(f.citations for f in findings if not f.negated),
        *(c.citations for c in caveats),
        kn.prevalence.citations if any(f.prevalence_percent is not None for f in findings) else (),
        kn.urgent.citations if urgent else (),
    ):
        cited.extend(i for i in ids if i not in cited)
    citations = []
    for cid in cited:
        src = kn.source(cid)
        citations.append(
            Citation(cid, src.short, src.url, src.doi) if src else Citation(cid, cid, None, None)
        )
    return ScanExplanation(
        age=age,
        prevalence_age=p_age,
        findings=tuple(findings),
        caveats=caveats,
        urgent=urgent,
        urgent_message=kn.urgent.message if urgent else None,
        knowledge_version=kn.version,
        citations=tuple(citations),
    )
