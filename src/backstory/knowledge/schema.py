"""Schemas for every knowledge file: validated at load, unknown keys rejected.

A clinician reviews the YAML; these models make sure what they review is exactly
what the engine runs, with nothing silently ignored.
"""

from __future__ import annotations

import re
from string import Formatter
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from backstory.knowledge.conditions import Condition, parse_condition
from backstory.knowledge.files import Source as Source  # the one bibliography entry model

Level = Literal["emergency", "urgent", "soon", "routine"]
Fit = Literal["strong", "possible", "unlikely", "unknown"]
SuspectedId = Literal[
    "cauda_equina_syndrome",
    "spinal_cord_compression",
    "malignancy",
    "infection",
    "fracture",
    "axial_spondyloarthritis",
    "abdominal_aortic_aneurysm",
    "progressive_neurological_deficit",
    "non_spinal_cause",
    "bleeding",
    "spinal_stenosis",
]
CategoryId = Literal["specific_pathology_suspected", "radicular", "non_specific"]

Cond = Annotated[Condition, BeforeValidator(parse_condition)]
Citations = Annotated[list[str], Field(min_length=1)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Manifest(Model):
    name: str
    version: str = Field(pattern=r"^\d{4}\.\d{1,2}\.\d+$")
    released: str
    contract: str
    summary: str
    changes: list[str] = []
    fingerprint: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class Fact(Model):
    id: str
    description: str
    when: Cond
    citations: list[str] = []


class Contradiction(Model):
    id: str
    when: Cond
    set: dict[str, Any] = {}
    unset: list[str] = []
    message: str
    citations: list[str] = []

    @model_validator(mode="after")
    def _does_something(self) -> Contradiction:
        if not self.set and not self.unset:
            raise ValueError("a contradiction must set or unset at least one field")
        return self


class LevelDef(Model):
    id: Level
    rank: int
    label: str
    """The level as reports and clinician summaries show it (for example "EMERGENCY - same day")."""
    meaning: str
    action: str


class SuspectedDef(Model):
    id: SuspectedId
    name: str
    note: str
    citations: Citations


class RedFlagRule(Model):
    id: str = Field(pattern=r"^RF-[A-Z0-9-]+$")
    title: str
    when: Cond
    suspected: Annotated[list[SuspectedId], Field(min_length=1)]
    level: Literal["emergency", "urgent", "soon"]
    action: str
    rationale: str
    escalates: Literal["alone", "in_combination"]
    citations: Citations


class RedFlags(Model):
    levels: list[LevelDef]
    conditions: list[SuspectedDef]
    rules: list[RedFlagRule]


class CategoryDef(Model):
    id: CategoryId
    name: str
    when: Cond | None = None
    rationale: str
    citations: Citations


class Classification(Model):
    precedence: list[CategoryDef]


class Feature(Model):
    id: str
    label: str
    field: str | None = None
    points: dict[str | bool | int, int] | None = None
    when: Cond | None = None
    if_true: int = 0
    if_false: int = 0
    note: str = ""
    validation: Literal["supported", "failed"] = "supported"
    """'failed': from criteria that failed validation; its positive points may lift a fit to
    possible but never, alone, to strong (see PatternDef.failed_validation_limit)."""
    citations: Citations

    @model_validator(mode="after")
    def _one_form(self) -> Feature:
        by_field = self.field is not None and self.points is not None
        by_when = self.when is not None
        if by_field == by_when:
            raise ValueError(
                "a feature has either 'field' with 'points' or 'when' with if_true/if_false"
            )
        return self


class Cap(Model):
    when: Cond
    max_fit: Literal["possible", "unlikely"]
    reason: str
    citations: Citations


class PatternDef(Model):
    id: str
    name: str
    summary: str
    min_answered: int
    possible_at: int
    strong_at: int
    features: list[Feature]
    caps: list[Cap] = []
    failed_validation_limit: str = ""
    """Shown as a limit when the fit is held at possible because, without the positive points
    of features marked ``validation: failed``, the score would not reach ``possible_at``."""
    accuracy_note: str
    citations: Citations

    @model_validator(mode="after")
    def _thresholds(self) -> PatternDef:
        if not self.possible_at < self.strong_at:
            raise ValueError("possible_at must be below strong_at")
        failed = any(f.validation == "failed" for f in self.features)
        if failed and not self.failed_validation_limit.strip():
            raise ValueError(
                "a pattern with features marked 'validation: failed' needs a "
                "failed_validation_limit reason"
            )
        if self.failed_validation_limit and not failed:
            raise ValueError("failed_validation_limit given but no feature is marked failed")
        return self


class Patterns(Model):
    patterns: list[PatternDef]


class Band(Model):
    id: str
    up_to: float


class AnswerOption(Model):
    """One answer an instrument item offers: the value stored, and its label in our words."""

    value: int | str
    label: str
    code: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    """The answer's code in FHIR forms; a text answer's code is its value."""

    @property
    def answer_code(self) -> str:
        return self.code if self.code is not None else str(self.value)


class InstrumentDisplay(Model):
    """How a score reads in the report: format strings over the score's own keys."""

    text: str
    result: str
    interpretation: str = ""


METHOD_KEYS: dict[str, tuple[str, ...]] = {
    "count_positive": ("total",),
    "percent_of_answered": ("percent", "band"),
    "sum": ("score",),
}


class Instrument(Model):
    """One scored questionnaire: its items (own-words topics), answers, scoring and cut-offs.

    ``public`` instruments are part of the assessment contract (their answer arrays and report
    keys are fixed there and checked against it at load); any other instrument is added to the
    contract from this entry alone.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    short: str
    public: bool = False
    meaning: str = ""
    method: Literal["count_positive", "percent_of_answered", "sum"]
    length: int = Field(ge=1)
    item_label: str = "Item"
    topics: list[str] = []
    answers: list[AnswerOption] = Field(min_length=1)
    item_answers: dict[int, list[AnswerOption]] = {}
    required_all: bool = False
    item_scores: dict[int, dict[str | int, int]] = {}
    subscales: dict[str, list[int]] = {}
    max_item: int = 1
    max_missing: int = 0
    decimals: int = 0
    groups: list[dict[str, Any]] = []
    group_order: list[str] = []
    """The risk groups from lowest to highest (the order tables and columns list them in)."""
    bands: list[Band] = []
    display: InstrumentDisplay | None = None
    patient_intro: str | None = None
    """The patient questionnaire's introduction to this instrument in our own words. Without
    it (or without topics) the instrument is asked of patients only in the official wording
    a clinic loads under its own licence."""
    patient_answers: dict[int, list[str]] = {}
    """The patient questionnaire's own-words label of each answer of an item, in the order of
    the item's answers (for items whose answers are neutral codes to a clinician, such as the
    ODI's "Statement scoring 3"); other items show the answers' labels."""
    not_given: str
    missing_reason: str
    licence: str
    citations: Citations

    @model_validator(mode="after")
    def _shape(self) -> Instrument:
        if self.topics and len(self.topics) != self.length:
            raise ValueError(f"needs {self.length} topics (one per item) or none")
        for item in (*self.item_answers, *self.item_scores, *self.patient_answers):
            if not 1 <= item <= self.length:
                raise ValueError(f"item {item} is out of 1..{self.length}")
        for item, labels in self.patient_answers.items():
            if len(labels) != len(self.options(item)):
                raise ValueError(
                    f"item {item}: patient_answers needs {len(self.options(item))} labels "
                    f"(one per answer), has {len(labels)}"
                )
        for i in range(1, self.length + 1):
            values = [a.value for a in self.options(i)]
            if len(set(values)) != len(values):
                raise ValueError(f"item {i}: an answer value is given twice")
            kinds = {type(v) for v in values}
            if len(kinds) != 1:
                raise ValueError(f"item {i}: answers must be all numbers or all text")
            if str in kinds and any(v not in self.item_scores.get(i, {}) for v in values):
                raise ValueError(f"item {i}: every text answer needs a score in item_scores")
        named = {str(g.get("value")) for g in self.groups}
        if sorted(self.group_order) != sorted(named) or len(set(self.group_order)) != len(named):
            raise ValueError(f"group_order must list each risk group once: {sorted(named)}")
        if self.method == "percent_of_answered" and not self.bands:
            raise ValueError("percent_of_answered needs bands")
        if self.display is not None:
            keys = set(self.result_keys())
            for text in (self.display.text, self.display.result, self.display.interpretation):
                named = {f for _, f, _, _ in Formatter().parse(text) if f}
                if named - keys:
                    raise ValueError(
                        f"display names {sorted(named - keys)}, not a score key "
                        f"(one of {sorted(keys)})"
                    )
        return self

    def options(self, item: int) -> list[AnswerOption]:
        """The answers item ``item`` (1-based) offers."""
        return self.item_answers.get(item, self.answers)

    def patient_options(self, item: int) -> list[tuple[AnswerOption, str]]:
        """An item's answers with the label the patient questionnaire shows for each."""
        options = self.options(item)
        labels = self.patient_answers.get(item) or [a.label for a in options]
        return list(zip(options, labels, strict=True))

    def item_text(self, item: int) -> str:
        """An item's neutral label and own-words topic (``Item 3: walking distance limited``)."""
        text = f"{self.item_label} {item}"
        if self.topics:
            text += f": {self.topics[item - 1]}"
        return text

    def item_score(self, item: int, value: int | str) -> int:
        """The score of one answer to one item."""
        table = self.item_scores.get(item)
        if table is not None and value in table:
            return int(table[value])
        return int(value)

    def result_keys(self) -> tuple[str, ...]:
        """The keys of this instrument's score in the report, in order."""
        if self.method == "count_positive":
            return ("total", *self.subscales, *(("risk",) if self.groups else ()))
        return METHOD_KEYS[self.method]

    def summary(self, result: dict[str, Any], part: str = "text") -> str:
        """One part (text, result or interpretation) of the score as a clinician reads it."""
        shown = {
            k: str(v).replace("_", "-") if isinstance(v, str) else v for k, v in result.items()
        }
        if self.display is None:
            if part == "interpretation":
                return ""
            return ", ".join(f"{k} {shown.get(k)}" for k in self.result_keys())
        return str(getattr(self.display, part)).format_map(_Missing(shown))


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "None"


class InstrumentNotes(Model):
    """What the patient questionnaire says about the wording it shows."""

    own_words: str
    licensed: str = Field(pattern=r"\{source\}")
    """Shown when a clinic's licensed wording is used; ``{source}`` names it."""
    report: str = Field(default="", pattern=r"^$|\{instruments\}")
    """Shown on the clinician's report of a patient questionnaire whose instruments were
    answered in own words; ``{instruments}`` names them (HZ-161, HZ-162)."""


class Instruments(Model):
    instruments: list[Instrument]
    wording: InstrumentNotes


class Caution(Model):
    """A safety condition attached to a recommendation: shown with it whenever it holds.

    When its condition is unknown (a question not answered), the fields it reads are listed
    with the recommendation as "check first"; a caution is never silently assumed absent.
    """

    id: str = Field(pattern=r"^MC-[A-Z0-9-]+$")
    when: Cond
    text: str = Field(min_length=1)
    citations: Citations


class Recommendation(Model):
    id: str = Field(pattern=r"^MG-[A-Z0-9-]+$")
    kind: Literal["offer", "consider", "advise", "refer", "test", "do_not_offer"]
    text: str
    when: Cond
    reason: str
    guideline: str = ""
    cautions: list[Caution] = []
    citations: Citations

    @model_validator(mode="after")
    def _cautions_on_advice(self) -> Recommendation:
        if self.cautions and self.kind == "do_not_offer":
            raise ValueError("a do_not_offer item takes no cautions")
        return self


class Exclusive(Model):
    """Recommendations that contradict each other: at most one of them may be in one plan.

    The engine does not resolve these at run time; the conditions must make them exclusive,
    and the property tests check it over random assessments.
    """

    ids: Annotated[list[str], Field(min_length=2)]
    reason: str = Field(min_length=1)
    citations: Citations


class Criterion(Model):
    id: str
    label: str
    when: Cond
    citations: Citations


class Pathway(Model):
    id: str
    name: str
    applies_when: Cond
    criteria: list[Criterion]
    when_met: str
    when_not_met: str
    when_incomplete: str
    citations: Citations


class Management(Model):
    recommendations: list[Recommendation]
    pathways: list[Pathway] = []
    exclusive: list[Exclusive] = []


class EssentialQuestion(Model):
    field: str
    group: Literal["cauda_equina", "serious_pathology"]
    why: str
    citations: Citations


class Screening(Model):
    essential: list[EssentialQuestion]
    incomplete_warning: str
    """The report's warning when essential questions were not answered; {unanswered} and
    {total} are replaced by the counts."""
    report_safety_net: str
    """The closing safety-net of the readable report (plain text, no placeholders)."""

    @field_validator("incomplete_warning")
    @classmethod
    def _placeholders(cls, v: str) -> str:
        names = {f for _, f, _, _ in Formatter().parse(v) if f is not None}
        if names - {"unanswered", "total"}:
            raise ValueError(f"only {{unanswered}} and {{total}} may be used, not {sorted(names)}")
        return v


# ------------------------------------------------------------- pre-visit questionnaire

QuestionKind = Literal["yesno", "choice", "number", "scale"]
NOT_SURE = "not_sure"
"""The value of the "Not sure" / "I would rather not say" answer the page adds to every question."""

EMPHASIS = "**"


def emphasis_parts(text: str) -> tuple[tuple[str, bool], ...]:
    """Split text marked with ``**emphasis**`` into (text, emphasised) parts, in order.

    Raises:
        ValueError: when a marker is unpaired or encloses nothing.
    """
    pieces = text.split(EMPHASIS)
    if len(pieces) % 2 == 0:
        raise ValueError(f"unpaired {EMPHASIS} emphasis marker in {text!r}")
    if any(not p.strip() for p in pieces[1::2]):
        raise ValueError(f"empty {EMPHASIS}{EMPHASIS} emphasis in {text!r}")
    return tuple((p, i % 2 == 1) for i, p in enumerate(pieces) if p)


class QuestionOption(Model):
    value: str = Field(min_length=1)
    label: str = Field(min_length=1)


class QuestionnaireQuestion(Model):
    field: str
    text: str = Field(min_length=1)
    kind: QuestionKind
    options: list[QuestionOption] = []
    required: bool = False
    ces: bool = False
    hint: str = ""
    not_sure_label: str = ""
    """The words of the answer the page adds for "not sure" (value ``not_sure``). Empty: "Not
    sure" for a yes/no question, "I would rather not say" for a choice. A choice question that
    sets it records the answer as the patient's uncertainty, like a yes/no "Not sure"."""
    note: str = ""
    citations: Citations

    @model_validator(mode="after")
    def _shape(self) -> QuestionnaireQuestion:
        if self.kind == "choice" and not self.options:
            raise ValueError("a choice question needs options")
        if self.kind != "choice" and self.options:
            raise ValueError(f"a {self.kind} question takes no options (only choice does)")
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError("option values must be unique")
        if NOT_SURE in values:
            raise ValueError(
                f"{NOT_SURE!r} is added to every question by the page; do not list it as an option"
            )
        if self.ces and not (self.kind == "yesno" and self.required):
            raise ValueError("a cauda equina (ces) question must be a required yesno question")
        if self.not_sure_label and self.kind not in ("yesno", "choice"):
            raise ValueError(f"a {self.kind} question has no not-sure answer to label")
        return self

    def not_sure_text(self) -> str:
        """The words of the "not sure" answer the page adds to a yes/no or choice question."""
        if self.not_sure_label:
            return self.not_sure_label
        return "Not sure" if self.kind == "yesno" else "I would rather not say"

    @property
    def records_uncertainty(self) -> bool:
        """Whether its "not sure" answer is the patient's uncertainty (kept for the clinician),
        rather than a choice not to say (left unanswered like a blank)."""
        return self.kind == "yesno" or bool(self.not_sure_label)


class QuestionnairePart(Model):
    id: str = Field(pattern=r"^p-[a-z0-9-]+$", max_length=40)
    """Also the page's name in its address and in a saved draft (at most 40 characters)."""
    title: str = Field(min_length=1)
    intro: str = ""
    note: str = ""
    questions: Annotated[list[QuestionnaireQuestion], Field(min_length=1)]
    citations: Citations


class EmergencyBanner(Model):
    title: str = Field(min_length=1)
    paragraphs: Annotated[list[str], Field(min_length=1)]
    citations: Citations

    @model_validator(mode="after")
    def _emphasis(self) -> EmergencyBanner:
        if EMPHASIS in self.title:
            raise ValueError("the title takes no emphasis markers")
        for p in self.paragraphs:
            emphasis_parts(p)
            if "clinic_contact" in placeholders_in(p):
                raise ValueError("the emergency banner may not name {clinic_contact}")
        return self

    def paragraph_parts(self) -> tuple[tuple[tuple[str, bool], ...], ...]:
        """Each paragraph as (text, emphasised) parts."""
        return tuple(emphasis_parts(p) for p in self.paragraphs)


PLACEHOLDERS = ("emergency_number", "emergency_place", "urgent_advice", "clinic_contact")
"""What a patient-facing safety text may name in braces: the clinic's country's emergency
number, where to go in an emergency, its urgent advice service, and the clinic's own contact."""
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def placeholders_in(text: str) -> set[str]:
    """The ``{names}`` a text uses.

    Raises:
        ValueError: for a name that is not one of ``PLACEHOLDERS`` or a stray brace.
    """
    names = set(_PLACEHOLDER.findall(text))
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{unknown[0]}}} in {text!r} (known: {', '.join(PLACEHOLDERS)})"
        )
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        raise ValueError(f"a stray brace in {text!r}")
    return names


