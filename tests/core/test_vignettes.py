"""Clinical vignettes: each red-flag rule fires where it should and not where it should not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from backstory.contract import parse_assessment
from backstory.core.report import Report
from backstory.knowledge.loader import KnowledgeBase

from .expectations import merge, problems, screened_base

VIGNETTES = yaml.safe_load((Path(__file__).parents[1] / "data" / "vignettes.yaml").read_text())


def build(v: dict[str, Any]) -> dict[str, Any]:
    base = screened_base() if v.get("base", "screened") == "screened" else {}
    return merge(base, v["answers"])


@pytest.mark.parametrize("v", VIGNETTES, ids=[v["id"] for v in VIGNETTES])
def test_vignette(v: dict[str, Any], run: Callable[[dict[str, Any]], Report]) -> None:
    data = build(v)
    r = run(data)
    wrong = problems(r, v["expect"], answers=parse_assessment(data).answers)
    assert not wrong, "; ".join(wrong)


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
