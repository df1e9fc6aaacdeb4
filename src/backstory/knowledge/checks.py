"""Checks across the whole knowledge folder: every citation resolves, every source is used,
and the files are the ones the manifest's version was recorded for (its fingerprint).

The core knowledge, the pre-visit questionnaire (``questionnaire.yaml``) and the code table
(``codes.yaml``) and the list of answers deliberately left unread
(``unread_answers.yaml``) are also loaded and validated here. The knowledge the outer packages own
(explanations, imaging, questions, outcomes, FHIR, CDS Hooks) is validated with this by
``backstory.preflight.check_all_knowledge``, which ``backstory knowledge check`` and every
entry point run.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources.abc import Traversable

from backstory.knowledge.codes import load_code_table, load_code_table_from
from backstory.knowledge.files import (
    KnowledgeError,
    citations_in,
    data_root,
    load_bibliography,
    read_yaml,
)
from backstory.knowledge.fingerprint import MANIFEST, fingerprint_problem
from backstory.knowledge.loader import (
    KnowledgeBase,
    load_knowledge,
    load_knowledge_from,
    load_sources,
)
from backstory.knowledge.questionnaire import load_questionnaire, load_questionnaire_from
from backstory.knowledge.reads import UNREAD_FILE, load_unread_answers
from backstory.knowledge.schema import Questionnaire


@dataclass(frozen=True)
class CheckResult:
    """What the knowledge holds, for `backstory knowledge check`."""

    kb: KnowledgeBase
    questionnaire: Questionnaire
    files: tuple[str, ...]
    citations: int
    sources: int


def check_knowledge(root: Traversable | None = None) -> CheckResult:
    """Load the core knowledge, questionnaire and code table; check citations both ways.

    Raises:
        KnowledgeError: naming the first problem found.
    """
    bundled = root is None  # the bundled files: the cached loaders the commands use too
    root = root or data_root()
    kb = load_knowledge() if bundled else load_knowledge_from(root)
    problem = fingerprint_problem(root, kb.version, kb.manifest.fingerprint)
    if problem is not None:
        raise KnowledgeError(problem, file=MANIFEST, path="fingerprint")
    if bundled:
        questionnaire = load_questionnaire()
        load_code_table()
        sources = dict(load_bibliography().sources)
    else:
        questionnaire = load_questionnaire_from(root, kb)
        load_code_table_from(root)
        sources = load_sources(root)
    known = set(kb.contract.fields) | set(kb.contract.instruments)
    for field in load_unread_answers(root):
        if field not in known:
            raise KnowledgeError(f"{UNREAD_FILE}: {field} is not a contract field")
    used: set[str] = set()
    count = 0
    files: list[str] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        files.append(entry.name)
        data = read_yaml(root, entry.name)
        for cid, where in citations_in(data, ""):
            count += 1
            if cid not in sources:
                raise KnowledgeError(
                    f"cites unknown source {cid!r}",
                    file=entry.name,
                    path=where.lstrip("/") or "citations",
                )
            used.add(cid)
    unused = sorted(set(sources) - used)
    if unused:
        raise KnowledgeError(f"sources never cited: {', '.join(unused)}", file="bibliography")
    return CheckResult(
        kb=kb,
        questionnaire=questionnaire,
        files=tuple(files),
        citations=count,
        sources=len(sources),
    )
