"""The explanation knowledge (patient texts), validated strictly at load.

Every sentence a person reads lives in ``knowledge/data/explanations.yaml`` so that clinicians
can review it without reading code. These models reject unknown keys and check, before
anything is rendered, that each condition and placeholder is one the code knows, that every
triage rule, screening question and "do not offer" item has plain words, that documents and
messages agree, and that every citation resolves - so a bad edit fails loudly at load. The
code table the clinician summary reads is ``backstory.knowledge.codes`` (shared with FHIR).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources.abc import Traversable
from string import Formatter
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from backstory.knowledge.codes import CodeTable, load_code_table, load_code_table_from
from backstory.knowledge.conditions import (
    Condition,
    ConditionError,
    FactRef,
    parse_condition,
    walk,
)
from backstory.knowledge.files import (
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
from backstory.knowledge.loader import KnowledgeBase, load_knowledge, load_knowledge_from

EXPLANATIONS_FILE = "explanations.yaml"
BIBLIOGRAPHY_FILE = "explanations.yaml"

DocumentKind = Literal["act_now", "referral", "sciatica", "back_pain"]
DOCUMENT_KINDS: tuple[DocumentKind, ...] = ("act_now", "referral", "sciatica", "back_pain")

#: The named conditions parts and variants may test, with the values each can take. The code
#: that computes them (``backstory.explain.select.signals``) produces exactly these.
CONDITIONS: Mapping[str, frozenset[str]] = {
    "level": frozenset({"emergency", "urgent", "soon", "routine"}),
    "category": frozenset({"specific_pathology_suspected", "radicular", "non_specific"}),
    "screening": frozenset({"complete", "incomplete"}),
    "facet_fit": frozenset({"strong", "possible", "unlikely", "unknown"}),
    "startback": frozenset({"low", "medium", "high", "not_scored"}),
    "fear": frozenset({"high", "moderate", "low", "unknown"}),
    "confidence": frozenset({"high", "moderate", "low", "unknown"}),
    "expects_recovery": frozenset({"yes", "no", "unknown"}),
    "off_work": frozenset({"yes", "no", "unknown"}),
    "cancer_history": frozenset({"yes", "no", "unknown"}),
    "infection_risk": frozenset({"yes", "no", "unknown"}),
    "fragility": frozenset({"yes", "no", "unknown"}),
    "vascular_risk": frozenset({"yes", "no", "unknown"}),
    "leg_pain": frozenset({"yes", "no", "unknown"}),
    "dated": frozenset({"yes", "no"}),
    "duration": frozenset({"recent", "persistent", "unknown"}),
    "age_figures": frozenset({"within", "below", "above"}),
    "not_recommended": frozenset({"some", "none"}),
    "not_asked": frozenset({"some", "none"}),
    "person_warnings": frozenset({"some", "none"}),
    "inflammatory": frozenset({"yes", "no"}),
    "inflammatory_features": frozenset({"yes", "no"}),
    "outlook": frozenset({"good", "guarded"}),
}

#: A safety floor, not a choice: the levels that must always get the act-now leaflet (shared
#: spec, key-messages.md: never reassurance in an emergency or urgent case). The choice itself
#: is ``leaflet_choice`` in the data; this only refuses data that would lower it.
SAFETY_ACT_NOW: tuple[str, ...] = ("emergency", "urgent")

#: The conditions computed from the answers by the knowledge's own ``signals`` (conditions in
#: the rule language, over named facts), never by code: every one must be defined there.
DATA_SIGNALS: frozenset[str] = frozenset(
    {
        "cancer_history",
        "infection_risk",
        "fragility",
        "vascular_risk",
        "leg_pain",
        "fear",
        "confidence",
        "expects_recovery",
        "duration",
        "inflammatory_features",
        "outlook",
        "inflammatory",
        "off_work",
    }
)

#: What the report concluded, which a signal's condition may read besides the answers (and
#: ``patterns.<id>.fit``; ``suspected.<condition>``: true when the triage suspects it; and
#: ``recommended.<id>``: true when the plan recommends it).
REPORT_FIELDS: frozenset[str] = frozenset({"category", "triage.level", "scores.startback.risk"})

#: Placeholders a text may use; ``compose`` fills every one of them.
PLACEHOLDERS = frozenset(
    {"age", "people_your_age", "disc_changes", "disc_bulge", "facet_changes", "date", "version"}
)

#: Lists the code fills from the report: their items come from other parts of this file.
ListName = Literal[
    "reason_do_now",
    "reason_why",
    "reason_next",
    "signs_found",
    "not_asked",
    "not_recommended",
    "person_warnings",
]

_KEBAB = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
KebabId = Annotated[str, StringConstraints(pattern=_KEBAB)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Conditions = dict[str, tuple[str, ...]]


class ExplainKnowledgeError(KnowledgeError):
    """The explanation or code knowledge is broken; the message names the file and place."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_conditions(when: Conditions, where: str) -> list[str]:
    out: list[str] = []
    for name, values in when.items():
        allowed = CONDITIONS.get(name)
        if allowed is None:
            out.append(f"{where}: unknown condition {name!r}")
            continue
        if not values:
            out.append(f"{where}: condition {name!r} lists no values")
        for v in values:
            if v not in allowed:
                out.append(f"{where}: {name!r} cannot be {v!r} (one of {sorted(allowed)})")
    return out


