"""The programme library: validated at load, readable, cited, and drawn by the project."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import textstat  # type: ignore[import-untyped]
import yaml

from backstory.knowledge.loader import KnowledgeError, data_root
from backstory.programme import figure_svg, load_programme_knowledge, load_programme_knowledge_from

KN = load_programme_knowledge()
SPEC_MESSAGES = {
    "non-specific-is-a-category",
    "label-matters-less",
    "recovery-drivers",
    "sensitivity-not-damage",
    "same-first-steps",
    "imaging-not-needed",
    "flare-ups",
    "safety-net",
    "pattern-is-reasoning",
}


def test_bundled_library_loads() -> None:
    assert len(KN.exercises.library) >= 8
    assert KN.version  # stamped from the manifest
    kinds = {e.kind for e in KN.exercises.library}
    assert {"mobility", "strength"} <= kinds


def test_sessions_cover_the_key_messages_the_issue_names() -> None:
    messages = {s.message for s in KN.education}
    assert messages <= SPEC_MESSAGES
    assert {
        "sensitivity-not-damage",
        "pattern-is-reasoning",
        "imaging-not-needed",
        "recovery-drivers",
        "flare-ups",
    } <= messages
    assert {"sleep", "work", "pacing"} <= {s.id for s in KN.education}


@pytest.mark.parametrize(("where", "text"), KN.patient_texts())
def test_every_patient_text_is_plain(where: str, text: str) -> None:
    assert textstat.flesch_kincaid_grade(text) <= 7, where
    assert textstat.flesch_reading_ease(text) >= 60, where


@pytest.mark.parametrize("exercise", KN.exercises.library, ids=lambda e: e.id)
def test_each_figure_is_a_valid_accessible_svg(exercise: Any) -> None:
    svg = figure_svg(exercise)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.get("role") == "img"
    assert root.find(f"{ns}title").text == exercise.name  # type: ignore[union-attr]
    assert root.find(f"{ns}desc").text == exercise.figure.alt  # type: ignore[union-attr]
    assert "href" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(str(data_root()), root)
    return root


def _edit(root: Path, change: Any) -> None:
    path = root / "programme.yaml"
    raw = yaml.safe_load(path.read_text("utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), "utf-8")


def _ex(raw: dict[str, Any], i: int = 0) -> dict[str, Any]:
    ex: dict[str, Any] = raw["exercises"]["library"][i]
    return ex


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: _ex(r).update(surprise=1), "surprise"),
        (
            lambda r: _ex(r, 2)["not_for"][0].update(
                when={"field": "movement.flxion", "is": "worse"}
            ),
            "movement.flxion",
        ),
        (lambda r: _ex(r)["serves"].update(patterns=["facett"]), "unknown pattern"),
        (lambda r: _ex(r)["serves"].update(goals=["flying"]), "unknown goal"),
        (lambda r: _ex(r)["figure"].update(head=[500, 10]), "outside the frame"),
        (lambda r: _ex(r).update(citations=["no-such-source"]), "no-such-source"),
        (lambda r: _ex(r)["dose"].update(max_reps=20), "must name max_reps"),
        (lambda r: r["exercises"]["per_week"]["start"].update(low=9), "outside min..max"),
        (lambda r: r["checkin"].update(warning_fields=["red_flags.fevr"]), "not a warning-sign"),
        (lambda r: r["activity"].update(text="Walk {minuts} minutes"), "does not format"),
        (lambda r: r["education"][0].pop("text"), "text"),
        # the check-in's own questions and its paused sentence cite their sources
        (lambda r: r["checkin"]["questions"].pop("citations"), "citations"),
        (lambda r: r["checkin"].pop("citations"), "citations"),
        (lambda r: r["checkin"]["questions"].update(citations=["no-such-source"]), "no-such"),
    ],
)
def test_broken_library_is_refused_with_the_place_named(
    tmp_path: Path, change: Any, message: str
) -> None:
    root = _copy(tmp_path)
    _edit(root, change)
    with pytest.raises(KnowledgeError, match=r"programme\.yaml") as err:
        load_programme_knowledge_from(root)  # type: ignore[arg-type]
    assert message in str(err.value)
