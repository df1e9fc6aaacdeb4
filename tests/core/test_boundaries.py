"""A clinical regression suite that bites: every threshold and rule is guarded by a case.

tests/data/boundaries.yaml holds boundary pairs (the answer at a threshold, and one unit
past it) and whole cases, written by hand from the guideline: the numbers are literals, not
read from the knowledge, so a changed threshold makes a pair fail.

The mutation check proves it: every threshold in the knowledge is moved one unit each way,
every rule and recommendation is removed, every red-flag level is lowered and each warning
sign is dropped from the red-flag rules, each in an in-memory copy of the knowledge, and at
least one behavioural case (a boundary pair, a case or a clinical vignette) must then fail.
The outcome rules and the explanation wording thresholds are checked the same way against
their own pairs. A knob no case notices is listed with the entry to add. docs/knowledge.md
("Changing a threshold") explains the workflow.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from backstory.contract import parse_assessment
from backstory.contract.validate import Assessment
from backstory.core.engine import Engine
from backstory.explain.knowledge import EXPLANATIONS_FILE, load_explanations, parse_explanations
from backstory.knowledge.knobs import (
    Knob,
    Mutation,
    branch_knobs,
    explanation_knobs,
    knobs,
    mutate,
    outcome_knobs,
)
from backstory.knowledge.loader import (
    KnowledgeBase,
    KnowledgeError,
    data_root,
    knowledge_from_data,
    load_knowledge,
    load_sources,
    read_core_files,
)
from backstory.outcomes import Visit, classify, progress, recovered
from backstory.outcomes.rules import DATA_FILE as OUTCOMES_FILE
from backstory.outcomes.rules import OutcomeRules, load_outcome_rules

from .expectations import merge, problems, screened_base

DATA = Path(__file__).parents[1] / "data"
BOUNDARIES_FILE = DATA / "boundaries.yaml"
BOUNDARIES = yaml.safe_load(BOUNDARIES_FILE.read_text())
VIGNETTES = yaml.safe_load((DATA / "vignettes.yaml").read_text())
PAIRS: list[dict[str, Any]] = BOUNDARIES["pairs"]
CASES: list[dict[str, Any]] = BOUNDARIES["cases"]
OUTCOMES: list[dict[str, Any]] = BOUNDARIES["outcomes"]
EXPLANATIONS: list[dict[str, Any]] = BOUNDARIES["explanations"]
EQUIVALENT: list[dict[str, Any]] = BOUNDARIES.get("equivalent", [])


# ------------------------------------------------------------------------ building answers
def with_field(answers: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """The answers with one field set (``group.name``, or a top-level name or instrument)."""
    if "." in path:
        group, name = path.split(".", 1)
        return merge(answers, {group: {name: value}})
    return merge(answers, {path: value})


def answers_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    base = screened_base() if entry.get("base", "screened") == "screened" else {}
    return merge(base, entry.get("answers", {}))


# -------------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    """One assessment and what its report must show."""

    name: str
    assessment: Assessment
    expect: Mapping[str, Any]
    text: str = ""
    """The answers and expectation as text, to try first the cases that name a knob's parts."""


def _case(name: str, answers: dict[str, Any], expect: Mapping[str, Any]) -> Case:
    return Case(name, parse_assessment(answers), expect, f"{name} {answers} {expect}")


def _likely_first(knob: str) -> list[Case]:
    """Every case, those naming the knob's rule or field first (only to fail sooner)."""
    words = [w.strip(":[]") for w in knob.replace("/", " ").split()]
    words = [w.rsplit(".", 1)[-1] for w in words if len(w) > 3]
    return sorted(all_cases(), key=lambda c: not any(w in c.text for w in words))