def matches(when: Conditions, signals: Mapping[str, str]) -> bool:
    """Whether every condition named in ``when`` has one of its listed values."""
    return all(signals.get(name) in values for name, values in when.items())


def placeholders_in(text: str) -> list[str]:
    """The ``{name}`` placeholders of a template (raises ValueError on anything fancier)."""
    names: list[str] = []
    for _literal, field, spec, conversion in Formatter().parse(text):
        if field is None:
            continue
        if spec or conversion or not re.fullmatch(r"[a-z_]+", field):
            raise ValueError(f"only plain {{name}} placeholders are allowed, not {field!r}")
        names.append(field)
    return names


class Variant(_Frozen):
    """One wording, used when its conditions hold (no conditions: the default)."""

    when: Conditions = Field(default_factory=dict)
    text: Text


class Part(_Frozen):
    """A piece of a message: text (or the first applicable variant), then optional items.

    ``items`` is a fixed list written here; ``list`` names a list the code fills from the
    report (for example the warning signs that were found).
    """

    when: Conditions = Field(default_factory=dict)
    text: Text | None = None
    one_of: tuple[Variant, ...] = ()
    items: tuple[Text, ...] = ()
    list: ListName | None = None

    @model_validator(mode="after")
    def _shape(self) -> Part:
        if self.text is not None and self.one_of:
            raise ValueError("give text or one_of, not both")
        if self.items and self.list is not None:
            raise ValueError("give items or list, not both")
        if self.text is None and not self.one_of and not self.items and self.list is None:
            raise ValueError("a part needs text, one_of, items or list")
        if self.one_of and self.one_of[-1].when:
            raise ValueError("the last variant of one_of must have no conditions (the default)")
        return self

    def texts(self) -> Iterator[str]:
        """Every fixed text in this part."""
        if self.text is not None:
            yield self.text
        for v in self.one_of:
            yield v.text
        yield from self.items


class MessageSpec(_Frozen):
    """One key message: its stable id, where it appears, its wording and its evidence."""

    id: KebabId
    documents: tuple[DocumentKind, ...] = Field(min_length=1)
    when: Conditions = Field(default_factory=dict)
    parts: tuple[Part, ...] = Field(min_length=1)
    citations: tuple[KebabId, ...] = Field(min_length=1)
    evidence: str = ""
    """A note for reviewers on the strength of the evidence (for example expert opinion)."""


class SectionSpec(_Frozen):
    """A headed section of a leaflet and the messages it holds, in order."""

    id: KebabId
    heading: Text
    messages: tuple[KebabId, ...] = Field(min_length=1)


class DocumentSpec(_Frozen):
    """One patient leaflet: its title, opening line and sections."""

    id: DocumentKind
    title: tuple[Variant, ...] = Field(min_length=1)
    intro: tuple[Variant, ...] = Field(min_length=1)
    sections: tuple[SectionSpec, ...] = Field(min_length=1)


class RuleTexts(_Frozen):
    """Plain words for one triage rule."""

    do_now: Text | None = None
    why: Text
    next: Text | None = None
    worse_if: Text | None = None
    citations: tuple[KebabId, ...] = Field(min_length=1)

    def texts(self) -> Iterator[str]:
        for t in (self.do_now, self.why, self.next, self.worse_if):
            if t is not None:
                yield t


