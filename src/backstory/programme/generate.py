"""Build a week-by-week self-management programme from a report. Pure and deterministic.

A programme starts from a safe triage and an honest working classification: none is built
while the person needs assessment first (an emergency or urgent triage, or warning-sign
questions left unanswered) unless a clinician overrides with a reason. Each week holds one
education session, three to five exercises chosen for the person's patterns, goals and risk
group (never one whose cautions apply), a walking goal that grows by the knowledge's rule,
and the person's own flare-up plan. Each weekly check-in decides the next week (progress,
hold or ease off) by the knowledge's rules; a yes to any cauda equina question stops the
programme and calls for action now. Every choice carries its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import ceil, floor
from typing import Any

from backstory.contract.spec import load_contract
from backstory.core.report import Report
from backstory.errors import InputError
from backstory.knowledge.conditions import Tri, evaluate
from backstory.programme.knowledge import (
    Decision,
    Exercise,
    ProgrammeKnowledge,
    RiskGroup,
    Session,
)


class ProgrammeRefused(InputError):
    """No programme can be built for this report; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class CheckInAnswers:
    """One weekly check-in, as the patient gave it."""

    pain: int
    confidence: int
    fear: int
    activity_days: int
    exercise_days: int
    flare_ups: int
    warning_signs: Mapping[str, bool | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("pain", "confidence", "fear"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
                raise ValueError(f"{name} must be a whole number from 0 to 10")
        for name in ("activity_days", "exercise_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 7:
                raise ValueError(f"{name} must be a whole number of days from 0 to 7")
        if isinstance(self.flare_ups, bool) or not isinstance(self.flare_ups, int):
            raise ValueError("flare_ups must be a whole number")
        if not 0 <= self.flare_ups <= 7:
            raise ValueError("flare_ups must be from 0 to 7")


@dataclass(frozen=True, slots=True)
class ExerciseChoice:
    id: str
    name: str
    kind: str
    instructions: str
    sets: int
    reps: int
    progress: str
    ease_off: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "instructions": self.instructions,
            "sets": self.sets,
            "reps": self.reps,
            "progress": self.progress,
            "ease_off": self.ease_off,
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class LeftOut:
    """An exercise the programme does not give this person, and why."""

    id: str
    reason: str
    certain: bool
    """False when the caution's answer is unknown: the clinician should check first."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "certain": self.certain}


@dataclass(frozen=True, slots=True)
class Adaptation:
    decision: Decision
    sentence: str
    because: tuple[tuple[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "sentence": self.sentence,
            "because": [{"field": f, "value": v} for f, v in self.because],
        }


@dataclass(frozen=True, slots=True)
class Week:
    number: int
    session: Session
    exercises: tuple[ExerciseChoice, ...]
    activity_minutes: int
    activity_text: str
    adaptation: Adaptation | None
    """How this week changed after the last check-in (None in week 1)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "session": {
                "id": self.session.id,
                "title": self.session.title,
                "message": self.session.message,
                "text": " ".join(self.session.text.split()),
                "citations": list(self.session.citations),
            },
            "exercises": [e.to_dict() for e in self.exercises],
            "activity": {"minutes": self.activity_minutes, "text": self.activity_text},
            "adaptation": self.adaptation.to_dict() if self.adaptation else None,
        }


@dataclass(frozen=True, slots=True)
class FlarePlanText:
    lines: tuple[str, ...]
    worse: tuple[str, ...]
    helps: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"lines": list(self.lines), "worse": list(self.worse), "helps": list(self.helps)}


@dataclass(frozen=True, slots=True)
class Programme:
    """The plan so far: one week per check-in received, plus the week after the last."""

    weeks: tuple[Week, ...]
    weeks_total: int
    left_out: tuple[LeftOut, ...]
    flare_plan: FlarePlanText
    goals: tuple[str, ...]
    risk_group: RiskGroup
    override_reason: str | None
    stopped: bool
    stop_fields: tuple[str, ...]
    """The warning-sign questions answered yes in a check-in, when the programme stopped."""
    knowledge_version: str
    citations: tuple[str, ...]

    @property
    def current(self) -> Week:
        return self.weeks[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "weeks_total": self.weeks_total,
            "weeks": [w.to_dict() for w in self.weeks],
            "left_out": [x.to_dict() for x in self.left_out],
            "flare_plan": self.flare_plan.to_dict(),
            "goals": list(self.goals),
            "risk_group": self.risk_group,
            "override_reason": self.override_reason,
            "stopped": self.stopped,
            "stop_fields": list(self.stop_fields),
            "knowledge_version": self.knowledge_version,
            "citations": list(self.citations),
        }


# ---------------------------------------------------------------------------- what we know


def programme_env(report: Report, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The names programme conditions read: the answers (dotted) and what the report found."""
    env: dict[str, Any] = {}
    for key, value in answers.items():
        if isinstance(value, Mapping):
            for sub, v in value.items():
                env[f"{key}.{sub}"] = v
        else:
            env[key] = value
    env["triage.level"] = report.triage.level
    env["category"] = report.category
    env["startback.risk"] = (report.scores.get("startback") or {}).get("risk")
    for p in report.patterns:
        env[f"pattern.{p.id}"] = p.fit
    return env


def _suspected(env: dict[str, Any], report: Report, conditions: Sequence[str]) -> None:
    for c in conditions:
        env[f"suspected.{c}"] = c in report.triage.suspected


def _risk(report: Report) -> RiskGroup:
    risk = (report.scores.get("startback") or {}).get("risk")
    return risk if risk in ("low", "medium", "high") else "unknown"


# ---------------------------------------------------------------------------- eligibility


def check_eligible(report: Report, kn: ProgrammeKnowledge, override_reason: str | None) -> None:
    """Raise ProgrammeRefused when the person needs assessment first and nobody overrode."""
    if override_reason is not None and override_reason.strip():
        return
    el = kn.eligibility
    if report.triage.level in el.blocked_levels:
        raise ProgrammeRefused(
            f"The triage is {report.triage.level}: the person needs assessment first, so no"
            " programme is built. A clinician may override with a reason."
        )
    if el.requires_complete_screen and not report.screening.complete:
        missing = len(report.screening.unanswered)
        raise ProgrammeRefused(
            f"{missing} warning-sign question{'s' if missing != 1 else ''} not answered: ask"
            " them first, or override with a reason, before a programme is built."
        )


# ---------------------------------------------------------------------------- choices


def _cautions(
    kn: ProgrammeKnowledge, env: Mapping[str, Any]
) -> tuple[list[Exercise], list[LeftOut], dict[str, str]]:
    """Split the library: exercises that may be given, those left out, and check-first notes."""
    allowed: list[Exercise] = []
    left: list[LeftOut] = []
    check_first: dict[str, str] = {}
    for e in kn.exercises.library:
        verdicts: list[tuple[Tri, str]] = [(evaluate(c.when, env, {}), c.why) for c in e.not_for]
        hits = [why for v, why in verdicts if v is True]
        if hits:
            left.append(LeftOut(e.id, hits[0], True))
            continue
        unsure = [why for v, why in verdicts if v is None]
        if unsure:
            check_first[e.id] = unsure[0]
        allowed.append(e)
    return allowed, left, check_first


def _rank(
    allowed: list[Exercise], env: Mapping[str, Any], goals: Sequence[str]
) -> list[tuple[Exercise, str]]:
    """Best fit first: a strong pattern fit counts two, a possible one or a goal one; ties
    keep the library's order."""
    scored: list[tuple[int, int, Exercise, str]] = []
    for order, e in enumerate(allowed):
        points = 0
        reasons: list[str] = []
        for p in e.serves.patterns:
            fit = env.get(f"pattern.{p}")
            if fit == "strong":
                points += 2
                reasons.append(f"suits the {p.replace('_', ' ')} pattern")
            elif fit == "possible":
                points += 1
                reasons.append(f"may suit the {p.replace('_', ' ')} pattern")
        for g in e.serves.goals:
            if g in goals:
                points += 1
                reasons.append(f"helps with the goal {g.replace('_', ' ')}")
        why = "; ".join(reasons) if reasons else "a general exercise for the back"
        scored.append((-points, order, e, why))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [(e, why) for _, _, e, why in scored]


def _dose(e: Exercise, level: int) -> tuple[int, int]:
    """Sets and repetitions after ``level`` steps up (negative: steps down) from the start,
    by the exercise's own dose rule in the knowledge."""
    d = e.dose
    sets, reps = d.sets, d.reps
    for _ in range(max(level, 0)):
        if reps + d.step <= d.max_reps:
            reps += d.step
        elif sets < d.max_sets:
            sets, reps = sets + 1, d.reps
    for _ in range(max(-level, 0)):
        reps = max(d.min_reps, reps - d.step)
    return sets, reps


# ---------------------------------------------------------------------------- check-ins


def _changes(
    checkin: CheckInAnswers, before: tuple[int | None, int | None, int | None]
) -> dict[str, Any]:
    pain0, conf0, fear0 = before
    return {
        "checkin.pain_change": None if pain0 is None else checkin.pain - pain0,
        "checkin.confidence_change": None if conf0 is None else checkin.confidence - conf0,
        "checkin.fear_change": None if fear0 is None else checkin.fear - fear0,
        "checkin.activity_days": checkin.activity_days,
        "checkin.exercise_days": checkin.exercise_days,
        "checkin.flare_ups": checkin.flare_ups,
    }


def adapt(
    kn: ProgrammeKnowledge,
    checkin: CheckInAnswers,
    before: tuple[int | None, int | None, int | None],
) -> Adaptation:
    """The next week's decision: the first rule that holds, otherwise the default."""
    env = _changes(checkin, before)
    for rule in kn.checkin.rules:
        if evaluate(rule.when, env, {}) is True:
            because = tuple((k, v) for k, v in env.items() if v is not None)
            return Adaptation(rule.decision, " ".join(rule.sentence.split()), because)
    other = kn.checkin.otherwise
    because = tuple((k, v) for k, v in env.items() if v is not None)
    return Adaptation(other.decision, " ".join(other.sentence.split()), because)


def warning_signs(kn: ProgrammeKnowledge, checkin: CheckInAnswers) -> tuple[str, ...]:
    """The cauda equina questions answered yes in a check-in (any one means act now)."""
    return tuple(f for f in kn.checkin.warning_fields if checkin.warning_signs.get(f) is True)


# ---------------------------------------------------------------------------- flare plan


def flare_plan(kn: ProgrammeKnowledge, answers: Mapping[str, Any]) -> FlarePlanText:
    """The person's own flare-up plan, from what they said makes it worse and what helps."""
    contract = load_contract()
    movement = answers.get("movement") or {}
    worse = tuple(
        spec.meaning
        for name, spec in contract.groups["movement"].items()
        if movement.get(name) == "worse"
    )
    helps = tuple(
        spec.meaning
        for name, spec in contract.groups["movement"].items()
        if movement.get(name) == "better"
    )
    fp = kn.flare_plan
    lines = [" ".join(fp.intro.split())]
    if worse:
        lines.append(" ".join(fp.worse.format(items=_listing(worse)).split()))
    if helps:
        lines.append(" ".join(fp.helps.format(items=_listing(helps)).split()))
    if not worse and not helps:
        lines.append(" ".join(fp.unknown.split()))
    lines += [" ".join(s.split()) for s in fp.steps]
    lines.append(" ".join(fp.seek_help.split()))
    return FlarePlanText(tuple(lines), worse, helps)


def _listing(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------------------- the programme


def build_programme(
    report: Report,
    answers: Mapping[str, Any],
    kn: ProgrammeKnowledge,
    *,
    conditions: Sequence[str] = (),
    goals: Sequence[str] = (),
    checkins: Sequence[CheckInAnswers] = (),
    override_reason: str | None = None,
    exercises: Sequence[str] | None = None,
    start_minutes: int | None = None,
) -> Programme:
    """The programme for this report: week 1, then one more week per check-in received.

    ``answers`` is the assessment the report came from (its JSON form); ``conditions`` the
    ids of the conditions triage can suspect (so that an exercise's "not after a suspected
    fracture" reads false, not unknown, when none is suspected). Raises ProgrammeRefused
    when the person needs assessment first and no override reason is given, and
    ValueError for a goal the knowledge does not know.

    A clinician's edit: ``exercises`` names week 1's exercises, in order (each one the
    person may do: an exercise whose cautions apply is refused with ValueError; between
    ``per_week.min`` and ``per_week.max`` of them); later weeks add from the rest of the
    ranked list. ``start_minutes`` sets week 1's walk, within the activity's limits.
    """
    check_eligible(report, kn, override_reason)
    unknown_goals = [g for g in goals if g not in kn.goal_ids()]
    if unknown_goals:
        raise ValueError(f"unknown goal(s) {unknown_goals}; known: {list(kn.goal_ids())}")
    env = programme_env(report, answers)
    _suspected(env, report, conditions)
    allowed, left_out, check_first = _cautions(kn, env)
    ranked = _rank(allowed, env, goals)
    per = kn.exercises.per_week
    count = min(per.start[_risk(report)], len(ranked))
    if exercises is not None:
        ranked, count = _chosen_first(kn, ranked, left_out, exercises)
    minutes = kn.activity.start_minutes
    if start_minutes is not None:
        act = kn.activity
        if not act.min_minutes <= start_minutes <= act.max_minutes:
            raise ValueError(
                f"the walk must be {act.min_minutes} to {act.max_minutes} minutes a day"
            )
        minutes = start_minutes
    sessions = [s for s in kn.education if s.when is None or evaluate(s.when, env, {}) is True]
    risk = _risk(report)
    level = 0
    beliefs = answers.get("beliefs") or {}
    pain = answers.get("pain") or {}
    before: tuple[int | None, int | None, int | None] = (
        pain.get("back"),
        beliefs.get("confidence_to_move"),
        beliefs.get("fear_of_movement"),
    )
    weeks: list[Week] = []
    adaptation: Adaptation | None = None
    stop: tuple[str, ...] = ()
    for number in range(1, len(checkins) + 2):
        if number > 1:
            checkin = checkins[number - 2]
            stop = warning_signs(kn, checkin)
            if stop:
                break
            adaptation = adapt(kn, checkin, before)
            before = (checkin.pain, checkin.confidence, checkin.fear)
            count, level, minutes = _step(kn, adaptation.decision, count, level, minutes)
            count = min(count, len(ranked))
        chosen = tuple(_choice(e, why, level, check_first) for e, why in ranked[:count])
        session = sessions[min(number, len(sessions)) - 1]
        weeks.append(
            Week(
                number=number,
                session=session,
                exercises=chosen,
                activity_minutes=minutes,
                activity_text=" ".join(
                    kn.activity.text.format(minutes=minutes, days=kn.activity.days_per_week).split()
                ),
                adaptation=adaptation,
            )
        )
    cited: dict[str, None] = dict.fromkeys(kn.citations)
    for w in weeks:
        cited.update(dict.fromkeys(w.session.citations))
        for c in w.exercises:
            cited.update(dict.fromkeys(kn.exercise(c.id).citations))
    cited.update(dict.fromkeys(kn.activity.citations))
    cited.update(dict.fromkeys(kn.flare_plan.citations))
    return Programme(
        weeks=tuple(weeks),
        weeks_total=len(sessions),
        left_out=tuple(left_out),
        flare_plan=flare_plan(kn, answers),
        goals=tuple(goals),
        risk_group=risk,
        override_reason=override_reason.strip() if override_reason else None,
        stopped=bool(stop),
        stop_fields=stop,
        knowledge_version=kn.version,
        citations=tuple(cited),
    )


def exercise_options(
    report: Report,
    answers: Mapping[str, Any],
    kn: ProgrammeKnowledge,
    *,
    conditions: Sequence[str] = (),
    goals: Sequence[str] = (),
) -> tuple[list[tuple[Exercise, str]], list[LeftOut]]:
    """The exercises a clinician may choose from (best fit first, each with why) and those
    left out because a caution applies."""
    env = programme_env(report, answers)
    _suspected(env, report, conditions)
    allowed, left_out, _check = _cautions(kn, env)
    return _rank(allowed, env, goals), left_out


def _chosen_first(
    kn: ProgrammeKnowledge,
    ranked: list[tuple[Exercise, str]],
    left_out: Sequence[LeftOut],
    chosen: Sequence[str],
) -> tuple[list[tuple[Exercise, str]], int]:
    per = kn.exercises.per_week
    barred = {x.id: x.reason for x in left_out}
    known = {e.id: (e, why) for e, why in ranked}
    if len(set(chosen)) != len(chosen):
        raise ValueError("each exercise can be chosen once")
    for x in chosen:
        if x in barred:
            raise ValueError(f"{x} cannot be given to this person: {barred[x]}")
        if x not in known:
            raise ValueError(f"unknown exercise {x!r}")
    if not per.min <= len(chosen) <= min(per.max, len(ranked)):
        raise ValueError(f"choose {per.min} to {per.max} exercises")
    first = [known[x] for x in chosen]
    rest = [(e, why) for e, why in ranked if e.id not in set(chosen)]
    return first + rest, len(chosen)


def _choice(e: Exercise, why: str, level: int, check_first: Mapping[str, str]) -> ExerciseChoice:
    sets, reps = _dose(e, level)
    note = f"{why}. Check first: {check_first[e.id]}" if e.id in check_first else why
    return ExerciseChoice(
        id=e.id,
        name=e.name,
        kind=e.kind,
        instructions=" ".join(e.instructions.split()),
        sets=sets,
        reps=reps,
        progress=" ".join(e.progress.split()),
        ease_off=" ".join(e.ease_off.split()),
        why=note,
    )


def _step(
    kn: ProgrammeKnowledge, decision: Decision, count: int, level: int, minutes: int
) -> tuple[int, int, int]:
    """The next week's number of exercises, dose level and walking minutes."""
    per, act = kn.exercises.per_week, kn.activity
    if decision == "progress":
        grown = minutes + max(1, ceil(minutes * act.progress_percent / 100))
        return min(count + 1, per.max), level + 1, min(grown, act.max_minutes)
    if decision == "ease_off":
        shrunk = minutes - max(1, floor(minutes * act.ease_off_percent / 100))
        return max(count - 1, per.min), level - 1, max(shrunk, act.min_minutes)
    return count, level, minutes