@cache
def all_cases() -> tuple[Case, ...]:
    """Every behavioural case: each boundary pair's two sides, the cases and the vignettes."""
    out: list[Case] = []
    for p in PAIRS:
        base = answers_of(p)
        out.append(
            _case(f"pair {p['id']} (at)", with_field(base, p["field"], p["at"]), p["at_expect"])
        )
        out.append(
            _case(
                f"pair {p['id']} (past)", with_field(base, p["field"], p["past"]), p["past_expect"]
            )
        )
    for c in CASES:
        out.append(_case(f"case {c['id']}", answers_of(c), c["expect"]))
    for v in VIGNETTES:
        out.append(_case(f"vignette {v['id']}", answers_of(v), v["expect"]))
    return tuple(out)


@pytest.mark.parametrize("p", PAIRS, ids=[p["id"] for p in PAIRS])
def test_boundary_pair(p: dict[str, Any], kb: KnowledgeBase) -> None:
    """At the threshold the rule holds; one unit past it, it does not."""
    assert p["at"] != p["past"], "a pair needs two different values"
    assert p["at_expect"] != p["past_expect"], (
        "the two sides of a pair must expect different things"
    )
    engine = Engine(kb)
    base = answers_of(p)
    for side in ("at", "past"):
        a = parse_assessment(with_field(base, p["field"], p[side]))
        wrong = problems(engine.assess(a), p[f"{side}_expect"], kb=kb, answers=a.answers)
        assert not wrong, f"{p['field']} = {p[side]!r} ({side}): {'; '.join(wrong)}"


@pytest.mark.parametrize("c", CASES, ids=[c["id"] for c in CASES])
def test_boundary_case(c: dict[str, Any], kb: KnowledgeBase) -> None:
    a = parse_assessment(answers_of(c))
    wrong = problems(Engine(kb).assess(a), c["expect"], kb=kb, answers=a.answers)
    assert not wrong, "; ".join(wrong)


# ---------------------------------------------------------------------- outcome rule pairs
START = dt.date(2026, 1, 1)


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def outcome_result(entry: Mapping[str, Any], value: Any, rules: OutcomeRules) -> Any:
    """What the outcome rules say with ``value`` on the entry's varying side.

    change: the status of ``measure`` from ``baseline`` to the value (or, when the entry gives
    ``value``, from the varying baseline to that value). recovery: whether a
    visit with these values and ``measure`` at the value counts as recovered. reassess: whether
    two back-pain scores (``baseline``, ``latest``) the value's number of days apart prompt
    "not improving - reassess".
    """
    if "recovery" in entry:
        values = {k: _d(v) for k, v in {**entry["recovery"], entry["measure"]: value}.items()}
        return recovered(Visit("v", START, values, None), rules)
    if "reassess" in entry:
        first, latest = entry["reassess"]["baseline"], entry["reassess"]["latest"]
        later = START + dt.timedelta(days=int(value))
        visits = [
            Visit("a", START, {"back_pain": _d(first)}, None),
            Visit("b", later, {"back_pain": _d(latest)}, None),
        ]
        return bool(progress(visits, rules, later).reassess)
    m = rules.measure(entry["measure"])
    if "value" in entry:  # the baseline varies
        baseline, value = value, entry["value"]
    else:
        baseline = entry["baseline"]
    return classify(_d(baseline), _d(value), m.important_change, m.improvement_evaluable_from)


def outcome_problems(rules: OutcomeRules) -> list[str]:
    out = []
    for e in OUTCOMES:
        for side in ("at", "past"):
            got = outcome_result(e, e[side], rules)
            if got != e[f"{side}_expect"]:
                out.append(f"outcome {e['id']} ({side}): {got!r}, expected {e[f'{side}_expect']!r}")
    return out


@pytest.mark.parametrize("e", OUTCOMES, ids=[e["id"] for e in OUTCOMES])
def test_outcome_pair(e: dict[str, Any]) -> None:
    rules = load_outcome_rules()
    assert e["at_expect"] != e["past_expect"], (
        "the two sides of a pair must expect different things"
    )
    for side in ("at", "past"):
        assert outcome_result(e, e[side], rules) == e[f"{side}_expect"], side


