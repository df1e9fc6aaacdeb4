"""Batch equals the engine on the facet fits held by the failed-validation limit (round 2)."""

from __future__ import annotations

from typing import Any

from backstory.batch.run import score_frame

from .conftest import Expect, assert_same, csv_frame, typed_frame

_MOVES = {
    "lying_down": "better",
    "cough_sneeze": "no_change",
    "flexion": "no_change",
    "sitting": "better",
    "walking": "better",
}
_EXAM = {"extension_rotation_provokes": True, "centralisation": False}


def _facet(distribution: str, extension: str, **more: str) -> dict[str, Any]:
    return {
        "age": 60,
        "pain": {"distribution": distribution, "leg_side": "none"},
        "movement": {**_MOVES, "extension": extension, **more},
        "exam": dict(_EXAM),
    }


def test_failed_validation_limit_scores_like_the_engine(expect: Expect) -> None:
    data = [
        _facet("diffuse", "worse"),  # validated 2: held at possible
        _facet("localised", "worse"),  # validated 4: strong
        _facet("widespread", "worse", rotation="worse", side_bending="worse"),  # validated 3
        _facet("widespread", "worse", rotation="worse"),  # validated 2
        _facet("localised", "no_change", rotation="worse"),  # extension cap
    ]
    want = expect(data)
    assert [w["pattern_facet_fit"] for w in want] == [
        "possible",
        "strong",
        "strong",
        "possible",
        "possible",
    ]
    for frame in (csv_frame(data), typed_frame(data)):
        res = score_frame(frame)
        assert res.rows_rejected == 0, res.errors.rows()
        assert_same(res.scored, want)
