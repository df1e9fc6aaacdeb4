"""The condition compiler keeps Kleene logic: Polars' answer equals ``evaluate`` for any tree.

Random condition trees over a few fields (booleans, whole numbers, an enum, a number,
two facts of both kinds) are compiled to Polars expressions and evaluated on a frame of
environments that includes every unknown; each value must equal the closure language's.
"""

from __future__ import annotations

import random
from typing import Any

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from backstory.batch.compile import Compiler
from backstory.batch.flat import columns_by_name
from backstory.knowledge.conditions import (
    All,
    AnyOf,
    AtLeast,
    Compare,
    CompareFields,
    Compiled,
    Condition,
    Env,
    FactRef,
    Known,
    Not,
    Tri,
    compile_condition,
    evaluate,
)
from backstory.knowledge.loader import FactDef

BOOLS = ["red_flags.fever", "red_flags.iv_drug_use", "pain.below_knee"]
INTS = ["pain.back", "pain.leg"]
ENUM = "pain.leg_side"
NUMBER = "history.duration_weeks"
FIELDS = [*BOOLS, *INTS, ENUM, NUMBER]
SIDES = ["none", "left", "right", "both"]

FACTS = {
    "leg": FactDef(
        "leg",
        "",
        None,
        AnyOf((Compare("pain.leg", "gte", 1), Compare(ENUM, "in", ("left", "right", "both")))),
        AnyOf((Compare(ENUM, "is", "none"), Compare("pain.leg", "is", 0))),
        (),
    ),
    "risky": FactDef(
        "risky",
        "",
        All((FactRef("leg"), Compare("red_flags.fever", "is", True, unknown=False))),
        None,
        None,
        (),
    ),
}


def _closures() -> dict[str, Compiled]:
    out: dict[str, Compiled] = {}
    leg = FACTS["leg"]
    assert leg.true_when is not None and leg.false_when is not None
    t = compile_condition(leg.true_when, out)
    f = compile_condition(leg.false_when, out)

    def pair(env: Env) -> Tri:
        return True if t(env) is True else (False if f(env) is True else None)

    out["leg"] = pair
    risky = FACTS["risky"].when
    assert risky is not None
    out["risky"] = compile_condition(risky, out)
    return out


CLOSURES = _closures()
UNKNOWN = st.sampled_from([None, True, False])


def leaves() -> st.SearchStrategy[Condition]:
    bools = st.builds(
        Compare, st.sampled_from(BOOLS), st.sampled_from(["is", "is_not"]), st.booleans(), UNKNOWN
    )
    ints = st.builds(
        Compare,
        st.sampled_from(INTS),
        st.sampled_from(["is", "is_not", "gt", "gte", "lt", "lte"]),
        st.integers(-1, 11),
        UNKNOWN,
    )
    int_in = st.builds(
        Compare,
        st.sampled_from(INTS),
        st.just("in"),
        st.lists(st.integers(0, 10), min_size=1, max_size=3).map(tuple),
        UNKNOWN,
    )
    enums = st.builds(
        Compare, st.just(ENUM), st.sampled_from(["is", "is_not"]), st.sampled_from(SIDES), UNKNOWN
    )
    enum_in = st.builds(
        Compare,
        st.just(ENUM),
        st.just("in"),
        st.lists(st.sampled_from(SIDES), min_size=1, max_size=3).map(tuple),
        UNKNOWN,
    )
    numbers = st.builds(
        Compare,
        st.just(NUMBER),
        st.sampled_from(["gt", "gte", "lt", "lte", "is"]),
        st.sampled_from([0, 2, 13, 13.5]),
        UNKNOWN,
    )
    fields = st.builds(
        CompareFields,
        st.just("pain.leg"),
        st.sampled_from(["gt_field", "gte_field", "lt_field", "lte_field"]),
        st.just("pain.back"),
        UNKNOWN,
    )
    known = st.builds(Known, st.sampled_from(FIELDS))
    facts = st.builds(FactRef, st.sampled_from(sorted(FACTS)))
    return st.one_of(bools, ints, int_in, enums, enum_in, numbers, fields, known, facts)


def trees() -> st.SearchStrategy[Condition]:
    def extend(inner: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
        parts = st.lists(inner, min_size=1, max_size=4).map(tuple)
        return st.one_of(
            st.builds(Not, inner),
            st.builds(All, parts),
            st.builds(AnyOf, parts),
            parts.flatmap(lambda ps: st.builds(AtLeast, st.integers(1, len(ps)), st.just(ps))),
        )

    return st.recursive(leaves(), extend, max_leaves=12)


def _envs(n: int = 400) -> list[dict[str, Any]]:
    rng = random.Random(0)
    out: list[dict[str, Any]] = []
    for _ in range(n):
        env: dict[str, Any] = {}
        for f in BOOLS:
            env[f] = rng.choice([True, False, None])
        for f in INTS:
            env[f] = rng.choice([None, 0, 1, 5, 10, rng.randint(0, 10)])
        env[ENUM] = rng.choice([None, *SIDES])
        env[NUMBER] = rng.choice([None, 0.0, 2.0, 13.0, 13.5, 20.0])
        out.append(env)
    return out


ENVS = _envs()
COLS = columns_by_name()


def _frame() -> pl.DataFrame:
    by_path = {c.path: c for c in COLS.values()}
    return pl.DataFrame({f: pl.Series(f, [e[f] for e in ENVS], by_path[f].dtype) for f in FIELDS})


FRAME = _frame()


def _present(env: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in env.items() if v is not None}


@given(cond=trees())
def test_compiled_conditions_match_the_closures(cond: Condition) -> None:
    want = [evaluate(cond, _present(e), CLOSURES) for e in ENVS]
    inline = Compiler(pl.col, FACTS)
    got = FRAME.select(inline.compile(cond).alias("r")).to_series().to_list()
    assert got == want
    # the same with facts evaluated once into columns, as the pipeline does
    with_facts = FRAME.with_columns(inline.fact("leg").alias("fact:leg")).with_columns(
        Compiler(pl.col, FACTS, {"leg": "fact:leg"}).fact("risky").alias("fact:risky")
    )
    columns = Compiler(pl.col, FACTS, {"leg": "fact:leg", "risky": "fact:risky"})
    assert with_facts.select(columns.compile(cond).alias("r")).to_series().to_list() == want


def test_at_least_counts_unknowns_as_maybe() -> None:
    cond = AtLeast(2, tuple(Compare(f, "is", True) for f in BOOLS))
    df = pl.DataFrame(
        {
            BOOLS[0]: [True, True, True, None, False],
            BOOLS[1]: [True, None, False, None, False],
            BOOLS[2]: [False, None, None, False, None],
        },
        schema=dict.fromkeys(BOOLS, pl.Boolean),
    )
    got = df.select(Compiler(pl.col, FACTS).compile(cond)).to_series().to_list()
    assert got == [True, None, None, None, False]
