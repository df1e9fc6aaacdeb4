"""The pre-visit questionnaire a patient fills in from a link: plain words, own wording.

The wording is knowledge, not code: its title and opening words (before a visit, or at a
follow-up), the parts, questions and the emergency banner live in
``knowledge/data/questionnaire.yaml`` with their sources, where a clinician can review them,
and are validated at load (``backstory.knowledge.questionnaire.load_questionnaire``). This module
turns them into the objects the pages use.

Each question maps to one contract answer, so what the patient gives is stored as an ordinary
assessment for the clinician. Questions are written for a reading age of about 11 (HZ-18:
"numbness between your legs", never "saddle anaesthesia"; a test checks readability), and
the cauda equina questions come first: a "yes" to any of them tells the person, on the same
page, to go to the emergency department today (HZ-11).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backstory.contract import Issue, load_contract
from backstory.knowledge.loader import load_knowledge
from backstory.knowledge.questionnaire import load_questionnaire
from backstory.knowledge.schema import (
    NOT_SURE,
    Country,
    Questionnaire,
    QuestionnaireOpening,
    emphasis_parts,
)
from backstory.web.instrument_parts import instrument_parts
from backstory.web.question import Kind, Part, Question

__all__ = [
    "CES_FIELDS",
    "COUNTRIES",
    "EMERGENCY_BANNER",
    "FORM_PARTS",
    "NOT_SURE",
    "PARTS",
    "Banner",
    "Help",
    "Kind",
    "Part",
    "Question",
    "answers_to_assessment",
    "as_json",
    "opening",
    "plain_issue",
    "questions",
    "signals_ces",
    "unsure_ces",
    "unsure_fields",
]


@dataclass(frozen=True, slots=True)
class Banner:
    """The emergency banner: a title and paragraphs of (text, emphasised) parts.

    The template escapes every text and adds ``<strong>`` itself for emphasised parts.
    """

    title: str
    paragraphs: tuple[tuple[tuple[str, bool], ...], ...]


def _parts(form: Questionnaire) -> tuple[Part, ...]:
    return tuple(
        Part(
            p.id,
            p.title,
            p.intro,
            tuple(
                Question(
                    q.field,
                    q.text,
                    q.kind,
                    tuple((o.value, o.label) for o in q.options),
                    required=q.required,
                    ces=q.ces,
                    hint=q.hint,
                    not_sure=q.not_sure_text(),
                    unsure=q.records_uncertainty,
                )
                for q in p.questions
            ),
        )
        for p in form.parts
    )


_FORM = load_questionnaire()
FORM_PARTS: tuple[Part, ...] = _parts(_FORM)
"""The parts of ``questionnaire.yaml``: each question one contract answer."""
PARTS: tuple[Part, ...] = FORM_PARTS + instrument_parts(load_knowledge())
"""Every page of the questionnaire with the bundled knowledge and no licensed wording: the
knowledge's own parts, then one part per instrument asked in own words (a clinic's licensed
wording or another knowledge may add or reword instrument parts: ``questionnaire_parts``)."""

CES_FIELDS = tuple(q.field for p in FORM_PARTS for q in p.questions if q.ces)
COUNTRIES: tuple[Country, ...] = tuple(_FORM.countries)


def opening(follow_up: bool) -> QuestionnaireOpening:
    """The questionnaire's title and first-page intro: before a visit, or for a follow-up
    some weeks on (the same questions; the words say what they are for)."""
    return _FORM.openings.follow_up if follow_up else _FORM.openings.pre_visit


@dataclass(frozen=True, slots=True)
class Help:
    """Where a clinic's patients get help: its country's numbers and its own contact.

    Fills the ``{placeholders}`` of the safety texts in ``questionnaire.yaml``; the clinic's
    contact goes in last, so nothing it contains is ever read as a placeholder.
    """

    country: Country
    contact: str | None = None

    @classmethod
    def of(cls, country: str | None, contact: str | None) -> Help:
        return cls(_FORM.country(country), (contact or "").strip() or None)

    def fill(self, text: str) -> str:
        c = self.country
        for name, value in (
            ("emergency_number", c.emergency_number),
            ("emergency_place", c.emergency_place),
            ("urgent_advice", c.urgent_advice),
        ):
            text = text.replace("{" + name + "}", value)
        return text.replace("{clinic_contact}", self.contact or "")

    def _parts(self, text: str) -> tuple[tuple[str, bool], ...]:
        return tuple((self.fill(t), strong) for t, strong in emphasis_parts(text))

    def emergency_banner(self) -> Banner:
        """The banner a "yes" to a cauda equina question shows (HZ-11)."""
        b = _FORM.emergency_banner
        return Banner(self.fill(b.title), tuple(self._parts(p) for p in b.paragraphs))

    def unsure_banner(self) -> Banner:
        """The advice a "not sure" to a cauda equina question shows (HZ-85)."""
        b = _FORM.unsure_banner
        how = b.with_contact if self.contact else b.without_contact
        texts = [*b.paragraphs, how, b.if_sure]
        return Banner(self.fill(b.title), tuple(self._parts(t) for t in texts))


DEFAULT_HELP = Help.of(None, None)
EMERGENCY_BANNER = DEFAULT_HELP.emergency_banner()
"""The emergency banner for a clinic that has not chosen its country (the default one)."""


def questions() -> tuple[Question, ...]:
    """The questions of ``questionnaire.yaml`` (the instruments' items are read separately,
    by ``instrument_parts.instrument_answers``)."""
    return tuple(q for p in FORM_PARTS for q in p.questions)


def signals_ces(form: Mapping[str, str]) -> bool:
    """Whether any answer is a cauda equina warning sign."""
    return any(form.get(f) == "yes" for f in CES_FIELDS)


def unsure_ces(form: Mapping[str, str]) -> bool:
    """Whether the person is not sure about any cauda equina question (HZ-85)."""
    return any(form.get(f) == NOT_SURE for f in CES_FIELDS)


def unsure_fields(form: Mapping[str, str]) -> list[str]:
    """The questions answered "Not sure", in page order: kept beside the assessment, where
    those fields stay unanswered. A choice question's "I would rather not say" is not
    uncertainty and is left out (it stays unanswered like a blank)."""
    return [
        q.field for q in questions() if q.unsure and (form.get(q.field) or "").strip() == NOT_SURE
    ]


def answers_to_assessment(
    form: Mapping[str, str], today: dt.date
) -> tuple[dict[str, Any], list[Issue]]:
    """Contract JSON for the patient's answers; "not sure" and blanks are left out."""
    contract = load_contract()
    issues: list[Issue] = []
    data: dict[str, Any] = {"assessed_on": today.isoformat()}
    for q in questions():
        raw = (form.get(q.field) or "").strip()
        if raw == "" and q.required:
            issues.append(Issue(q.field, "please answer this question"))
            continue
        if raw in ("", NOT_SURE):
            continue
        value: Any
        if q.kind == "yesno":
            if raw not in ("yes", "no"):
                issues.append(Issue(q.field, "please choose yes, no or not sure"))
                continue
            value = raw == "yes"
        elif q.kind in ("number", "scale"):
            if not raw.isdigit() or len(raw) > 4:
                issues.append(Issue(q.field, "please write a whole number, like 3"))
                continue
            value = int(raw)
        else:
            value = raw
        head, _, tail = q.field.partition(".")
        if tail and head in contract.groups:
            data.setdefault(head, {})[tail] = value
        else:
            data[q.field] = value
    return data, issues


def plain_issue(issue: Issue) -> str:
    """A contract problem in words for the person filling in the questionnaire."""
    spec = load_contract().fields.get(issue.field)
    if issue.field == "age" and "under" in issue.message:
        return (
            "This questionnaire is for people aged 16 or over. Please talk to your "
            "clinician instead."
        )
    if spec is not None and spec.type in ("int", "number"):
        low = "0" if spec.minimum is None else f"{spec.minimum:g}"
        high = "?" if spec.maximum is None else f"{spec.maximum:g}"
        return f"Please write a number from {low} to {high}."
    return "Please check this answer."


def as_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
