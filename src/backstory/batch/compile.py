"""Compile the knowledge's condition trees to Polars expressions.

This walks exactly the trees ``knowledge.conditions`` compiles to closures, so there is
one definition of every rule. Kleene logic maps onto Polars' null semantics: a Boolean
null is *unknown*, and ``&``/``|`` (``all_horizontal``/``any_horizontal``) already treat
``null & false`` as false and ``null | true`` as true. ``at_least N`` counts the parts
that are true and the parts that are true or unknown, as the engine does.

Where a field is read from is the caller's business (a resolver), because the engine
sees different answers at different stages (before and after contradictions, with and
without derived scores) and the batch pipeline must see the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from backstory.knowledge.conditions import (
    All,
    AnyOf,
    AtLeast,
    Compare,
    CompareFields,
    Condition,
    FactRef,
    Known,
    Not,
)
from backstory.knowledge.loader import FactDef

Resolver = Callable[[str], pl.Expr]
UNKNOWN = pl.lit(None, pl.Boolean)


def add(exprs: Sequence[pl.Expr]) -> pl.Expr:
    """The sum of expressions by chained ``+`` (nulls propagate: callers fill them first).

    ``pl.sum_horizontal`` is an order of magnitude slower here, and the caller picks an
    integer type wide enough for the largest possible total.
    """
    if not exprs:
        return pl.lit(0)
    out = exprs[0]
    for e in exprs[1:]:
        out = out + e
    return out


def int_type(bound: int) -> pl.DataType:
    """The narrowest signed integer type holding every value in -bound..bound."""
    for dtype, bits in ((pl.Int8(), 7), (pl.Int16(), 15), (pl.Int32(), 31)):
        if bound < 2**bits:
            return dtype
    return pl.Int64()


def tri_pair(true_when: pl.Expr, false_when: pl.Expr) -> pl.Expr:
    """True when ``true_when`` is true, else false when ``false_when`` is true, else unknown."""
    return (
        pl.when(true_when.fill_null(False))
        .then(pl.lit(True))
        .when(false_when.fill_null(False))
        .then(pl.lit(False))
        .otherwise(UNKNOWN)
    )


def _literal(value: Any) -> pl.Expr:
    # numbers stay "dynamic" literals, so Polars compares in the column's own (narrow) type
    if isinstance(value, bool):
        return pl.lit(value, pl.Boolean)
    return pl.lit(value)


class Compiler:
    """Compiles conditions against one resolver; facts are either columns or inlined.

    ``fact_columns`` names facts already evaluated into a column (read once, shared by
    every rule); any other fact is compiled inline with the same resolver, so a stage
    that runs before a fact can be materialised (contradictions) still sees its answers.
    """

    def __init__(
        self,
        resolve: Resolver,
        facts: Mapping[str, FactDef],
        fact_columns: Mapping[str, str] | None = None,
    ) -> None:
        self.resolve = resolve
        self.facts = facts
        self.fact_columns = dict(fact_columns or {})
        self._inline: dict[str, pl.Expr] = {}

    def fact(self, name: str) -> pl.Expr:
        """The expression for a named fact under this resolver."""
        column = self.fact_columns.get(name)
        if column is not None:
            return pl.col(column)
        hit = self._inline.get(name)
        if hit is None:
            hit = self._inline[name] = self.fact_definition(self.facts[name])
        return hit

    def fact_definition(self, fact: FactDef) -> pl.Expr:
        """Compile a fact's own definition (plain ``when`` or a true/false pair)."""
        if fact.when is not None:
            return self.compile(fact.when)
        assert fact.true_when is not None and fact.false_when is not None
        return tri_pair(self.compile(fact.true_when), self.compile(fact.false_when))

    def compile(self, cond: Condition) -> pl.Expr:
        """A Boolean expression: true, false, or null for unknown."""
        if isinstance(cond, Compare):
            return self._compare(cond)
        if isinstance(cond, CompareFields):
            a, b = self.resolve(cond.field), self.resolve(cond.other)
            ops = {"gt_field": a > b, "gte_field": a >= b, "lt_field": a < b, "lte_field": a <= b}
            out = ops[cond.op]
            return out if cond.unknown is None else out.fill_null(cond.unknown)
        if isinstance(cond, Known):
            return self.resolve(cond.field).is_not_null()
        if isinstance(cond, FactRef):
            return self.fact(cond.name)
        if isinstance(cond, Not):
            return ~self.compile(cond.part)
        if isinstance(cond, All):
            parts = [self.compile(p) for p in cond.parts]
            return parts[0] if len(parts) == 1 else pl.all_horizontal(parts)
        if isinstance(cond, AnyOf):
            parts = [self.compile(p) for p in cond.parts]
            return parts[0] if len(parts) == 1 else pl.any_horizontal(parts)
        assert isinstance(cond, AtLeast)
        parts = [self.compile(p) for p in cond.parts]
        count = int_type(len(parts))
        yes = add([p.fill_null(False).cast(count) for p in parts])
        maybe = add([p.fill_null(True).cast(count) for p in parts])
        return (
            pl.when(yes >= cond.n)
            .then(pl.lit(True))
            .when(maybe >= cond.n)
            .then(UNKNOWN)
            .otherwise(pl.lit(False))
        )

    def _compare(self, cond: Compare) -> pl.Expr:
        col = self.resolve(cond.field)
        op, value = cond.op, cond.value
        out: pl.Expr
        if op == "is" and value is True:
            out = col
        elif op == "is" and value is False:
            out = ~col
        elif op == "is":
            out = col == _literal(value)
        elif op == "is_not":
            out = col != _literal(value)
        elif op == "in":
            eqs = [col == _literal(v) for v in value]
            out = eqs[0] if len(eqs) == 1 else pl.any_horizontal(eqs)
        elif op == "gt":
            out = col > _literal(value)
        elif op == "gte":
            out = col >= _literal(value)
        elif op == "lt":
            out = col < _literal(value)
        else:
            assert op == "lte", op
            out = col <= _literal(value)
        return out if cond.unknown is None else out.fill_null(cond.unknown)
