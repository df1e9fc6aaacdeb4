"""The scan-explainer knowledge: vocabulary, Brinjikji table and wording, validated at load.

The knowledge is data (``knowledge/data/imaging.yaml``) so that clinicians can review and
correct it without reading code. These models reject unknown keys and check, before anything
runs, that every pattern compiles, every number is a percentage, every citation resolves and
the patient wording keeps to the project's rules, so a bad edit fails loudly at load.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from importlib.resources.abc import Traversable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backstory.knowledge.files import (
    Bibliography,
    KnowledgeError,
    citation_places,
    data_root,
    load_bibliography,
    load_bibliography_from,
    read_yaml,
    validate,
)
from backstory.knowledge.files import (
    Source as Source,  # the one bibliography entry model
)

Concern = Literal["reassure", "discuss", "urgent"]
CaveatWhen = Literal["always", "finding_present", "age_below_table", "age_above_table"]

FLAGS = re.IGNORECASE
"""Every knowledge pattern is matched without regard to case."""

_FINDING_ID = r"^[a-z][a-z0-9_]*$"
_KEBAB_ID = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_FRAGMENT = re.compile(r"\{\{([a-z_]+)\}\}")
# A group repeated without an upper bound: ")*", ")+" (not an escaped "\)").
_UNBOUNDED_GROUP = re.compile(r"(?<!\\)\)[*+]")

DATA_FILE = "imaging.yaml"
BIBLIOGRAPHY_FILE = "imaging.yaml"


class ImagingKnowledgeError(KnowledgeError):
    """The imaging knowledge files are broken; the message names the file and entry."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(_Frozen):
    """What the explainer needs to name a source; read from any bibliography file."""

    id: str
    short: str
    url: str | None = None
    doi: str | None = None


class PrevalenceRow(_Frozen):
    """One finding's row of the table, as the paper labels it."""

    label: str = Field(min_length=1)
    values: tuple[int, ...]


class PrevalenceTable(_Frozen):
    """Brinjikji 2015 Table 2: percent of people without back pain, by age."""

    citations: tuple[str, ...] = Field(min_length=1)
    ages: tuple[int, ...] = Field(min_length=2)
    rows: dict[str, PrevalenceRow]

    @model_validator(mode="after")
    def _check(self) -> PrevalenceTable:
        if any(b <= a for a, b in zip(self.ages, self.ages[1:], strict=False)):
            raise ValueError("prevalence.ages must increase strictly")
        for name, row in self.rows.items():
            if len(row.values) != len(self.ages):
                raise ValueError(f"prevalence.rows.{name}: needs one value per age")
            if any(not 0 <= v <= 100 for v in row.values):
                raise ValueError(f"prevalence.rows.{name}: values must be percentages")
        return self


class ConcernRule(_Frozen):
    """Changes a finding's concern when ``pattern`` occurs next to it (e.g. a slip's grade).

    A rule that lowers an urgent finding (an old, healed fracture) brings its own ``plain``
    and ``no_prevalence_reason``, since the finding's default words say to act today.
    """

    pattern: str
    concern: Concern
    note: str = ""
    plain: str | None = None
    no_prevalence_reason: str | None = None


class FindingSpec(_Frozen):
    """One finding: how reports word it, how much concern it deserves, and what to say."""

    id: str = Field(pattern=_FINDING_ID)
    label: str = Field(min_length=1)
    name_plain: str = Field(min_length=1)
    concern: Concern
    patterns: tuple[str, ...] = Field(min_length=1)
    concern_rules: tuple[ConcernRule, ...] = ()
    yields_to: tuple[str, ...] = ()
    yield_scope: Literal["clause", "overlap"] = "clause"
    prevalence_row: str | None = None
    no_prevalence_reason: str | None = None
    plain: str = Field(min_length=1)
    meaning: str | None = None
    """What the words mean, with no reassurance: shown for this finding in an urgent report."""
    note: str = ""
    citations: tuple[str, ...] = ()
    evidence_gap: str | None = None

    def patient_texts(self) -> Iterator[tuple[str, str]]:
        """Every text of this finding a patient may read, with where it lives."""
        yield f"findings/{self.id}/name_plain", self.name_plain
        yield f"findings/{self.id}/plain", self.plain
        if self.meaning:
            yield f"findings/{self.id}/meaning", self.meaning
        if self.note:
            yield f"findings/{self.id}/note", self.note
        if self.no_prevalence_reason:
            yield f"findings/{self.id}/no_prevalence_reason", self.no_prevalence_reason
        for i, rule in enumerate(self.concern_rules):
            for key in ("note", "plain", "no_prevalence_reason"):
                text = getattr(rule, key)
                if text:
                    yield f"findings/{self.id}/concern_rules[{i}]/{key}", text


