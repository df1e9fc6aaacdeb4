"""Golden tests of the readable report: any change to the text is reviewed as a diff.

Regenerate with `python scripts/regen_golden.py` after an intended change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backstory.contract import parse_assessment_json
from backstory.core.engine import assess
from backstory.knowledge.loader import load_knowledge
from backstory.render.text import render_text

ROOT = Path(__file__).parents[1]
CASES = sorted(p.stem for p in (ROOT / "golden").glob("*.txt"))


@pytest.mark.parametrize("name", CASES)
def test_readable_report_matches_golden(name: str) -> None:
    source = (ROOT / "data" / "examples" / f"{name}.json").read_text()
    text = render_text(assess(parse_assessment_json(source), load_knowledge()))
    assert text == (ROOT / "golden" / f"{name}.txt").read_text()


def test_golden_files_exist() -> None:
    assert len(CASES) >= 8
