"""Management: NICE NG59 by category and risk, never a do-not-offer item as advice (HZ-19)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backstory.core.report import Report
from backstory.knowledge.loader import KnowledgeBase

Run = Callable[[dict[str, Any]], Report]
FACET_CHRONIC = {
    "age": 60,
    "history": {"duration_weeks": 30},
    "pain": {"distribution": "localised", "leg_side": "none", "back": 6},
    "movement": {
        "extension": "worse",
        "rotation": "worse",
        "side_bending": "worse",
        "lying_down": "better",
        "flexion": "no_change",
        "cough_sneeze": "no_change",
    },
    "exam": {"extension_rotation_provokes": True, "centralisation": False},
    "treatment": {"non_surgical_care_failed": True},
}


def test_do_not_offer_items_are_never_recommended(kb: KnowledgeBase, run: Run) -> None:
    dno = {r.id for r in kb.management.recommendations if r.kind == "do_not_offer"}
    for data in (
        {"age": 40},
        FACET_CHRONIC,
        {"age": 40, "pain": {"leg": 8, "leg_side": "left", "below_knee": True}},
    ):
        r = run(data)
        assert not {x.id for x in r.management.recommended} & dno
        assert {x.id for x in r.management.not_recommended} <= dno


def test_risk_group_drives_support(run: Run) -> None:
    low = run({"age": 40, "startback": [0] * 8 + ["slightly"]})
    high = run({"age": 40, "startback": [1] * 8 + ["extremely"]})
    assert "MG-LOW-RISK" in {x.id for x in low.management.recommended}
    assert "MG-HIGH-RISK" in {x.id for x in high.management.recommended}
    assert "MG-STRATIFY" in {x.id for x in run({"age": 40}).management.recommended}


def test_specific_pathology_gets_act_on_triage_not_the_back_pain_plan(run: Run) -> None:
    r = run({"age": 40, "red_flags": {"saddle_anaesthesia": True}})
    ids = {x.id for x in r.management.recommended}
    assert "MG-ACT-ON-TRIAGE" in ids and "MG-SELF-MANAGEMENT" not in ids


def pathway(r: Report) -> Any:
    return next(p for p in r.management.pathways if p.id == "facet-rfd")


def test_facet_pathway_needs_a_positive_block(run: Run) -> None:
    r = run(FACET_CHRONIC)
    assert pathway(r).status == "incomplete"
    met = run(
        {
            **FACET_CHRONIC,
            "treatment": {"non_surgical_care_failed": True, "medial_branch_block": "positive"},
        }
    )
    assert pathway(met).status == "criteria_met"
    neg = run(
        {
            **FACET_CHRONIC,
            "treatment": {"non_surgical_care_failed": True, "medial_branch_block": "negative"},
        }
    )
    assert pathway(neg).status == "not_indicated"


@pytest.mark.parametrize(("back", "status"), [(4, "not_indicated"), (5, "criteria_met")])
def test_facet_pathway_needs_pain_5_or_more(run: Run, back: int, status: str) -> None:
    """The boundary pair: back pain 5 meets the criterion, 4 does not."""
    data = {
        **FACET_CHRONIC,
        "pain": {**FACET_CHRONIC["pain"], "back": back},
        "treatment": {"non_surgical_care_failed": True, "medial_branch_block": "positive"},
    }
    assert pathway(run(data)).status == status


def test_facet_pathway_absent_when_pattern_unlikely(run: Run) -> None:
    assert run({"age": 40}).management.pathways == ()
