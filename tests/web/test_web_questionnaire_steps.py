"""The questionnaire's pages: their order, what a page's post changes, where errors link."""

from __future__ import annotations

import datetime as dt

from backstory.web.questionnaire import PARTS
from backstory.web.questionnaire_steps import (
    MAX_ANSWER,
    SEND,
    error_href,
    known_answers,
    merge,
    part_problems,
    step,
    step_ids,
)

TODAY = dt.date(2026, 3, 2)


def test_every_part_is_a_page_then_the_last_page() -> None:
    assert step_ids() == (*(p.id for p in PARTS), SEND)
    first, last = step(None), step(SEND)
    assert (first.number, first.previous, first.next) == (1, None, PARTS[1].id)
    assert first.part is PARTS[0] and step("p-no-such-part") == first
    assert (last.number, last.total, last.part, last.next) == (len(PARTS) + 1,) * 2 + (None, None)
    assert last.previous == PARTS[-1].id


def test_a_page_replaces_only_its_own_answers() -> None:
    pain = next(p for p in PARTS if any(q.field == "age" for q in p.questions))
    draft = {"red_flags.fever": "yes", "age": "40", "pain.back": "3"}
    merged = merge(draft, pain, {"age": "41", "red_flags.fever": "no"})
    assert merged == {"red_flags.fever": "yes", "age": "41"}  # pain.back cleared on its page


def test_answers_are_the_questionnaires_own_and_short() -> None:
    at_limit = "1" * MAX_ANSWER
    kept = known_answers({"age": at_limit, "csrf": "x", "consent": "yes", "pain.back": " "})
    assert kept == {"age": at_limit}
    assert known_answers({"age": at_limit + "2"}) == {"age": at_limit}  # cut, then refused
    pain = next(p for p in PARTS if any(q.field == "age" for q in p.questions))
    assert "age" in part_problems(pain, {"age": at_limit}, TODAY)
    assert part_problems(pain, {"age": "16"}, TODAY) == {}
    assert "age" in part_problems(pain, {"age": "15"}, TODAY)


def test_error_links_go_to_the_page_of_the_question() -> None:
    first = PARTS[0]
    field = first.questions[0].field
    anchor = "#q-" + field.replace(".", "-").replace("_", "-")
    assert error_href(field, first.id) == anchor
    assert error_href(field, SEND) == f"?part={first.id}{anchor}"
    assert error_href("consent", SEND) == "#q-consent"
