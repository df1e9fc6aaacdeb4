"""Plan invariants under random valid assessments (round 2; HZ-40 to HZ-46).

The contradicting pairs are read from the knowledge (management.yaml `exclusive`), so a new
pair is checked as soon as it is declared.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from backstory.contract import parse_assessment
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.knowledge.loader import load_knowledge
from backstory.testing import assessments

KB = load_knowledge()
FACET = next(p for p in KB.patterns.patterns if p.id == "facet")
FAILED = {f.id for f in FACET.features if f.validation == "failed"}
UNSUITABLE = {"not_tolerated", "ineffective", "contraindicated"}


def run(data: dict[str, Any]) -> Report:
    return assess(parse_assessment(data), KB)


def contradictions(report: Report) -> list[tuple[str, ...]]:
    """The declared exclusive groups of which this plan holds more than one item."""
    ids = {x.id for x in (*report.management.recommended, *report.management.not_recommended)}
    return [
        tuple(sorted(ids & set(g.ids)))
        for g in KB.management.exclusive
        if len(ids & set(g.ids)) > 1
    ]


# Plan-focused assessments: the answers the plan reads are drawn more often.
@st.composite
def plan_assessments(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = draw(assessments(density=0.4))
    if draw(st.floats(0, 1)) < 0.8:
        # mostly without warning signs, so that the back pain plan itself is exercised
        for group in ("red_flags", "neuro", "inflammatory"):
            data.pop(group, None)
        exam = data.get("exam", {})
        for key in list(exam):
            if key not in ("extension_rotation_provokes", "centralisation", "slr_positive"):
                del exam[key]
        hist = data.get("history", {})
        for key in ("trauma", "recent_spinal_procedure", "diabetes", "onset"):
            hist.pop(key, None)
        for key in ("thoracic", "night", "constant"):
            data.get("pain", {}).pop(key, None)
        if data.get("pain", {}).get("leg_side") == "both":
            data["pain"]["leg_side"] = "left"
    if draw(st.booleans()):
        data.setdefault("history", {})["duration_weeks"] = draw(st.sampled_from([0, 4, 13, 14, 30]))
    if draw(st.booleans()):
        data.setdefault("treatment", {})["nsaid"] = draw(
            st.sampled_from(["not_tried", "helping", *sorted(UNSUITABLE)])
        )
    if draw(st.booleans()):
        data.setdefault("red_flags", {})["anticoagulants"] = draw(st.booleans())
    if draw(st.booleans()):
        pain = data.setdefault("pain", {})
        pain["leg"] = draw(st.sampled_from([0, 6, 7, 10]))
        pain.pop("leg_side", None)
        pain["below_knee"] = draw(st.booleans())
        pain["leg_worse_than_back"] = draw(st.booleans())
    shape = draw(st.sampled_from(["as_drawn", "sciatica", "facet"]))
    if shape == "sciatica":
        data["pain"] = {
            **data.get("pain", {}),
            "leg": draw(st.sampled_from([6, 7, 8])),
            "back": 2,
            "leg_side": "right",
            "below_knee": True,
        }
    elif shape == "facet":
        data["pain"] = {
            **data.get("pain", {}),
            "distribution": "localised",
            "leg_side": "none",
            "back": draw(st.sampled_from([4, 5, 8])),
        }
        data["movement"] = {
            **data.get("movement", {}),
            "extension": "worse",
            "rotation": "worse",
            "side_bending": draw(st.sampled_from(["worse", "no_change"])),
            "lying_down": "better",
        }
        data["exam"] = {"extension_rotation_provokes": True, "centralisation": False}
        data["history"] = {
            **data.get("history", {}),
            "duration_weeks": draw(st.sampled_from([10, 13, 14, 30])),
        }
        data["treatment"] = {
            **data.get("treatment", {}),
            "non_surgical_care_failed": draw(st.sampled_from([True, True, False])),
            "medial_branch_block": draw(
                st.sampled_from(["positive", "positive", "negative", "not_done"])
            ),
        }
    return data


@given(st.one_of(assessments(), plan_assessments()))
def test_no_plan_holds_a_contradicting_pair(data: dict[str, Any]) -> None:
    assert contradictions(run(data)) == []


def test_the_contradiction_check_can_fail() -> None:
    """A plan holding both items of a declared group is reported (the check is not vacuous)."""
    from dataclasses import replace

    from backstory.core.report import Management, RecommendationItem

    r = run({"age": 40, "history": {"duration_weeks": 3}})
    opioid = RecommendationItem("MG-WEAK-OPIOID", "consider", "", "", "", ("nice-ng59",))
    both = replace(
        r,
        management=Management(
            (*r.management.recommended, opioid), r.management.not_recommended, ()
        ),
    )
    assert ("MG-NSAID", "MG-WEAK-OPIOID") in contradictions(both)


@given(plan_assessments())
def test_medicines_carry_their_safety_conditions(data: dict[str, Any]) -> None:
    r = run(data)
    env_anticoag = data.get("red_flags", {}).get("anticoagulants")
    for rec in r.management.recommended:
        ids = {c.id for c in rec.cautions}
        if rec.id in ("MG-NSAID", "MG-NSAID-SCIATICA"):
            assert ("MC-NSAID-ANTICOAGULANT" in ids) == (env_anticoag is True)
            assert ("MC-NSAID-AGE" in ids) == (data["age"] >= 65)
            assert (env_anticoag is None) == ("red_flags.anticoagulants" in rec.check_first)
        if rec.id == "MG-EPIDURAL":
            assert ("MC-EPIDURAL-ANTICOAGULANT" in ids) == (env_anticoag is True)


@given(plan_assessments())
def test_ng59_limits_hold(data: dict[str, Any]) -> None:
    r = run(data)
    plan = {x.id for x in r.management.recommended}
    weeks = data.get("history", {}).get("duration_weeks")
    acute = weeks is not None and weeks <= 13
    nsaid = data.get("treatment", {}).get("nsaid")
    if "MG-WEAK-OPIOID" in plan:
        assert acute and nsaid in UNSUITABLE and r.category == "non_specific"
    if "MG-EPIDURAL" in plan:
        assert acute and r.category == "radicular" and r.pain["leg"] is not None
        assert r.pain["leg"] >= 7
        mv = data.get("movement", {})
        assert not (
            mv.get("walking") == "worse" and "better" in (mv.get("sitting"), mv.get("flexion"))
        )
    if {"MG-NSAID", "MG-NSAID-SCIATICA"} & plan:
        assert nsaid not in UNSUITABLE
    for pw in r.management.pathways:
        if pw.id == "facet-rfd" and pw.status == "criteria_met":
            t = data.get("treatment", {})
            assert r.pattern("facet").fit == "strong" and weeks is not None and weeks > 13
            assert t.get("non_surgical_care_failed") is True
            assert t.get("medial_branch_block") == "positive"
            assert (r.pain["back"] or 0) >= 5


@given(assessments(density=0.7))
def test_strong_facet_fit_is_honest(data: dict[str, Any]) -> None:
    p = run(data).pattern("facet")
    if p.fit != "strong":
        return
    mv = data.get("movement", {})
    assert "worse" in (mv.get("extension"), mv.get("rotation"), mv.get("side_bending"))
    validated = sum(
        f.points if f.id not in FAILED else min(f.points, 0)
        for f in (*p.supporting, *p.against, *p.neutral)
    )
    assert validated >= FACET.possible_at
