"""Patient wording: no frightening words in non-urgent text, no reassurance in urgent text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from backstory.imaging import explain_scan, load_imaging_knowledge, render_text

# The project's list (shared/spec/key-messages.md "Words"), typed here, not read from the data.
AVOID = ("degeneration", "wear and tear", "damage", "crumbling", "slipped disc")
REASSURING = (
    "common",
    "normal",
    "harmless",
    "nothing to worry",
    "grey hair",
    "benign",
    "no back pain",
)
REPORTS: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "reports.yaml").read_text("utf-8")
)


def _strip_allowed(text: str) -> str:
    for phrase in load_imaging_knowledge().wording.allowed_explanations:
        text = text.replace(phrase, "")
    return text


def test_allow_list_is_explanatory() -> None:
    """Each allowed phrasing uses an avoided word only to say that it misleads."""
    allowed = load_imaging_knowledge().wording.allowed_explanations

    assert allowed
    for phrase in allowed:
        assert re.search(r"sound|alarming|worse than", phrase)


def test_knowledge_plain_texts() -> None:
    """Every non-urgent text in the data avoids the words, outside the allow-list."""
    kn = load_imaging_knowledge()
    for where, text, concern in kn.patient_texts():
        if concern == "urgent":
            continue
        cleaned = _strip_allowed(text).lower()
        for word in AVOID:
            assert word not in cleaned, f"{where} uses {word!r}"


def test_urgent_texts_never_reassure() -> None:
    """Text about an urgent finding says what to do and never soothes."""
    kn = load_imaging_knowledge()
    for spec in kn.findings:
        if spec.concern != "urgent":
            continue
        for where, text in spec.patient_texts():
            for word in REASSURING:
                assert not re.search(r"\b" + word, text, re.IGNORECASE), f"{where}: {word!r}"
        assert "today" in spec.plain or "straight away" in spec.plain
    for word in REASSURING:
        assert word not in kn.urgent.message.lower()


def test_disc_degeneration_plain_example() -> None:
    """The spec's example translation."""
    plain = load_imaging_knowledge().finding("disc_degeneration").plain

    assert "age-related changes in the discs, like grey hair on the inside" in plain.lower()


@pytest.mark.parametrize("report", REPORTS, ids=[r["name"] for r in REPORTS])
def test_rendered_reports(report: dict[str, Any]) -> None:
    """Whole rendered documents keep to the word rules, and urgent ones hold no reassurance."""
    result = explain_scan(report["text"], report["age"])
    rendered = render_text(result)
    # The report's own words are quoted back; only our wording is checked.
    ours = rendered
    for f in result.findings:
        ours = ours.replace(" ".join(f.text.split()), "")
    cleaned = _strip_allowed(" ".join(ours.split())).lower()
    for word in AVOID:
        assert word not in cleaned
    if result.urgent:
        for word in REASSURING:
            assert not re.search(r"\b" + word, cleaned), word
        assert "today" in cleaned
    assert "not a diagnosis" in cleaned
