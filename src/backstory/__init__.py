"""Backstory: safe triage, honest classification and plain-language explanation of low back pain.

The core is pure: an assessment goes in, a report comes out, with every conclusion
carrying the answers that produced it and its evidence::

    import backstory
    report = backstory.assess({"age": 42, "pain": {"back": 6}})
    report.triage.level, report.category, report.to_dict()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backstory.contract import Assessment, AssessmentError, Issue, parse_assessment
from backstory.core.engine import Engine
from backstory.core.engine import assess as _assess
from backstory.core.report import Report
from backstory.knowledge.loader import KnowledgeBase, KnowledgeError, load_knowledge

__version__ = "0.1.0"

__all__ = [
    "Assessment",
    "AssessmentError",
    "Engine",
    "Issue",
    "KnowledgeBase",
    "KnowledgeError",
    "Report",
    "__version__",
    "assess",
    "load_knowledge",
    "parse_assessment",
]


def assess(
    assessment: Assessment | Mapping[str, Any], knowledge: KnowledgeBase | None = None
) -> Report:
    """Validate (if needed) and assess one assessment with the bundled or given knowledge.

    Raises:
        AssessmentError: when a mapping breaks the contract; nothing is assessed.
    """
    kb = knowledge or load_knowledge()
    if not isinstance(assessment, Assessment):
        assessment = parse_assessment(assessment, kb.contract)
    return _assess(assessment, kb)
