"""The programme as a FHIR R4 CarePlan: valid, complete for the week, stopped when it must."""

from __future__ import annotations

from typing import Any

from backstory.fhir.careplan import programme_careplan
from backstory.fhir.r4b import validate
from backstory.programme import CheckInAnswers, build_programme

from .helpers import CONDITIONS, KN, report_of, screened

DATA = screened(
    age=45,
    movement={"extension": "worse", "flexion": "better"},
)


def programme(checkins: tuple[CheckInAnswers, ...] = ()) -> Any:
    return build_programme(report_of(DATA), DATA, KN, conditions=CONDITIONS, checkins=checkins)


def test_the_week_is_a_valid_careplan() -> None:
    prog = programme()
    who = {"reference": "Patient/p1"}
    plan = programme_careplan(prog, subject=who, created="2026-12-06")
    validate(plan)
    assert plan["status"] == "active" and plan["intent"] == "plan"
    texts = [a["detail"]["code"]["text"] for a in plan["activity"]]
    assert texts[0].startswith("Education: ")
    assert [t for t in texts if t.startswith("Exercise: ")] == [
        f"Exercise: {e.name}" for e in prog.current.exercises
    ]
    assert "Walking" in texts
    notes = " ".join(n["text"] for n in plan["note"])
    assert "emergency department" in notes and "arching or leaning backwards" in notes
    assert plan == programme_careplan(
        prog, subject={"reference": "Patient/p1"}, created="2026-12-06"
    )


def test_a_stopped_programme_is_on_hold_and_says_why() -> None:
    sign = CheckInAnswers(4, 6, 3, 5, 4, 0, {"red_flags.bladder_dysfunction": True})
    plan = programme_careplan(programme((sign,)))
    assert plan["status"] == "on-hold"
    assert "red_flags.bladder_dysfunction" in plan["note"][0]["text"]
    assert plan["subject"]["display"].startswith("Patient not identified")
