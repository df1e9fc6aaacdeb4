"""The layer rules, checked over the real imports of every module (function-level ones too).

The table below is the architecture (docs/knowledge.md, "Layers", shows the same table):
dependencies point inward, from the entry points to the contract, never the other way.

    errors, yamlio      <- the error family and the one YAML parser: used by every layer
    contract            <- the assessment contract
    knowledge           <- the knowledge files, loaded and checked
    core                <- the engine (pure: assessment in, report out)
    features            <- explain, outcomes, imaging, ask (and render, testing)
    adapters            <- storage, fhir, batch, cds, delivery
    entry points        <- web, cli (and preflight, which checks all the knowledge)

A package may import packages of an inner layer. Imports within a layer are allowed only
where SIDEWAYS lists them, with the reason. Third-party libraries that tie code to one kind
of I/O are allowed only in the package named in EXTERNAL: SQLAlchemy only in storage, the
web framework only in web, click only in cli, and so on. The test that the checker bites
feeds it synthetic violations (the engine importing imaging, a function-level import of
SQLAlchemy in the web layer, a cycle) and checks each is reported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"
PKG = SRC / "backstory"

#: The layers, inner first: (name, packages). ``backstory`` itself (its ``__init__``: the
#: public API over the engine) sits with the core.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("errors", "yamlio")),
    ("contract", ("contract",)),
    ("knowledge", ("knowledge",)),
    ("core", ("core", "backstory")),
    ("features", ("explain", "outcomes", "imaging", "ask", "render", "testing", "programme")),
    ("adapters", ("storage", "fhir", "batch", "cds", "delivery")),
    ("entry points", ("web", "cli", "preflight")),
)

#: Imports within one layer, each with its reason (anything else within a layer is refused).
SIDEWAYS: Mapping[tuple[str, str], str] = {
    ("backstory", "core"): "the public API (backstory/__init__.py) re-exports the engine",
    ("explain", "imaging"): "the leaflet shows the imaging prevalence wording",
    ("cds", "fhir"): "hook calls carry FHIR QuestionnaireResponses",
    ("cli", "web"): "`backstory serve` starts the web app",
    ("cli", "preflight"): "every command checks all the knowledge first",
    ("web", "preflight"): "the app factory checks all the knowledge first",
}

#: Third-party libraries tied to one kind of I/O, and the only packages that may import them.
EXTERNAL: Mapping[str, frozenset[str]] = {
    "sqlalchemy": frozenset({"storage"}),
    "alembic": frozenset({"storage"}),
    "psycopg": frozenset({"storage"}),
    "fastapi": frozenset({"web"}),
    "starlette": frozenset({"web"}),
    "jinja2": frozenset({"web"}),
    "uvicorn": frozenset({"cli", "web"}),
    "click": frozenset({"cli"}),
    "rich": frozenset({"cli"}),
    "polars": frozenset({"batch"}),
    "numpy": frozenset({"batch"}),
    "pyarrow": frozenset({"batch"}),
    "dask": frozenset({"batch"}),
    "distributed": frozenset({"batch"}),
    "weasyprint": frozenset({"explain", "programme"}),
    "yaml": frozenset({"yamlio"}),
    "httpx": frozenset({"web"}),
    "requests": frozenset(),
    "smtplib": frozenset({"delivery"}),
    "aiosmtpd": frozenset(),
}

LAYER_OF: dict[str, int] = {pkg: i for i, (_, pkgs) in enumerate(LAYERS) for pkg in pkgs}


@dataclass(frozen=True)
class Module:
    name: str  # backstory.core.engine
    package: str  # core ("backstory" for backstory/__init__.py)
    path: str  # core/engine.py
    source: str
    is_package: bool = False


def real_modules() -> list[Module]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        name = ".".join(parts)
        package = parts[1] if len(parts) > 1 else "backstory"
        out.append(
            Module(name, package, str(path.relative_to(PKG)), path.read_text("utf-8"), is_package)
        )
    return out


def imports_of(module: Module, known: set[str]) -> set[str]:
    """Every module name imported anywhere in ``module`` (functions and classes included)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(module.source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.name.split(".")
                if not module.is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names} & known
            out.update(subs if subs else {target})
    return out