class CaveatSpec(_Frozen):
    """A general caveat, shown always or only when its condition holds."""

    id: str = Field(pattern=_KEBAB_ID)
    text: str = Field(min_length=1)
    when: CaveatWhen = "always"
    applies_to: tuple[str, ...] = ()
    show_when_urgent: bool = False
    citations: tuple[str, ...] = Field(min_length=1)


class TextSpec(_Frozen):
    """How a report is cut into sentences and clauses, and which sections are skipped."""

    sentence_breaks: tuple[str, ...] = Field(min_length=1)
    clause_breaks: tuple[str, ...] = ()
    heading: str
    ignore_headings: str
    resume_headings: str


class LevelSpec(_Frozen):
    """How spinal levels (L4/5, L5-S1) are found and tied to a finding."""

    pattern: str
    after_prefix: str
    line_heading: str


class NegationSpec(_Frozen):
    """Negation cues before, inside and after a finding, and look-alikes that are not negation."""

    before: tuple[str, ...] = Field(min_length=1)
    within: tuple[str, ...] = ()
    """Cues that negate a mention they stand inside ("the cauda equina is not compressed")."""
    after: tuple[str, ...] = ()
    pseudo: tuple[str, ...] = ()


class UrgentSpec(_Frozen):
    """What an urgent report says instead of any reassurance."""

    message: str = Field(min_length=1)
    also_mentions: str = Field(min_length=1)
    citations: tuple[str, ...] = Field(min_length=1)


class WordingSpec(_Frozen):
    """The words patient text avoids, the explanatory exceptions, and reassurance markers."""

    avoid: tuple[str, ...]
    allowed_explanations: tuple[str, ...] = ()
    reassurance_markers: tuple[str, ...]
    citations: tuple[str, ...] = Field(min_length=1)

    def avoided_words_in(self, text: str) -> list[str]:
        """The avoided words ``text`` uses outside the allowed explanatory phrasings."""
        cleaned = text
        for phrase in self.allowed_explanations:
            cleaned = cleaned.replace(phrase, " ")
        low = cleaned.lower()
        return [w for w in self.avoid if w.lower() in low]

    def reassurance_in(self, text: str) -> list[str]:
        """The reassurance markers ``text`` contains (matched from a word start)."""
        return [
            m
            for m in self.reassurance_markers
            if re.search(r"\b" + re.escape(m), text, flags=re.IGNORECASE)
        ]


class Messages(_Frozen):
    """Fixed sentences and headings for the explanation."""

    title: str
    prevalence: str
    negated: str
    no_findings: str
    present_heading: str
    negated_heading: str
    caveats_heading: str
    urgent_heading: str
    sources_heading: str
    closing: str

    def patient_texts(self) -> Iterator[tuple[str, str]]:
        """Every message with where it lives."""
        for name, value in self.model_dump().items():
            yield f"messages/{name}", str(value)


