"""The outcome thresholds are data with citations, validated strictly at load."""

from __future__ import annotations

import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest

from backstory.knowledge.checks import check_knowledge
from backstory.knowledge.loader import KnowledgeError, data_root, load_sources
from backstory.outcomes import load_outcome_rules, load_outcome_rules_from


def test_bundled_rules_match_their_sources() -> None:
    rules = load_outcome_rules()
    absolute = {m.id: m.important_change.absolute for m in rules.measures}
    assert absolute == {"back_pain": D(2), "leg_pain": D(2), "odi": D(10), "rmdq": D(5)}
    assert {m.important_change.relative for m in rules.measures} == {D("0.3")}
    assert all(m.citations == ["ostelo-2008"] for m in rules.measures)
    assert rules.recovery.citations == ["kamper-2010"]
    assert [(c.measure, c.at_most, c.required) for c in rules.recovery.criteria] == [
        ("back_pain", D(0), True),
        ("leg_pain", D(0), False),
        ("rmdq", D(2), False),
    ]
    assert rules.reassess.after_days == 42
    floors = {m.id: m.improvement_evaluable_from for m in rules.measures}
    assert floors == {"back_pain": None, "leg_pain": None, "odi": None, "rmdq": D(4)}
    assert rules.citations() <= set(load_sources())


def test_knowledge_check_still_passes_with_the_outcome_sources() -> None:
    result = check_knowledge()
    assert "outcomes.yaml" in result.files
    sources = load_sources()
    assert {"ostelo-2008", "kamper-2010"} <= set(sources)
    assert sources["kamper-2010"].doi == "10.1007/s00586-010-1366-1"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(str(data_root()), root)
    return root


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("after_days: 42", "after_days: 42\n  after_weeks: 6", "Extra inputs"),
        ("absolute: 5,", "absolute: 50,", "larger than the whole scale"),
        ("citations: [kamper-2010]", "citations: [kamper-2099]", "kamper-2099"),
        ("citations: [kamper-2010]", "citations: []", "at least 1"),
        ("{measure: rmdq, at_most: 2", "{measure: sf36, at_most: 2", "unknown measure"),
        ("source: odi.percent", "source: odi.band", "source"),
        ("improvement_evaluable_from: 4", "improvement_evaluable_from: 25", "at most its maximum"),
        ("improvement_evaluable_from: 4", "improvement_evaluable_from: 0", "above the measure"),
        ("improvement_evaluable_from: 4", "improvement_evaluable_from: -1", "minimum \\(0\\)"),
        ("improvement_evaluable_from: 4", "improvement_evaluable_from: four", "decimal"),
        ("improvement_evaluable_from: 4", "improvement_evaluable_from: .nan", "improvement_eval"),
        ("improvement_evaluable_from: 4", "improvement_evaluable_form: 4", "Extra inputs"),
    ],
)
def test_bad_rules_are_refused(copy: Path, old: str, new: str, message: str) -> None:
    path = copy / "outcomes.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeError, match=message):
        load_outcome_rules_from(copy)
