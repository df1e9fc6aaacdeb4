"""Read the bundled questions knowledge and bibliography (the only file access in this package).

Loading is cached: the files ship inside the package and never change while it runs. Reading,
validation and the bibliography are the shared ones (``backstory.knowledge.files``).
"""

from __future__ import annotations

from functools import cache
from importlib.resources.abc import Traversable

from backstory.ask.models import QuestionsKnowledge, Source
from backstory.knowledge.files import (
    KnowledgeError,
    data_root,
    first_places,
    load_bibliography,
    load_bibliography_from,
    parse_yaml,
    read_yaml,
    validate,
)

QUESTIONS_FILE = "questions.yaml"
BIBLIOGRAPHY_FILE = "questions.yaml"

#: Sources the answers cite but that other bibliography files define (one namespace, so
#: defining them here too would be a duplicate).
SHARED_SOURCE_IDS = frozenset(
    {"nice-ng59", "brinjikji-2015", "girft-ces-2023", "menezes-costa-2012"}
)

__all__ = [
    "BIBLIOGRAPHY_FILE",
    "QUESTIONS_FILE",
    "SHARED_SOURCE_IDS",
    "QuestionsKnowledgeError",
    "data_root",
    "load_question_sources",
    "load_questions_knowledge",
    "load_questions_knowledge_from",
    "parse_questions_knowledge",
    "source_short_names",
]


class QuestionsKnowledgeError(KnowledgeError):
    """The questions data failed validation; the message names the file and the place."""


def parse_questions_knowledge(text: str, where: str = "<text>") -> QuestionsKnowledge:
    """Validate questions YAML given as text (lets tests check broken data without files)."""
    raw = parse_yaml(text, where, QuestionsKnowledgeError)
    return validate(QuestionsKnowledge, raw, where, error=QuestionsKnowledgeError)


def load_questions_knowledge_from(root: Traversable) -> QuestionsKnowledge:
    """The questions knowledge in a folder laid out like the bundled one, with its citations.

    Every citation must resolve, and every source the questions' own bibliography file
    defines must be cited.

    Raises:
        QuestionsKnowledgeError: naming the file and the place of the first problem.
    """
    raw = read_yaml(root, QUESTIONS_FILE, QuestionsKnowledgeError)
    kn = validate(QuestionsKnowledge, raw, QUESTIONS_FILE, error=QuestionsKnowledgeError)
    bib = load_bibliography_from(root)
    cited = first_places(
        [(f"entries[{i}].citations", e.citations) for i, e in enumerate(kn.entries)]
        + [("messages.safety_net_citations", kn.messages.safety_net_citations)]
    )
    bib.check_cited(cited, QUESTIONS_FILE, QuestionsKnowledgeError)
    bib.check_all_used(cited, QUESTIONS_FILE, BIBLIOGRAPHY_FILE, QuestionsKnowledgeError)
    return kn


@cache
def load_questions_knowledge() -> QuestionsKnowledge:
    """The bundled, validated questions knowledge."""
    return load_questions_knowledge_from(data_root())


@cache
def load_question_sources() -> tuple[Source, ...]:
    """The sources defined in this feature's own bibliography file, validated strictly."""
    return load_bibliography().defined_in(BIBLIOGRAPHY_FILE)


@cache
def source_short_names() -> dict[str, str]:
    """Short names of every source in every bibliography file, for display."""
    return {sid: s.short for sid, s in load_bibliography().sources.items()}