class Country(Model):
    """Where a patient gets help in one country (a clinic admin chooses the clinic's country)."""

    code: str = Field(pattern=r"^[A-Z]{2}$")
    name: str = Field(min_length=1)
    emergency_number: str = Field(pattern=r"^[0-9]{2,4}$")
    emergency_place: str = Field(min_length=1)
    urgent_advice: str = Field(min_length=1)
    citations: Citations


class UnsureBanner(Model):
    """What a patient who is not sure about a cauda equina question is told, at once."""

    title: str = Field(min_length=1)
    evidence: Literal["guideline", "expert_opinion"]
    note: str = Field(min_length=1)
    paragraphs: Annotated[list[str], Field(min_length=1)]
    with_contact: str = Field(min_length=1)
    without_contact: str = Field(min_length=1)
    if_sure: str = Field(min_length=1)
    citations: Citations

    @model_validator(mode="after")
    def _texts(self) -> UnsureBanner:
        if EMPHASIS in self.title:
            raise ValueError("the title takes no emphasis markers")
        for text in [*self.paragraphs, self.with_contact, self.without_contact, self.if_sure]:
            emphasis_parts(text)
            placeholders_in(text)
        if "clinic_contact" not in placeholders_in(self.with_contact):
            raise ValueError("with_contact must name {clinic_contact}")
        for text in [*self.paragraphs, self.without_contact, self.if_sure]:
            if "clinic_contact" in placeholders_in(text):
                raise ValueError("only with_contact may name {clinic_contact}")
        return self


