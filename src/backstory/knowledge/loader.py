"""Load, validate and compile the bundled knowledge into an immutable KnowledgeBase.

This is the only place in the inner layer that reads files. Everything is checked at load:
schemas, field paths and values against the contract, which stage may read which derived
value, fact cycles, and that citations resolve. A knowledge base that loads is one the
engine can evaluate without further checks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources.abc import Traversable
from typing import Any

from pydantic import BaseModel

from backstory.contract.spec import Contract, FieldSpec, load_contract
from backstory.knowledge.conditions import (
    AnyOf,
    Compare,
    CompareFields,
    Compiled,
    Condition,
    Env,
    FactRef,
    Known,
    Tri,
    compile_condition,
    fields_of,
    parse_condition,
    walk,
)
from backstory.knowledge.files import (
    KnowledgeError,
    data_root,
    load_bibliography_from,
    read_yaml,
    validate,
)
from backstory.knowledge.instruments import effective_contract, score_fields
from backstory.knowledge.schema import (
    Classification,
    Contradiction,
    Instruments,
    Management,
    Manifest,
    Patterns,
    RedFlags,
    Screening,
    Source,
)

__all__ = [
    "CORE_FILES",
    "FactDef",
    "KnowledgeBase",
    "KnowledgeError",
    "data_root",
    "load_knowledge",
    "load_knowledge_from",
    "load_sources",
]


@dataclass(frozen=True)
class FactDef:
    """A named fact: a plain condition, or a true-when / false-when pair."""

    id: str
    description: str
    when: Condition | None
    true_when: Condition | None
    false_when: Condition | None
    citations: tuple[str, ...]

    def as_condition(self) -> Condition:
        """A single condition tree with the same truth value (for reading its fields)."""
        if self.when is not None:
            return self.when
        assert self.true_when is not None and self.false_when is not None
        return AnyOf((self.true_when, self.false_when))


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """The validated knowledge with every condition compiled once."""

    manifest: Manifest
    contract: Contract
    sources: Mapping[str, Source]
    facts: Mapping[str, FactDef]
    contradictions: tuple[Contradiction, ...]
    red_flags: RedFlags
    classification: Classification
    patterns: Patterns
    instruments: Instruments
    management: Management
    screening: Screening
    fact_conditions: Mapping[str, Condition]
    compiled_facts: Mapping[str, Compiled]
    derived: Mapping[str, FieldSpec]
    raw_citations: tuple[tuple[str, str], ...] = field(default=())

    @property
    def version(self) -> str:
        return self.manifest.version

    def compile(self, cond: Condition) -> Compiled:
        """Compile a condition against this knowledge's facts."""
        return compile_condition(cond, self.compiled_facts)

    def fields_of(self, cond: Condition) -> set[str]:
        """Every field a condition reads, facts expanded."""
        return fields_of(cond, self.fact_conditions)


def _read(base: Traversable, name: str) -> Any:
    return read_yaml(base, name)


def _model(model: type[BaseModel], data: Any, name: str) -> Any:
    file, _, index = name.partition("[")
    return validate(model, data, file, f"[{index}" if index else "")


