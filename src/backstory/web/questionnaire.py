"""The pre-visit questionnaire a patient fills in from a link: plain words, own wording.

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
from typing import Any, Literal

from backstory.contract import Issue, load_contract

Kind = Literal["yesno", "choice", "number", "scale"]
NOT_SURE = "not_sure"


@dataclass(frozen=True, slots=True)
class Question:
    field: str
    text: str
    kind: Kind
    options: tuple[tuple[str, str], ...] = ()
    required: bool = False
    ces: bool = False
    hint: str = ""

    @property
    def id(self) -> str:
        return "q-" + self.field.replace(".", "-").replace("_", "-")


@dataclass(frozen=True, slots=True)
class Part:
    id: str
    title: str
    intro: str
    questions: tuple[Question, ...]


def _yn(field: str, text: str, *, ces: bool = False, hint: str = "") -> Question:
    return Question(field, text, "yesno", required=ces, ces=ces, hint=hint)


PARTS: tuple[Part, ...] = (
    Part(
        "p-urgent",
        "First, five important questions",
        "These questions help us find a rare problem that needs care on the same day. "
        "Please answer each one.",
        (
            _yn(
                "red_flags.saddle_anaesthesia",
                "Is any part of the skin between your legs numb or odd to touch? "
                "This means around your bottom or your private parts.",
                ces=True,
            ),
            _yn(
                "red_flags.bladder_dysfunction",
                "Do you have new problems when you pee? For example, it is hard to start, "
                "you cannot hold it, or you cannot feel it.",
                ces=True,
            ),
            _yn(
                "red_flags.bowel_incontinence",
                "Do you have new problems with your bowels? For example, you cannot hold a "
                "poo, or you cannot feel it pass.",
                ces=True,
            ),
            _yn(
                "red_flags.sexual_dysfunction",
                "Do you have new problems with sex, or less feeling in your private parts?",
                ces=True,
            ),
            _yn(
                "red_flags.bilateral_leg_symptoms",
                "Do you have pain, numbness, pins and needles or weakness in both legs?",
                ces=True,
            ),
        ),
    ),
    Part(
        "p-pain",
        "Your back pain",
        "",
        (
            Question("age", "How old are you?", "number", required=True, hint="Your age in years."),
            Question(
                "pain.back",
                "In the last week, how bad was your back pain most of the time?",
                "scale",
                hint="0 means no pain. 10 means the worst pain you can think of.",
            ),
            Question(
                "pain.leg",
                "In the last week, how bad was the pain in your leg most of the time?",
                "scale",
                hint="0 means no pain. 10 means the worst pain you can think of.",
            ),
            Question(
                "pain.leg_side",
                "Which leg hurts?",
                "choice",
                (("none", "Neither leg"), ("left", "Left"), ("right", "Right"), ("both", "Both")),
            ),
            _yn("pain.below_knee", "Does the pain in your leg go below your knee?"),
            Question(
                "history.duration_weeks",
                "How many weeks have you had this back pain?",
                "number",
                hint="A rough number is fine.",
            ),
            Question(
                "history.onset",
                "How did it start?",
                "choice",
                (("gradual", "Slowly, over time"), ("sudden", "All of a sudden")),
            ),
            Question(
                "history.trauma",
                "Did it start after a fall or an injury?",
                "choice",
                (
                    ("none", "No"),
                    ("minor", "A small one, like lifting, a slip or a fall from standing"),
                    ("major", "A big one, like a car crash or a fall from a height"),
                ),
            ),
            _yn("history.previous_episodes", "Have you had back pain before?"),
            _yn("neuro.leg_numbness", "Do you have numbness or pins and needles in a leg?"),
            _yn("neuro.leg_weakness", "Is a leg or foot weaker than it used to be?"),
            _yn("neuro.progressive_deficit", "Is the weakness or numbness getting worse?"),
        ),
    ),
    Part(
        "p-health",
        "Your health",
        "",
        (
            _yn(
                "red_flags.history_of_cancer",
                "Have you ever had cancer? Leave out skin cancer that was not a melanoma.",
            ),
            _yn("red_flags.unexplained_weight_loss", "Have you lost weight without trying?"),
            _yn("red_flags.fever", "Have you had a fever, or felt hot and shivery?"),
            _yn(
                "red_flags.recent_infection",
                "Have you had an infection in the last few weeks that needed antibiotics?",
            ),
            _yn(
                "red_flags.immunosuppressed",
                "Do you have an illness or take a medicine that makes it harder to fight "
                "infections?",
            ),
            _yn(
                "red_flags.long_term_steroids",
                "Have you taken steroid tablets for three months or more?",
            ),
            _yn(
                "red_flags.osteoporosis",
                "Have you been told you have thin bones, or broken a bone in a small fall?",
            ),
            _yn("history.diabetes", "Do you have diabetes?"),
        ),
    ),
    Part(
        "p-you",
        "You and your back",
        "",
        (
            Question(
                "beliefs.fear_of_movement",
                "How worried are you that moving will harm your back?",
                "scale",
                hint="0 means not worried at all. 10 means very worried.",
            ),
            Question(
                "beliefs.confidence_to_move",
                "How sure are you that you can do your normal day, even with the pain?",
                "scale",
                hint="0 means not sure at all. 10 means completely sure.",
            ),
            _yn("beliefs.expects_recovery", "Do you think your back will get better?"),
            _yn(
                "beliefs.off_work",
                "Are you off work, or unable to do your usual jobs, because of your back?",
            ),
            Question(
                "sex",
                "What sex were you given at birth?",
                "choice",
                (("female", "Female"), ("male", "Male"), ("other", "Other")),
            ),
        ),
    ),
)

CES_FIELDS = tuple(q.field for p in PARTS for q in p.questions if q.ces)


def questions() -> tuple[Question, ...]:
    return tuple(q for p in PARTS for q in p.questions)


def signals_ces(form: Mapping[str, str]) -> bool:
    """Whether any answer is a cauda equina warning sign."""
    return any(form.get(f) == "yes" for f in CES_FIELDS)


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
