"""View data for the programme pages: the plan built from a stored version, the check-in
table, its charts (server-rendered SVG with the table as its text equivalent) and the pain
change against its important change.

Nothing clinical is decided here: the plan is ``backstory.programme``'s, the adaptation and
flags are ``programme.yaml``'s rules, and the important change is ``outcomes.yaml``'s.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape
from typing import Any

from backstory.core.report import Report
from backstory.fhir.careplan import programme_careplan
from backstory.outcomes.change import classify, important_amount, read_source
from backstory.outcomes.chart import STATUS_WORDS
from backstory.outcomes.progress import fmt
from backstory.outcomes.rules import Measure, load_outcome_rules
from backstory.programme import (
    Programme,
    ProgrammeKnowledge,
    build_programme,
    figure_svg,
    load_programme_knowledge,
)
from backstory.programme.followup import changes, is_worse
from backstory.storage import Store
from backstory.storage.programmes import (
    ProgrammeLink,
    ProgrammeView,
    StoredCheckIn,
    StoredProgramme,
    WarningReport,
    create_link,
    patient_summary,
    reports_of,
)
from backstory.web import deps
from backstory.web.links import new_link

LINK_DAYS = 84
"""How long a programme link works: twelve weeks, the length of the longest programme and a
follow-up after it (a clinician revokes it sooner when needed)."""


def knowledge() -> ProgrammeKnowledge:
    return load_programme_knowledge()


def conditions(state: deps.WebState) -> tuple[str, ...]:
    return tuple(str(c.id) for c in state.knowledge.red_flags.conditions)


def reasoned(store: Store, source_json: str) -> tuple[Report, dict[str, Any]]:
    """The report made afresh under the current knowledge, and the answers in their JSON form
    (grouped, as the programme generator reads them)."""
    done = store.reason(source_json)
    answers: dict[str, Any] = json.loads(source_json)
    return done.report, answers


def build(
    state: deps.WebState,
    report: Report,
    answers: dict[str, Any],
    choices: dict[str, Any],
    override_reason: str | None,
    checkins: list[StoredCheckIn] | None = None,
) -> Programme:
    """The plan for a version as the clinician chose it (raises like ``build_programme``)."""
    exercises = choices.get("exercises")
    return build_programme(
        report,
        answers,
        knowledge(),
        conditions=conditions(state),
        goals=tuple(choices.get("goals") or ()),
        checkins=[c.answers() for c in checkins or ()],
        override_reason=override_reason,
        exercises=tuple(exercises) if exercises is not None else None,
        start_minutes=choices.get("start_minutes"),
    )


def build_stored(
    state: deps.WebState,
    store: Store,
    stored: StoredProgramme,
    source_json: str,
    checkins: list[StoredCheckIn] | None = None,
) -> tuple[Programme, dict[str, Any]]:
    report, answers = reasoned(store, source_json)
    prog = build(state, report, answers, dict(stored.choices), stored.override_reason, checkins)
    return prog, answers


def careplan(state: deps.WebState, store: Store, view: ProgrammeView) -> dict[str, Any]:
    """A released version's current week as a FHIR R4 CarePlan (validated): the subject is
    the pseudonymous Backstory patient id, as in the assessment Bundle, and ``created`` the
    day the version was released."""
    stored = view.programme
    if stored.released_at is None:  # export_programme lets only released versions through
        raise ValueError(f"programme {stored.id} has not been released")
    prog, _answers = build_stored(state, store, stored, view.source_json, view.checkins)
    return programme_careplan(
        prog,
        subject={"reference": f"Patient/{stored.patient_id}"},
        created=stored.released_at.date().isoformat(),
    )


def figures() -> dict[str, str]:
    """Each exercise's own stick figure, as inline SVG."""
    return {e.id: figure_svg(e) for e in knowledge().exercises.library}


# ---------------------------------------------------------------------------- check-ins


@dataclass(frozen=True)
class CheckInRow:
    checkin: StoredCheckIn
    worse: bool
    warning: tuple[str, ...]


