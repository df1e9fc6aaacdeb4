"""Answers to common questions about low back pain, by lexical retrieval over reviewed entries."""

from backstory.ask.answer import Alternative, Answer, answer_question
from backstory.ask.loader import (
    QuestionsKnowledgeError,
    load_question_sources,
    load_questions_knowledge,
    source_short_names,
)
from backstory.ask.models import QuestionEntry, QuestionsKnowledge, Source

__all__ = [
    "Alternative",
    "Answer",
    "QuestionEntry",
    "QuestionsKnowledge",
    "QuestionsKnowledgeError",
    "Source",
    "answer_question",
    "load_question_sources",
    "load_questions_knowledge",
    "source_short_names",
]
