"""Regenerate tests/golden/*.txt from the example assessments (review the diff after)."""

from __future__ import annotations

from pathlib import Path

from backstory.contract import AssessmentError, parse_assessment_json
from backstory.core.engine import assess
from backstory.knowledge.loader import load_knowledge
from backstory.render.text import render_text

ROOT = Path(__file__).resolve().parents[1] / "tests"

for path in sorted((ROOT / "data" / "examples").glob("p*.json")):
    try:
        assessment = parse_assessment_json(path.read_text())
    except AssessmentError:
        continue
    out = ROOT / "golden" / f"{path.stem}.txt"
    out.write_text(render_text(assess(assessment, load_knowledge())))
    print(f"wrote {out.relative_to(ROOT.parent)}")