def checkin_rows(answers: dict[str, Any], checkins: list[StoredCheckIn]) -> list[CheckInRow]:
    kn = knowledge()
    made = changes(answers, [c.answers() for c in checkins])
    return [
        CheckInRow(c, is_worse(kn, change), c.warning_fields)
        for c, change in zip(checkins, made, strict=True)
    ]


@dataclass(frozen=True)
class Adherence:
    """Days done out of days in the weeks checked in (7 a week)."""

    weeks: int
    walked: int
    exercised: int

    @property
    def days(self) -> int:
        return self.weeks * 7

    def percent(self, done: int) -> int:
        return round(100 * done / self.days) if self.days else 0


def adherence(checkins: list[StoredCheckIn]) -> Adherence | None:
    if not checkins:
        return None
    return Adherence(
        len(checkins),
        sum(c.activity_days for c in checkins),
        sum(c.exercise_days for c in checkins),
    )


@dataclass(frozen=True)
class PainChange:
    label: str
    baseline: str
    latest: str
    change: str
    important: str
    status: str


def _back_pain() -> Measure:
    rules = load_outcome_rules()
    return next(m for m in rules.measures if m.source.endswith(".back"))


def pain_change(answers: dict[str, Any], checkins: list[StoredCheckIn]) -> PainChange | None:
    """The latest check-in's pain against the assessment's, judged by the outcomes rules."""
    measure = _back_pain()
    start = read_source(answers, measure.source)
    if not checkins or isinstance(start, bool) or not isinstance(start, int):
        return None
    baseline, latest = Decimal(start), Decimal(checkins[-1].pain)
    status = classify(
        baseline, latest, measure.important_change, measure.improvement_evaluable_from
    )
    change = latest - baseline
    return PainChange(
        measure.label,
        fmt(baseline),
        fmt(latest),
        fmt(change) if change <= 0 else f"+{fmt(change)}",
        fmt(important_amount(baseline, measure.important_change)),
        STATUS_WORDS[status],
    )


_W, _H, _LEFT, _TOP, _PANEL = 360, 380, 40, 24, 110
_SERIES = (
    ("pain", "Pain", "#b91c1c", ""),
    ("confidence", "Confidence", "#1d4ed8", "6 3"),
    ("fear", "Worry about moving", "#7c2d12", "2 3"),
)


