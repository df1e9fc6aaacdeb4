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
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

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
from backstory.knowledge.schema import (
    Classification,
    Contradiction,
    Instruments,
    Management,
    Manifest,
    Patterns,
    Questionnaire,
    RedFlags,
    Screening,
    Source,
)

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KnowledgeError(ValueError):
    """Knowledge that fails validation; the message names the file and the place."""


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
    try:
        return yaml.load(base.joinpath(name).read_text("utf-8"), Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{name}: not valid YAML: {exc}") from None


def _model(model: type[BaseModel], data: Any, name: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"{name}: {len(exc.errors())} problem(s)"]
        for err in exc.errors()[:20]:
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise KnowledgeError("\n".join(lines)) from None


def _citations_in(obj: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every (citation id, location) found under any key named ``citations``."""
    if isinstance(obj, Mapping):
        label = obj.get("id", "")
        here = f"{where}/{label}" if label else where
        for key, value in obj.items():
            if key == "citations" and isinstance(value, list):
                for c in value:
                    yield str(c), here
            else:
                yield from _citations_in(value, here)
    elif isinstance(obj, list):
        for item in obj:
            yield from _citations_in(item, where)


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


def data_root() -> Traversable:
    """The folder holding the bundled knowledge files."""
    return resources.files("backstory.knowledge").joinpath("data")


def load_sources(base: Traversable | None = None) -> dict[str, Source]:
    """Merge every bibliography file; a source defined twice (same id, URL or DOI) is an error.

    One real source has one id, so that every citation of it reads the same and a correction
    to its entry reaches every place that cites it.
    """
    root = base or data_root()
    sources: dict[str, Source] = {}
    seen: dict[str, str] = {}
    bib = root.joinpath("bibliography")
    for entry in sorted(bib.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        raw = yaml.load(entry.read_text("utf-8"), Loader=_LOADER) or []
        if not isinstance(raw, list):
            raise KnowledgeError(f"bibliography/{entry.name}: must be a list of sources")
        for i, item in enumerate(raw):
            src: Source = _model(Source, item, f"bibliography/{entry.name}[{i}]")
            if src.id in sources:
                raise KnowledgeError(f"bibliography/{entry.name}: source {src.id!r} defined twice")
            for kind, value in (("URL", src.url), ("DOI", src.doi)):
                if value is None:
                    continue
                key = f"{kind} {value.strip().lower()}"
                if key in seen:
                    raise KnowledgeError(
                        f"bibliography/{entry.name}: source {src.id!r} has the {kind} of "
                        f"{seen[key]!r} ({value}); give one source one id"
                    )
                seen[key] = src.id
            sources[src.id] = src
    return sources


def _derived_fields(patterns: Patterns) -> dict[str, FieldSpec]:
    d: dict[str, FieldSpec] = {
        "scores.startback.total": FieldSpec("scores.startback.total", "int", minimum=0, maximum=9),
        "scores.startback.psychosocial": FieldSpec(
            "scores.startback.psychosocial", "int", minimum=0, maximum=5
        ),
        "scores.startback.risk": FieldSpec(
            "scores.startback.risk", "enum", values=("low", "medium", "high")
        ),
        "scores.odi.percent": FieldSpec("scores.odi.percent", "number", minimum=0, maximum=100),
        "scores.odi.band": FieldSpec(
            "scores.odi.band",
            "enum",
            values=("minimal", "moderate", "severe", "crippled", "bed_bound"),
        ),
        "scores.rmdq.score": FieldSpec("scores.rmdq.score", "int", minimum=0, maximum=24),
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
    contract = load_contract()
    raw = {name: _read(root, name) for name in CORE_FILES}
    manifest: Manifest = _model(Manifest, raw["manifest.yaml"], "manifest.yaml")
    if manifest.contract != contract.schema:
        raise KnowledgeError(
            f"manifest.yaml: knowledge targets {manifest.contract}, contract is {contract.schema}"
        )
    sources = load_sources(root)
    facts = _parse_facts(raw["facts.yaml"] or {})
    order = _order_facts(facts)
    contradictions = tuple(
        _model(Contradiction, c, f"contradictions.yaml[{i}]")
        for i, c in enumerate((raw["contradictions.yaml"] or {}).get("contradictions", []))
    )
    red_flags: RedFlags = _model(RedFlags, raw["red_flags.yaml"], "red_flags.yaml")
    classification: Classification = _model(
        Classification, raw["classification.yaml"], "classification.yaml"
    )
    patterns: Patterns = _model(Patterns, raw["patterns.yaml"], "patterns.yaml")
    instruments: Instruments = _model(Instruments, raw["instruments.yaml"], "instruments.yaml")
    management: Management = _model(Management, raw["management.yaml"], "management.yaml")
    screening: Screening = _model(Screening, raw["screening.yaml"], "screening.yaml")

    derived = _derived_fields(patterns)
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

    inst_ids = [i.id for i in instruments.instruments]
    if sorted(inst_ids) != sorted(contract.instruments):
        raise KnowledgeError("instruments.yaml: must score exactly the contract's instruments")
    for inst in instruments.instruments:
        n = contract.instruments[inst.id].length
        for item in (*inst.item_scores, *(i for s in inst.subscales.values() for i in s)):
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


QUESTIONNAIRE_FILE = "questionnaire.yaml"
CAUDA_EQUINA = "cauda_equina_syndrome"
_KIND_TYPES: Mapping[str, tuple[str, ...]] = {
    "yesno": ("bool",),
    "choice": ("enum",),
    "number": ("int", "number"),
    "scale": ("int",),
}


def load_questionnaire_from(root: Traversable, kb: KnowledgeBase | None = None) -> Questionnaire:
    """Load and check ``questionnaire.yaml`` against the contract and the knowledge in ``root``.

    Every question must answer a contract field of a type its kind can give (yesno: true or
    false; choice: an enum, with options the contract allows; number: a number; scale: a 0 to
    10 whole number). A cauda equina (``ces``) question must be a ``red_flags`` field that a
    cauda equina rule reads, and a "yes" to it alone must make such a rule fire at the
    emergency level, because a "yes" shows the emergency banner; every cauda equina screening
    question must be asked as one. Every citation must resolve.

    Raises:
        KnowledgeError: naming the file and the place of the first problem.
    """
    kb = kb if kb is not None else load_knowledge_from(root)
    q: Questionnaire = _model(Questionnaire, _read(root, QUESTIONNAIRE_FILE), QUESTIONNAIRE_FILE)
    chk = _Checker(kb.contract.fields, kb.facts)
    ces_rules = [r for r in kb.red_flags.rules if CAUDA_EQUINA in r.suspected]
    ces_reads = {f for r in ces_rules for f in kb.fields_of(r.when)}
    emergency = [kb.compile(r.when) for r in ces_rules if r.level == "emergency"]

    def cited(ids: list[str], where: str) -> None:
        for cid in ids:
            if cid not in kb.sources:
                raise KnowledgeError(f"{where}: cites unknown source {cid!r}")

    for part in q.parts:
        cited(part.citations, f"{QUESTIONNAIRE_FILE}/{part.id}")
        for question in part.questions:
            field_ = question.field
            where = f"{QUESTIONNAIRE_FILE}/{part.id}/{field_}"
            spec = chk.spec(field_, where)
            if spec.type not in _KIND_TYPES[question.kind]:
                raise KnowledgeError(
                    f"{where}: a {question.kind} question cannot answer {field_}, which takes "
                    f"{spec.describe_allowed()}"
                )
            if question.kind == "scale" and (spec.minimum, spec.maximum) != (0, 10):
                raise KnowledgeError(
                    f"{where}: a scale question needs a field from 0 to 10, {field_} takes "
                    f"{spec.describe_allowed()}"
                )
            for option in question.options:
                if not _value_ok(spec, option.value):
                    raise KnowledgeError(
                        f"{where}: option {option.value!r} is not a possible value of {field_} "
                        f"({spec.describe_allowed()})"
                    )
            if question.ces:
                if not field_.startswith("red_flags.") or field_ not in ces_reads:
                    raise KnowledgeError(
                        f"{where}: marked ces, but {field_} is not a red_flags question that a "
                        f"cauda equina rule reads ({', '.join(r.id for r in ces_rules)})"
                    )
                if not any(rule({field_: True}) is True for rule in emergency):
                    raise KnowledgeError(
                        f"{where}: marked ces, but a yes to {field_} alone makes no cauda "
                        "equina rule fire at the emergency level"
                    )
            cited(question.citations, where)
    cited(q.emergency_banner.citations, f"{QUESTIONNAIRE_FILE}/emergency_banner")
    cited(q.unsure_banner.citations, f"{QUESTIONNAIRE_FILE}/unsure_banner")
    for country in q.countries:
        cited(country.citations, f"{QUESTIONNAIRE_FILE}/countries/{country.code}")

    asked = {question.field for question in q.questions() if question.ces}
    missing = [
        e.field
        for e in kb.screening.essential
        if e.group == "cauda_equina" and e.field not in asked
    ]
    if missing:
        raise KnowledgeError(
            f"{QUESTIONNAIRE_FILE}: every cauda equina screening question must be asked as a "
            f"ces question; missing: {', '.join(missing)}"
        )
    return q


@cache
def load_questionnaire() -> Questionnaire:
    """The bundled pre-visit questionnaire, loaded and checked once per process."""
    return load_questionnaire_from(data_root(), load_knowledge())
