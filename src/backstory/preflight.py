"""Validate ALL the knowledge before anything runs: the check every entry point makes.

The core knowledge (``backstory.knowledge``) cannot import the packages that own the rest
(explanations, imaging, questions, outcomes, FHIR, CDS Hooks): they depend on it. This
module sits with the adapters, above all of them, and loads every knowledge file through its
owner's loader, from one folder, so that

- ``backstory knowledge check`` fails on a problem in any file (with the file and the place
  inside it named), and
- the command line (every command but ``knowledge``), ``backstory serve`` and the web app
  factory, and therefore batch runs, refuse to start on broken knowledge instead of crashing
  later in the middle of a report.

:data:`PARTS` lists the loaders; ``tests/knowledge/test_all_knowledge.py`` corrupts every
knowledge file in turn and checks that this finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources.abc import Traversable
from typing import Any

from backstory.ask.loader import load_questions_knowledge_from
from backstory.cds.service import load_cds_knowledge_from
from backstory.explain.knowledge import load_explanations_from
from backstory.fhir.codes import load_table_from
from backstory.imaging.knowledge import load_imaging_knowledge_from
from backstory.knowledge.checks import CheckResult, check_knowledge
from backstory.knowledge.files import KnowledgeError, data_root
from backstory.knowledge.loader import KnowledgeBase
from backstory.outcomes.rules import load_outcome_rules_from

__all__ = ["PARTS", "AllKnowledge", "KnowledgeError", "check_all_knowledge", "preflight"]

Loader = Callable[[Traversable, KnowledgeBase], Any]

#: Every knowledge part beyond the core, questionnaire and code table (which
#: ``knowledge.checks.check_knowledge`` loads), with the files it owns and its loader.
PARTS: Mapping[str, tuple[tuple[str, ...], Loader]] = {
    "explanations": (
        ("explanations.yaml", "bibliography/explanations.yaml"),
        lambda root, kb: load_explanations_from(root, kb),
    ),
    "imaging": (
        ("imaging.yaml", "bibliography/imaging.yaml"),
        lambda root, kb: load_imaging_knowledge_from(root),
    ),
    "questions": (
        ("questions.yaml", "bibliography/questions.yaml"),
        lambda root, kb: load_questions_knowledge_from(root),
    ),
    "outcomes": (
        ("outcomes.yaml", "bibliography/outcomes.yaml"),
        lambda root, kb: load_outcome_rules_from(root),
    ),
    "fhir": (("fhir.yaml", "bibliography/fhir.yaml"), lambda root, kb: load_table_from(root)),
    "cds": (("cds.yaml",), lambda root, kb: load_cds_knowledge_from(root)),
}


@dataclass(frozen=True)
class AllKnowledge:
    """Every knowledge file, loaded and checked: the core check and each part."""

    core: CheckResult
    parts: Mapping[str, Any]

    @property
    def version(self) -> str:
        return self.core.kb.version


def check_all_knowledge(root: Traversable | None = None) -> AllKnowledge:
    """Load and check every knowledge file in ``root`` (default: the bundled knowledge).

    Raises:
        KnowledgeError: the first problem, with ``file``, ``path`` and ``message``.
    """
    root = root or data_root()
    core = check_knowledge(root)
    parts = {name: load(root, core.kb) for name, (_, load) in PARTS.items()}
    return AllKnowledge(core, parts)


@cache
def preflight() -> AllKnowledge:
    """The bundled knowledge, all of it checked (once per process).

    Raises:
        KnowledgeError: the first problem; the caller refuses to start.
    """
    return check_all_knowledge(data_root())