class QuestionnaireOpening(Model):
    """What the questionnaire is called on every page, and how its first page opens."""

    title: str = Field(min_length=1, max_length=60)
    intro: str = Field(min_length=1)

    @model_validator(mode="after")
    def _plain(self) -> QuestionnaireOpening:
        for text in (self.title, self.intro):
            if EMPHASIS in text or "{" in text or "}" in text:
                raise ValueError("an opening is plain words: no emphasis markers or braces")
        return self


class QuestionnaireOpenings(Model):
    pre_visit: QuestionnaireOpening
    """A link made before a visit."""
    follow_up: QuestionnaireOpening
    """A link made for a scheduled follow-up, some weeks on."""


class Questionnaire(Model):
    openings: QuestionnaireOpenings
    parts: Annotated[list[QuestionnairePart], Field(min_length=1)]
    emergency_banner: EmergencyBanner
    unsure_banner: UnsureBanner
    countries: Annotated[list[Country], Field(min_length=1)]
    """The first country is the default, for a clinic whose admin has not chosen one."""

    @model_validator(mode="after")
    def _consistent(self) -> Questionnaire:
        ids = [p.id for p in self.parts]
        if len(set(ids)) != len(ids):
            raise ValueError("part ids must be unique")
        fields = [q.field for q in self.questions()]
        twice = sorted({f for f in fields if fields.count(f) > 1})
        if twice:
            raise ValueError(f"each field may be asked once; asked twice: {', '.join(twice)}")
        flags = [q.ces for q in self.questions()]
        if True in flags and flags != sorted(flags, reverse=True):
            raise ValueError("the cauda equina (ces) questions must come first")
        codes = [c.code for c in self.countries]
        if len(set(codes)) != len(codes):
            raise ValueError("country codes must be unique")
        return self

    def country(self, code: str | None) -> Country:
        """The country with this code, else the default (the first)."""
        return next((c for c in self.countries if c.code == code), self.countries[0])

    def questions(self) -> list[QuestionnaireQuestion]:
        """Every question, in page order."""
        return [q for p in self.parts for q in p.questions]