def chart_svg(checkins: list[StoredCheckIn], chart_id: str) -> str:
    """Two panels: pain, confidence and worry (0 to 10) by week, and the days walked and
    exercised (0 to 7) by week. The table beside it gives the same numbers."""
    n = max(len(checkins), 1)
    step = (_W - _LEFT - 20) / max(n, 2)
    title = f"{chart_id}-title"
    desc = f"{chart_id}-desc"
    words = "; ".join(
        f"week {c.week}: pain {c.pain}, confidence {c.confidence}, worry {c.fear}, "
        f"walked {c.activity_days} days, exercised {c.exercise_days} days"
        for c in checkins
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img"'
        f' aria-labelledby="{title} {desc}" class="checkin-chart" id="{chart_id}">',
        f'<title id="{title}">Weekly check-ins</title>',
        f'<desc id="{desc}">{escape(words or "No check-ins yet.")}</desc>',
    ]

    def x(i: int) -> float:
        return _LEFT + step * (i + 0.5)

    def y_score(v: int) -> float:
        return _TOP + _PANEL - v * _PANEL / 10

    top2 = _TOP + _PANEL + 50

    def y_days(v: int) -> float:
        return top2 + _PANEL - v * _PANEL / 7

    for base, label, high in ((_TOP, "Score 0 to 10", 10), (top2, "Days out of 7", 7)):
        out.append(f'<text x="{_LEFT}" y="{base - 8}" font-size="11" fill="#1f2937">{label}</text>')
        out.append(
            f'<rect x="{_LEFT}" y="{base}" width="{_W - _LEFT - 20}" height="{_PANEL}"'
            ' fill="none" stroke="#9ca3af"/>'
        )
        out.append(
            f'<text x="{_LEFT - 6}" y="{base + 4}" font-size="10" text-anchor="end">{high}</text>'
        )
        zero = base + _PANEL + 4
        out.append(f'<text x="{_LEFT - 6}" y="{zero}" font-size="10" text-anchor="end">0</text>')
    for i, c in enumerate(checkins):
        out.append(
            f'<text x="{x(i):.1f}" y="{top2 + _PANEL + 16}" font-size="10"'
            f' text-anchor="middle">W{c.week}</text>'
        )
        w = step * 0.3
        out.append(
            f'<rect x="{x(i) - w:.1f}" y="{y_days(c.activity_days):.1f}" width="{w:.1f}"'
            f' height="{top2 + _PANEL - y_days(c.activity_days):.1f}" fill="#2f6f3e"/>'
        )
        out.append(
            f'<rect x="{x(i):.1f}" y="{y_days(c.exercise_days):.1f}" width="{w:.1f}"'
            f' height="{top2 + _PANEL - y_days(c.exercise_days):.1f}" fill="#6b7280"/>'
        )
    for key, _label, colour, dash in _SERIES:
        points = " ".join(
            f"{x(i):.1f},{y_score(getattr(c, key)):.1f}" for i, c in enumerate(checkins)
        )
        if len(checkins) > 1:
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}"'
                f' stroke-width="2"{dashed}/>'
            )
        for i, c in enumerate(checkins):
            cy = y_score(getattr(c, key))
            out.append(f'<circle cx="{x(i):.1f}" cy="{cy:.1f}" r="3" fill="{colour}"/>')
    legend = [
        *((label, colour) for _k, label, colour, _d in _SERIES),
        ("Days walked", "#2f6f3e"),
        ("Days of exercise", "#6b7280"),
    ]
    for i, (label, colour) in enumerate(legend):
        lx = _LEFT + (i % 2) * 150
        ly = _H - 44 + (i // 2) * 16
        out.append(f'<rect x="{lx}" y="{ly - 8}" width="9" height="9" fill="{colour}"/>')
        out.append(f'<text x="{lx + 13}" y="{ly}" font-size="11">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


# ---------------------------------------------------------------------------- links


def make_programme_link(
    state: deps.WebState, store: Store, patient_id: str, base_url: str
) -> tuple[ProgrammeLink, str]:
    """Make a patient's programme link and return it with its URL (shown once; the only
    place a link's token exists). E-mail delivery can call this too."""
    token, digest = new_link(state.signer, "programme-link")
    now = state.now()
    link = store.run(
        lambda conn, user: create_link(
            conn, user, patient_id, digest, now, now + dt.timedelta(days=LINK_DAYS)
        )
    )
    return link, f"{base_url}/programme/{token}"


def choices_json(choices: dict[str, Any]) -> str:
    return json.dumps(choices, sort_keys=True)


@dataclass(frozen=True)
class PatientProgramme:
    """What the patient page shows about the programme."""

    latest: StoredProgramme
    current: StoredProgramme | None
    rows: list[CheckInRow]
    chart: str | None
    pain: PainChange | None
    adherence: Adherence | None = None
    reports: list[WarningReport] = field(default_factory=list)
    """Warning signs kept from unfinished check-ins (never counted as check-ins)."""


def patient_programme(store: Store, patient_id: str) -> PatientProgramme | None:
    """The patient's programme for their page (read in the user's clinic; audited)."""

    def read(
        conn: Any, user: Any
    ) -> tuple[
        StoredProgramme | None,
        StoredProgramme | None,
        list[StoredCheckIn],
        str | None,
        list[WarningReport],
    ]:
        latest, current, checkins, source = patient_summary(conn, user, patient_id)
        # read under the same audited ``programme.view`` as the check-ins
        reports = reports_of(conn, current.id) if current is not None else []
        return latest, current, checkins, source, reports

    latest, current, checkins, source, reports = store.run(read)
    if latest is None:
        return None
    if current is None or source is None:
        return PatientProgramme(latest, None, [], None, None)
    _report, answers = reasoned(store, source)
    return PatientProgramme(
        latest,
        current,
        checkin_rows(answers, checkins),
        chart_svg(checkins, f"chart-{current.id}") if checkins else None,
        pain_change(answers, checkins),
        adherence(checkins),
        reports,
    )
