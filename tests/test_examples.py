"""The public examples give their expected report keys; the project's copies match the spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backstory.cli.main import cli

EXAMPLES = Path(__file__).parent / "data" / "examples"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text())
SHARED = Path(__file__).resolve().parents[2] / "shared" / "spec" / "examples"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_public_example(name: str) -> None:
    e = EXPECTED[name]
    result = CliRunner().invoke(cli, ["assess", str(EXAMPLES / name), "--json"])
    assert result.exit_code == e["exit"], result.output
    if e["exit"] != 0:
        assert result.stdout == ""
        for text in e.get("stderr_has", []):
            assert text in result.stderr
        assert "Traceback" not in result.stderr
        return
    r = json.loads(result.stdout)
    t = r["triage"]
    if "level" in e:
        assert t["level"] in e["level"]
    for s in e.get("suspected_has", []):
        assert s in t["suspected"]
    if e.get("suspected_none"):
        assert t["suspected"] == []
    if "category" in e:
        assert r["category"] in e["category"]
    fits = {p["id"]: p["fit"] for p in r["patterns"]}
    for pid, ok in e.get("pattern", {}).items():
        assert fits[pid] in ok
    for key in ("startback", "odi", "rmdq"):
        for k, v in e.get(key, {}).items():
            assert r[key][k] == v
    assert {p["id"] for p in r["patterns"]} >= {
        "facet",
        "sacroiliac",
        "flexion_related",
        "widespread_sensitisation",
    }
    for key in ("id", "unknowns", "warnings", "knowledge_version"):
        assert key in r


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/spec is not beside this checkout")
def test_copies_match_the_shared_spec() -> None:
    """The project keeps its own copy of the examples; it must not drift from the spec."""
    shared = sorted(p.name for p in SHARED.iterdir())
    assert shared == sorted(p.name for p in EXAMPLES.iterdir())
    for name in shared:
        assert (SHARED / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
