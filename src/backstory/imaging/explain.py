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
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from heapq import heappop, heappush
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
MAX_REPORT_CHARS = 50_000
"""Longest report accepted. A long MRI report runs to a few thousand characters; past this
the text is not a single scan report, and refusing it keeps every answer quick."""


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
#
# Every pattern is matched once over the whole report and the matches are looked up by
# position (bisect), so the time taken grows in step with the report's length, not with
# the number of findings times the length.


@lru_cache(maxsize=512)
def _rx(pattern: str, flags: int = FLAGS) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _pat(kn: ImagingKnowledge, pattern: str, flags: int = FLAGS) -> re.Pattern[str]:
    """A knowledge pattern with its ``{{fragments}}`` filled in, compiled once."""
    return _rx(kn.expand(pattern), flags)


def _any(kn: ImagingKnowledge, patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern matching any of ``patterns`` (None when there are none)."""
    if not patterns:
        return None
    return _rx("|".join(f"(?:{kn.expand(p)})" for p in patterns))


def _starts(rx: re.Pattern[str], text: str) -> list[int]:
    """Every position where ``rx`` matches, overlapping matches included."""
    return [m.start() for m in _rx(f"(?=(?:{rx.pattern}))", rx.flags).finditer(text)]


def _first_at_or_after(sorted_positions: list[int], pos: int) -> int | None:
    i = bisect_left(sorted_positions, pos)
    return sorted_positions[i] if i < len(sorted_positions) else None


@dataclass(frozen=True, slots=True)
class _Mention:
    spec: FindingSpec
    start: int
    end: int


Span = tuple[int, int]


class _Spans:
    """Matches of one pattern over the whole text, sorted, looked up by position."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans
        self.starts = [s for s, _ in spans]

    @classmethod
    def of(cls, rx: re.Pattern[str] | None, text: str) -> _Spans:
        if rx is None:
            return cls([])
        return cls([(m.start(), m.end()) for m in rx.finditer(text) if m.end() > m.start()])

    def first_within(self, lo: int, hi: int) -> Span | None:
        """The first match that starts at or after ``lo`` and ends by ``hi``."""
        i = bisect_left(self.starts, lo)
        if i < len(self.spans) and self.spans[i][1] <= hi:
            return self.spans[i]
        return None

    def last_within(self, lo: int, hi: int) -> Span | None:
        """The last match that starts at or after ``lo`` and ends by ``hi``."""
        i = bisect_right(self.starts, hi) - 1
        while i >= 0 and self.spans[i][0] >= lo:
            if self.spans[i][1] <= hi:
                return self.spans[i]
            i -= 1
        return None

    def overlaps(self, lo: int, hi: int) -> bool:
        """Whether any match overlaps ``[lo, hi)``."""
        i = bisect_left(self.starts, hi) - 1
        # Matches are non-overlapping and sorted, so only the last one starting before
        # ``hi`` can reach into the range.
        return i >= 0 and self.spans[i][1] > lo

    def without(self, blocked: _Spans) -> _Spans:
        """These matches less those that overlap one of ``blocked``."""
        return _Spans([s for s in self.spans if not blocked.overlaps(*s)])


def _mask_ignored_sections(text: str, kn: ImagingKnowledge) -> str:
    """Blank out sections that state the question, not the findings (same length)."""
    heading = _pat(kn, kn.text.heading, FLAGS | re.MULTILINE)
    ignore = _pat(kn, kn.text.ignore_headings)
    headings = [m for m in heading.finditer(text)]
    heading_starts = [m.start() for m in headings]
    blank_starts = _starts(_rx(r"\n[ \t]*\n"), text)
    resume_starts = _starts(_pat(kn, kn.text.resume_headings), text)
    chars = list(text)
    for m in headings:
        if not ignore.match(m.group("name").strip()):
            continue
        end = len(text)
        for starts in (heading_starts, blank_starts, resume_starts):
            stop = _first_at_or_after(starts, m.end())
            if stop is not None:
                end = min(end, stop)
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


def _containing_index(spans: list[Span], starts: list[int], pos: int) -> int:
    """The index of the first segment holding ``pos`` (an empty one counts at its place).

    Segments are sorted and do not overlap; a position inside a dropped break belongs to
    no segment and gets the last one, as it always has.
    """
    i = bisect_left(starts, pos)
    if i > 0 and spans[i - 1][0] < pos < spans[i - 1][1]:
        return i - 1
    if i < len(spans) and spans[i][0] == pos:
        return i
    return len(spans) - 1


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


def _apply_yields(mentions: list[_Mention], clause_of: list[int]) -> list[_Mention]:
    """Drop a vague mention when a more specific one overlaps it (or shares its clause)."""
    ids_in_clause: dict[int, set[str]] = {}
    for m, c in zip(mentions, clause_of, strict=True):
        ids_in_clause.setdefault(c, set()).add(m.spec.id)
    starts = [m.start for m in mentions]
    longest = max((m.end - m.start for m in mentions), default=0)
    kept: list[_Mention] = []
    for m, c in zip(mentions, clause_of, strict=True):
        if m.spec.yields_to:
            stronger = set(m.spec.yields_to)
            if m.spec.yield_scope == "clause" and ids_in_clause[c] & stronger:
                continue
            lo = bisect_left(starts, m.start - longest)
            hi = bisect_left(starts, m.end)
            if any(
                mentions[i].spec.id in stronger and _overlap(m, mentions[i]) for i in range(lo, hi)
            ):
                continue
        kept.append(m)
    return kept


def _overlap(a: _Mention, b: _Mention) -> bool:
    return a.start < b.end and b.start < a.end


# ---------------------------------------------------------------------------- negation

_LIST_GLUE_WORDS = re.compile(r"\b(?:and/or|or|and|nor|a|an|the|any)\b", FLAGS)


class _Negation:
    """Where the report's negation cues are, found once for the whole text."""

    def __init__(self, text: str, kn: ImagingKnowledge) -> None:
        pseudo = _Spans.of(_any(kn, kn.negation.pseudo), text)
        self.before = _Spans.of(_any(kn, kn.negation.before), text).without(pseudo)
        self.within = _Spans.of(_any(kn, kn.negation.within), text).without(pseudo)
        self.after = _Spans.of(_any(kn, kn.negation.after), text).without(pseudo)
        self.commas = [i for i, ch in enumerate(text) if ch == ","]

    def negates(self, m: _Mention, clause: Span, reach: _ListReach) -> bool:
        cs, ce = clause
        if self.before.first_within(cs, m.start) is not None:
            return True
        if self.within.first_within(m.start, m.end) is not None:
            return True
        cue = self.after.first_within(m.end, ce)
        if cue is None:
            return False
        # A trailing cue ("is not seen") reaches back past commas only across a plain list
        # of findings; whether it does only gets harder for a later cue, so the first one
        # decides.
        comma = _first_at_or_after(self.commas, m.end)
        return comma is None or comma >= cue[0] or reach.is_list(m.end, cue[0])


class _ListReach:
    """Whether the words between two points of a clause are only a list of findings.

    The other findings are blanked out, then what remains must be list glue: spaces,
    commas, slashes and the words "and", "or", "nor", "a", "an", "the", "any".
    """

    def __init__(self, text: str, clause: Span, mentions: list[_Mention]) -> None:
        cs, ce = clause
        chars = list(text[cs:ce])
        for o in mentions:
            for i in range(max(o.start, cs), min(o.end, ce)):
                chars[i - cs] = " "
        masked = "".join(chars)
        glue = [ch in ",/" or ch.isspace() for ch in masked]
        for w in _LIST_GLUE_WORDS.finditer(masked):
            for i in range(w.start(), w.end()):
                glue[i] = True
        # next_bad[i]: the first position at or after i (clause-relative) that is not glue.
        next_bad = [len(glue)] * (len(glue) + 1)
        for i in range(len(glue) - 1, -1, -1):
            next_bad[i] = i if not glue[i] else next_bad[i + 1]
        self.cs = cs
        self.next_bad = next_bad

    def is_list(self, start: int, end: int) -> bool:
        return self.cs + self.next_bad[start - self.cs] >= end


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


class _Levels:
    """Where the report names spinal levels, found once for the whole text."""

    def __init__(self, text: str, kn: ImagingKnowledge) -> None:
        self.text = text
        self.kn = kn
        self.rx = _pat(kn, kn.levels.pattern)
        self.matches = {m.start(): m for m in self.rx.finditer(text) if m.end() > m.start()}
        self.found = _Spans([(m.start(), m.end()) for m in self.matches.values()])
        self.after_prefix = _pat(kn, kn.levels.after_prefix)
        self.line_heading = _pat(kn, kn.levels.line_heading, FLAGS | re.MULTILINE)
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def _name(self, span: Span) -> str:
        return _level_of(self.matches[span[0]])

    def of(self, m: _Mention, sentence: Span, next_start: int) -> str | None:
        """The spinal level a mention belongs to, or None when the report does not say.

        Tried in order: a level inside the mention ("L1 compression fracture"); one right
        after it with a linking word ("bulge at L4/5"); the nearest one before it in the
        sentence ("At L4/5 there is..."); any after it in the sentence; a level heading on
        its line.
        """
        text = self.text
        ss, se = sentence
        inside = self.rx.search(text, m.start, m.end)
        if inside is not None:
            return _level_of(inside)
        region_end = min(se, next_start) if next_start > m.end else se
        after = self.found.first_within(m.end, region_end)
        if after is not None and self.after_prefix.fullmatch(text, m.end, after[0]):
            return self._name(after)
        before = self.found.last_within(ss, m.start)
        if before is not None:
            return self._name(before)
        later = self.found.first_within(m.end, se)
        if later is not None:
            return self._name(later)
        line_start = self.line_starts[bisect_right(self.line_starts, m.start) - 1]
        head = self.line_heading.match(text, line_start, m.start)
        if head is not None:
            lv = self.rx.search(head.group("level"))
            if lv is not None:
                return _level_of(lv)
        return None


# ---------------------------------------------------------------------------- assembly


@dataclass(frozen=True, slots=True)
class _Concern:
    concern: Concern
    note: str
    plain: str | None = None
    no_prevalence_reason: str | None = None


def _concern(kn: ImagingKnowledge, spec: FindingSpec, window: str) -> _Concern:
    """The first concern rule found next to the mention wins; otherwise the default."""
    for rule in spec.concern_rules:
        if _pat(kn, rule.pattern).search(window):
            return _Concern(rule.concern, rule.note, rule.plain, rule.no_prevalence_reason)
    return _Concern(spec.concern, spec.note)


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
    if len(report_text) > MAX_REPORT_CHARS:
        raise ScanInputError(
            f"The report is {len(report_text):,} characters long; this explainer reads one scan"
            f" report of at most {MAX_REPORT_CHARS:,} characters. Please give the report alone."
        )


@dataclass(frozen=True, slots=True)
class _Resolved:
    mention: _Mention
    negated: bool
    level: str | None
    concern: _Concern


def _resolve(text: str, kn: ImagingKnowledge) -> list[_Resolved]:
    sentences = _segments(text, _any(kn, kn.text.sentence_breaks))
    clauses = _segments(text, _any(kn, kn.text.sentence_breaks + kn.text.clause_breaks))
    sentence_starts = [s for s, _ in sentences]
    clause_starts = [s for s, _ in clauses]
    found = _find_mentions(text, kn)
    clause_of = [_containing_index(clauses, clause_starts, m.start) for m in found]
    mentions = _apply_yields(found, clause_of)
    by_clause: dict[int, list[_Mention]] = {}
    for m in mentions:
        by_clause.setdefault(_containing_index(clauses, clause_starts, m.start), []).append(m)
    negation = _Negation(text, kn)
    levels = _Levels(text, kn)
    starts = [m.start for m in mentions]
    resolved: list[_Resolved] = []
    for ci, group in sorted(by_clause.items()):
        clause = clauses[ci]
        reach = _ListReach(text, clause, group)
        group_starts = [o.start for o in group]
        ended: list[int] = []  # ends of earlier mentions in this clause, as a min-heap
        closed = clause[0]  # the furthest end among them that lies before this mention
        for m in group:
            while ended and ended[0] <= m.start:
                closed = max(closed, heappop(ended))
            heappush(ended, m.end)
            nxt = _first_at_or_after(group_starts, m.end)
            next_start = clause[1] if nxt is None else nxt
            sentence = sentences[_containing_index(sentences, sentence_starts, m.start)]
            negated = negation.negates(m, clause, reach)
            following = _first_at_or_after(starts, m.end)
            level = levels.of(m, sentence, len(text) if following is None else following)
            if negated:
                concern = _Concern("reassure", "")
            else:
                concern = _concern(kn, m.spec, text[closed:next_start])
            resolved.append(_Resolved(m, negated, level, concern))
    resolved.sort(key=lambda r: (r.mention.start, -r.mention.end, r.mention.spec.id))
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
    urgent = any(r.concern.concern == "urgent" and not r.negated for r in resolved)
    p_age = prevalence_age(kn.prevalence, age)
    findings: list[Finding] = []
    for r in resolved:
        spec = r.mention.spec
        c = r.concern
        percent: int | None = None
        if not r.negated and spec.prevalence_row is not None:
            percent = prevalence_for_age(kn.prevalence, spec.prevalence_row, age)
        if r.negated:
            prevalence_text: str | None = None
            plain, note = kn.messages.negated, ""
        elif urgent and c.concern != "urgent":
            # An urgent report is a different document: nothing in it reassures, but every
            # other finding still gets its plain meaning, so nothing is left unexplained.
            prevalence_text = None
            meaning = c.plain or spec.meaning or ""
            plain = kn.urgent.also_mentions.format(name=spec.name_plain, meaning=meaning)
            plain, note = " ".join(plain.split()), ""
        else:
            prevalence_text = (
                kn.messages.prevalence.format(percent=percent, age=p_age)
                if percent is not None
                else (c.no_prevalence_reason or spec.no_prevalence_reason)
            )
            plain, note = (c.plain or spec.plain), c.note
        findings.append(
            Finding(
                id=spec.id,
                label=spec.label,
                text=report_text[r.mention.start : r.mention.end],
                start=r.mention.start,
                end=r.mention.end,
                level=r.level,
                negated=r.negated,
                concern=c.concern,
                prevalence_percent=percent,
                prevalence_text=prevalence_text,
                plain=plain,
                note=note,
                citations=spec.citations,
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