def _citations_in(obj: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every (citation id, place) found under any key named ``citations``.

    The place is the path of keys to it, a list entry named by its ``id`` where it has one
    (``/rules/RF-CES-NEW``), else by its index (``/essential[3]``).
    """
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if key == "citations" and isinstance(value, list):
                for c in value:
                    yield str(c), where
            else:
                yield from _citations_in(value, f"{where}/{key}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            label = item.get("id", "") if isinstance(item, Mapping) else ""
            yield from _citations_in(item, f"{where}/{label}" if label else f"{where}[{i}]")


CORE_FILES = (
    "manifest.yaml",
    "facts.yaml",
    "contradictions.yaml",
    "red_flags.yaml",
    "classification.yaml",
    "patterns.yaml",
    "instruments.yaml",
    "management.yaml",
    "screening.yaml",
)


def load_sources(base: Traversable | None = None) -> dict[str, Source]:
    """Every source of every bibliography file, by id (see ``knowledge.files``)."""
    return dict(load_bibliography_from(base or data_root()).sources)


def _derived_fields(patterns: Patterns, instruments: Instruments) -> dict[str, FieldSpec]:
    d: dict[str, FieldSpec] = {
        **score_fields(instruments),
        "triage.level": FieldSpec(
            "triage.level", "enum", values=("emergency", "urgent", "soon", "routine")
        ),
        "triage.suspected_any": FieldSpec("triage.suspected_any", "bool"),
        "category": FieldSpec(
            "category",
            "enum",
            values=("specific_pathology_suspected", "radicular", "non_specific"),
        ),
    }
    for p in patterns.patterns:
        path = f"patterns.{p.id}.fit"
        d[path] = FieldSpec(path, "enum", values=("strong", "possible", "unlikely", "unknown"))
    return d


def _stage_paths(contract: Contract, derived: Mapping[str, FieldSpec]) -> dict[str, set[str]]:
    base = set(contract.fields)
    for inst in contract.instruments.values():
        base.update(spec.path for spec in inst.items)
    scores = {p for p in derived if p.startswith("scores.")}
    triage = {"triage.level", "triage.suspected_any"}
    pats = {p for p in derived if p.startswith("patterns.")}
    return {
        "contradictions": base,
        "instruments": scores,
        "red_flags": base | scores,
        "classification": base | scores | triage,
        "patterns": base | scores | triage | {"category"},
        "management": base | scores | triage | {"category"} | pats,
        "screening": base,
    }


def _value_ok(spec: FieldSpec, value: Any) -> bool:
    t = spec.type
    if t == "bool":
        return type(value) is bool
    if t == "enum":
        return value in spec.values
    if t in ("int", "number"):
        return type(value) in ((int,) if t == "int" else (int, float))
    return isinstance(value, str)


class _Checker:
    """Checks conditions against the contract and the stage they run in."""

    def __init__(self, fields: Mapping[str, FieldSpec], facts: Mapping[str, FactDef]) -> None:
        self.fields = fields
        self.facts = facts

    def spec(self, path: str, where: str) -> FieldSpec:
        spec = self.fields.get(path)
        if spec is None:
            raise KnowledgeError(f"{where}: unknown field {path!r}")
        return spec

    def check(self, cond: Condition, where: str, allowed: set[str]) -> None:
        for node in walk(cond):
            if isinstance(node, FactRef):
                if node.name not in self.facts:
                    raise KnowledgeError(f"{where}: unknown fact {node.name!r}")
            elif isinstance(node, (Compare, Known, CompareFields)):
                spec = self.spec(node.field, where)
                if isinstance(node, Compare):
                    values = node.value if node.op == "in" else (node.value,)
                    if node.op in ("gt", "gte", "lt", "lte") and spec.type not in ("int", "number"):
                        raise KnowledgeError(
                            f"{where}: {node.op} needs a numeric field, {node.field} is not"
                        )
                    for v in values:
                        if not _value_ok(spec, v):
                            raise KnowledgeError(
                                f"{where}: {v!r} is not a possible value of {node.field} "
                                f"({spec.describe_allowed()})"
                            )
                if isinstance(node, CompareFields):
                    other = self.spec(node.other, where)
                    if {spec.type, other.type} - {"int", "number"}:
                        raise KnowledgeError(f"{where}: field comparison needs two numeric fields")
        used = fields_of(cond, {k: f.as_condition() for k, f in self.facts.items()})
        late = used - allowed
        if late:
            raise KnowledgeError(
                f"{where}: reads {sorted(late)}, which are not available at this stage"
            )


def _parse_facts(raw: Any) -> dict[str, FactDef]:
    facts: dict[str, FactDef] = {}
    for i, f in enumerate(raw.get("facts", [])):
        where = f"facts.yaml[{i}]"
        keys = set(f)
        allowed = {"id", "description", "when", "true_when", "false_when", "citations"}
        if keys - allowed:
            raise KnowledgeError(f"{where}: unknown keys {sorted(keys - allowed)}")
        fid = f.get("id")
        if not isinstance(fid, str) or fid in facts:
            raise KnowledgeError(f"{where}: needs a unique string id")
        plain = "when" in f
        pair = "true_when" in f and "false_when" in f
        if plain == pair:
            raise KnowledgeError(
                f"{where}: give either 'when' or both 'true_when' and 'false_when'"
            )
        try:
            facts[fid] = FactDef(
                id=fid,
                description=str(f.get("description", "")),
                when=parse_condition(f["when"], f"{where}.when") if plain else None,
                true_when=parse_condition(f["true_when"], f"{where}.true_when") if pair else None,
                false_when=parse_condition(f["false_when"], f"{where}.false_when")
                if pair
                else None,
                citations=tuple(f.get("citations", [])),
            )
        except ValueError as exc:
            raise KnowledgeError(str(exc)) from None
    return facts


def _order_facts(facts: Mapping[str, FactDef]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise KnowledgeError(f"facts.yaml: cycle between facts {' -> '.join((*chain, name))}")
        state[name] = 1
        for node in walk(facts[name].as_condition()):
            if isinstance(node, FactRef):
                if node.name not in facts:
                    raise KnowledgeError(f"facts.yaml/{name}: unknown fact {node.name!r}")
                visit(node.name, (*chain, name))
        state[name] = 2
        order.append(name)

    for name in facts:
        visit(name, ())
    return order


def _compile_fact(fact: FactDef, compiled: Mapping[str, Compiled]) -> Compiled:
    if fact.when is not None:
        return compile_condition(fact.when, compiled)
    assert fact.true_when is not None and fact.false_when is not None
    t = compile_condition(fact.true_when, compiled)
    f = compile_condition(fact.false_when, compiled)

    def pair(env: Env) -> Tri:
        if t(env) is True:
            return True
        if f(env) is True:
            return False
        return None

    return pair


def load_knowledge_from(root: Traversable) -> KnowledgeBase:
    """Load and check the knowledge in ``root`` (a folder laid out like the bundled one)."""
    raw = {name: _read(root, name) for name in CORE_FILES}
    return knowledge_from_data(raw, load_sources(root))


def read_core_files(root: Traversable | None = None) -> dict[str, Any]:
    """The parsed YAML of every core knowledge file (``CORE_FILES``), by file name."""
    base = root or data_root()
    return {name: _read(base, name) for name in CORE_FILES}


def knowledge_from_data(raw: Mapping[str, Any], sources: Mapping[str, Source]) -> KnowledgeBase:
    """Check and compile knowledge from already parsed core files (by file name) and sources.

    The same checks as :func:`load_knowledge_from`; used to build an edited copy of the
    knowledge in memory (the threshold-mutation check in the test suite).
    """
    public = load_contract()
    manifest: Manifest = _model(Manifest, raw["manifest.yaml"], "manifest.yaml")
    if manifest.contract != public.schema:
        raise KnowledgeError(
            f"manifest.yaml: knowledge targets {manifest.contract}, contract is {public.schema}"
        )
    facts = _parse_facts(raw["facts.yaml"] or {})
    order = _order_facts(facts)
    contradictions = tuple(
        validate(Contradiction, c, "contradictions.yaml", f"contradictions[{i}]")
        for i, c in enumerate((raw["contradictions.yaml"] or {}).get("contradictions", []))
    )
    red_flags: RedFlags = _model(RedFlags, raw["red_flags.yaml"], "red_flags.yaml")
    classification: Classification = _model(
        Classification, raw["classification.yaml"], "classification.yaml"
    )
    patterns: Patterns = _model(Patterns, raw["patterns.yaml"], "patterns.yaml")
    instruments: Instruments = _model(Instruments, raw["instruments.yaml"], "instruments.yaml")
    contract = effective_contract(public, instruments)
    management: Management = _model(Management, raw["management.yaml"], "management.yaml")
    screening: Screening = _model(Screening, raw["screening.yaml"], "screening.yaml")

    derived = _derived_fields(patterns, instruments)
    all_fields: dict[str, FieldSpec] = dict(contract.fields)
    for inst in contract.instruments.values():
        all_fields.update((s.path, s) for s in inst.items)
    all_fields.update(derived)
    stage = _stage_paths(contract, derived)
    chk = _Checker(all_fields, facts)
    everything = set(all_fields)
    for name in order:
        chk.check(facts[name].as_condition(), f"facts.yaml/{name}", everything)
    _check_all(
        chk,
        stage,
        contradictions,
        red_flags,
        classification,
        patterns,
        instruments,
        management,
        screening,
        contract,
    )

    compiled: dict[str, Compiled] = {}
    for name in order:
        compiled[name] = _compile_fact(facts[name], compiled)
    fact_conditions = {k: f.as_condition() for k, f in facts.items()}

    cites = tuple(
        (c, f"{name}{loc}") for name in CORE_FILES for c, loc in _citations_in(raw[name], "")
    )
    for cid, where in cites:
        if cid not in sources:
            raise KnowledgeError(f"{where.lstrip('/')}: cites unknown source {cid!r}")
    return KnowledgeBase(
        manifest=manifest,
        contract=contract,
        sources=sources,
        facts=facts,
        contradictions=contradictions,
        red_flags=red_flags,
        classification=classification,
        patterns=patterns,
        instruments=instruments,
        management=management,
        screening=screening,
        fact_conditions=fact_conditions,
        compiled_facts=compiled,
        derived=derived,
        raw_citations=cites,
    )


def _check_all(
    chk: _Checker,
    stage: Mapping[str, set[str]],
    contradictions: tuple[Contradiction, ...],
    red_flags: RedFlags,
    classification: Classification,
    patterns: Patterns,
    instruments: Instruments,
    management: Management,
    screening: Screening,
    contract: Contract,
) -> None:
    def unique(ids: list[str], where: str) -> None:
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                raise KnowledgeError(f"{where}: id {i!r} used twice")
            seen.add(i)

    for c in contradictions:
        where = f"contradictions.yaml/{c.id}"
        chk.check(c.when, where, stage["contradictions"])
        for path, value in c.set.items():
            spec = chk.spec(path, where)
            if not _value_ok(spec, value):
                raise KnowledgeError(f"{where}: cannot set {path} to {value!r}")
        for path in c.unset:
            chk.spec(path, where)
    unique([c.id for c in contradictions], "contradictions.yaml")

    levels = [lv.id for lv in red_flags.levels]
    if sorted(levels) != sorted(["emergency", "urgent", "soon", "routine"]):
        raise KnowledgeError(
            "red_flags.yaml: levels must define emergency, urgent, soon and routine"
        )
    defined = {c.id for c in red_flags.conditions}
    unique([r.id for r in red_flags.rules], "red_flags.yaml")
    for r in red_flags.rules:
        chk.check(r.when, f"red_flags.yaml/{r.id}", stage["red_flags"])
        for s in r.suspected:
            if s not in defined:
                raise KnowledgeError(f"red_flags.yaml/{r.id}: condition {s!r} is not defined")

    cats = classification.precedence
    if [cat.when is None for cat in cats] != [False] * (len(cats) - 1) + [True]:
        raise KnowledgeError(
            "classification.yaml: only the last category may (and must) have no condition"
        )
    for cat in cats:
        if cat.when is not None:
            chk.check(cat.when, f"classification.yaml/{cat.id}", stage["classification"])

    unique([p.id for p in patterns.patterns], "patterns.yaml")
    for p in patterns.patterns:
        unique([f.id for f in p.features], f"patterns.yaml/{p.id}")
        for f in p.features:
            where = f"patterns.yaml/{p.id}/{f.id}"
            if f.when is not None:
                chk.check(f.when, where, stage["patterns"])
            else:
                assert f.field is not None and f.points is not None
                spec = chk.spec(f.field, where)
                if f.field not in stage["patterns"]:
                    raise KnowledgeError(f"{where}: {f.field} is not available to patterns")
                for key in f.points:
                    if not _value_ok(spec, key):
                        raise KnowledgeError(f"{where}: {key!r} is not a value of {f.field}")
        for i, cap in enumerate(p.caps):
            chk.check(cap.when, f"patterns.yaml/{p.id}/caps[{i}]", stage["patterns"])
        if p.min_answered > len(p.features):
            raise KnowledgeError(f"patterns.yaml/{p.id}: min_answered exceeds the feature count")

    for inst in instruments.instruments:
        n = contract.instruments[inst.id].length
        for item in (i for s in inst.subscales.values() for i in s):
            if not 1 <= item <= n:
                raise KnowledgeError(f"instruments.yaml/{inst.id}: item {item} is out of 1..{n}")
        for j, g in enumerate(inst.groups):
            if set(g) != {"value", "when"}:
                raise KnowledgeError(
                    f"instruments.yaml/{inst.id}/groups[{j}]: needs value and when"
                )
            try:
                cond = parse_condition(g["when"], f"instruments.yaml/{inst.id}/groups[{j}]")
            except ValueError as exc:
                raise KnowledgeError(str(exc)) from None
            chk.check(cond, f"instruments.yaml/{inst.id}/groups[{j}]", stage["instruments"])
        bands = [b.up_to for b in inst.bands]
        if bands != sorted(bands):
            raise KnowledgeError(f"instruments.yaml/{inst.id}: bands must rise")

    unique([r.id for r in management.recommendations], "management.yaml")
    for rec in management.recommendations:
        chk.check(rec.when, f"management.yaml/{rec.id}", stage["management"])
        unique([c.id for c in rec.cautions], f"management.yaml/{rec.id}/cautions")
        for caution in rec.cautions:
            chk.check(caution.when, f"management.yaml/{rec.id}/{caution.id}", stage["management"])
    rec_ids = {r.id for r in management.recommendations}
    for i, ex in enumerate(management.exclusive):
        where = f"management.yaml/exclusive[{i}]"
        unique(ex.ids, where)
        for rid in ex.ids:
            if rid not in rec_ids:
                raise KnowledgeError(f"{where}: {rid!r} is not a recommendation")
    for pw in management.pathways:
        chk.check(pw.applies_when, f"management.yaml/{pw.id}", stage["management"])
        for cr in pw.criteria:
            chk.check(cr.when, f"management.yaml/{pw.id}/{cr.id}", stage["management"])

    for q in screening.essential:
        chk.spec(q.field, "screening.yaml")
    unique([q.field for q in screening.essential], "screening.yaml")


@cache
def load_knowledge() -> KnowledgeBase:
    """The bundled knowledge base, loaded and checked once per process."""
    return load_knowledge_from(data_root())
