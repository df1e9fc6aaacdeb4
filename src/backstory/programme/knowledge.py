"""The programme library as validated data: exercises, sessions, activity, flare plan, check-in.

Everything clinical about the self-management programme lives in
``knowledge/data/programme.yaml`` so a clinician can review it with its citations; these
models refuse unknown keys, conditions over fields that do not exist, impossible doses,
figures outside their frame and citations to sources no bibliography defines.
"""

from __future__ import annotations

from functools import cache
from importlib.resources.abc import Traversable
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from backstory.contract.spec import load_contract
from backstory.knowledge.conditions import Condition, ConditionError, fields_of, parse_condition
from backstory.knowledge.files import KnowledgeError, data_root, read_yaml
from backstory.knowledge.loader import load_sources

DATA_FILE = "programme.yaml"
FIGURE_WIDTH = 120
FIGURE_HEIGHT = 80

Citations = Annotated[tuple[str, ...], Field(min_length=1)]
Cond = Annotated[Condition, BeforeValidator(parse_condition)]
Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Text = Annotated[str, Field(min_length=1)]
RiskGroup = Literal["low", "medium", "high", "unknown"]
Decision = Literal["progress", "hold", "ease_off"]

#: The report-derived names a programme condition may read, besides the contract's fields.
CHECKIN_FIELDS = (
    "checkin.pain_change",
    "checkin.fear_change",
    "checkin.confidence_change",
    "checkin.activity_days",
    "checkin.exercise_days",
    "checkin.flare_ups",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Dose(_Model):
    sets: int = Field(ge=1, le=5)
    reps: int = Field(ge=1, le=30)
    step: int = Field(ge=1, le=5)
    max_reps: int = Field(ge=1, le=30)
    max_sets: int = Field(ge=1, le=5)
    min_reps: int = Field(ge=1, le=30)


class Caution(_Model):
    """An exercise is left out when ``when`` holds, for the reason given."""

    when: Cond
    why: Text


class Serves(_Model):
    patterns: tuple[Id, ...] = ()
    goals: tuple[Id, ...] = ()


class Figure(_Model):
    """A stick figure in a 120 x 80 frame: a head, limbs as lines, arrows for the motion."""

    alt: Text
    head: tuple[float, float]
    lines: tuple[tuple[float, float, float, float], ...] = Field(min_length=1)
    arrows: tuple[tuple[float, float, float, float], ...] = ()

    def points(self) -> list[tuple[float, float]]:
        out = [self.head]
        for x1, y1, x2, y2 in (*self.lines, *self.arrows):
            out += [(x1, y1), (x2, y2)]
        return out


class Exercise(_Model):
    id: Id
    name: Text
    kind: Literal["mobility", "stretch", "strength"]
    instructions: Text
    dose: Dose
    progress: Text
    ease_off: Text
    serves: Serves
    not_for: tuple[Caution, ...] = ()
    figure: Figure
    citations: Citations


class PerWeek(_Model):
    start: dict[RiskGroup, int]
    min: int = Field(ge=1)
    max: int = Field(ge=1)
    evidence: Text
    citations: Citations


class ExerciseLibrary(_Model):
    per_week: PerWeek
    library: tuple[Exercise, ...] = Field(min_length=1)


class Goal(_Model):
    id: Id
    label: Text


class Activity(_Model):
    kind: Literal["walking"]
    days_per_week: int = Field(ge=1, le=7)
    start_minutes: int = Field(ge=1)
    max_minutes: int = Field(ge=1)
    progress_percent: int = Field(ge=1, le=50)
    ease_off_percent: int = Field(ge=1, le=50)
    min_minutes: int = Field(ge=1)
    text: Text
    evidence: Text
    citations: Citations


class Session(_Model):
    id: Id
    title: Text
    message: Text
    when: Cond | None = None
    text: Text
    citations: Citations


class FlarePlan(_Model):
    intro: Text
    worse: Text
    helps: Text
    unknown: Text
    steps: tuple[Text, ...] = Field(min_length=1)
    seek_help: Text
    evidence: Text
    citations: Citations


class Rule(_Model):
    decision: Decision
    when: Cond
    sentence: Text
    evidence: Text
    citations: Citations


class Otherwise(_Model):
    decision: Decision
    sentence: Text
    citations: Citations


class WorseFlag(_Model):
    """When a check-in counts as worse for the clinician's worklist."""

    when: Cond
    evidence: Text
    citations: Citations


class ClinicianFlags(_Model):
    """What the worklist flags between visits: a worse check-in, missed check-ins."""

    worse: WorseFlag
    every_days: int = Field(ge=1, le=31)
    missed: int = Field(ge=1, le=10)
    evidence: Text
    citations: Citations


class CheckInQuestions(_Model):
    """The weekly check-in's own questions (the warning-sign ones are the questionnaire's)."""

    intro: Text
    pain: Text
    confidence: Text
    fear: Text
    activity_days: Text
    exercise_days: Text
    flare_ups: Text
    warnings: Text
    citations: Citations


class CheckIn(_Model):
    warning_fields: tuple[str, ...] = Field(min_length=1)
    rules: tuple[Rule, ...] = Field(min_length=1)
    otherwise: Otherwise
    flags: ClinicianFlags
    questions: CheckInQuestions
    paused: Text
    evidence: Text
    """Why a warning answer pauses the plan (the ``warning_fields`` and ``paused``)."""
    citations: Citations


class Eligibility(_Model):
    blocked_levels: tuple[str, ...]
    requires_complete_screen: bool
    citations: Citations


class ProgrammeKnowledge(_Model):
    """Everything :mod:`backstory.programme` needs, validated as one immutable object."""

    citations: Citations
    eligibility: Eligibility
    exercises: ExerciseLibrary
    goals: tuple[Goal, ...] = Field(min_length=1)
    activity: Activity
    education: tuple[Session, ...] = Field(min_length=1)
    flare_plan: FlarePlan
    checkin: CheckIn
    version: str = ""
    """The knowledge version, filled in by the loader from the manifest."""

    def exercise(self, exercise_id: str) -> Exercise:
        """The exercise with this id (KeyError if none)."""
        for e in self.exercises.library:
            if e.id == exercise_id:
                return e
        raise KeyError(exercise_id)

    def goal_ids(self) -> tuple[str, ...]:
        return tuple(g.id for g in self.goals)

    def conditions(self) -> list[tuple[str, Condition]]:
        """Every condition in the file, with where it lives."""
        out: list[tuple[str, Condition]] = []
        for e in self.exercises.library:
            for i, c in enumerate(e.not_for):
                out.append((f"exercises/{e.id}/not_for[{i}]", c.when))
        for s in self.education:
            if s.when is not None:
                out.append((f"education/{s.id}/when", s.when))
        for i, r in enumerate(self.checkin.rules):
            out.append((f"checkin/rules[{i}]", r.when))
        out.append(("checkin/flags/worse", self.checkin.flags.worse.when))
        return out

    def citations_used(self) -> dict[str, list[str]]:
        used: dict[str, list[str]] = {}

        def add(where: str, ids: tuple[str, ...]) -> None:
            for i in ids:
                used.setdefault(i, []).append(where)

        add("citations", self.citations)
        add("eligibility", self.eligibility.citations)
        add("exercises/per_week", self.exercises.per_week.citations)
        for e in self.exercises.library:
            add(f"exercises/{e.id}", e.citations)
        add("activity", self.activity.citations)
        for s in self.education:
            add(f"education/{s.id}", s.citations)
        add("flare_plan", self.flare_plan.citations)
        for i, r in enumerate(self.checkin.rules):
            add(f"checkin/rules[{i}]", r.citations)
        add("checkin/otherwise", self.checkin.otherwise.citations)
        add("checkin/flags/worse", self.checkin.flags.worse.citations)
        add("checkin/flags", self.checkin.flags.citations)
        add("checkin/questions", self.checkin.questions.citations)
        add("checkin", self.checkin.citations)
        return used

    def patient_texts(self) -> list[tuple[str, str]]:
        """Every text a patient reads, with where it lives (for the readability gate)."""
        out: list[tuple[str, str]] = []
        for e in self.exercises.library:
            for key in ("instructions", "progress", "ease_off"):
                out.append((f"exercises/{e.id}/{key}", getattr(e, key)))
        for s in self.education:
            out.append((f"education/{s.id}", s.text))
        fp = self.flare_plan
        out += [("flare_plan/intro", fp.intro), ("flare_plan/seek_help", fp.seek_help)]
        out += [(f"flare_plan/steps[{i}]", s) for i, s in enumerate(fp.steps)]
        out += [(f"checkin/rules[{i}]", r.sentence) for i, r in enumerate(self.checkin.rules)]
        out.append(("checkin/otherwise", self.checkin.otherwise.sentence))
        q = self.checkin.questions
        for key in CheckInQuestions.model_fields:
            if key == "citations":
                continue
            out.append((f"checkin/questions/{key}", getattr(q, key)))
        out.append(("checkin/paused", self.checkin.paused))
        return out


def readable_fields() -> set[str]:
    """Every name a programme condition may read: contract fields plus report-derived ones."""
    contract = load_contract()
    names = {f"{group}.{name}" for group, fields in contract.groups.items() for name in fields}
    names |= set(contract.top)
    names |= {"triage.level", "category", "startback.risk", *CHECKIN_FIELDS}
    return names


def _problems(kn: ProgrammeKnowledge, patterns: set[str], conditions: set[str]) -> list[str]:
    out: list[str] = []
    allowed = readable_fields()
    allowed |= {f"pattern.{p}" for p in patterns} | {f"suspected.{c}" for c in conditions}
    for where, cond in kn.conditions():
        for name in sorted(fields_of(cond, {}) - allowed):
            out.append(f"{where}: reads {name!r}, which is not a field the programme can see")
    ids = [e.id for e in kn.exercises.library]
    if len(set(ids)) != len(ids):
        out.append("exercises/library: exercise ids must be unique")
    goal_ids = set(kn.goal_ids())
    for e in kn.exercises.library:
        for p in e.serves.patterns:
            if p not in patterns:
                out.append(f"exercises/{e.id}/serves: unknown pattern {p!r}")
        for g in e.serves.goals:
            if g not in goal_ids:
                out.append(f"exercises/{e.id}/serves: unknown goal {g!r}")
        d = e.dose
        if not (d.min_reps <= d.reps <= d.max_reps and d.sets <= d.max_sets):
            out.append(
                f"exercises/{e.id}/dose: need min_reps <= reps <= max_reps, sets <= max_sets"
            )
        if str(d.max_reps) not in e.progress:
            out.append(f"exercises/{e.id}/progress: the words must name max_reps ({d.max_reps})")
        for x, y in e.figure.points():
            if not (0 <= x <= FIGURE_WIDTH and 0 <= y <= FIGURE_HEIGHT):
                out.append(f"exercises/{e.id}/figure: point ({x}, {y}) is outside the frame")
    pw = kn.exercises.per_week
    if not pw.min <= pw.max:
        out.append("exercises/per_week: min must not exceed max")
    for group, n in pw.start.items():
        if not pw.min <= n <= pw.max:
            out.append(f"exercises/per_week/start/{group}: {n} is outside min..max")
    if set(pw.start) != {"low", "medium", "high", "unknown"}:
        out.append("exercises/per_week/start: give low, medium, high and unknown")
    if pw.min > len(ids):
        out.append("exercises/per_week/min: more exercises than the library holds")
    act = kn.activity
    if not act.min_minutes <= act.start_minutes <= act.max_minutes:
        out.append("activity: need min_minutes <= start_minutes <= max_minutes")
    red_flags = {f"red_flags.{n}" for n in load_contract().groups["red_flags"]}
    for f in kn.checkin.warning_fields:
        if f not in red_flags:
            out.append(f"checkin/warning_fields: {f!r} is not a warning-sign question")
    for where, template, keys in (
        ("activity/text", act.text, {"minutes": 1, "days": 1}),
        ("flare_plan/worse", kn.flare_plan.worse, {"items": "x"}),
        ("flare_plan/helps", kn.flare_plan.helps, {"items": "x"}),
    ):
        try:
            template.format(**keys)
        except (KeyError, IndexError, ValueError) as exc:
            out.append(f"{where}: template does not format ({exc!r})")
    return out


def load_programme_knowledge_from(root: Traversable) -> ProgrammeKnowledge:
    """Load and check ``programme.yaml`` in a knowledge folder laid out like the bundled one.

    Raises:
        KnowledgeError: naming the file and the place of every problem found.
    """
    from backstory.knowledge.loader import load_knowledge_from

    raw = read_yaml(root, DATA_FILE)
    try:
        kn = ProgrammeKnowledge.model_validate(raw)
    except (ValidationError, ConditionError) as exc:
        raise KnowledgeError(f"{DATA_FILE}: {_plain(exc)}") from exc
    kb = load_knowledge_from(root)
    patterns = {p.id for p in kb.patterns.patterns}
    conditions: set[str] = {str(c.id) for c in kb.red_flags.conditions}
    problems = _problems(kn, patterns, conditions)
    sources = load_sources(root)
    for cited, places in sorted(kn.citations_used().items()):
        if cited not in sources:
            problems.append(f"{places[0]}: cites unknown source {cited!r}")
    if problems:
        where, _, message = problems[0].partition(": ")
        more = (
            f" (and {len(problems) - 1} more: {'; '.join(problems[1:])})"
            if len(problems) > 1
            else ""
        )
        raise KnowledgeError(f"{message}{more}", file=DATA_FILE, path=where)
    return kn.model_copy(update={"version": kb.version})


def _plain(exc: ValidationError | ConditionError) -> str:
    if isinstance(exc, ConditionError):
        return str(exc)
    return "; ".join(f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


@cache
def load_programme_knowledge() -> ProgrammeKnowledge:
    """The bundled programme knowledge, loaded and checked once."""
    return load_programme_knowledge_from(data_root())
