"""Test answers and what a report must show: one builder of screened answers, and one
reader of the expectations that vignettes, boundary pairs and boundary cases write
(tests/data/vignettes.yaml, tests/data/boundaries.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backstory.contract.spec import load_contract
from backstory.core.report import Report
from backstory.explain import load_explanations
from backstory.explain.select import answer_signals, known_answers
from backstory.knowledge.loader import KnowledgeBase, load_knowledge


def _fits(r: Report) -> dict[str, str]:
    return {p.id: p.fit for p in r.patterns}


def _points(r: Report) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for p in r.patterns:
        for f in (*p.supporting, *p.against, *p.neutral):
            out[f"{p.id}.{f.id}"] = f.points
        for f in p.unknown:
            out[f"{p.id}.{f.id}"] = None
    return out


def _score(r: Report, path: str) -> Any:
    name, _, key = path.partition(".")
    result = r.scores[name]
    if not key:
        return result
    return None if result is None else result.get(key)


def problems(
    r: Report,
    e: Mapping[str, Any],
    *,
    kb: KnowledgeBase | None = None,
    answers: Mapping[str, Any] | None = None,
) -> list[str]:
    """What in the report differs from the expectation (empty when it matches).

    Understands the vignette expectations and the boundary ones (see boundaries.yaml).
    ``kb`` and ``answers`` (the knowledge the report came from, and the assessment's
    answers) are needed only for ``signals``, the leaflet's wording signals.
    """
    out: list[str] = []
    fired = {x.rule for x in r.triage.reasons}
    recommended = {x.id for x in r.management.recommended}
    not_recommended = {x.id for x in r.management.not_recommended}
    warnings = {w.code for w in r.warnings} - {"SCREEN-INCOMPLETE"}

    def want(ok: bool, what: str) -> None:
        if not ok:
            out.append(what)

    if "level" in e:
        want(r.triage.level == e["level"], f"level {r.triage.level}, expected {e['level']}")
    for s in e.get("suspected_has", []):
        want(s in r.triage.suspected, f"{s} not suspected")
    if e.get("suspected_none"):
        want(r.triage.suspected == (), f"suspected {r.triage.suspected}")
    for rule in e.get("fired", []):
        want(rule in fired, f"{rule} did not fire")
    for rule in e.get("not_fired", []):
        want(rule not in fired, f"{rule} fired")
    levels = {x.rule: x.level for x in r.triage.reasons}
    for rule, level in e.get("fired_at", {}).items():
        want(levels.get(rule) == level, f"{rule} at {levels.get(rule)}, expected {level}")
    if "signals" in e:
        base = kb or load_knowledge()
        got = answer_signals(r, known_answers(r, answers), load_explanations(), base)
        for name, value in e["signals"].items():
            want(got.get(name) == value, f"signal {name} {got.get(name)}, expected {value}")
    if "category" in e:
        want(r.category == e["category"], f"category {r.category}, expected {e['category']}")
    if "warnings" in e:
        want(warnings == set(e["warnings"]), f"warnings {sorted(warnings)}")
    for code in e.get("has_warnings", []):
        want(code in warnings, f"no warning {code}")
    for code in e.get("no_warnings", []):
        want(code not in warnings, f"warning {code}")
    for rec in e.get("recommended", []):
        want(rec in recommended, f"{rec} not recommended")
    for rec in e.get("not_recommended", []):
        want(rec in not_recommended, f"{rec} not in the do-not-offer list")
    for rec in e.get("absent", []):
        want(rec not in recommended | not_recommended, f"{rec} listed")
    for f in e.get("unknowns", []):
        want(f in {u.field for u in r.unknowns}, f"{f} not listed as unknown")
    for f in e.get("no_unknowns", []):
        want(f not in {u.field for u in r.unknowns}, f"{f} listed as unknown")
    fits = _fits(r)
    for pid, fit in e.get("fit", {}).items():
        want(fits.get(pid) == fit, f"{pid} fit {fits.get(pid)}, expected {fit}")
    pts = _points(r)
    for key, n in e.get("points", {}).items():
        want(pts.get(key, "missing") == n, f"{key} points {pts.get(key, 'missing')}, expected {n}")
    for path, value in e.get("scores", {}).items():
        got = _score(r, path)
        want(got == value, f"score {path} {got}, expected {value}")
    plan = {x.id: x for x in r.management.recommended}
    for rec in e.get("not_in_plan", []):
        want(rec not in plan, f"{rec} in the plan")
    for rec in e.get("not_in_not_recommended", []):
        want(rec not in not_recommended, f"{rec} in the do-not-offer list")
    for rec, cautions in e.get("cautions", {}).items():
        got = {c.id for c in plan[rec].cautions} if rec in plan else None
        want(got == set(cautions), f"{rec} cautions {got}, expected {sorted(cautions)}")
    for rec, fields in e.get("check_first", {}).items():
        got_fields = set(plan[rec].check_first) if rec in plan else set()
        want(set(fields) <= got_fields, f"{rec} check first {sorted(got_fields)}")
    for pid, fit in e.get("pattern", {}).items():
        want(fits.get(pid) == fit, f"{pid} fit {fits.get(pid)}, expected {fit}")
    pathways = {p.id: p for p in r.management.pathways}
    for pid, status in e.get("pathway", {}).items():
        got = pathways[pid].status if pid in pathways else None
        expected = None if status == "absent" else status
        want(got == expected, f"pathway {pid} {got}, expected {status}")
    for key, met in e.get("criteria", {}).items():
        pid, _, cid = key.partition("/")
        crs = {c.id: c.met for c in pathways[pid].criteria} if pid in pathways else {}
        got = crs.get(cid, "missing")
        want(got == met, f"criterion {key} {got}, expected {met}")
    return out


def screened_base() -> dict[str, Any]:
    """Every red-flag question answered no, no leg pain: only the answers given matter."""
    c = load_contract()
    flags = {
        k: False
        for k, spec in c.groups["red_flags"].items()
        if spec.type == "bool" and k != "ces_symptoms_stable_over_2_weeks"
    }
    return {
        "red_flags": flags,
        "history": {"trauma": "none"},
        "neuro": {"progressive_deficit": False},
        "pain": {"leg_side": "none"},
    }


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` on top, group by group."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out
