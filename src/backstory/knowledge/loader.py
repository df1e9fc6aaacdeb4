"""Load, validate and compile the bundled knowledge into an immutable KnowledgeBase.

This is the only place in the inner layer that reads files. Everything is checked at load:
schemas, field paths and values against the contract, which stage may read which derived
value, fact cycles, and that citations resolve. A knowledge base that loads is one the
engine can evaluate without further checks.

The parts live beside it: ``facts`` parses, orders and compiles the facts, ``field_check``
checks a condition against the contract and its stage, ``files`` reads YAML, validates
models and finds citations; the pre-visit questionnaire is loaded by ``questionnaire``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources.abc import Traversable
from typing import Any

from pydantic import BaseModel

from backstory.contract.spec import Contract, FieldSpec, load_contract
from backstory.knowledge.conditions import (
    Compiled,
    Condition,
    compile_condition,
    fields_of,
    parse_condition,
)
from backstory.knowledge.facts import FactDef, compile_fact, order_facts, parse_facts
from backstory.knowledge.field_check import FieldChecker, value_ok
from backstory.knowledge.files import (
    KnowledgeError,
    citations_in,
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
    facts = parse_facts(raw["facts.yaml"] or {})
    order = order_facts(facts)
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
    chk = FieldChecker(all_fields, facts)
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
        compiled[name] = compile_fact(facts[name], compiled)
    fact_conditions = {k: f.as_condition() for k, f in facts.items()}

    cites = tuple(
        (c, f"{name}{loc}") for name in CORE_FILES for c, loc in citations_in(raw[name], "")
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
    chk: FieldChecker,
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
            if not value_ok(spec, value):
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
                    if not value_ok(spec, key):
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