class ImagingKnowledge(_Frozen):
    """Everything the scan explainer knows, as one validated, immutable object."""

    version: str = Field(min_length=1)
    fragments: dict[str, str] = Field(default_factory=dict)
    text: TextSpec
    levels: LevelSpec
    negation: NegationSpec
    prevalence: PrevalenceTable
    findings: tuple[FindingSpec, ...] = Field(min_length=1)
    caveats: tuple[CaveatSpec, ...]
    urgent: UrgentSpec
    wording: WordingSpec
    messages: Messages
    sources: tuple[SourceRef, ...] = ()
    """Filled by the loader from the bibliography; empty means citations are not checked."""

    def expand(self, pattern: str) -> str:
        """Replace ``{{name}}`` fragments in a pattern."""

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in self.fragments:
                raise ValueError(f"unknown fragment {{{{{name}}}}}")
            return self.fragments[name]

        return _FRAGMENT.sub(sub, pattern)

    def finding(self, finding_id: str) -> FindingSpec:
        """The finding with this id (KeyError if none)."""
        for spec in self.findings:
            if spec.id == finding_id:
                return spec
        raise KeyError(finding_id)

    def source(self, source_id: str) -> SourceRef | None:
        """The bibliography entry with this id, if the loader supplied one."""
        for src in self.sources:
            if src.id == source_id:
                return src
        return None

    def citations_used(self) -> dict[str, list[str]]:
        """Every cited source id, with the places that cite it."""
        return citation_places(
            [
                ("prevalence", self.prevalence.citations),
                *((f"findings/{spec.id}", spec.citations) for spec in self.findings),
                *((f"caveats/{cav.id}", cav.citations) for cav in self.caveats),
                ("urgent", self.urgent.citations),
                ("wording", self.wording.citations),
            ]
        )

    def patient_texts(self) -> Iterator[tuple[str, str, Concern | None]]:
        """Every patient-facing text, where it lives, and the concern it belongs to."""
        for spec in self.findings:
            for where, text in spec.patient_texts():
                yield where, text, spec.concern
        for cav in self.caveats:
            yield f"caveats/{cav.id}", cav.text, None
        yield "urgent/message", self.urgent.message, "urgent"
        yield "urgent/also_mentions", self.urgent.also_mentions, "urgent"
        for where, text in self.messages.patient_texts():
            yield where, text, None

    @model_validator(mode="after")
    def _check(self) -> ImagingKnowledge:
        problems: list[str] = []
        ids = [f.id for f in self.findings]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            problems.append(f"findings: ids defined twice: {dupes}")
        known = set(ids)
        for where, pattern in self._all_patterns():
            try:
                re.compile(self.expand(pattern), FLAGS)
            except (re.error, ValueError) as exc:
                problems.append(f"{where}: pattern does not compile ({exc})")
                continue
            if _UNBOUNDED_GROUP.search(self.expand(pattern)):
                problems.append(
                    f"{where}: a repeated group must have an upper bound, e.g. {{0,6}} instead"
                    " of * or + (unbounded runs make long reports slow to read)"
                )
        for spec in self.findings:
            problems.extend(self._check_finding(spec, known))
        for cav in self.caveats:
            for other in cav.applies_to:
                if other not in known:
                    problems.append(f"caveats/{cav.id}: applies_to unknown finding {other!r}")
            if cav.when == "finding_present" and not cav.applies_to:
                problems.append(f"caveats/{cav.id}: 'finding_present' needs applies_to")
        problems.extend(self._check_wording())
        problems.extend(self._check_templates())
        if self.sources:
            have = {s.id for s in self.sources}
            for cited, places in sorted(self.citations_used().items()):
                if cited not in have:
                    problems.append(f"{places[0]}: citation {cited!r} is not in any bibliography")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _all_patterns(self) -> Iterator[tuple[str, str]]:
        for i, p in enumerate(self.text.sentence_breaks):
            yield f"text/sentence_breaks[{i}]", p
        for i, p in enumerate(self.text.clause_breaks):
            yield f"text/clause_breaks[{i}]", p
        yield "text/heading", self.text.heading
        yield "text/ignore_headings", self.text.ignore_headings
        yield "text/resume_headings", self.text.resume_headings
        yield "levels/pattern", self.levels.pattern
        yield "levels/after_prefix", self.levels.after_prefix
        yield "levels/line_heading", self.levels.line_heading
        for kind in ("before", "within", "after", "pseudo"):
            for i, p in enumerate(getattr(self.negation, kind)):
                yield f"negation/{kind}[{i}]", p
        for spec in self.findings:
            for i, p in enumerate(spec.patterns):
                yield f"findings/{spec.id}/patterns[{i}]", p
            for i, rule in enumerate(spec.concern_rules):
                yield f"findings/{spec.id}/concern_rules[{i}]", rule.pattern

    def _check_finding(self, spec: FindingSpec, known: set[str]) -> list[str]:
        where = f"findings/{spec.id}"
        out: list[str] = []
        if (spec.prevalence_row is None) == (spec.no_prevalence_reason is None):
            out.append(f"{where}: give exactly one of prevalence_row and no_prevalence_reason")
        if spec.prevalence_row is not None and spec.prevalence_row not in self.prevalence.rows:
            out.append(f"{where}: prevalence_row {spec.prevalence_row!r} is not in the table")
        if spec.concern == "urgent" and spec.prevalence_row is not None:
            out.append(f"{where}: an urgent finding never gets a reassuring prevalence figure")
        for i, rule in enumerate(spec.concern_rules):
            if spec.concern == "urgent" and rule.concern == "reassure":
                out.append(
                    f"{where}/concern_rules[{i}]: an urgent finding can be lowered to"
                    " 'discuss' at most (an old or healed finding), never to 'reassure'"
                )
            lowered = spec.concern == "urgent" and rule.concern == "discuss"
            if lowered and not (rule.note and rule.plain and rule.no_prevalence_reason):
                out.append(
                    f"{where}/concern_rules[{i}]: lowering an urgent finding needs its own"
                    " note, plain and no_prevalence_reason (the finding's say to act today)"
                )
        if spec.concern != "urgent" and not spec.meaning:
            out.append(
                f"{where}: give a 'meaning' (what the words mean, without reassurance) for"
                " reports that also hold an urgent finding"
            )
        if spec.meaning:
            found = self.wording.reassurance_in(spec.meaning)
            if found:
                out.append(f"{where}/meaning: shown in urgent reports, must not reassure ({found})")
        if not spec.citations and not spec.evidence_gap:
            out.append(f"{where}: cite a source or explain the evidence gap")
        for other in spec.yields_to:
            if other not in known or other == spec.id:
                out.append(f"{where}: yields_to unknown finding {other!r}")
        return out

    def _check_wording(self) -> list[str]:
        out: list[str] = []
        for where, text, concern in self.patient_texts():
            if concern == "urgent":
                found = self.wording.reassurance_in(text)
                if found:
                    out.append(f"{where}: urgent text must not reassure (uses {found})")
            bad = self.wording.avoided_words_in(text)
            if bad:
                out.append(f"{where}: patient text uses {bad}")
        return out

    def _check_templates(self) -> list[str]:
        out: list[str] = []
        checks = (
            ("messages/prevalence", self.messages.prevalence, {"percent": 1, "age": 2}),
            ("messages/title", self.messages.title, {"age": 2}),
            ("urgent/also_mentions", self.urgent.also_mentions, {"name": "x", "meaning": "y"}),
        )
        for where, template, fields in checks:
            try:
                template.format(**fields)
            except (KeyError, IndexError, ValueError) as exc:
                out.append(f"{where}: template does not format ({exc!r})")
        return out


