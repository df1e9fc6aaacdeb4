"""Instruments as data: their contract part and score fields, derived from instruments.yaml.

An instrument the public contract does not define is added to the knowledge's contract from
its instruments.yaml entry alone (answers, length, which items are required), so that the
validator, the batch columns, the forms and the FHIR items take it up without a code change.
The contract's own (``public``) instruments must match their entry exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from backstory.contract.spec import Contract, FieldSpec, InstrumentSpec
from backstory.knowledge.files import KnowledgeError
from backstory.knowledge.schema import Instrument, Instruments

REPORT_KEYS = frozenset(
    {
        "schema",
        "id",
        "assessed_on",
        "age",
        "knowledge_version",
        "triage",
        "category",
        "classification",
        "patterns",
        "unknowns",
        "warnings",
        "screening",
        "score_notes",
        "pain",
        "management",
        "citations",
    }
)
"""The report's own keys: an instrument's score sits beside them, so its id may not be one."""


def item_spec(inst: Instrument, item: int) -> FieldSpec:
    """The contract field of one item (1-based): its allowed answers."""
    values = [a.value for a in inst.options(item)]
    path = f"{inst.id}.{item}"
    if all(isinstance(v, int) for v in values):
        ints = [int(v) for v in values]
        if sorted(ints) != list(range(min(ints), max(ints) + 1)):
            raise KnowledgeError(
                "number answers must run without gaps",
                file="instruments.yaml",
                path=f"{inst.id}/answers",
            )
        return FieldSpec(path, "int", minimum=min(ints), maximum=max(ints))
    return FieldSpec(path, "enum", values=tuple(str(v) for v in values))


def instrument_spec(inst: Instrument) -> InstrumentSpec:
    """The contract's view of one instrument: a fixed-length array of answers."""
    return InstrumentSpec(
        name=inst.id,
        length=inst.length,
        items=tuple(item_spec(inst, i) for i in range(1, inst.length + 1)),
        required_all=inst.required_all,
        meaning=inst.meaning or inst.name,
    )


def _same(a: FieldSpec, b: FieldSpec) -> bool:
    if a.type != b.type:
        return False
    if a.type == "enum":
        return a.values == b.values
    return (a.minimum, a.maximum) == (b.minimum, b.maximum)


def effective_contract(contract: Contract, instruments: Instruments) -> Contract:
    """The contract with every non-public instrument of the knowledge added.

    Raises ``KnowledgeError`` when a public instrument no longer matches the contract, when a
    contract instrument has no entry, or when a new instrument's id is already a key.
    """
    extra: dict[str, InstrumentSpec] = {}
    seen: set[str] = set()
    for inst in instruments.instruments:
        where = inst.id
        if inst.id in seen:
            raise KnowledgeError("id used twice", file="instruments.yaml", path=where)
        seen.add(inst.id)
        spec = instrument_spec(inst)
        if inst.public:
            public = contract.instruments.get(inst.id)
            if public is None:
                raise KnowledgeError(
                    "marked public but the contract has no such instrument",
                    file="instruments.yaml",
                    path=where,
                )
            if public.length != spec.length or public.required_all != spec.required_all:
                raise KnowledgeError(
                    f"length or required_all differs from the contract ({public.length} items, "
                    f"required_all {public.required_all})",
                    file="instruments.yaml",
                    path=where,
                )
            for i, (a, b) in enumerate(zip(public.items, spec.items, strict=True), start=1):
                if not _same(a, b):
                    raise KnowledgeError(
                        f"item {i} answers differ from the contract ({a.describe_allowed()})",
                        file="instruments.yaml",
                        path=where,
                    )
            continue
        taken = {*contract.top, *contract.groups, *contract.instruments, *REPORT_KEYS}
        if inst.id in taken:
            raise KnowledgeError(
                "is already a key of the assessment or the report; choose another id",
                file="instruments.yaml",
                path=where,
            )
        extra[inst.id] = spec
    missing = set(contract.instruments) - {i.id for i in instruments.instruments if i.public}
    if missing:
        raise KnowledgeError(
            f"the contract's instruments {sorted(missing)} need a public entry",
            file="instruments.yaml",
            path="instruments",
        )
    if not extra:
        return contract
    return dataclasses.replace(contract, instruments={**contract.instruments, **extra})


def score_fields(instruments: Instruments) -> dict[str, FieldSpec]:
    """The derived ``scores.<id>.<key>`` fields of every instrument, with their ranges."""
    out: dict[str, FieldSpec] = {}
    for inst in instruments.instruments:
        best = {
            i: max(inst.item_score(i, a.value) for a in inst.options(i))
            for i in range(1, inst.length + 1)
        }
        for key in inst.result_keys():
            path = f"scores.{inst.id}.{key}"
            if key == "total":
                out[path] = FieldSpec(path, "int", minimum=0, maximum=sum(best.values()))
            elif key in inst.subscales:
                top = sum(best[i] for i in inst.subscales[key])
                out[path] = FieldSpec(path, "int", minimum=0, maximum=top)
            elif key == "risk":
                out[path] = FieldSpec(path, "enum", values=tuple(inst.group_order))
            elif key == "percent":
                out[path] = FieldSpec(path, "number", minimum=0, maximum=100)
            elif key == "band":
                out[path] = FieldSpec(path, "enum", values=tuple(b.id for b in inst.bands))
            else:  # sum
                out[path] = FieldSpec(path, "int", minimum=0, maximum=sum(best.values()))
    return out


def by_id(instruments: Instruments) -> Mapping[str, Instrument]:
    """Every instrument by id, in file order."""
    return {i.id: i for i in instruments.instruments}
