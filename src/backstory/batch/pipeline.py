"""The engine's stages as Polars expressions over a frame of validated assessments.

The order and the reading of every step follow ``core/engine.py`` exactly:
contradictions (one after another, each seeing the answers the previous ones left) ->
instrument scores -> triage -> classification -> patterns. Facts become columns as soon
as every answer they read is final, so each is evaluated once per row and shared by all
the rules that name it. Management, unknowns and wording are not columns of the flat
output and are not computed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import polars as pl

from backstory.batch.compile import Compiler, Resolver, add, int_type
from backstory.batch.flat import dtype_for, flat_columns
from backstory.contract.spec import FieldSpec
from backstory.core.report import Report
from backstory.core.scoring import round_half_up
from backstory.knowledge.conditions import Condition, FactRef, parse_condition, walk
from backstory.knowledge.loader import KnowledgeBase
from backstory.knowledge.schema import Instrument, PatternDef

_FITS_BY_RANK = {1: "unlikely", 2: "possible", 3: "strong"}
_FIT_RANK = {"unlikely": 1, "possible": 2, "strong": 3}


@dataclass(frozen=True, slots=True)
class OutputColumn:
    """One column of the batch output and where it comes from."""

    name: str
    source: str
    dtype: pl.DataType


def output_columns(kb: KnowledgeBase) -> tuple[OutputColumn, ...]:
    """The output columns in the contract's order, each with its dtype.

    Closed vocabularies (triage level, category, fits, risk group, band) are ``pl.Enum``:
    the same text in a CSV, and dictionary-encoded columns in Parquet.
    """

    def typed(path: str) -> pl.DataType:
        spec = kb.derived.get(path)
        if spec is None or spec.type == "string":
            return pl.String()
        if spec.type == "number":
            return pl.Float64()
        if spec.type == "int":
            return pl.Int64()
        return dtype_for(spec)

    out = [
        OutputColumn("id", "id", pl.String()),
        OutputColumn("row", "row", pl.Int64()),
        OutputColumn("triage_level", "triage.level", typed("triage.level")),
        OutputColumn("triage_suspected", "triage.suspected", pl.String()),
        OutputColumn("category", "category", typed("category")),
    ]
    for p in kb.patterns.patterns:
        path = f"patterns.{p.id}.fit"
        out.append(OutputColumn(f"pattern_{p.id}_fit", path, typed(path)))
    for inst in kb.instruments.instruments:
        for key in inst.result_keys():
            path = f"scores.{inst.id}.{key}"
            out.append(OutputColumn(f"{inst.id}_{key}", path, typed(path)))
    out.append(OutputColumn("knowledge_version", "knowledge_version", pl.String()))
    return tuple(out)


class _Steps:
    """The pipeline as data: lists of expressions for successive ``with_columns`` calls."""

    def __init__(self) -> None:
        self.steps: list[list[pl.Expr]] = []
        self.final: list[pl.Expr] = []

    def with_columns(self, exprs: Iterable[pl.Expr]) -> None:
        self.steps.append(list(exprs))


def _facts_in(cond: Condition) -> set[str]:
    return {n.name for n in walk(cond) if isinstance(n, FactRef)}


class Pipeline:
    """The compiled batch form of one knowledge base: frame of answers -> output rows."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.outputs = output_columns(kb)
        c = kb.contract
        self.specs: dict[str, FieldSpec] = {col.path: col.spec for col in flat_columns(c)}
        self.specs.update(kb.derived)
        self.items = {
            f"{name}.{i}" for name, inst in c.instruments.items() for i in range(1, inst.length + 1)
        }
        self.base = {col.path for col in flat_columns(c)}
        self.rank = {lv.id: lv.rank for lv in kb.red_flags.levels}
        self._needed = self._facts_needed()

    # ------------------------------------------------------------------ helpers
    def dtype(self, path: str) -> pl.DataType:
        spec = self.specs.get(path)
        return dtype_for(spec) if spec is not None else pl.Null()

    def resolver(self, visible: set[str]) -> Resolver:
        """Read a field as a column when it is visible at this stage, else as unanswered."""

        def resolve(path: str) -> pl.Expr:
            if path in visible:
                return pl.col(path)
            return pl.lit(None, self.dtype(path))

        return resolve

    def _facts_needed(self) -> set[str]:
        kb = self.kb
        conds: list[Condition] = [r.when for r in kb.red_flags.rules]
        conds += [cat.when for cat in kb.classification.precedence if cat.when is not None]
        for p in kb.patterns.patterns:
            conds += [f.when for f in p.features if f.when is not None]
            conds += [cap.when for cap in p.caps]
        todo = set().union(*(_facts_in(x) for x in conds)) if conds else set()
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo |= _facts_in(kb.facts[name].as_condition())
        return seen

    def _materialise(self, plan: _Steps, visible: set[str], done: dict[str, str]) -> None:
        """Add a column for every needed fact whose answers are all final now."""
        kb = self.kb
        ready = [
            name
            for name in kb.facts
            if name in self._needed
            and name not in done
            and kb.fields_of(kb.facts[name].as_condition()) <= visible
        ]
        while ready:
            layer = [n for n in ready if _facts_in(kb.facts[n].as_condition()) <= set(done)]
            if not layer:  # pragma: no cover - the loader refuses fact cycles
                raise AssertionError(f"facts {ready} depend on facts not yet available")
            comp = Compiler(self.resolver(visible), kb.facts, done)
            plan.with_columns(comp.fact_definition(kb.facts[n]).alias("fact:" + n) for n in layer)
            done.update((n, "fact:" + n) for n in layer)
            ready = [n for n in ready if n not in done]

    # ------------------------------------------------------------------ stages
    def apply(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """The output rows for a frame of valid answers (``row``, ``id`` and dotted paths).

        The expressions are built once per knowledge base and replayed on every chunk.
        """
        for step in self._plan.steps:
            lf = lf.with_columns(step)
        return lf.select(self._plan.final)

    def warm(self) -> None:
        """Build the expressions now (they are otherwise built on first use)."""
        _ = self._plan

    @cached_property
    def _plan(self) -> _Steps:
        kb = self.kb
        plan = _Steps()
        visible = set(self.base) - self.items  # the engine adds item answers after contradictions
        self._contradictions(plan, visible)
        visible |= self.items
        visible = self._scores(plan, visible)
        facts: dict[str, str] = {}
        self._materialise(plan, visible, facts)
        self._triage(plan, Compiler(self.resolver(visible), kb.facts, facts))
        visible |= {"triage.level", "triage.suspected_any"}
        self._materialise(plan, visible, facts)
        self._classify(plan, Compiler(self.resolver(visible), kb.facts, facts))
        visible |= {"category"}
        self._materialise(plan, visible, facts)
        self._patterns(plan, Compiler(self.resolver(visible), kb.facts, facts))
        plan.final = [
            (
                pl.lit(kb.version, pl.String)
                if o.source == "knowledge_version"
                else pl.col(o.source).cast(o.dtype)
            ).alias(o.name)
            for o in self.outputs
        ]
        return plan

    def _contradictions(self, plan: _Steps, visible: set[str]) -> None:
        kb = self.kb
        for cx in kb.contradictions:
            # each contradiction sees the answers the earlier ones left, as in the engine
            comp = Compiler(self.resolver(visible), kb.facts)
            fired = comp.compile(cx.when).fill_null(False)
            updates = [
                pl.when(fired).then(pl.lit(v).cast(self.dtype(p))).otherwise(pl.col(p)).alias(p)
                for p, v in cx.set.items()
            ]
            updates += [
                pl.when(fired).then(pl.lit(None, self.dtype(p))).otherwise(pl.col(p)).alias(p)
                for p in cx.unset
            ]
            plan.with_columns(updates)

    def _scores(self, plan: _Steps, visible: set[str]) -> set[str]:
        kb = self.kb
        first: list[pl.Expr] = []
        groups: list[pl.Expr] = []
        added: set[str] = set()
        for inst in kb.instruments.instruments:
            length = kb.contract.instruments[inst.id].length
            items = [pl.col(f"{inst.id}.{i}") for i in range(1, length + 1)]
            answered = add([x.is_not_null().cast(int_type(length)) for x in items])
            scored = (answered > 0) & (answered >= length - inst.max_missing)
            prefix = f"scores.{inst.id}."
            if inst.method == "count_positive":
                scores = [self._item_score(inst, i, x) for i, x in enumerate(items, start=1)]
                first.append(pl.when(scored).then(add(scores)).alias(prefix + "total"))
                for name, which in inst.subscales.items():
                    sub = add([scores[i - 1] for i in which])
                    first.append(pl.when(scored).then(sub).alias(prefix + name))
                keys = {prefix + k for k in ("total", *inst.subscales)}
                if inst.groups:
                    groups.append(self._risk(inst, keys, scored).alias(prefix + "risk"))
                    keys.add(prefix + "risk")
                added |= keys
            elif inst.method == "sum":
                specs = kb.contract.instruments[inst.id].items
                bound = sum(int(max(abs(sp.minimum or 0), abs(sp.maximum or 0))) for sp in specs)
                total = add([x.cast(int_type(bound)).fill_null(0) for x in items])
                first.append(pl.when(scored).then(total).alias(prefix + "score"))
                added.add(prefix + "score")
            else:
                pct, band = self._percent(inst, items, answered, scored, prefix)
                first.append(pct)
                groups.append(band)  # reads the percent column: evaluated once, not per band
                added |= {prefix + "percent", prefix + "band"}
        plan.with_columns(first)
        if groups:
            plan.with_columns(groups)
        # a score that could not be computed is simply absent, as in the engine's env
        derived_scores = {p for p in self.specs if p.startswith("scores.")}
        missing_cols = [pl.lit(None, self.dtype(p)).alias(p) for p in derived_scores - added]
        if missing_cols:
            plan.with_columns(missing_cols)
        return visible | derived_scores

    @staticmethod
    def _item_score(inst: Instrument, i: int, x: pl.Expr) -> pl.Expr:
        # Int32: wide enough for any total; a missing item counts 0 (scored rows have none)
        table = inst.item_scores.get(i)
        if table is None:
            return x.cast(pl.Int32).fill_null(0)
        out: Any = pl
        for value, pts in table.items():
            out = out.when(x == value).then(pl.lit(pts, pl.Int32))
        return out.otherwise(pl.lit(0, pl.Int32))  # type: ignore[no-any-return]

    def _risk(self, inst: Instrument, keys: set[str], scored: pl.Expr) -> pl.Expr:
        # the engine evaluates risk groups on an env holding only this instrument's scores
        comp = Compiler(self.resolver(keys), self.kb.facts)
        # literals of the output's own Enum type: no text is built or cast per row
        dtype = self.dtype(f"scores.{inst.id}.risk")
        out: Any = pl.when(~scored).then(pl.lit(None, dtype))
        for g in inst.groups:
            cond = comp.compile(parse_condition(g["when"]))
            out = out.when(cond.fill_null(False)).then(pl.lit(str(g["value"]), dtype))
        return out.otherwise(pl.lit(None, dtype))  # type: ignore[no-any-return]

    def _percent(
        self,
        inst: Instrument,
        items: Sequence[pl.Expr],
        answered: pl.Expr,
        scored: pl.Expr,
        prefix: str,
    ) -> tuple[pl.Expr, pl.Expr]:
        # The percent depends only on (total, answered), a few hundred pairs, so it is
        # looked up in a table filled by the engine's own exact rounding: no division per
        # row, and no float surprises (Polars divides by a constant through its reciprocal:
        # 44.400000000000006, not 44.4). An unscored row looks up a null index.
        length = len(items)
        most = length * inst.max_item
        idx_type = int_type((most + 1) * (length + 1))
        total = add([x.cast(idx_type).fill_null(0) for x in items])
        table = pl.Series(
            [
                round_half_up(Fraction(n * 100, inst.max_item * a), inst.decimals) if a else None
                for n in range(most + 1)
                for a in range(length + 1)
            ],
            dtype=pl.Float64,
        )
        index = total * (length + 1) + answered.cast(idx_type)
        pct = pl.lit(table).gather(pl.when(scored & (answered > 0)).then(index))
        done = pl.col(prefix + "percent")
        dtype = self.dtype(prefix + "band")
        band: Any = pl
        for b in inst.bands:
            band = band.when(done <= b.up_to).then(pl.lit(b.id, dtype))
        band_expr = band.otherwise(pl.lit(None, dtype)) if inst.bands else pl.lit(None, dtype)
        return pct.alias(prefix + "percent"), band_expr.alias(prefix + "band")

    def _triage(self, plan: _Steps, comp: Compiler) -> None:
        rules = self.kb.red_flags.rules
        plan.with_columns(
            comp.compile(r.when).fill_null(False).alias("rule:" + r.id) for r in rules
        )
        by_rank = sorted(self.rank, key=lambda lv: -self.rank[lv])
        level_type = self.dtype("triage.level")
        level: Any = pl
        for lv in by_rank:
            fired = [pl.col("rule:" + r.id) for r in rules if r.level == lv]
            if fired:
                level = level.when(pl.any_horizontal(fired)).then(pl.lit(lv, level_type))
        routine = pl.lit("routine", level_type)
        level_expr = level.otherwise(routine) if level is not pl else routine
        # the suspected conditions as bits of one small integer, then one table lookup to
        # the sorted, ';'-joined text (2^k entries), instead of building strings per row
        suspected = sorted({s for r in rules for s in r.suspected})
        bits = add(
            [
                pl.any_horizontal([pl.col("rule:" + r.id) for r in rules if s in r.suspected])
                .cast(pl.Int32)
                .mul(1 << k)
                for k, s in enumerate(suspected)
            ]
        )
        table = pl.Series(
            [
                ";".join(s for k, s in enumerate(suspected) if mask >> k & 1)
                for mask in range(1 << len(suspected))
            ],
            dtype=pl.String,
        )
        text = pl.lit(table).gather(bits)
        any_rule = (
            pl.any_horizontal([pl.col("rule:" + r.id) for r in rules]) if rules else pl.lit(False)
        )
        plan.with_columns(
            [
                level_expr.alias("triage.level"),
                (text if suspected else pl.lit("")).alias("triage.suspected"),
                any_rule.alias("triage.suspected_any"),
            ]
        )

    def _classify(self, plan: _Steps, comp: Compiler) -> None:
        out: Any = pl
        dtype = self.dtype("category")
        last = self.kb.classification.precedence[-1]
        for cat in self.kb.classification.precedence[:-1]:
            assert cat.when is not None
            out = out.when(comp.compile(cat.when).fill_null(False)).then(pl.lit(cat.id, dtype))
        expr = out.otherwise(pl.lit(last.id, dtype)) if out is not pl else pl.lit(last.id, dtype)
        plan.with_columns([expr.alias("category")])

    def _patterns(self, plan: _Steps, comp: Compiler) -> None:
        """Feature and cap conditions as columns, then score, answered and cap, then fit.

        Each condition is evaluated once (a column), not once per place that reads it.
        """
        pats = self.kb.patterns.patterns
        conds: list[pl.Expr] = []
        for p in pats:
            conds += [
                comp.compile(f.when).alias(f"feat:{p.id}:{f.id}")
                for f in p.features
                if f.when is not None
            ]
            conds += [
                comp.compile(cap.when).fill_null(False).alias(f"cap:{p.id}:{i}")
                for i, cap in enumerate(p.caps)
            ]
        plan.with_columns(conds)
        plan.with_columns(expr for p in pats for expr in self._tally(p, comp))
        plan.with_columns(self._fit(p) for p in pats)

    def _tally(self, p: PatternDef, comp: Compiler) -> list[pl.Expr]:
        # points in the narrowest integer type that holds any possible score
        bound = sum(
            max(abs(f.if_true), abs(f.if_false), *(abs(v) for v in (f.points or {}).values()))
            for f in p.features
        )
        pt = int_type(bound)
        points: list[pl.Expr] = []
        validated: list[pl.Expr] = []
        answered: list[pl.Expr] = []
        for f in p.features:
            # a feature from criteria that failed validation adds only its negative points
            # to the validated score (the engine's _validated_part)
            failed = f.validation == "failed"
            if f.when is not None:
                r = pl.col(f"feat:{p.id}:{f.id}")
                for out, part in ((points, False), (validated, failed)):
                    out.append(
                        pl.when(r)
                        .then(pl.lit(min(f.if_true, 0) if part else f.if_true, pt))
                        .when(~r)
                        .then(pl.lit(min(f.if_false, 0) if part else f.if_false, pt))
                        .otherwise(pl.lit(0, pt))
                    )
                answered.append(r.is_not_null())
                continue
            assert f.field is not None and f.points is not None
            x = comp.resolve(f.field)
            for out, part in ((points, False), (validated, failed)):
                pts: Any = pl
                for key, value in f.points.items():
                    v = min(value, 0) if part else value
                    pts = pts.when(x == _key(key)).then(pl.lit(v, pt))
                out.append(pts.otherwise(pl.lit(0, pt)) if f.points else pl.lit(0, pt))
            answered.append(x.is_not_null())
        caps = [
            pl.when(pl.col(f"cap:{p.id}:{i}")).then(_FIT_RANK[cap.max_fit]).otherwise(3)
            for i, cap in enumerate(p.caps)
        ]
        # without the failed-validation features' support the score must reach possible,
        # or the fit is held at possible at most (the engine's _fit)
        caps.append(pl.when(add(validated) < p.possible_at).then(2).otherwise(3))
        return [
            add(points).alias(f"score:{p.id}"),
            add([a.cast(int_type(len(answered))) for a in answered]).alias(f"answered:{p.id}"),
            (pl.min_horizontal(caps) if caps else pl.lit(3)).alias(f"caprank:{p.id}"),
        ]

    def _fit(self, p: PatternDef) -> pl.Expr:
        score = pl.col(f"score:{p.id}")
        by_score = (
            pl.when(score >= p.strong_at).then(3).when(score >= p.possible_at).then(2).otherwise(1)
        )
        dtype = self.dtype(f"patterns.{p.id}.fit")
        rank = pl.min_horizontal(by_score, pl.col(f"caprank:{p.id}"))
        fit: Any = pl.when(pl.col(f"answered:{p.id}") < p.min_answered).then(
            pl.lit("unknown", dtype)
        )
        for r, name in sorted(_FITS_BY_RANK.items(), reverse=True):
            fit = fit.when(rank == r).then(pl.lit(name, dtype))
        return fit.otherwise(pl.lit(None, dtype)).alias(f"patterns.{p.id}.fit")  # type: ignore[no-any-return]


def _key(value: Any) -> pl.Expr:
    return pl.lit(value, pl.Boolean) if isinstance(value, bool) else pl.lit(value)


def report_row(report: Report, outputs: Sequence[OutputColumn], row: int) -> dict[str, Any]:
    """The flat output row the single-assessment engine gives (the batch mode's reference)."""
    values: dict[str, Any] = {
        "id": report.id,
        "row": row,
        "triage.level": report.triage.level,
        "triage.suspected": ";".join(report.triage.suspected),
        "category": report.category,
        "knowledge_version": report.knowledge_version,
    }
    for p in report.patterns:
        values[f"patterns.{p.id}.fit"] = p.fit
    for name, result in report.scores.items():
        for key, v in (result or {}).items():
            values[f"scores.{name}.{key}"] = v
    return {o.name: values.get(o.source) for o in outputs}
