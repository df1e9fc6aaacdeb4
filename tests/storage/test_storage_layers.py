"""Storage depends on the core, never the reverse; outcomes stay free of the database."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).parents[2] / "src" / "backstory"


def imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def offenders(layers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(PKG)} imports {mod}"
        for layer in layers
        for path in (PKG / layer).rglob("*.py")
        for mod in imports(path)
        if mod.startswith(forbidden)
    ]


def test_inner_layers_never_import_storage_or_outcomes() -> None:
    forbidden = ("backstory.storage", "backstory.outcomes", "sqlalchemy", "alembic", "psycopg")
    assert offenders(("core", "knowledge", "contract"), forbidden) == []


def test_outcomes_are_pure() -> None:
    forbidden = ("backstory.storage", "backstory.cli", "sqlalchemy", "alembic", "click")
    assert offenders(("outcomes",), forbidden) == []
