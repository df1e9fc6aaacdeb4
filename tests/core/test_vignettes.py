"""Clinical vignettes: each red-flag rule fires where it should and not where it should not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from backstory.contract.spec import load_contract
from backstory.core.report import Report
from backstory.knowledge.loader import KnowledgeBase

VIGNETTES = yaml.safe_load((Path(__file__).parents[1] / "data" / "vignettes.yaml").read_text())


def screened_base() -> dict[str, Any]:
    """Every red-flag question answered no, no leg pain: a fully screened baseline."""
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


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out


def build(v: dict[str, Any]) -> dict[str, Any]:
    base = screened_base() if v.get("base", "screened") == "screened" else {}
    return merge(base, v["answers"])


@pytest.mark.parametrize("v", VIGNETTES, ids=[v["id"] for v in VIGNETTES])
def test_vignette(v: dict[str, Any], run: Callable[[dict[str, Any]], Report]) -> None:
    r = run(build(v))
    e = v["expect"]
    fired = {reason.rule for reason in r.triage.reasons}
    if "level" in e:
        assert r.triage.level == e["level"], r.triage
    for s in e.get("suspected_has", []):
        assert s in r.triage.suspected
    if e.get("suspected_none"):
        assert r.triage.suspected == ()
    for rule in e.get("fired", []):
        assert rule in fired
    for rule in e.get("not_fired", []):
        assert rule not in fired
    if "category" in e:
        assert r.category == e["category"]
    if "warnings" in e:
        codes = {w.code for w in r.warnings} - {"SCREEN-INCOMPLETE"}
        assert codes == set(e["warnings"])
    for rec in e.get("recommended", []):
        assert rec in {x.id for x in r.management.recommended}
    for rec in e.get("not_recommended", []):
        assert rec in {x.id for x in r.management.not_recommended}
    for f in e.get("unknowns", []):
        assert f in {u.field for u in r.unknowns}
    plan = {x.id: x for x in r.management.recommended}
    for rec in e.get("not_in_plan", []):
        assert rec not in plan, plan[rec]
    for rec in e.get("not_in_not_recommended", []):
        assert rec not in {x.id for x in r.management.not_recommended}
    for rec, cautions in e.get("cautions", {}).items():
        assert {c.id for c in plan[rec].cautions} == set(cautions), plan[rec].cautions
    for rec, fields in e.get("check_first", {}).items():
        assert set(fields) <= set(plan[rec].check_first), plan[rec].check_first
    fits = {p.id: p.fit for p in r.patterns}
    for pid, fit in e.get("pattern", {}).items():
        assert fits[pid] == fit, r.pattern(pid)
    statuses = {p.id: p.status for p in r.management.pathways}
    for pid, status in e.get("pathway", {}).items():
        assert statuses.get(pid, "absent") == status, r.management.pathways


def test_every_red_flag_rule_has_a_firing_vignette(kb: KnowledgeBase) -> None:
    """Rule coverage: a rule no vignette exercises is a rule nobody has checked."""
    covered = {rule for v in VIGNETTES for rule in v["expect"].get("fired", [])}
    missing = {r.id for r in kb.red_flags.rules} - covered
    assert not missing, f"rules without a firing vignette: {sorted(missing)}"


def test_reasons_carry_answers_and_citations(run: Callable[[dict[str, Any]], Report]) -> None:
    """Every conclusion carries the inputs that produced it and its evidence."""
    r = run(
        {"age": 62, "red_flags": {"history_of_cancer": True}, "neuro": {"gait_disturbance": True}}
    )
    for reason in r.triage.reasons:
        assert reason.because and reason.citations
        assert all(c in r.citations for c in reason.citations)
    mscc = next(x for x in r.triage.reasons if x.rule == "RF-MSCC")
    fields = {a.field for a in mscc.because}
    assert {"red_flags.history_of_cancer", "neuro.gait_disturbance"} <= fields