class FoundText(_Frozen):
    """Which answers count as a warning sign found, and the words for it."""

    value: StrictBool | StrictInt | str | None = None
    min: int | float | None = None
    max: int | float | None = None
    always: bool = False
    text: Text

    @model_validator(mode="after")
    def _one_test(self) -> FoundText:
        tests = [self.value is not None, self.min is not None, self.max is not None, self.always]
        if sum(tests) != 1:
            raise ValueError("give exactly one of value, min, max or always")
        return self

    def matches(self, value: Any) -> bool:
        """Whether an answer ``value`` is shown with these words."""
        if value is None:
            return False
        if self.always:
            return True
        if self.value is not None:
            return bool(value == self.value and type(value) is type(self.value))
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.min is not None:
            return value >= self.min
        assert self.max is not None
        return value <= self.max


class AnswerWords(_Frozen):
    """Plain words for one question: its topic, and the answers shown as signs found."""

    field: str = Field(pattern=r"^[a-z_]+(\.[a-z0-9_]+)?$")
    topic: Text
    found: tuple[FoundText, ...] = ()

    def found_text(self, value: Any) -> str | None:
        """The words for an answer that counts as a sign, or None when it does not."""
        for f in self.found:
            if f.matches(value):
                return f.text
        if not self.found and value is True:
            return self.topic
        return None


class PersonWarning(_Frozen):
    """A warning sign specific to this person, added to the safety-net when it applies."""

    id: KebabId
    when: Conditions = Field(min_length=1)
    text: Text
    citations: tuple[KebabId, ...] = Field(min_length=1)


