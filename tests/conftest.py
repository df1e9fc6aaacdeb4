"""Shared fixtures and the test profiles (fast for CI, thorough on demand)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from backstory.contract import parse_assessment
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.knowledge.loader import KnowledgeBase, load_knowledge

settings.register_profile(
    "fast", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

DATA = Path(__file__).parent / "data"
SHARED_SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--thorough", action="store_true", help="run the thorough property-test profile"
    )


def pytest_configure(config: pytest.Config) -> None:
    thorough = config.getoption("--thorough") or os.environ.get("BACKSTORY_TEST_PROFILE") == (
        "thorough"
    )
    settings.load_profile("thorough" if thorough else "fast")


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session")
def run(kb: KnowledgeBase) -> Callable[[dict[str, Any]], Report]:
    """Validate and assess a dict with the bundled knowledge."""

    def _run(data: dict[str, Any]) -> Report:
        return assess(parse_assessment(data), kb)

    return _run
