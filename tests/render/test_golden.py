"""Golden tests of the readable report: any change to the text is reviewed as a diff.

Each valid example's report must equal its golden file exactly. ``tests/golden/index.json``
records a digest of each golden file (its knowledge version line left out) and the knowledge
version in which its text last changed; a change after the index's baseline must be named in
that version's entry of the manifest's ``changes``. Regenerate with
``python scripts/regen_golden.py`` (shows the diff) and ``--write`` after an intended change.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from backstory.contract import parse_assessment_json
from backstory.core.engine import assess
from backstory.knowledge.loader import KnowledgeBase, load_knowledge
from backstory.render.text import render_text

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "data" / "examples"
GOLDEN = ROOT / "golden"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text())
VALID = sorted(Path(n).stem for n, e in EXPECTED.items() if e["exit"] == 0)
INDEX = json.loads((GOLDEN / "index.json").read_text())


def _regen() -> ModuleType:
    path = ROOT.parent / "scripts" / "regen_golden.py"
    spec = importlib.util.spec_from_file_location("regen_golden", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("regen_golden", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


REGEN = _regen()


@pytest.mark.parametrize("name", VALID)
def test_readable_report_matches_golden(name: str) -> None:
    source = (EXAMPLES / f"{name}.json").read_text()
    text = render_text(assess(parse_assessment_json(source), load_knowledge()))
    assert text == (GOLDEN / f"{name}.txt").read_text()


def test_every_valid_example_has_a_golden_file_and_no_golden_file_is_orphaned() -> None:
    examples = sorted(p.stem for p in EXAMPLES.glob("p*.json"))
    assert sorted(EXPECTED) == [f"{n}.json" for n in examples], "expected.json and examples differ"
    assert sorted(p.stem for p in GOLDEN.glob("*.txt")) == VALID
    assert len(VALID) >= 8


def test_the_index_records_every_golden_file_as_it_is() -> None:
    files = INDEX["files"]
    assert sorted(files) == [f"{n}.txt" for n in VALID]
    for name, entry in files.items():
        text = (GOLDEN / name).read_text()
        assert entry["sha256"] == REGEN.digest(text), (
            f"{name} changed but tests/golden/index.json did not: run "
            "scripts/regen_golden.py --write and name the change in manifest.yaml"
        )


def test_every_golden_change_is_named_in_the_manifest(kb: KnowledgeBase) -> None:
    changes = kb.manifest.changes
    for name, entry in INDEX["files"].items():
        version = entry["changed_in"]
        if version == INDEX["baseline"]:
            continue
        entries = [c for c in changes if c.startswith(f"{version} ") or c.startswith(f"{version}:")]
        assert entries, f"{name} changed in {version}, which has no entry in manifest changes"
        stem = name.removesuffix(".txt")
        assert any(stem in c for c in entries), (
            f"{name} changed in {version}; name {stem} in that version's manifest changes entry"
        )


def test_golden_files_carry_the_current_knowledge_version(kb: KnowledgeBase) -> None:
    for name in VALID:
        assert f"Knowledge version {kb.version}." in (GOLDEN / f"{name}.txt").read_text()


def test_a_version_bump_alone_is_not_a_change() -> None:
    text = (GOLDEN / "p02-facet-pattern.txt").read_text()
    bumped = text.replace("Knowledge version ", "Knowledge version 9", 1)
    assert bumped != text
    assert REGEN.digest(bumped) == REGEN.digest(text)
    assert REGEN.digest(text.replace("ROUTINE", "URGENT", 1)) != REGEN.digest(text)


# -- the regeneration script -------------------------------------------------------------------


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, Path]:
    examples, golden = tmp_path / "examples", tmp_path / "golden"
    shutil.copytree(EXAMPLES, examples)
    shutil.copytree(GOLDEN, golden)
    return examples, golden


def _run(copies: tuple[Path, Path], *args: str) -> int:
    examples, golden = copies
    code: int = REGEN.main([*args, "--examples", str(examples), "--golden", str(golden)])
    return code


def test_regen_reports_nothing_to_do_when_up_to_date(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(copies) == 0
    assert "up to date" in capsys.readouterr().out


def test_regen_shows_a_diff_and_writes_only_with_write(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, golden = copies
    path = golden / "p02-facet-pattern.txt"
    good = path.read_text()
    path.write_text(good.replace("ROUTINE", "TAMPERED", 1))
    assert _run(copies) == 1
    out = capsys.readouterr().out
    assert "-TRIAGE: TAMPERED" in out and "+TRIAGE: ROUTINE" in out
    assert "TAMPERED" in path.read_text(), "written without --write"
    assert _run(copies, "--write") == 0
    out = capsys.readouterr().out
    assert path.read_text() == good
    assert "name them in a changes entry" in out and "p02-facet-pattern" in out
    index = json.loads((golden / "index.json").read_text())
    assert index["files"]["p02-facet-pattern.txt"]["sha256"] == REGEN.digest(good)


def test_regen_refuses_an_example_that_is_invalid_by_mistake(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    examples, golden = copies
    broken = examples / "p03-sciatica.json"
    broken.write_text(broken.read_text().replace("{", '{"no_such_key": 1, ', 1))
    before = {p.name: p.read_text() for p in golden.iterdir()}
    assert _run(copies, "--write") == 2
    err = capsys.readouterr().err
    assert "p03-sciatica.json" in err and "nothing was written" in err
    assert {p.name: p.read_text() for p in golden.iterdir()} == before