@cache
def _raw_outcomes() -> dict[str, Any]:
    return {OUTCOMES_FILE: yaml.safe_load(data_root().joinpath(OUTCOMES_FILE).read_text("utf-8"))}


def outcome_caught_by(mutation: Mutation) -> str | None:
    try:
        rules = OutcomeRules.model_validate(mutate(_raw_outcomes(), mutation)[OUTCOMES_FILE])
    except ValueError:
        return "the outcome rules' checks at load"
    wrong = outcome_problems(rules)
    return wrong[0] if wrong else None


# ------------------------------------------------------------- explanation wording pairs
def explanation_problems(kn: Any) -> list[str]:
    """Pairs whose answer is not shown as a sign found at `at`, or is shown `past` it."""
    out = []
    for e in EXPLANATIONS:
        words = kn.answer_words(e["field"])
        for side, shown in (("at", True), ("past", False)):
            got = words is not None and words.found_text(e[side]) is not None
            if got != shown:
                out.append(f"explanation {e['id']} ({side}): shown {got}, expected {shown}")
    return out


def test_explanation_pairs() -> None:
    """An answer is shown as a warning sign found from its threshold on, and not before."""
    wrong = explanation_problems(load_explanations())
    assert not wrong, "\n".join(wrong)


@cache
def _raw_explanations() -> dict[str, Any]:
    text = data_root().joinpath(EXPLANATIONS_FILE).read_text("utf-8")
    return {EXPLANATIONS_FILE: yaml.safe_load(text)}


def explanation_caught_by(mutation: Mutation) -> str | None:
    try:
        kn = parse_explanations(mutate(_raw_explanations(), mutation)[EXPLANATIONS_FILE])
    except ValueError:
        return "the explanation checks at load"
    wrong = explanation_problems(kn)
    return wrong[0] if wrong else None


# ------------------------------------------------------------------------ the mutation check
def _numeric_fields(kb: KnowledgeBase) -> set[str]:
    specs = dict(kb.contract.fields)
    for inst in kb.contract.instruments.values():
        specs.update((s.path, s) for s in inst.items)
    specs.update(kb.derived)
    return {p for p, s in specs.items() if s.type in ("int", "number")}


@cache
def _raw() -> dict[str, Any]:
    return read_core_files()


def _knobs() -> list[Knob]:
    return [
        *knobs(_raw(), _numeric_fields(load_knowledge())),
        *branch_knobs(_raw()),
        *outcome_knobs(_raw_outcomes()[OUTCOMES_FILE], OUTCOMES_FILE),
        *explanation_knobs(_raw_explanations()[EXPLANATIONS_FILE], EXPLANATIONS_FILE),
    ]


def caught_by(mutation: Mutation, raw: Mapping[str, Any] | None = None) -> str | None:
    """The first case that fails with the mutation applied (None: nothing notices it)."""
    if mutation.path[0] == OUTCOMES_FILE:
        return outcome_caught_by(mutation)
    if mutation.path[0] == EXPLANATIONS_FILE:
        return explanation_caught_by(mutation)
    try:
        kb = knowledge_from_data(mutate(raw or _raw(), mutation), load_sources())
    except KnowledgeError:
        return "the knowledge checks at load"
    engine = Engine(kb)
    for case in _likely_first(mutation.knob):
        try:
            r = engine.assess(case.assessment)
            wrong = problems(r, case.expect, kb=kb, answers=case.assessment.answers)
        except Exception as exc:  # a crash is a failing case too
            return f"{case.name} (raised {type(exc).__name__})"
        if wrong:
            return case.name
    return None


def _equivalent() -> dict[tuple[str, str], str]:
    return {(e["knob"], e["mutation"]): e["reason"] for e in EQUIVALENT}