def load_imaging_sources() -> tuple[Source, ...]:
    """The sources this module's own bibliography file defines, strictly validated."""
    return load_bibliography().defined_in(BIBLIOGRAPHY_FILE)


def _all_source_refs(bib: Bibliography) -> tuple[SourceRef, ...]:
    """Own sources first, then those the project's other bibliography files define.

    All bibliography files share one namespace (``knowledge.files.load_bibliography``
    refuses an id defined twice), so a source cited here may be defined in another file.
    """
    own = bib.defined_in(BIBLIOGRAPHY_FILE)
    rest = [s for s in bib.sources.values() if bib.file_of[s.id] != BIBLIOGRAPHY_FILE]
    return tuple(SourceRef(id=s.id, short=s.short, url=s.url, doi=s.doi) for s in (*own, *rest))


def load_imaging_knowledge_from(root: Traversable) -> ImagingKnowledge:
    """Read and validate the imaging knowledge in a folder laid out like the bundled one.

    Also checks the bibliography both ways: every citation resolves, and every source this
    module's bibliography file defines is cited somewhere in the knowledge.

    Raises:
        ImagingKnowledgeError: naming the file and the place of the first problem.
    """
    raw = read_yaml(root, DATA_FILE, ImagingKnowledgeError)
    if not isinstance(raw, dict):
        raise ImagingKnowledgeError("must be a mapping", file=DATA_FILE)
    bib = load_bibliography_from(root)
    knowledge = validate(
        ImagingKnowledge,
        {**raw, "sources": _all_source_refs(bib)},
        DATA_FILE,
        error=ImagingKnowledgeError,
    )
    used = knowledge.citations_used()
    bib.check_all_used(used, DATA_FILE, BIBLIOGRAPHY_FILE, ImagingKnowledgeError)
    return knowledge


@cache
def load_imaging_knowledge() -> ImagingKnowledge:
    """The bundled imaging knowledge, validated (cached: it never changes at run time)."""
    return load_imaging_knowledge_from(data_root())
