"""The questionnaire one part per page: which page comes next, and what each page checks.

Every part of ``questionnaire.yaml`` is one page, in order, and a last page (``send``) asks
for consent and sends. Pages never hold the answers themselves: the answers so far live in a
server-side draft tied to the link (``storage/drafts.py``), merged page by page here, so going
back or forward keeps them (HZ-120). A part added to the knowledge becomes a page without any
change here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from backstory.contract import AssessmentError, Contract, Issue, parse_assessment
from backstory.web.questionnaire import PARTS, Part, answers_to_assessment, plain_issue

SEND = "send"
"""The last page: privacy, consent and "Send my answers"."""
MAX_ANSWER = 40
"""An answer is an option value or a short number; anything longer is cut (and then refused)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One page of the questionnaire: a part, or the last page (``part`` is None)."""

    id: str
    number: int
    total: int
    part: Part | None
    previous: str | None
    next: str | None


def step_ids(parts: tuple[Part, ...] = PARTS) -> tuple[str, ...]:
    return (*(p.id for p in parts), SEND)


def step(step_id: str | None, parts: tuple[Part, ...] = PARTS) -> Step:
    """The page with this id; the first page for an unknown or missing id."""
    ids = step_ids(parts)
    i = ids.index(step_id) if step_id in ids else 0
    return Step(
        ids[i],
        i + 1,
        len(ids),
        parts[i] if i < len(parts) else None,
        ids[i - 1] if i > 0 else None,
        ids[i + 1] if i + 1 < len(ids) else None,
    )


def _fields(parts: tuple[Part, ...]) -> dict[str, str]:
    return {q.field: p.id for p in parts for q in p.questions}


def known_answers(values: Mapping[str, str], parts: tuple[Part, ...] = PARTS) -> dict[str, str]:
    """Only the questionnaire's own answers, each cut to ``MAX_ANSWER`` characters."""
    fields = _fields(parts)
    return {k: v.strip()[:MAX_ANSWER] for k, v in values.items() if k in fields and v.strip()}


def merge(draft: Mapping[str, str], part: Part, form: Mapping[str, str]) -> dict[str, str]:
    """The draft with this page's answers as posted: a question left blank on the page is
    unanswered again; the other pages' answers are kept as they were."""
    merged = dict(draft)
    for q in part.questions:
        raw = (form.get(q.field) or "").strip()[:MAX_ANSWER]
        if raw:
            merged[q.field] = raw
        else:
            merged.pop(q.field, None)
    return merged


def _message(issue: Issue) -> str:
    return issue.message if "please" in issue.message.lower() else plain_issue(issue)


Instruments = Callable[[Mapping[str, str]], tuple[dict[str, Any], list[Issue]]]
"""The instruments' answer arrays and problems from the answers (``instrument_answers``)."""


def assessment_of(
    values: Mapping[str, str], today: dt.date, instruments: Instruments | None = None
) -> tuple[dict[str, Any], list[Issue]]:
    """The contract JSON of every answer (the instruments' parts too) and its problems."""
    data, issues = answers_to_assessment(values, today)
    if instruments is not None:
        scored, more = instruments(values)
        data.update(scored)
        issues += more
    return data, issues


def problems(
    values: Mapping[str, str],
    today: dt.date,
    instruments: Instruments | None = None,
    contract: Contract | None = None,
) -> dict[str, str]:
    """Every problem with the answers, by field, in the words shown to the patient."""
    data, issues = assessment_of(values, today, instruments)
    errors = {i.field: _message(i) for i in issues}
    try:
        parse_assessment(data, contract, today=today)
    except AssessmentError as exc:
        for i in exc.issues:
            errors.setdefault(i.field, _message(i))
    return errors


def part_problems(
    part: Part,
    values: Mapping[str, str],
    today: dt.date,
    instruments: Instruments | None = None,
    contract: Contract | None = None,
) -> dict[str, str]:
    """The problems with this page's answers only (a later page's required answer waits)."""
    fields = {q.field for q in part.questions}
    found = problems(values, today, instruments, contract)
    return {f: m for f, m in found.items() if f in fields}


def error_href(field: str, current: str, parts: tuple[Part, ...] = PARTS) -> str:
    """Where an error summary's link goes: the question on this page, or on its own page."""
    anchor = "#q-" + field.replace(".", "-").replace("_", "-")
    owner = _fields(parts).get(field)
    if owner is None or owner == current:
        return anchor
    return f"?part={owner}{anchor}"
