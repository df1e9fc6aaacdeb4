"""A questionnaire page's parts and questions (shared by the knowledge's own parts in
``questionnaire.py`` and the instruments' parts in ``instrument_parts.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from backstory.knowledge.schema import QuestionKind

Kind = QuestionKind


@dataclass(frozen=True, slots=True)
class Question:
    field: str
    text: str
    kind: Kind
    options: tuple[tuple[str, str], ...] = ()
    required: bool = False
    ces: bool = False
    hint: str = ""
    not_sure: str = "Not sure"
    """The words of the added "not sure" answer (``not_sure_label`` in the knowledge)."""
    unsure: bool = True
    """Whether a "not sure" is the patient's uncertainty (kept for the clinician)."""

    @property
    def id(self) -> str:
        return "q-" + self.field.replace(".", "-").replace("_", "-")


@dataclass(frozen=True, slots=True)
class Part:
    id: str
    title: str
    intro: str
    questions: tuple[Question, ...]
