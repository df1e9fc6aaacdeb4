"""Checks across the whole knowledge folder: every citation resolves, every source is used,
and the files are the ones the manifest's version was recorded for (its fingerprint).

The core knowledge, the pre-visit questionnaire (``questionnaire.yaml``), the code table
(``codes.yaml``) and the list of answers deliberately left unread (``unread_answers.yaml``)
are also loaded and validated here, so a broken questionnaire or code table fails the check,
not only the web app or an export.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from backstory.knowledge.codes import load_code_table_from
from backstory.knowledge.fingerprint import fingerprint_problem
from backstory.knowledge.loader import (
    KnowledgeBase,
    KnowledgeError,
    _citations_in,
    data_root,
    load_knowledge_from,
    load_questionnaire_from,
    load_sources,
)
from backstory.knowledge.reads import UNREAD_FILE, load_unread_answers
from backstory.knowledge.schema import Questionnaire

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class CheckResult:
    """What the knowledge holds, for `backstory knowledge check`."""

    kb: KnowledgeBase
    questionnaire: Questionnaire
    files: tuple[str, ...]
    citations: int
    sources: int


def check_knowledge() -> CheckResult:
    """Load every knowledge file and check citations both ways.

    Raises:
        KnowledgeError: naming the first problem found.
    """
    root = data_root()
    kb = load_knowledge_from(root)
    problem = fingerprint_problem(root, kb.version, kb.manifest.fingerprint)
    if problem is not None:
        raise KnowledgeError(problem)
    questionnaire = load_questionnaire_from(root, kb)
    load_code_table_from(root)
    known = set(kb.contract.fields) | set(kb.contract.instruments)
    for field in load_unread_answers(root):
        if field not in known:
            raise KnowledgeError(f"{UNREAD_FILE}: {field} is not a contract field")
    sources = load_sources(root)
    used: set[str] = set()
    count = 0
    files: list[str] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        files.append(entry.name)
        data = yaml.load(entry.read_text("utf-8"), Loader=_LOADER)
        for cid, where in _citations_in(data, ""):
            count += 1
            if cid not in sources:
                raise KnowledgeError(f"{entry.name}{where}: cites unknown source {cid!r}")
            used.add(cid)
    unused = sorted(set(sources) - used)
    if unused:
        raise KnowledgeError(f"bibliography: sources never cited: {', '.join(unused)}")
    return CheckResult(
        kb=kb,
        questionnaire=questionnaire,
        files=tuple(files),
        citations=count,
        sources=len(sources),
    )
