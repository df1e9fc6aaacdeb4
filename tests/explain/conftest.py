"""Fixtures for the explanation tests: the public examples, assessed once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backstory.contract import Assessment, AssessmentError, parse_assessment
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.knowledge.loader import KnowledgeBase

EXAMPLES = Path(__file__).parents[1] / "data" / "examples"


@dataclass(frozen=True)
class Case:
    name: str
    data: dict[str, Any]
    assessment: Assessment
    report: Report


def load_cases(kb: KnowledgeBase) -> list[Case]:
    """Every valid public example (p0*.json), validated and assessed."""
    cases = []
    for path in sorted(EXAMPLES.glob("p0*.json")):
        data = json.loads(path.read_text("utf-8"))
        try:
            a = parse_assessment(data)
        except AssessmentError:
            continue
        cases.append(Case(path.stem, data, a, assess(a, kb)))
    return cases


@pytest.fixture(scope="session")
def cases(kb: KnowledgeBase) -> dict[str, Case]:
    """The public examples by name (p01-cauda-equina, ...)."""
    return {c.name: c for c in load_cases(kb)}
