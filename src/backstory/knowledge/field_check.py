"""Check a knowledge condition against the contract: every field it reads exists, every value
it compares with is one the field can take, and it reads only what its stage has available."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backstory.contract.spec import FieldSpec
from backstory.knowledge.conditions import (
    Compare,
    CompareFields,
    Condition,
    FactRef,
    Known,
    fields_of,
    walk,
)
from backstory.knowledge.facts import FactDef
from backstory.knowledge.files import KnowledgeError


def value_ok(spec: FieldSpec, value: Any) -> bool:
    t = spec.type
    if t == "bool":
        return type(value) is bool
    if t == "enum":
        return value in spec.values
    if t in ("int", "number"):
        return type(value) in ((int,) if t == "int" else (int, float))
    return isinstance(value, str)


class FieldChecker:
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
                        if not value_ok(spec, v):
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
