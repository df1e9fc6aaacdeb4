"""The manifest's fingerprint ties the knowledge version to the exact files (HZ-12)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from backstory.cli.main import cli
from backstory.knowledge.fingerprint import fingerprint, fingerprint_problem
from backstory.knowledge.loader import data_root, load_knowledge


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(Path(str(data_root())), root)
    return root


def test_the_bundled_files_match_the_recorded_fingerprint() -> None:
    kb = load_knowledge()
    assert kb.manifest.fingerprint == fingerprint(data_root()), (
        "the knowledge files changed: bump the version in manifest.yaml, add a line to its "
        "changes and record `backstory knowledge fingerprint`"
    )
    # "2026.12.0: ..." or, while several areas add to one version, "2026.12.0 (area): ..."
    assert re.match(re.escape(kb.version) + r"( \([a-z -]+\))?:", kb.manifest.changes[-1])


def test_any_edit_to_a_knowledge_file_changes_the_fingerprint(copy: Path) -> None:
    before = fingerprint(copy)
    rules = copy / "red_flags.yaml"
    rules.write_text(rules.read_text("utf-8").replace("emergency", "urgent", 1), "utf-8")
    assert fingerprint(copy) != before
    problem = fingerprint_problem(copy, "2026.11.1", before)
    assert problem is not None and "new version" in problem and fingerprint(copy) in problem


def test_new_and_nested_files_count_but_the_manifest_does_not(copy: Path) -> None:
    before = fingerprint(copy)
    manifest = copy / "manifest.yaml"
    manifest.write_text(manifest.read_text("utf-8") + "\n# a comment\n", "utf-8")
    assert fingerprint(copy) == before
    (copy / "bibliography" / "extra.yaml").write_text("sources: []\n", "utf-8")
    assert fingerprint(copy) != before


def test_windows_line_ends_do_not_change_it(copy: Path) -> None:
    before = fingerprint(copy)
    facts = copy / "facts.yaml"
    facts.write_bytes(facts.read_bytes().replace(b"\n", b"\r\n"))
    assert fingerprint(copy) == before


def test_missing_fingerprint_is_named(copy: Path) -> None:
    problem = fingerprint_problem(copy, "2026.11.1", None)
    assert problem is not None and "records no fingerprint" in problem


def test_cli_prints_the_fingerprint() -> None:
    result = CliRunner().invoke(cli, ["knowledge", "fingerprint"])
    assert result.exit_code == 0
    assert result.output.strip() == fingerprint(data_root())
