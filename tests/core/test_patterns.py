"""Pain patterns: fits, evidence for and against, unknowns and what would change the fit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backstory.core.report import Report

Run = Callable[[dict[str, Any]], Report]

FACET = {
    "age": 60,
    "pain": {"distribution": "localised", "leg_side": "none"},
    "movement": {
        "extension": "worse",
        "rotation": "worse",
        "side_bending": "worse",
        "lying_down": "better",
        "flexion": "no_change",
        "cough_sneeze": "no_change",
    },
    "exam": {"extension_rotation_provokes": True, "centralisation": False},
}


def test_all_four_patterns_always_reported(run: Run) -> None:
    r = run({"age": 30})
    assert [p.id for p in r.patterns] == [
        "facet",
        "sacroiliac",
        "flexion_related",
        "widespread_sensitisation",
    ]
    assert all(p.fit == "unknown" for p in r.patterns)


def test_facet_pattern_strong(run: Run) -> None:
    p = run(FACET).pattern("facet")
    assert p.fit == "strong"
    assert {f.id for f in p.supporting} >= {"worse_extension", "extension_rotation_test"}
    assert "not a diagnosis" in p.accuracy_note
    assert "Revel" in p.accuracy_note and "false positives" in p.accuracy_note


def test_negative_extension_rotation_test_argues_against_more(run: Run) -> None:
    data = {**FACET, "exam": {"extension_rotation_provokes": False, "centralisation": False}}
    p = run(data).pattern("facet")
    assert p.fit in ("possible", "unlikely")
    neg = next(f for f in p.against if f.id == "extension_rotation_test")
    pos = next(
        f for f in run(FACET).pattern("facet").supporting if f.id == "extension_rotation_test"
    )
    assert abs(neg.points) > abs(pos.points)


def test_centralisation_makes_facet_unlikely(run: Run) -> None:
    data = {**FACET, "exam": {"extension_rotation_provokes": True, "centralisation": True}}
    assert run(data).pattern("facet").fit == "unlikely"


def test_unknown_features_say_what_would_change(run: Run) -> None:
    data = {**FACET, "exam": {}}
    p = run(data).pattern("facet")
    assert "extension_rotation_test" in {f.id for f in p.unknown}
    what = {w.feature: w.could_become for w in p.would_change}
    assert "extension_rotation_test" in what


def test_sacroiliac_cluster(run: Run) -> None:
    strong = run(
        {
            "age": 40,
            "pain": {"maximal_below_l5": True, "back_side": "left"},
            "exam": {"sij_tests_done": 6, "sij_provocation_positive": 4},
        }
    ).pattern("sacroiliac")
    assert strong.fit == "strong"
    ruled_out = run(
        {
            "age": 40,
            "pain": {"maximal_below_l5": True, "back_side": "left"},
            "exam": {"sij_tests_done": 6, "sij_provocation_positive": 0},
        }
    ).pattern("sacroiliac")
    assert ruled_out.fit == "unlikely"
    no_exam = run({"age": 40, "pain": {"maximal_below_l5": True, "back_side": "left"}})
    assert no_exam.pattern("sacroiliac").fit == "possible"


def test_widespread_pattern(run: Run) -> None:
    r = run(
        {
            "age": 50,
            "history": {"duration_weeks": 52},
            "pain": {"distribution": "widespread", "constant": True, "thoracic": True},
            "beliefs": {"fear_of_movement": 8},
        }
    )
    assert r.pattern("widespread_sensitisation").fit == "strong"
    short = run(
        {
            "age": 50,
            "history": {"duration_weeks": 4},
            "pain": {"distribution": "widespread", "constant": True, "thoracic": True},
        }
    )
    assert short.pattern("widespread_sensitisation").fit == "possible"


def test_fits_are_informational_outside_non_specific(run: Run) -> None:
    r = run({**FACET, "red_flags": {"saddle_anaesthesia": True}})
    assert r.category == "specific_pathology_suspected"
    assert all(p.informational for p in r.patterns)
    assert not any(p.informational for p in run(FACET).patterns)
