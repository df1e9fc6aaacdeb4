"""Facts (``facts.yaml``): named conditions, parsed, put in dependency order (a cycle is an
error) and compiled once, each after the facts it reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backstory.knowledge.conditions import (
    AnyOf,
    Compiled,
    Condition,
    Env,
    FactRef,
    Tri,
    compile_condition,
    parse_condition,
    walk,
)
from backstory.knowledge.files import KnowledgeError


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


def parse_facts(raw: Any) -> dict[str, FactDef]:
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


def order_facts(facts: Mapping[str, FactDef]) -> list[str]:
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


def compile_fact(fact: FactDef, compiled: Mapping[str, Compiled]) -> Compiled:
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
