"""The FHIR adapter depends on the core, contract, knowledge and programme only."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).parents[2] / "src" / "backstory"
ALLOWED = (
    "backstory.contract",
    "backstory.core",
    "backstory.errors",
    "backstory.knowledge",
    "backstory.fhir",
    "backstory.programme",  # the programme's CarePlan export (fhir/careplan.py)
)


def imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_fhir_reads_only_inner_layers() -> None:
    for path in (PKG / "fhir").rglob("*.py"):
        for mod in imports(path):
            if mod.startswith("backstory") and mod != "backstory":
                assert mod.startswith(ALLOWED), f"{path.name} imports {mod}"


def test_nothing_inner_imports_fhir() -> None:
    for layer in ("core", "contract", "knowledge"):
        for path in (PKG / layer).rglob("*.py"):
            assert not any(m.startswith("backstory.fhir") for m in imports(path)), path
