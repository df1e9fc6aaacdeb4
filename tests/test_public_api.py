"""The curated public API."""

from __future__ import annotations

import backstory


def test_all_is_sorted_and_complete() -> None:
    assert backstory.__all__ == sorted(backstory.__all__)
    for name in backstory.__all__:
        assert hasattr(backstory, name)


def test_assess_accepts_a_mapping() -> None:
    r = backstory.assess({"age": 42, "pain": {"back": 6}})
    assert r.triage.level == "routine" and r.knowledge_version == backstory.load_knowledge().version
