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

from backstory.ask.loader import load_questions_knowledge, load_questions_knowledge_from
from backstory.cds.service import load_cds_knowledge, load_cds_knowledge_from
from backstory.explain.knowledge import load_explanations, load_explanations_from
from backstory.fhir.codes import load_table, load_table_from
from backstory.imaging.knowledge import load_imaging_knowledge, load_imaging_knowledge_from
from backstory.knowledge import files
from backstory.knowledge.checks import CheckResult, check_knowledge
from backstory.knowledge.files import KnowledgeError
from backstory.knowledge.loader import KnowledgeBase
from backstory.outcomes.rules import load_outcome_rules, load_outcome_rules_from
from backstory.programme.knowledge import (
    load_programme_knowledge,
    load_programme_knowledge_from,
)

#: The folder :func:`preflight` checks (tests point it at a corrupted copy).
data_root = files.data_root
bundled_root = files.data_root

__all__ = [
    "PARTS",
    "AllKnowledge",
    "KnowledgeError",
    "check_all_knowledge",
    "check_now",
    "preflight",
]

Loader = Callable[[Traversable, KnowledgeBase], Any]

#: Every knowledge part beyond the core, questionnaire and code table (which
#: ``knowledge.checks.check_knowledge`` loads): the files it owns, its loader for a folder,
#: and its cached loader of the bundled files (the one the commands use, so the check costs
#: nothing extra there).
PARTS: Mapping[str, tuple[tuple[str, ...], Loader, Callable[[], Any]]] = {
    "explanations": (
        ("explanations.yaml", "bibliography/explanations.yaml"),
        lambda root, kb: load_explanations_from(root, kb),
        load_explanations,
    ),
    "imaging": (
        ("imaging.yaml", "bibliography/imaging.yaml"),
        lambda root, kb: load_imaging_knowledge_from(root),
        load_imaging_knowledge,
    ),
    "questions": (
        ("questions.yaml", "bibliography/questions.yaml"),
        lambda root, kb: load_questions_knowledge_from(root),
        load_questions_knowledge,
    ),
    "outcomes": (
        ("outcomes.yaml", "bibliography/outcomes.yaml"),
        lambda root, kb: load_outcome_rules_from(root),
        load_outcome_rules,
    ),
    "programme": (
        ("programme.yaml",),
        lambda root, kb: load_programme_knowledge_from(root),
        load_programme_knowledge,
    ),
    "fhir": (
        ("fhir.yaml", "bibliography/fhir.yaml"),
        lambda root, kb: load_table_from(root),
        load_table,
    ),
    "cds": (("cds.yaml",), lambda root, kb: load_cds_knowledge_from(root, kb), load_cds_knowledge),
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
    if root is None:
        core = check_knowledge()
        return AllKnowledge(core, {name: cached() for name, (_, _, cached) in PARTS.items()})
    core = check_knowledge(root)
    return AllKnowledge(core, {name: load(root, core.kb) for name, (_, load, _) in PARTS.items()})


def check_now() -> AllKnowledge:
    """Check the knowledge :func:`preflight` checks, now (what `backstory knowledge check` runs).

    Raises:
        KnowledgeError: the first problem.
    """
    root = data_root()
    return check_all_knowledge(None if root == bundled_root() else root)


@cache
def preflight() -> AllKnowledge:
    """The bundled knowledge, all of it checked (once per process).

    Raises:
        KnowledgeError: the first problem; the caller refuses to start.
    """
    return check_now()
