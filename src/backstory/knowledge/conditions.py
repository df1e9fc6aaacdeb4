"""A small, safe condition language over assessment answers, with three-valued logic.

Conditions are plain data (nested mappings in YAML), never code: ``all``, ``any``,
``not``, ``at_least N of``, comparisons of one field with a value or with another
field, ``known``, and references to named facts. The same data can be compiled to
Python closures (here) or to columnar expressions (the batch mode), so both give the
same answer.

Logic is Kleene's: an unanswered question is *unknown*, not false. ``all`` is false
as soon as one part is false and true only when every part is true; ``any`` is true as
soon as one part is true and false only when every part is false; everything else is
unknown. A leaf may say what an unanswered field counts as (``unknown: false``) where
the contract defines it (for example "absent means not stable").
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from backstory.errors import KnowledgeError

Tri: TypeAlias = bool | None
Env: TypeAlias = Mapping[str, Any]
Compiled: TypeAlias = Callable[[Env], Tri]

_VALUE_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "is": operator.eq,
    "is_not": operator.ne,
    "in": lambda v, vs: v in vs,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
_FIELD_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "gt_field": operator.gt,
    "gte_field": operator.ge,
    "lt_field": operator.lt,
    "lte_field": operator.le,
}


class ConditionError(KnowledgeError):
    """A condition that is not well formed; the message names where."""


@dataclass(frozen=True, slots=True)
class Compare:
    """Compare one field with a literal (``op`` in is, is_not, in, gt, gte, lt, lte)."""

    field: str
    op: str
    value: Any
    unknown: Tri = None


@dataclass(frozen=True, slots=True)
class CompareFields:
    """Compare one field with another field (gt_field, gte_field, lt_field, lte_field)."""

    field: str
    op: str
    other: str
    unknown: Tri = None


@dataclass(frozen=True, slots=True)
class Known:
    """True when the field was answered; never unknown."""

    field: str


@dataclass(frozen=True, slots=True)
class FactRef:
    """A reference to a named fact defined in the knowledge."""

    name: str


@dataclass(frozen=True, slots=True)
class All:
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Condition


@dataclass(frozen=True, slots=True)
class AtLeast:
    n: int
    parts: tuple[Condition, ...]


Condition: TypeAlias = Compare | CompareFields | Known | FactRef | All | AnyOf | Not | AtLeast
_NODE_TYPES = (Compare, CompareFields, Known, FactRef, All, AnyOf, Not, AtLeast)


def parse_condition(raw: Any, where: str = "when") -> Condition:
    """Turn the YAML form of a condition into its typed tree, or raise ConditionError."""
    if isinstance(raw, _NODE_TYPES):
        return raw
    if not isinstance(raw, Mapping):
        raise ConditionError(f"{where}: a condition must be a mapping, got {raw!r}")
    keys = set(raw)
    if keys == {"all"} or keys == {"any"}:
        key = next(iter(keys))
        parts = raw[key]
        if not isinstance(parts, list) or not parts:
            raise ConditionError(f"{where}.{key}: needs a non-empty list")
        parsed = tuple(parse_condition(p, f"{where}.{key}[{i}]") for i, p in enumerate(parts))
        return All(parsed) if key == "all" else AnyOf(parsed)
    if keys == {"not"}:
        return Not(parse_condition(raw["not"], f"{where}.not"))
    if keys == {"at_least", "of"}:
        n, parts = raw["at_least"], raw["of"]
        if type(n) is not int or n < 1 or not isinstance(parts, list) or n > len(parts):
            raise ConditionError(f"{where}: at_least needs 1 <= N <= number of parts")
        return AtLeast(
            n, tuple(parse_condition(p, f"{where}.of[{i}]") for i, p in enumerate(parts))
        )
    if keys == {"fact"}:
        if not isinstance(raw["fact"], str):
            raise ConditionError(f"{where}.fact: must name a fact")
        return FactRef(raw["fact"])
    if "field" in keys:
        field = raw["field"]
        if not isinstance(field, str):
            raise ConditionError(f"{where}.field: must be a dotted field path")
        rest = keys - {"field", "unknown"}
        unknown = raw.get("unknown")
        if unknown not in (None, True, False):
            raise ConditionError(f"{where}.unknown: must be true or false")
        if rest == {"known"}:
            if raw["known"] is not True or "unknown" in keys:
                raise ConditionError(f"{where}: write 'known: true' (use not: for unanswered)")
            return Known(field)
        if len(rest) != 1:
            raise ConditionError(f"{where}: a field test needs exactly one operator, got {rest}")
        op = next(iter(rest))
        if op in _VALUE_OPS:
            value = raw[op]
            if op == "in":
                if not isinstance(value, list) or not value:
                    raise ConditionError(f"{where}.in: needs a non-empty list")
                value = tuple(value)
            return Compare(field, op, value, unknown)
        if op in _FIELD_OPS:
            return CompareFields(field, op, str(raw[op]), unknown)
        raise ConditionError(f"{where}: unknown operator {op!r}")
    raise ConditionError(f"{where}: cannot read condition with keys {sorted(keys)}")


def walk(cond: Condition) -> Iterator[Condition]:
    """Every node of the tree, parents first (fact references are not expanded)."""
    yield cond
    if isinstance(cond, (All, AnyOf, AtLeast)):
        for p in cond.parts:
            yield from walk(p)
    elif isinstance(cond, Not):
        yield from walk(cond.part)


def fields_of(cond: Condition, facts: Mapping[str, Condition]) -> set[str]:
    """All fields a condition reads, facts expanded."""
    out: set[str] = set()
    for node in walk(cond):
        if isinstance(node, (Compare, Known)):
            out.add(node.field)
        elif isinstance(node, CompareFields):
            out.update((node.field, node.other))
        elif isinstance(node, FactRef):
            out |= fields_of(facts[node.name], facts)
    return out


def compile_condition(cond: Condition, facts: Mapping[str, Compiled]) -> Compiled:
    """Compile a condition tree into a closure over an answers mapping."""
    if isinstance(cond, Compare):
        path, value, unknown = cond.field, cond.value, cond.unknown
        fn = _VALUE_OPS[cond.op]
        if cond.op == "is":

            def eq(env: Env) -> Tri:
                v = env.get(path)
                return unknown if v is None else v == value

            return eq

        def cmp(env: Env) -> Tri:
            v = env.get(path)
            return unknown if v is None else fn(v, value)

        return cmp
    if isinstance(cond, CompareFields):
        a, b, unknown = cond.field, cond.other, cond.unknown
        ffn = _FIELD_OPS[cond.op]

        def cmpf(env: Env) -> Tri:
            x, y = env.get(a), env.get(b)
            return unknown if x is None or y is None else ffn(x, y)

        return cmpf
    if isinstance(cond, Known):
        path = cond.field
        return lambda env: env.get(path) is not None
    if isinstance(cond, FactRef):
        return facts[cond.name]
    if isinstance(cond, Not):
        inner = compile_condition(cond.part, facts)

        def neg(env: Env) -> Tri:
            r = inner(env)
            return None if r is None else not r

        return neg
    if isinstance(cond, All):
        parts = tuple(compile_condition(p, facts) for p in cond.parts)

        def all_(env: Env) -> Tri:
            unknown = False
            for p in parts:
                r = p(env)
                if r is False:
                    return False
                if r is None:
                    unknown = True
            return None if unknown else True

        return all_
    if isinstance(cond, AnyOf):
        parts = tuple(compile_condition(p, facts) for p in cond.parts)

        def any_(env: Env) -> Tri:
            unknown = False
            for p in parts:
                r = p(env)
                if r is True:
                    return True
                if r is None:
                    unknown = True
            return None if unknown else False

        return any_
    assert isinstance(cond, AtLeast)
    parts = tuple(compile_condition(p, facts) for p in cond.parts)
    n, total = cond.n, len(cond.parts)

    def at_least(env: Env) -> Tri:
        yes = unknown = 0
        for p in parts:
            r = p(env)
            if r is True:
                yes += 1
                if yes >= n:
                    return True
            elif r is None:
                unknown += 1
        return None if yes + unknown >= n else False

    del total
    return at_least


def evaluate(cond: Condition, env: Env, facts: Mapping[str, Compiled]) -> Tri:
    """Evaluate a condition directly (for explanations; the hot path uses compiled closures)."""
    if isinstance(cond, Compare):
        v = env.get(cond.field)
        return cond.unknown if v is None else _VALUE_OPS[cond.op](v, cond.value)
    if isinstance(cond, CompareFields):
        x, y = env.get(cond.field), env.get(cond.other)
        return cond.unknown if x is None or y is None else _FIELD_OPS[cond.op](x, y)
    if isinstance(cond, Known):
        return env.get(cond.field) is not None
    if isinstance(cond, FactRef):
        return facts[cond.name](env)
    if isinstance(cond, Not):
        r = evaluate(cond.part, env, facts)
        return None if r is None else not r
    results = [evaluate(p, env, facts) for p in cond.parts]
    if isinstance(cond, All):
        return False if False in results else (None if None in results else True)
    if isinstance(cond, AnyOf):
        return True if True in results else (None if None in results else False)
    yes = results.count(True)
    if yes >= cond.n:
        return True
    return None if yes + results.count(None) >= cond.n else False


def evidence_for(
    cond: Condition, env: Env, facts: Mapping[str, Condition], compiled: Mapping[str, Compiled]
) -> list[tuple[str, Any]]:
    """The answers that make a true condition true, as (field, value) pairs in order.

    Only the parts that actually carried the result are reported: for ``any`` the true
    branches, for ``all`` every branch, for ``not`` the fields it looked at.
    """
    out: list[tuple[str, Any]] = []
    _collect(cond, env, facts, compiled, out)
    seen: set[str] = set()
    uniq: list[tuple[str, Any]] = []
    for f, v in out:
        if f not in seen:
            seen.add(f)
            uniq.append((f, v))
    return uniq


def _collect(
    cond: Condition,
    env: Env,
    facts: Mapping[str, Condition],
    compiled: Mapping[str, Compiled],
    out: list[tuple[str, Any]],
) -> None:
    if isinstance(cond, (Compare, Known)):
        out.append((cond.field, env.get(cond.field)))
    elif isinstance(cond, CompareFields):
        out.append((cond.field, env.get(cond.field)))
        out.append((cond.other, env.get(cond.other)))
    elif isinstance(cond, FactRef):
        _collect(facts[cond.name], env, facts, compiled, out)
    elif isinstance(cond, Not):
        for f in sorted(fields_of(cond.part, facts)):
            if env.get(f) is not None:
                out.append((f, env.get(f)))
    elif isinstance(cond, All):
        for p in cond.parts:
            _collect(p, env, facts, compiled, out)
    else:
        assert isinstance(cond, (AnyOf, AtLeast))
        for p in cond.parts:
            if evaluate(p, env, compiled) is True:
                _collect(p, env, facts, compiled, out)


def undetermined_fields(
    cond: Condition, env: Env, facts: Mapping[str, Condition], compiled: Mapping[str, Compiled]
) -> set[str]:
    """Unanswered fields that could still change an unknown result.

    Only branches that are themselves unknown are followed, so a field inside a branch that
    other answers have already settled is not reported.
    """
    out: set[str] = set()
    _open(cond, env, facts, compiled, out)
    return out


def _open(
    cond: Condition,
    env: Env,
    facts: Mapping[str, Condition],
    compiled: Mapping[str, Compiled],
    out: set[str],
) -> None:
    if evaluate(cond, env, compiled) is not None:
        return
    if isinstance(cond, (Compare, Known)):
        out.add(cond.field)
    elif isinstance(cond, CompareFields):
        out.update(f for f in (cond.field, cond.other) if env.get(f) is None)
    elif isinstance(cond, FactRef):
        _open(facts[cond.name], env, facts, compiled, out)
    elif isinstance(cond, Not):
        _open(cond.part, env, facts, compiled, out)
    else:
        assert isinstance(cond, (All, AnyOf, AtLeast))
        for p in cond.parts:
            _open(p, env, facts, compiled, out)


OpenFn: TypeAlias = Callable[[Env], tuple[Tri, tuple[str, ...]]]


def compile_open(cond: Condition, facts: Mapping[str, OpenFn]) -> OpenFn:
    """Compile a condition to a closure giving its value and, when unknown, the open fields.

    One pass gives the same answer as :func:`undetermined_fields`: only branches that are
    themselves unknown contribute their unanswered fields.
    """
    if isinstance(cond, Compare):
        path, value, unknown, fn = cond.field, cond.value, cond.unknown, _VALUE_OPS[cond.op]
        missing = (path,) if unknown is None else ()

        def leaf(env: Env) -> tuple[Tri, tuple[str, ...]]:
            v = env.get(path)
            if v is None:
                return unknown, missing
            return fn(v, value), ()

        return leaf
    if isinstance(cond, CompareFields):
        a, b, cu, ffn = cond.field, cond.other, cond.unknown, _FIELD_OPS[cond.op]

        def leaf2(env: Env) -> tuple[Tri, tuple[str, ...]]:
            x, y = env.get(a), env.get(b)
            if x is None or y is None:
                if cu is not None:
                    return cu, ()
                return None, tuple(f for f, v in ((a, x), (b, y)) if v is None)
            return ffn(x, y), ()

        return leaf2
    if isinstance(cond, Known):
        kp = cond.field
        return lambda env: (env.get(kp) is not None, ())
    if isinstance(cond, FactRef):
        return facts[cond.name]
    if isinstance(cond, Not):
        inner = compile_open(cond.part, facts)

        def neg(env: Env) -> tuple[Tri, tuple[str, ...]]:
            r, fs = inner(env)
            return (None if r is None else not r), fs

        return neg
    parts = tuple(compile_open(p, facts) for p in cond.parts)
    if isinstance(cond, All):

        def all_(env: Env) -> tuple[Tri, tuple[str, ...]]:
            open_: list[str] = []
            unknown = False
            for p in parts:
                r, fs = p(env)
                if r is False:
                    return False, ()
                if r is None:
                    unknown = True
                    open_.extend(fs)
            return (None, tuple(open_)) if unknown else (True, ())

        return all_
    if isinstance(cond, AnyOf):

        def any_(env: Env) -> tuple[Tri, tuple[str, ...]]:
            open_: list[str] = []
            unknown = False
            for p in parts:
                r, fs = p(env)
                if r is True:
                    return True, ()
                if r is None:
                    unknown = True
                    open_.extend(fs)
            return (None, tuple(open_)) if unknown else (False, ())

        return any_
    assert isinstance(cond, AtLeast)
    n = cond.n

    def at_least(env: Env) -> tuple[Tri, tuple[str, ...]]:
        yes = unk = 0
        open_: list[str] = []
        for p in parts:
            r, fs = p(env)
            if r is True:
                yes += 1
            elif r is None:
                unk += 1
                open_.extend(fs)
        if yes >= n:
            return True, ()
        return (None, tuple(open_)) if yes + unk >= n else (False, ())

    return at_least


Pairs: TypeAlias = tuple[tuple[str, Any], ...]
WhyFn: TypeAlias = Callable[[Env], tuple[Tri, Pairs]]


def compile_why(
    cond: Condition, facts: Mapping[str, WhyFn], fact_conditions: Mapping[str, Condition]
) -> WhyFn:
    """Compile a condition to a closure giving its value and the answers that carry it.

    Gives the same answers, in the same order, as :func:`evidence_for` (before removing
    repeats), in one pass; used only for conditions already known to be true.
    """
    if isinstance(cond, Compare):
        path, value, unknown, fn = cond.field, cond.value, cond.unknown, _VALUE_OPS[cond.op]

        def leaf(env: Env) -> tuple[Tri, Pairs]:
            v = env.get(path)
            return (unknown if v is None else fn(v, value)), ((path, v),)

        return leaf
    if isinstance(cond, CompareFields):
        a, b, cu, ffn = cond.field, cond.other, cond.unknown, _FIELD_OPS[cond.op]

        def leaf2(env: Env) -> tuple[Tri, Pairs]:
            x, y = env.get(a), env.get(b)
            r = cu if x is None or y is None else ffn(x, y)
            return r, ((a, x), (b, y))

        return leaf2
    if isinstance(cond, Known):
        kp = cond.field
        return lambda env: (env.get(kp) is not None, ((kp, env.get(kp)),))
    if isinstance(cond, FactRef):
        return facts[cond.name]
    if isinstance(cond, Not):
        inner = compile_why(cond.part, facts, fact_conditions)
        looked = tuple(sorted(fields_of(cond.part, fact_conditions)))

        def neg(env: Env) -> tuple[Tri, Pairs]:
            r, _ = inner(env)
            pairs = tuple((f, env.get(f)) for f in looked if env.get(f) is not None)
            return (None if r is None else not r), pairs

        return neg
    parts = tuple(compile_why(p, facts, fact_conditions) for p in cond.parts)
    kind = "all" if isinstance(cond, All) else "any" if isinstance(cond, AnyOf) else "n"
    n = cond.n if isinstance(cond, AtLeast) else 0

    def node(env: Env) -> tuple[Tri, Pairs]:
        results = [p(env) for p in parts]
        values = [r for r, _ in results]
        if kind == "all":
            r = False if False in values else (None if None in values else True)
            pairs = tuple(x for _, ps in results for x in ps)
        else:
            yes = values.count(True)
            if kind == "any":
                r = True if yes else (None if None in values else False)
            else:
                r = True if yes >= n else (None if yes + values.count(None) >= n else False)
            pairs = tuple(x for v, ps in results if v is True for x in ps)
        return r, pairs

    return node
