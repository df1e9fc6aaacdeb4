"""Reading a scan report carefully (issue 12 item 8) and in time that grows with its length.

Negation written after or inside a finding is negation; an old, healed or unchanged
fracture is for discussion, not same-day action; an urgent finding never hides the plain
meaning of the others; a report past the documented length is refused in plain words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from pydantic import ValidationError

from backstory.cli.main import cli
from backstory.imaging import ImagingKnowledge, ScanInputError, explain_scan, render_text
from backstory.imaging.explain import MAX_REPORT_CHARS
from backstory.imaging.knowledge import load_imaging_knowledge

CES = "cauda_equina_compression"
DATA = Path(__file__).parents[2] / "src" / "backstory" / "knowledge" / "data"


def _found(text: str) -> set[tuple[str, bool, str]]:
    return {(f.id, f.negated, f.concern) for f in explain_scan(text, 60).findings}


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # the finding's own words wrap around the negation
        ("The cauda equina is not compressed.", {(CES, True, "reassure")}),
        ("The cauda equina roots are not crowded.", {(CES, True, "reassure")}),
        ("The conus is not compressed.", {("cord_compression", True, "reassure")}),
        ("The nerve roots are not compressed.", {("nerve_root_compression", True, "reassure")}),
        # negation after the finding
        ("Stenosis is not seen.", {("stenosis", True, "reassure")}),
        ("Fracture: none.", {("fracture", True, "reassure")}),
        # negation before the finding
        ("No evidence of fracture.", {("fracture", True, "reassure")}),
        (
            "Disc bulge at L4/5 without stenosis.",
            {("disc_bulge", False, "reassure"), ("stenosis", True, "reassure")},
        ),
        # the positive forms still count
        ("The cauda equina is compressed at L4/5.", {(CES, False, "urgent")}),
        ("Compression of the cauda equina.", {(CES, False, "urgent")}),
    ],
)
def test_negation_wherever_it_is_written(text: str, want: set[tuple[str, bool, str]]) -> None:
    assert _found(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "Old healed wedge fracture of L1, unchanged.",
        "L1 compression fracture, old, unchanged from prior.",
        "Healed fracture of L3.",
        "Chronic L2 compression fracture.",
        "Long-standing wedge fracture of T12.",
        "L1 wedge fracture with no interval change.",
    ],
)
def test_old_healed_or_unchanged_fracture_is_discuss(text: str) -> None:
    """Discuss, not act today: and its words say so, with no 'today' left in them."""
    result = explain_scan(text, 70)
    (f,) = result.findings
    assert (f.id, f.negated, f.concern) == ("fracture", False, "discuss")
    assert not result.urgent
    assert result.urgent_message is None
    words = f"{f.plain} {f.note} {f.prevalence_text}".lower()
    assert "today" not in words and "promptly" not in words
    assert "old, healed or unchanged" in f.plain


@pytest.mark.parametrize(
    "text",
    [
        "Acute on chronic L1 fracture.",
        "Old L1 fracture with new marrow oedema.",
        "Previous L1 fracture with increased height loss.",
        "Stable L1 burst fracture.",  # "stable" is mechanical stability, not age
        "Known L1 fracture.",
        "L1 compression fracture. This is unchanged from the prior study.",  # another sentence
        "Acute burst fracture of L1.",
    ],
)
def test_a_new_or_uncertain_fracture_stays_urgent(text: str) -> None:
    """Anything new, recent or worse wins over 'old'; doubt stays urgent (the safe error)."""
    result = explain_scan(text, 70)
    assert ("fracture", False, "urgent") in {(f.id, f.negated, f.concern) for f in result.findings}
    assert result.urgent


def test_an_urgent_finding_never_hides_the_meaning_of_the_others() -> None:
    text = "Cauda equina compression at L4/5. Disc bulge at L3/4. Old healed L1 fracture."
    result = explain_scan(text, 55)
    kn = load_imaging_knowledge()
    assert result.urgent
    by_id = {f.id: f for f in result.findings}
    bulge, old_fracture = by_id["disc_bulge"], by_id["fracture"]
    assert kn.finding("disc_bulge").meaning in " ".join(bulge.plain.split())
    assert "old, healed or unchanged" in old_fracture.plain
    for f in (bulge, old_fracture):
        assert f.prevalence_text is None
        assert not kn.wording.reassurance_in(f.plain)
    rendered = " ".join(render_text(result).split())
    assert kn.finding("disc_bulge").meaning in rendered
    assert rendered.index("Please act on this today") < rendered.index("also mentions a disc bulge")


def test_every_non_urgent_finding_has_a_meaning_that_does_not_reassure() -> None:
    kn = load_imaging_knowledge()
    for spec in kn.findings:
        if spec.concern != "urgent":
            assert spec.meaning, spec.id
            assert not kn.wording.reassurance_in(spec.meaning), spec.id
            assert not kn.wording.avoided_words_in(spec.meaning), spec.id


def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((DATA / "imaging.yaml").read_text("utf-8"))
    return raw


def _fracture(raw: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in raw["findings"] if f["id"] == "fracture")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda raw: _fracture(raw)["concern_rules"][1].update(concern="reassure"),
            "never to 'reassure'",
        ),
        (
            lambda raw: _fracture(raw)["concern_rules"][1].pop("plain"),
            "needs its own",
        ),
        (lambda raw: raw["findings"][0].pop("meaning"), "give a 'meaning'"),
        (
            lambda raw: raw["findings"][0].update(meaning="This is common and harmless."),
            "must not reassure",
        ),
        (
            lambda raw: raw["findings"][0].update(patterns=[r"\b(?:mild\s+)*bulge"]),
            "upper bound",
        ),
        (
            lambda raw: raw["fragments"].update(describe=r"(?:(?:mild|small)\s+)+"),
            "upper bound",
        ),
    ],
)
def test_unsafe_edits_are_refused_at_load(change: Any, message: str) -> None:
    raw = _raw()
    change(raw)
    with pytest.raises(ValidationError, match=message):
        ImagingKnowledge.model_validate(raw)


def test_report_length_limit_boundary() -> None:
    """At the limit it is read; one character more is refused in plain words."""
    unit = "Disc bulge at L4/5. "
    at_limit = (unit * (MAX_REPORT_CHARS // len(unit) + 1))[:MAX_REPORT_CHARS]
    assert len(at_limit) == MAX_REPORT_CHARS
    assert explain_scan(at_limit, 50).present
    with pytest.raises(ScanInputError, match="at most 50,000 characters"):
        explain_scan(at_limit + " ", 50)


def test_cli_refuses_an_overlong_report(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("Disc bulge at L4/5. " * 3_000, encoding="utf-8")  # 60,000 characters
    result = CliRunner().invoke(cli, ["imaging", str(path), "--age", "50"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "at most 50,000 characters" in result.stderr
    big = tmp_path / "huge.txt"
    big.write_text("Disc bulge at L4/5. " * 250_000, encoding="utf-8")  # 5 MB: not even read
    result = CliRunner().invoke(cli, ["imaging", str(big), "--age", "50"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "larger than 1 MiB" in result.stderr
    assert "Traceback" not in result.stderr


def test_long_lists_are_read_correctly_at_the_limit() -> None:
    """A trailing cue reaches back across a whole list, at the longest length accepted.

    Checks the position-indexed reading on the shapes that once took quadratic time
    (benchmarks/bench_imaging.py measures the time itself).
    """
    tail = " are not seen."
    items = "disc bulge, stenosis, "
    body = (items * ((MAX_REPORT_CHARS - len(tail)) // len(items)))[:-2]
    result = explain_scan(body + tail, 50)
    assert {(f.id, f.negated) for f in result.findings} == {
        ("disc_bulge", True),
        ("stenosis", True),
    }
    run = ("old mild " * (MAX_REPORT_CHARS // 9))[: MAX_REPORT_CHARS - 20] + " wedge fracture."
    assert {(f.id, f.concern) for f in explain_scan(run, 50).findings} == {("fracture", "discuss")}