class Wording(_Frozen):
    """Words kept out of patient text, their explanatory exceptions, and reassurance markers."""

    avoid: tuple[Text, ...] = Field(min_length=1)
    allowed_phrasings: tuple[Text, ...]
    reassurance_markers: tuple[Text, ...] = Field(min_length=1)
    citations: tuple[KebabId, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _phrasings_explain(self) -> Wording:
        for phrase in self.allowed_phrasings:
            if not any(w.lower() in phrase.lower() for w in self.avoid):
                raise ValueError(f"allowed phrasing {phrase!r} contains no avoided word")
        return self

    def avoided_words_in(self, text: str) -> list[str]:
        """The avoided words ``text`` uses outside the allowed phrasings (case ignored)."""
        low = " ".join(text.lower().split())
        for phrase in self.allowed_phrasings:
            low = low.replace(phrase.lower(), " ")
        return [w for w in self.avoid if w.lower() in low]

    def reassurance_in(self, text: str) -> list[str]:
        """The reassurance markers ``text`` contains (matched from the start of a word)."""
        flat = " ".join(text.split())
        return [
            m
            for m in self.reassurance_markers
            if re.search(r"\b" + re.escape(m), flat, flags=re.IGNORECASE)
        ]


class SignalValue(_Frozen):
    """One value of a signal and the condition (in the rule language) that gives it."""

    value: Text
    when: dict[str, Any]


class SignalSpec(_Frozen):
    """A named condition the wording tests, computed from the answers by the knowledge.

    The first value whose condition is true is taken; if every condition is false,
    ``otherwise``; if a needed answer is missing, ``unknown``.
    """

    id: str
    values: tuple[SignalValue, ...] = Field(min_length=1)
    otherwise: Text
    unknown: Text = "unknown"
    citations: tuple[KebabId, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _values_known(self) -> SignalSpec:
        allowed = CONDITIONS.get(self.id)
        if allowed is None or self.id not in DATA_SIGNALS:
            raise ValueError(f"signal {self.id!r} is not one the wording can test from answers")
        for v in (*(x.value for x in self.values), self.otherwise, self.unknown):
            if v not in allowed:
                raise ValueError(f"signal {self.id!r} cannot be {v!r} (one of {sorted(allowed)})")
        return self


#: Placeholders the clinic-contact texts may use; ``render_pdf.contact_section`` fills them.
CONTACT_PLACEHOLDERS = frozenset({"clinic", "phone", "emergency_number"})


class ClinicContactTexts(_Frozen):
    """The printed leaflet's "Your clinic" section: how to reach the clinic that gave it.

    In an urgent (act-now) leaflet the clinic is never offered as an alternative to acting
    now: ``urgent_first`` comes before the phone number, given as ``urgent_phone``.
    """

    heading: Text
    from_clinic: Text
    urgent_first: Text
    urgent_phone: Text
    phone: Text
    no_phone: Text
    emergency: Text
    citations: tuple[KebabId, ...] = Field(min_length=1)

    def texts(self) -> Iterator[tuple[str, str]]:
        for name, value in self.model_dump(exclude={"citations"}).items():
            yield f"clinic_contact/{name}", str(value)


class LeafletChoice(_Frozen):
    """Which leaflet a report calls for (shared spec, key-messages.md).

    A triage level in ``act_now_levels`` gets the act-now leaflet (what to do now, no
    reassurance); a level in ``referral_levels``, any suspected condition, or a category not
    in ``by_category`` gets the referral leaflet; otherwise the category's explanation.
    """

    act_now_levels: tuple[str, ...] = Field(min_length=1)
    referral_levels: tuple[str, ...] = Field(min_length=1)
    by_category: dict[str, Literal["sciatica", "back_pain"]] = Field(min_length=1)
    citations: tuple[KebabId, ...] = Field(min_length=1)


class Labels(_Frozen):
    """Small fixed words around the leaflet."""

    sources_heading: Text
    version: Text
    page: Text
    of: Text
    people_your_age: Text
    people_of_age: Text


class ExplanationsKnowledge(_Frozen):
    """Everything a patient leaflet can say, as one validated, immutable object."""

    version: str = Field(pattern=r"^\d{4}\.\d{1,2}\.\d+$")
    documents: tuple[DocumentSpec, ...]
    messages: tuple[MessageSpec, ...]
    triage_rules: dict[str, RuleTexts]
    answers: tuple[AnswerWords, ...]
    person_warnings: tuple[PersonWarning, ...]
    not_recommended: dict[str, Text]
    wording: Wording
    labels: Labels
    signals: tuple[SignalSpec, ...]
    leaflet_choice: LeafletChoice
    clinic_contact: ClinicContactTexts

    def document(self, kind: str) -> DocumentSpec:
        """The leaflet of this kind (KeyError if none)."""
        for d in self.documents:
            if d.id == kind:
                return d
        raise KeyError(kind)

    def message(self, message_id: str) -> MessageSpec:
        """The message with this id (KeyError if none)."""
        for m in self.messages:
            if m.id == message_id:
                return m
        raise KeyError(message_id)

    def answer_words(self, field: str) -> AnswerWords | None:
        """Plain words for one question, if there are any."""
        return self._answers_by_field().get(field)

    def _answers_by_field(self) -> dict[str, AnswerWords]:
        return {a.field: a for a in self.answers}

    def patient_texts(self) -> Iterator[tuple[str, str]]:
        """Every fixed patient-facing text with where it lives (for wording checks)."""
        for d in self.documents:
            for i, v in enumerate(d.title):
                yield f"documents/{d.id}/title[{i}]", v.text
            for i, v in enumerate(d.intro):
                yield f"documents/{d.id}/intro[{i}]", v.text
            for s in d.sections:
                yield f"documents/{d.id}/sections/{s.id}/heading", s.heading
        for m in self.messages:
            for i, p in enumerate(m.parts):
                for t in p.texts():
                    yield f"messages/{m.id}/parts[{i}]", t
        for rid, r in self.triage_rules.items():
            for t in r.texts():
                yield f"triage_rules/{rid}", t
        for a in self.answers:
            yield f"answers/{a.field}/topic", a.topic
            for f in a.found:
                yield f"answers/{a.field}/found", f.text
        for w in self.person_warnings:
            yield f"person_warnings/{w.id}", w.text
        for mid, t in self.not_recommended.items():
            yield f"not_recommended/{mid}", t
        for name, t in self.labels.model_dump().items():
            yield f"labels/{name}", str(t)

    def printed_texts(self) -> Iterator[tuple[str, str]]:
        """The fixed texts only a printed leaflet adds (its clinic-contact section)."""
        yield from self.clinic_contact.texts()

    def _may_be_act_now(self, when: Conditions) -> bool:
        """Whether ``when`` can hold in an act-now leaflet (a level in ``act_now_levels``)."""
        levels = when.get("level")
        return levels is None or any(v in levels for v in self.leaflet_choice.act_now_levels)

    def act_now_texts(self) -> Iterator[tuple[str, str]]:
        """Every fixed text that can appear in an act-now leaflet (must never reassure)."""
        c = self.clinic_contact
        for name in ("heading", "from_clinic", "urgent_first", "urgent_phone", "emergency"):
            yield f"clinic_contact/{name}", getattr(c, name)
        doc = self.document("act_now")
        for i, v in enumerate((*doc.title, *doc.intro)):
            yield f"documents/act_now/variant[{i}]", v.text
        for s in doc.sections:
            yield f"documents/act_now/sections/{s.id}/heading", s.heading
            for mid in s.messages:
                for i, p in enumerate(self.message(mid).parts):
                    if not self._may_be_act_now(p.when):
                        continue
                    where = f"messages/{mid}/parts[{i}]"
                    if p.text is not None:
                        yield where, p.text
                    for v in p.one_of:
                        if not self._may_be_act_now(v.when):
                            continue
                        yield where, v.text
                        if set(v.when) == {"level"}:
                            break  # always chosen for act-now: later variants never show
                    for t in p.items:
                        yield f"{where}/items", t
        for rid, r in self.triage_rules.items():
            if r.do_now is None:
                continue  # a referral (soon) rule: never in an act-now leaflet
            for text in (r.do_now, r.why, r.worse_if):
                if text is not None:
                    yield f"triage_rules/{rid}", text
        for w in self.person_warnings:
            yield f"person_warnings/{w.id}", w.text
        for a in self.answers:
            yield f"answers/{a.field}/topic", a.topic
            for f in a.found:
                yield f"answers/{a.field}/found", f.text

    @model_validator(mode="after")
    def _check(self) -> ExplanationsKnowledge:
        problems: list[str] = []
        kinds = [d.id for d in self.documents]
        if sorted(kinds) != sorted(DOCUMENT_KINDS):
            problems.append(f"documents: need exactly {list(DOCUMENT_KINDS)}, got {kinds}")
        ids = [m.id for m in self.messages]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            problems.append(f"messages: ids defined twice: {dupes}")
        by_id = {m.id: m for m in self.messages}
        placed: dict[str, set[str]] = {}
        for d in self.documents:
            where = f"documents/{d.id}"
            for i, v in enumerate((*d.title, *d.intro)):
                problems += _check_conditions(v.when, f"{where}/variant[{i}]")
            for s in d.sections:
                for mid in s.messages:
                    if mid not in by_id:
                        problems.append(f"{where}/sections/{s.id}: unknown message {mid!r}")
                        continue
                    if d.id not in by_id[mid].documents:
                        problems.append(
                            f"{where}/sections/{s.id}: message {mid!r} does not list {d.id!r}"
                        )
                    if d.id in placed.setdefault(mid, set()):
                        problems.append(f"{where}: message {mid!r} placed twice")
                    placed[mid].add(d.id)
        for m in self.messages:
            where = f"messages/{m.id}"
            for doc in m.documents:
                if doc not in placed.get(m.id, set()):
                    problems.append(f"{where}: listed for {doc!r} but in none of its sections")
            problems += _check_conditions(m.when, where)
            for i, p in enumerate(m.parts):
                problems += _check_conditions(p.when, f"{where}/parts[{i}]")
                for v in p.one_of:
                    problems += _check_conditions(v.when, f"{where}/parts[{i}]/one_of")
        for w in self.person_warnings:
            problems += _check_conditions(w.when, f"person_warnings/{w.id}")
        defined = [g.id for g in self.signals]
        if sorted(defined) != sorted(DATA_SIGNALS):
            problems.append(f"signals: need exactly {sorted(DATA_SIGNALS)}, got {defined}")
        fields = [a.field for a in self.answers]
        dupes = sorted({f for f in fields if fields.count(f) > 1})
        if dupes:
            problems.append(f"answers: fields listed twice: {dupes}")
        for where, text in self.printed_texts():
            try:
                names = placeholders_in(text)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if set(names) - CONTACT_PLACEHOLDERS:
                problems.append(
                    f"{where}: unknown placeholders {sorted(set(names) - CONTACT_PLACEHOLDERS)}"
                )
        for where, text in self.patient_texts():
            try:
                names = placeholders_in(text)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            unknown = sorted(set(names) - PLACEHOLDERS)
            if unknown:
                problems.append(f"{where}: unknown placeholders {unknown}")
            bad = self.wording.avoided_words_in(text)
            if bad:
                problems.append(f"{where}: patient text uses {bad}")
        for where, text in self.act_now_texts():
            found = self.wording.reassurance_in(text)
            if found:
                problems.append(f"{where}: act-now text must not reassure (uses {found})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def citations_used(self) -> dict[str, list[str]]:
        """Every cited source id, with the places that cite it."""
        return citation_places(
            [
                *((f"messages/{m.id}", m.citations) for m in self.messages),
                *((f"triage_rules/{rid}", r.citations) for rid, r in self.triage_rules.items()),
                *((f"person_warnings/{w.id}", w.citations) for w in self.person_warnings),
                *((f"signals/{g.id}", g.citations) for g in self.signals),
                ("leaflet_choice", self.leaflet_choice.citations),
                ("clinic_contact", self.clinic_contact.citations),
                ("wording", self.wording.citations),
            ]
        )


# --------------------------------------------------------------------------------- loading


def parse_explanations(raw: Any, where: str = EXPLANATIONS_FILE) -> ExplanationsKnowledge:
    """Validate explanation data (lets tests check broken data without files)."""
    return validate(ExplanationsKnowledge, raw, where, error=ExplainKnowledgeError)


def check_against_core(
    kn: ExplanationsKnowledge, kb: KnowledgeBase, codes: CodeTable | None = None
) -> list[str]:
    """Problems between the explanations and the core knowledge (rules, questions, plan).

    Every triage rule needs plain words suited to its level, every field a rule reads and every
    essential screening question needs a topic, and every "do not offer" item needs plain words,
    so that adding knowledge without its patient wording fails at load.
    """
    problems: list[str] = []
    choice = kn.leaflet_choice
    problems += _check_leaflet_choice(choice, kb)
    rules = {r.id: r for r in kb.red_flags.rules}
    for rid in sorted(set(kn.triage_rules) - set(rules)):
        problems.append(f"triage_rules/{rid}: no such rule in red_flags.yaml")
    for rid, rule in rules.items():
        texts = kn.triage_rules.get(rid)
        if texts is None:
            problems.append(f"triage_rules: {rid} has no plain words")
            continue
        if rule.level in choice.act_now_levels and texts.do_now is None:
            problems.append(f"triage_rules/{rid}: a {rule.level} rule needs do_now")
        if rule.level in choice.referral_levels and texts.next is None:
            problems.append(f"triage_rules/{rid}: a {rule.level} rule needs next")
        if rule.level in choice.referral_levels and texts.do_now is not None:
            problems.append(
                f"triage_rules/{rid}: a {rule.level} rule has no do_now (it is a referral)"
            )
    needed: set[str] = {q.field for q in kb.screening.essential}
    for r in kb.red_flags.rules:
        needed |= kb.fields_of(r.when)
    have = {a.field for a in kn.answers}
    for f in sorted(needed - have):
        problems.append(f"answers: {f} has no plain words")
    for f in sorted(have - set(kb.contract.fields)):
        problems.append(f"answers: {f} is not a field of the contract")
    dno = {r.id for r in kb.management.recommendations if r.kind == "do_not_offer"}
    for mid in sorted(dno - set(kn.not_recommended)):
        problems.append(f"not_recommended: {mid} has no plain words")
    for mid in sorted(set(kn.not_recommended) - dno):
        problems.append(f"not_recommended/{mid}: not a do_not_offer item in management.yaml")
    problems += _check_signals(kn, kb)
    for cited, places in sorted(_all_citations(kn, codes).items()):
        if cited not in kb.sources:
            problems.append(f"{places[0]}: citation {cited!r} is not in any bibliography")
    return problems


def _check_leaflet_choice(choice: LeafletChoice, kb: KnowledgeBase) -> list[str]:
    """The leaflet choice names real levels and categories, and never lowers an escalation:
    every act-now level outranks every referral level, which outranks every other level."""
    where = "leaflet_choice"
    rank: dict[str, int] = {str(lv.id): lv.rank for lv in kb.red_flags.levels}
    act, ref = choice.act_now_levels, choice.referral_levels
    problems = [
        f"{where}: {lv!r} is not a triage level in red_flags.yaml"
        for lv in (*act, *ref)
        if lv not in rank
    ]
    problems += [
        f"{where}: {c!r} is not a category in classification.yaml"
        for c in choice.by_category
        if c not in {cat.id for cat in kb.classification.precedence}
    ]
    if problems:
        return problems
    if set(act) & set(ref):
        problems.append(f"{where}: a level cannot be both act-now and referral")
    for lv in SAFETY_ACT_NOW:
        if lv not in act:
            problems.append(
                f"{where}: {lv} must get the act-now leaflet (no reassurance in an urgent case)"
            )
    rest = [rank[lv] for lv in rank if lv not in act and lv not in ref]
    if min(rank[lv] for lv in act) <= max([rank[lv] for lv in ref] + rest, default=-1):
        problems.append(f"{where}: every act-now level must outrank every other level")
    if min(rank[lv] for lv in ref) <= max(rest, default=-1):
        problems.append(f"{where}: every referral level must outrank the levels left")
    return problems


def signal_fields(kb: KnowledgeBase) -> frozenset[str]:
    """Every field a signal's condition may read: the contract's, and the report's own."""
    patterns = {f"patterns.{p.id}.fit" for p in kb.patterns.patterns}
    suspected = {f"suspected.{c.id}" for c in kb.red_flags.conditions}
    recommended = {f"recommended.{r.id}" for r in kb.management.recommendations}
    return frozenset(set(kb.contract.fields) | REPORT_FIELDS | patterns | suspected | recommended)


def signal_conditions(kn: ExplanationsKnowledge) -> dict[str, tuple[tuple[str, Condition], ...]]:
    """Each signal's values with their parsed conditions (ConditionError if malformed)."""
    return {
        g.id: tuple(
            (v.value, parse_condition(v.when, f"signals/{g.id}/{v.value}")) for v in g.values
        )
        for g in kn.signals
    }


def _check_signals(kn: ExplanationsKnowledge, kb: KnowledgeBase) -> list[str]:
    problems: list[str] = []
    allowed = signal_fields(kb)
    try:
        parsed = signal_conditions(kn)
    except ConditionError as exc:
        return [str(exc)]
    for sid, values in parsed.items():
        for value, cond in values:
            where = f"signals/{sid}/{value}"
            unknown_facts = sorted(
                n.name for n in walk(cond) if isinstance(n, FactRef) and n.name not in kb.facts
            )
            if unknown_facts:
                problems.append(f"{where}: unknown facts {unknown_facts}")
                continue
            late = sorted(kb.fields_of(cond) - allowed)
            if late:
                problems.append(f"{where}: reads {late}, which are not answers or report fields")
    return problems


def _all_citations(
    kn: ExplanationsKnowledge, codes: CodeTable | None = None
) -> dict[str, list[str]]:
    used = kn.citations_used()
    for cited, places in (codes or load_code_table()).citations_used().items():
        used.setdefault(cited, []).extend(places)
    return used


@cache
def load_explanation_sources() -> tuple[Source, ...]:
    """The sources this feature's own bibliography file defines, strictly validated."""
    return load_bibliography().defined_in(BIBLIOGRAPHY_FILE)


def load_explanations_from(
    root: Traversable, kb: KnowledgeBase | None = None
) -> ExplanationsKnowledge:
    """Read and validate the explanations in a knowledge folder laid out like the bundled one.

    Also checks them against the core knowledge, and the bibliography both ways: every
    citation resolves, and every source this feature's bibliography defines is cited.

    Raises:
        ExplainKnowledgeError: naming the file and the place of the first problem.
    """
    kn = parse_explanations(read_yaml(root, EXPLANATIONS_FILE, ExplainKnowledgeError))
    kb = kb if kb is not None else load_knowledge_from(root)
    codes = load_code_table_from(root)
    problems = check_against_core(kn, kb, codes)
    used = _all_citations(kn, codes)
    own = load_bibliography_from(root).defined_in(BIBLIOGRAPHY_FILE)
    uncited = [s.id for s in own if s.id not in used]
    if uncited:
        problems.append(f"bibliography/{BIBLIOGRAPHY_FILE}: sources never cited: {uncited}")
    if problems:
        raise ExplainKnowledgeError(f"{EXPLANATIONS_FILE}: " + "; ".join(problems))
    return kn


@cache
def load_explanations() -> ExplanationsKnowledge:
    """The bundled explanations, validated (cached: they never change at run time)."""
    return load_explanations_from(data_root(), load_knowledge())
