"""No answer is silently ignored: every contract field is read by something, or exempted.

A field counts as read when a rule, fact in use, contradiction, classification, pattern
feature or cap, recommendation (or one of its cautions) or pathway reads it
(knowledge/reads.py); when an instrument's scoring table scores it; when an outcome measure
follows it (outcomes.yaml); when a signal that chooses a leaflet's wording reads it (the
``signals`` of explanations.yaml, facts expanded); or when the reasoning or explanation code
(core, explain, outcomes, cds) reads it by name. Anything else
must be listed in knowledge/data/unread_answers.yaml with a written reason, and an exemption
for a field that something now reads must be removed.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from backstory.explain.knowledge import load_explanations, signal_conditions
from backstory.knowledge.catalogue import render_catalogue
from backstory.knowledge.loader import KnowledgeBase, KnowledgeError, data_root
from backstory.knowledge.reads import UNREAD_FILE, knowledge_reads, load_unread_answers

PKG = Path(__file__).parents[2] / "src" / "backstory"
CODE_READERS = ("core", "explain", "outcomes", "cds")
"""The packages whose code reasons over answers or explains them."""


def contract_fields(kb: KnowledgeBase) -> set[str]:
    return set(kb.contract.fields) | set(kb.contract.instruments)


def code_reads(fields: set[str]) -> dict[str, set[str]]:
    """Grouped fields (``group.name``) named by a string literal in the reasoning code.

    Top-level names (``id``, ``age``) are too common as words to be found this way; they
    count only where the knowledge reads them.
    """
    fields = {f for f in fields if "." in f}
    out: dict[str, set[str]] = defaultdict(set)
    for pkg in CODE_READERS:
        for path in sorted((PKG / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Constant) and node.value in fields:
                    out[str(node.value)].add(f"{path.relative_to(PKG)}:{node.lineno}")
    return dict(out)


def outcome_reads(fields: set[str]) -> dict[str, set[str]]:
    raw = yaml.safe_load(data_root().joinpath("outcomes.yaml").read_text("utf-8"))
    out: dict[str, set[str]] = defaultdict(set)
    for m in raw.get("measures", []):
        if m.get("source") in fields:
            out[m["source"]].add(f"outcomes.yaml/{m['id']}")
    return dict(out)


def signal_reads(kb: KnowledgeBase) -> dict[str, set[str]]:
    """Fields the explanation signals read (explanations.yaml ``signals``, facts expanded)."""
    out: dict[str, set[str]] = defaultdict(set)
    for sid, values in signal_conditions(load_explanations()).items():
        for value, cond in values:
            for f in kb.fields_of(cond):
                out[f].add(f"explain/explanations.yaml/signals/{sid}/{value}")
    return dict(out)


def all_reads(kb: KnowledgeBase) -> dict[str, set[str]]:
    fields = contract_fields(kb)
    out: dict[str, set[str]] = defaultdict(set)
    sources = (knowledge_reads(kb), outcome_reads(fields), code_reads(fields), signal_reads(kb))
    for source in sources:
        for f, where in source.items():
            out[f] |= where
    return dict(out)


def test_every_answer_is_read_or_exempted_with_a_reason(kb: KnowledgeBase) -> None:
    reads = all_reads(kb)
    exempt = load_unread_answers()
    unread = sorted(f for f in contract_fields(kb) if not reads.get(f) and f not in exempt)
    assert not unread, (
        "contract fields that no rule, pattern, score, recommendation or explanation reads: "
        + ", ".join(unread)
        + f". Make the knowledge use them, or list each in knowledge/data/{UNREAD_FILE} with "
        "the reason it is right to ignore it."
    )


def test_exemptions_are_contract_fields_that_nothing_reads(kb: KnowledgeBase) -> None:
    reads = all_reads(kb)
    fields = contract_fields(kb)
    stale = []
    for f in load_unread_answers():
        if f not in fields:
            stale.append(f"{f}: not a contract field")
        elif reads.get(f):
            stale.append(f"{f}: now read by {', '.join(sorted(reads[f]))}; remove the exemption")
    assert not stale, f"{UNREAD_FILE}: " + "; ".join(stale)


def test_the_check_sees_each_kind_of_reader(kb: KnowledgeBase) -> None:
    """The readers are really found: one known field from each kind."""
    reads = all_reads(kb)
    assert "red_flags.yaml/RF-NEURO-SEVERE" in reads["exam.worst_motor_grade"]
    assert "patterns.yaml/sacroiliac/below_l5" in reads["pain.maximal_below_l5"]
    assert "instruments.yaml/odi" in reads["odi"]
    assert "outcomes.yaml/back_pain" in reads["pain.back"]
    assert any(w.startswith("explain/") for w in reads["beliefs.confidence_to_move"])


def test_an_exemption_needs_a_written_reason_and_is_listed_once(tmp_path: Path) -> None:
    def load(text: str) -> dict[str, str]:
        (tmp_path / UNREAD_FILE).write_text(text)
        return load_unread_answers(tmp_path)

    ok = "unread:\n  - {field: sex, reason: No rule in the knowledge differs by sex.}\n"
    assert load(ok) == {"sex": "No rule in the knowledge differs by sex."}
    with pytest.raises(KnowledgeError, match="reason"):
        load("unread:\n  - {field: sex, reason: unused}\n")
    with pytest.raises(KnowledgeError, match="listed twice"):
        load(ok + "  - {field: sex, reason: Listed a second time with another reason.}\n")
    with pytest.raises(KnowledgeError, match="reason"):
        load("unread:\n  - {field: sex}\n")


def test_the_catalogue_shows_each_unread_answer_with_its_reason(kb: KnowledgeBase) -> None:
    """A clinician reviewing the catalogue sees what is deliberately ignored, and why."""
    text = render_catalogue(kb)
    for field, reason in load_unread_answers().items():
        assert f"- {field}: {reason}" in text
