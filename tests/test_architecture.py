"""The core and knowledge never import adapters or do I/O (the full layer table: test_layers.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PKG = Path(__file__).parents[1] / "src" / "backstory"
INNER = ("core", "knowledge", "contract")
FORBIDDEN = (
    "backstory.cli",
    "backstory.render",
    "click",
    "rich",
    "fastapi",
    "sqlalchemy",
    "polars",
    "dask",
    "httpx",
    "requests",
    "weasyprint",
)


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_inner_layers_import_no_adapters() -> None:
    bad = []
    for layer in INNER:
        for path in (PKG / layer).rglob("*.py"):
            for mod in imports(path):
                if mod.startswith(FORBIDDEN):
                    bad.append(f"{path.relative_to(PKG)} imports {mod}")
    assert not bad, bad


def test_core_does_no_io() -> None:
    """The engine modules do not open files or read the environment."""
    for path in (PKG / "core").rglob("*.py"):
        text = path.read_text()
        for word in (
            r"(?<![\w.])open\(",
            r"os\.environ",
            r"\bprint\(",
            r"read_text\(",
            r"importlib\.resources",
        ):
            assert not re.search(word, text), f"{path.name} uses {word}"