def test_every_case_passes_on_the_bundled_knowledge(kb: KnowledgeBase) -> None:
    """The mutation check is only meaningful if every case passes unmutated."""
    engine = Engine(kb)
    failing = [
        f"{c.name}: {'; '.join(w)}"
        for c in all_cases()
        if (
            w := problems(
                engine.assess(c.assessment), c.expect, kb=kb, answers=c.assessment.answers
            )
        )
    ]
    assert not failing, "\n".join(failing)


def test_every_threshold_and_rule_is_guarded_by_a_case() -> None:
    """Each threshold moved one unit, each rule removed: some behavioural case must fail."""
    equivalent = _equivalent()
    missing: list[str] = []
    for knob in _knobs():
        unnoticed = [
            f"`{m.describe}`"
            for m in knob.mutations
            if (knob.id, m.describe) not in equivalent and caught_by(m) is None
        ]
        if unnoticed:
            missing.append(
                f"- {knob.id}\n    not noticed when changed to {' or '.join(unnoticed)}\n"
                f"    Add to {BOUNDARIES_FILE.name}: {knob.hint}."
            )
    assert not missing, (
        f"{len(missing)} threshold(s) or rule(s) that no behavioural case guards "
        "(docs/knowledge.md, 'Changing a threshold'):\n" + "\n".join(missing)
    )


def test_equivalent_mutations_are_real_and_still_unnoticeable() -> None:
    """An exemption names a real knob and change, gives a reason, and nothing notices it."""
    by_id = {k.id: k for k in _knobs()}
    stale: list[str] = []
    for (kid, describe), reason in _equivalent().items():
        knob = by_id.get(kid)
        m = next((x for x in knob.mutations if x.describe == describe), None) if knob else None
        if m is None:
            stale.append(f"{kid} / {describe}: no such knob or change")
        elif not str(reason).strip():
            stale.append(f"{kid} / {describe}: no reason given")
        elif (hit := caught_by(m)) is not None:
            stale.append(f"{kid} / {describe}: now noticed by {hit}; remove the exemption")
    assert not stale, "\n".join(stale)


def test_a_one_unit_change_fails_a_pair() -> None:
    """The check itself bites: moving RF-NEURO-SEVERE's grade from 3 to 2 fails a case."""
    knob = next(
        k
        for k in _knobs()
        if k.id == "red_flags.yaml/RF-NEURO-SEVERE: exam.worst_motor_grade lte 3"
    )
    down = next(m for m in knob.mutations if m.value == 2)
    assert caught_by(down) is not None


def test_a_new_rule_without_a_case_is_listed_with_the_entry_to_add() -> None:
    """A rule added without boundary cases (as a parallel change might) is found and listed."""
    raw = copy.deepcopy(_raw())
    raw["red_flags.yaml"]["rules"].append(
        {
            "id": "RF-TEST-NEW",
            "title": "A rule no case exercises",
            "when": {"field": "exam.worst_motor_grade", "lte": 1},
            "suspected": ["progressive_neurological_deficit"],
            "level": "emergency",
            "action": "Test only.",
            "rationale": "Test only.",
            "escalates": "alone",
            "citations": ["nhs-lothian-red-flags"],
        }
    )
    new = {k.id: k for k in knobs(raw, _numeric_fields(load_knowledge()))}
    threshold = new["red_flags.yaml/RF-TEST-NEW: exam.worst_motor_grade lte 1"]
    assert "field: exam.worst_motor_grade, at: 1, past: 2" in threshold.hint
    assert [m.describe for m in threshold.mutations] == [
        "exam.worst_motor_grade lte 2",
        "exam.worst_motor_grade lte 0",
    ]
    removal = new["red_flags.yaml/RF-TEST-NEW: rule"]
    assert "expect: {fired: [RF-TEST-NEW]}" in removal.hint
    assert caught_by(removal.mutations[0], raw) is None
    assert caught_by(threshold.mutations[1], raw) is None
    assert "RF-TEST-NEW" not in str(_raw()), "the bundled copy is left untouched"