def _package(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "backstory":
        return None
    return parts[1] if len(parts) > 1 else "backstory"


def violations(modules: Iterable[Module]) -> list[str]:
    """Every import that breaks the table, and every import cycle between modules."""
    mods = list(modules)
    known = {m.name for m in mods}
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for m in mods:
        assert m.package in LAYER_OF, f"{m.path}: package {m.package!r} is in no layer"
        graph[m.name] = set()
        for target in sorted(imports_of(m, known)):
            pkg = _package(target)
            if pkg is None:
                top = target.split(".")[0]
                if top in EXTERNAL and m.package not in EXTERNAL[top]:
                    problems.append(f"{m.path} imports {top} (only {sorted(EXTERNAL[top])})")
                continue
            if target in known:
                graph[m.name].add(target)
            if pkg == m.package:
                continue
            mine, theirs = LAYER_OF[m.package], LAYER_OF[pkg]
            if theirs > mine:
                problems.append(
                    f"{m.path} imports {target}: {m.package} ({LAYERS[mine][0]}) may not "
                    f"depend on {pkg} ({LAYERS[theirs][0]})"
                )
            elif theirs == mine and (m.package, pkg) not in SIDEWAYS:
                problems.append(f"{m.path} imports {target}: sideways in {LAYERS[mine][0]}")
    problems += [f"import cycle: {' -> '.join(c)}" for c in _cycles(graph)]
    return problems


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each as a closed path.

    An import of a package's ``__init__`` by its own submodules (``from backstory.storage
    import audit``) is how Python reaches a sibling; those edges are left out.
    """
    edges = {
        v: {w for w in ws if not (v.startswith(w + ".") and w in graph)} for v, ws in graph.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


# -- the real code -------------------------------------------------------------------------


def test_every_package_is_in_the_table() -> None:
    packages = {m.package for m in real_modules()}
    assert packages <= set(LAYER_OF), sorted(packages - set(LAYER_OF))
    assert set(LAYER_OF) - {"backstory"} <= packages, "the table names a package that is gone"


def test_the_real_imports_keep_the_layers() -> None:
    assert violations(real_modules()) == []


def test_only_storage_imports_sqlalchemy() -> None:
    users = {
        m.package
        for m in real_modules()
        for t in imports_of(m, set())
        if t.split(".")[0] == "sqlalchemy"
    }
    assert users == {"storage"}


# -- the checker bites ---------------------------------------------------------------------


def _with(path: str, extra: str) -> list[Module]:
    """The real modules, with ``extra`` added to the module at ``path``."""
    out = []
    for m in real_modules():
        if m.path == path:
            m = Module(m.name, m.package, m.path, m.source + "\n" + extra, m.is_package)
        out.append(m)
    return out


def test_the_engine_importing_imaging_is_refused() -> None:
    found = violations(_with("core/engine.py", "from backstory.imaging import knowledge\n"))
    assert found == [
        "core/engine.py imports backstory.imaging.knowledge: core (core) may not depend on "
        "imaging (features)"
    ]


def test_a_function_level_import_is_seen() -> None:
    extra = "def f():\n    import backstory.outcomes.rules\n    return backstory\n"
    found = violations(_with("core/engine.py", extra))
    assert len(found) == 1 and "backstory.outcomes.rules" in found[0]


def test_a_relative_import_is_seen() -> None:
    found = violations(_with("knowledge/loader.py", "from ..storage import tables\n"))
    assert found and "knowledge/loader.py imports backstory.storage.tables" in found[0]


def test_sqlalchemy_outside_storage_is_refused() -> None:
    extra = "def f():\n    from sqlalchemy import select\n    return select\n"
    found = violations(_with("web/pages/patients.py", extra))
    assert found == ["web/pages/patients.py imports sqlalchemy (only ['storage'])"]


def test_a_sideways_import_not_in_the_table_is_refused() -> None:
    found = violations(_with("ask/answer.py", "from backstory.imaging import text\n"))
    assert found and "sideways in features" in found[0]


def test_an_import_cycle_is_refused() -> None:
    """The batch run <-> Dask engine circle, as it was: run imported the engine in a function."""
    extra = (
        "def f():\n    from backstory.batch.dask_engine import map_chunks\n    return map_chunks\n"
    )
    found = violations(_with("batch/run.py", extra))
    assert found == ["import cycle: backstory.batch.dask_engine -> backstory.batch.run"]
