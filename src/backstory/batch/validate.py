"""Vectorised contract checks for a chunk of flat rows.

Validity is decided column by column with Polars expressions (a cell is wrong when it
holds something that does not parse to an allowed value); the *wording* of each problem
comes from the single-assessment validator itself, asked about the one offending value,
so both modes say the same thing and the batch mode can never quietly accept a value the
contract refuses. Messages are built only for rejected rows, which are few.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl

from backstory.batch.compile import add
from backstory.batch.flat import (
    ABSENT,
    NUMBER_RE,
    FlatColumn,
    cell_value,
    columns_by_name,
    flat_columns,
    flat_name,
)
from backstory.contract import AssessmentError, load_contract, parse_assessment
from backstory.contract.spec import AtMost, Contract
from backstory.contract.suggest import did_you_mean, suggest
from backstory.contract.validate import date_problem, text_problem
from backstory.errors import InputError, IntegrityError

ERROR_SCHEMA = {"row": pl.Int64, "id": pl.String, "field": pl.String, "message": pl.String}


class ColumnError(InputError):
    """The file's columns cannot be read as the contract's flat form (the whole run stops)."""


class ValidatorMismatch(IntegrityError, AssertionError):
    """The batch checks and the single-assessment validator disagreed (a bug, never data)."""


def check_columns(names: Sequence[str], contract: Contract | None = None) -> None:
    """Refuse unknown, repeated or essential missing columns before reading any row.

    A misspelt red-flag column must never be read as "not asked", so an unknown column
    stops the run with the nearest known names, as an unknown JSON key does.
    """
    c = contract or load_contract()
    known = columns_by_name(c)
    problems: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(f'column "{name}" appears more than once; give each column once')
        seen.add(name)
    for name in names:
        if name in known:
            continue
        # like an unknown JSON key, suggest from the same group (the prefix is not a clue)
        group = next((g for g in c.groups if name.startswith(g + "_")), None)
        if group is None:
            near = suggest(name, list(known))
        else:
            rest = name[len(group) + 1 :]
            near = [f"{group}_{k}" for k in suggest(rest, list(c.groups[group]))]
        hint = did_you_mean(near)
        problems.append(
            f'unknown column "{name}".{hint} Unknown columns are never ignored, so nothing '
            "was scored; rename or remove it."
        )
    if "age" not in seen:
        problems.append('no "age" column: age is required for every assessment')
    if problems:
        raise ColumnError("\n".join(problems))


@dataclass(frozen=True)
class Checked:
    """One chunk after validation: the valid rows, typed, and one line per problem."""

    valid: pl.LazyFrame
    errors: pl.DataFrame
    rows_in: int
    rows_rejected: int


def _text(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))


@dataclass(frozen=True, slots=True)
class _Cell:
    """How one column is read: is a cell given, its value, and is it a refused value.

    ``value`` is null when the cell is absent or refused; on valid rows it is the typed
    answer the pipeline reads. ``bad`` marks a given cell whose value is not allowed.
    """

    present: pl.Expr
    value: pl.Expr
    bad: pl.Expr
    pre: pl.Expr | None = None
    """Work shared by the three (a column named :func:`_pre_name`), computed first."""


def _pre_name(col: FlatColumn) -> str:
    return "pre:" + col.name


def _cell(col: FlatColumn, present: pl.Expr, value: pl.Expr, *, shared: bool = False) -> _Cell:
    """A cell that is refused when it is given but has no allowed value.

    ``shared``: the value is computed once into its own column in a first pass, and both
    the value and the verdict read that column (costly text parsing is done once).
    """
    if not shared:
        return _Cell(present, value, present & value.is_null())
    done = pl.col(_pre_name(col))
    return _Cell(present, done, present & done.is_null(), value.alias(_pre_name(col)))


# a text column whose allowed spellings are at most this many is read by table lookup
_MAX_SPELLINGS = 5000


def _spellings(col: FlatColumn) -> list[tuple[str, Any]] | None:
    """Every text a cell may hold for this field, with its value (None: not a short list).

    Booleans, enumerations and whole numbers with a modest range have few allowed
    spellings, so a cell is read by looking its text up in a table: one hash per cell
    decides validity and gives the value, instead of parsing and re-checking it.
    Whole numbers are spelt as JSON writes them (``-0`` is zero, as in JSON).
    """
    spec = col.spec
    if spec.type == "bool":
        return [("false", False), ("true", True)]
    if spec.type == "enum":
        return [(v, v) for v in spec.values]
    if spec.type == "int" and spec.minimum is not None and spec.maximum is not None:
        lo, hi = int(spec.minimum), int(spec.maximum)
        if hi - lo < _MAX_SPELLINGS:
            out: list[tuple[str, Any]] = [(str(i), i) for i in range(lo, hi + 1)]
            return out + ([("-0", 0)] if lo <= 0 <= hi else [])
    return None


def _typed(col: FlatColumn, dtype: pl.DataType, allowed: list[str] | None) -> _Cell:
    if col.spec.type in ("date", "string"):
        return _typed_uncached(col, dtype, allowed)
    return _typed_cached(col, dtype)


@lru_cache(maxsize=4096)
def _typed_cached(col: FlatColumn, dtype: pl.DataType) -> _Cell:
    # expressions are immutable, so a column of a given type is compiled once per process
    return _typed_uncached(col, dtype, None)


def _typed_uncached(col: FlatColumn, dtype: pl.DataType, allowed: list[str] | None) -> _Cell:
    spec = col.spec
    s = pl.col(col.name)
    if dtype == pl.Null:
        nothing = pl.lit(None, col.dtype)
        return _Cell(pl.lit(False), nothing, pl.lit(False))
    lo = spec.minimum
    hi = spec.maximum
    if dtype == col.dtype and isinstance(dtype, (pl.Enum, pl.Boolean)):
        return _Cell(s.is_not_null(), s, pl.lit(False))
    if _text(dtype) or (spec.type == "date" and dtype == pl.Date):
        t = s.cast(pl.String)
        if dtype == pl.Date:
            t = s.dt.to_string("%Y-%m-%d")
        known = _spellings(col)
        if known is not None:
            # "" is listed first (code 0), so an empty cell is absent, not refused
            texts = pl.Enum(["", *(text for text, _ in known)])
            table = pl.Series([None, *(v for _, v in known)], dtype=col.dtype)
            code = pl.col(_pre_name(col))  # each cell is looked up once, in a first pass
            present = t.is_not_null() & (code != 0).fill_null(True)
            return _Cell(
                present,
                pl.lit(table).gather(code),
                t.is_not_null() & code.is_null(),
                t.cast(texts, strict=False).to_physical().alias(_pre_name(col)),
            )
        present = t.is_not_null() & (t != "")
        value: pl.Expr
        if spec.type == "int":
            value = _whole_number(t, int(lo or 0), int(hi or 0))
        elif spec.type == "number":
            x = pl.when(t.str.contains(NUMBER_RE)).then(t.cast(pl.Float64, strict=False))
            value = pl.when(x.is_finite() & x.is_between(lo, hi)).then(x)
        elif spec.type == "date":
            value = pl.when(t.is_in(allowed or [])).then(t)
        else:
            # plain ASCII text within the length limit is allowed; any other text only if
            # the validator's own rule allowed it (see _allowed_texts)
            plain = t.str.contains(r"^[\x20-\x7e]+$")
            if spec.max_length is not None:
                plain = plain & (t.str.len_chars() <= spec.max_length)
            value = pl.when(plain | t.is_in(allowed or [])).then(t)
        return _cell(col, present, value.cast(col.dtype), shared=True)
    present = s.is_not_null()
    if spec.type == "int" and dtype.is_integer():
        n = s.cast(pl.Int64, strict=False)
        return _cell(
            col, present, pl.when(n.is_between(lo, hi)).then(n).cast(col.dtype), shared=True
        )
    if spec.type == "number" and (dtype.is_integer() or dtype.is_float() or dtype.is_decimal()):
        f = s.cast(pl.Float64)
        return _cell(
            col, present, pl.when(f.is_finite() & f.is_between(lo, hi)).then(f), shared=True
        )
    return _cell(col, present, pl.lit(None, col.dtype))


def _whole_number(t: pl.Expr, lo: int, hi: int) -> pl.Expr:
    """The whole number a text cell holds in JSON's form (``-?(0|[1-9][0-9]*)``), in range.

    Same verdict as matching INT_RE, without a regular expression (several times faster):
    a text that parses to x and is exactly as long as x's digits (and sign) can only be
    x written plainly; a leading zero, a plus sign, a space or an exponent all add length.
    "-0" is the one plain spelling longer than its value, and JSON allows it.
    """
    x = t.cast(pl.Int64, strict=False)
    width = len(str(max(abs(lo), abs(hi))))
    digits = add([pl.lit(1, pl.Int8), *[(x.abs() >= 10**k).cast(pl.Int8) for k in range(1, width)]])
    plain = (t.str.len_bytes() == digits + (x < 0).cast(pl.Int8)) | (t == "-0")
    return pl.when(plain & x.is_between(lo, hi)).then(x)


def _clean_columns(raw: pl.DataFrame, cols: Sequence[FlatColumn]) -> set[str]:
    """Typed numeric columns whose every value is in range, found from column aggregates.

    A minimum, a maximum and a NaN count per column cost a small fraction of checking
    each cell, and in a typical file almost every column passes; only the columns that
    fail are checked row by row (to find the rows). Text columns are not judged here.
    """
    schema = raw.schema
    aggs: list[pl.Expr] = []
    judged: list[FlatColumn] = []
    for col in cols:
        dtype = schema.get(col.name)
        if dtype is None or col.spec.type not in ("int", "number"):
            continue
        numeric = dtype.is_integer() or (col.spec.type == "number" and dtype.is_float())
        if not numeric:
            continue
        s = pl.col(col.name)
        aggs += [s.min().cast(pl.Float64), s.max().cast(pl.Float64)]
        aggs.append(s.is_nan().any() if dtype.is_float() else pl.lit(False))
        judged.append(col)
    if not judged:
        return set()
    row = raw.select([a.alias(str(i)) for i, a in enumerate(aggs)]).row(0)
    clean: set[str] = set()
    for k, col in enumerate(judged):
        lo, hi, nan = row[3 * k : 3 * k + 3]
        low, high = col.spec.minimum, col.spec.maximum
        if nan or (lo is not None and low is not None and lo < low):
            continue
        if hi is not None and high is not None and hi > high:
            continue
        if lo is not None and not (abs(lo) < float("inf") and abs(hi) < float("inf")):
            continue
        clean.add(col.name)
    return clean


def _never_wrong(col: FlatColumn, dtype: pl.DataType, all_valid: bool) -> bool:
    """True when no cell of this column can be refused, so no per-row check is needed.

    A column of the contract's own Boolean or Enum type holds only allowed values; and a
    date or text column whose distinct values all passed the validator's rule has no bad
    cell.
    """
    if dtype == col.dtype and isinstance(dtype, (pl.Enum, pl.Boolean)):
        return True
    return col.spec.type in ("date", "string") and _text(dtype) and all_valid


def _valid_dates(
    raw: pl.DataFrame, col: FlatColumn, today: dt.date | None
) -> tuple[list[str], bool]:
    """The distinct date texts in this column that the contract's date rule accepts, and
    whether every distinct non-empty text did.

    Checked once per distinct value with the validator's own rule (few distinct dates).
    """
    s = raw.get_column(col.name)
    if s.dtype == pl.Date:
        s = s.dt.to_string("%Y-%m-%d")
    elif not _text(s.dtype):
        return [], False
    distinct = [v for v in s.cast(pl.String).drop_nulls().unique().to_list() if v != ""]
    valid = [v for v in distinct if date_problem(col.spec, v, today) is None]
    return valid, len(valid) == len(distinct)


def _allowed_texts(raw: pl.DataFrame, col: FlatColumn) -> tuple[list[str], bool]:
    """The distinct texts of this column that are not plain ASCII but that the validator's
    text rule accepts (printable, within the length), and whether every text is allowed.

    Plain printable ASCII is judged by one vectorised test; only the other texts (rare in
    ids) are asked of the validator's own rule, so both modes refuse exactly the same.
    """
    s = raw.get_column(col.name)
    if not _text(s.dtype):
        return [], False
    t = s.cast(pl.String).drop_nulls()
    limit = col.spec.max_length
    plain = t.str.contains(r"^[\x20-\x7e]*$")
    if limit is not None:
        plain = plain & (t.str.len_chars() <= limit)
    other = [v for v in t.filter(~plain).unique().to_list() if v != ""]
    allowed = [v for v in other if text_problem(v, limit) is None]
    return allowed, len(allowed) == len(other)


class Messages:
    """Plain-words problems, worded by the single-assessment validator (cached)."""

    def __init__(self, contract: Contract | None = None, today: dt.date | None = None) -> None:
        self.contract = contract or load_contract()
        self.today = today
        self._cache: dict[tuple[str, str, Any], str] = {}

    def _ask(self, data: dict[str, Any], where: str) -> str:
        try:
            parse_assessment(data, self.contract, today=self.today)
        except AssessmentError as exc:
            for issue in exc.issues:
                if issue.field == where:
                    return issue.message
        raise ValidatorMismatch(
            f"the batch checks rejected {where} in {data!r}, but the assessment validator "
            "accepts it; please report this"
        )

    def _filler(self, instrument: str) -> list[Any]:
        out: list[Any] = []
        for spec in self.contract.instruments[instrument].items:
            if spec.type == "enum":
                out.append(spec.values[0])
            elif spec.type == "bool":
                out.append(False)
            else:
                out.append(int(spec.minimum or 0))
        return out

    def _place(self, col: FlatColumn, value: Any) -> dict[str, Any]:
        data: dict[str, Any] = {} if col.path == "age" else {"age": 40}
        if col.instrument is not None:
            items = self._filler(col.instrument)
            items[col.item - 1] = value
            data[col.instrument] = items
        elif "." in col.path:
            group, key = col.path.split(".", 1)
            data[group] = {key: value}
        elif value is not ABSENT:
            data[col.path] = value
        return data

    def _cached(self, key: tuple[str, str, Any], make: Any) -> str:
        try:
            hit = self._cache.get(key)
        except TypeError:  # unhashable cell (a list from Parquet): no caching
            return str(make())
        if hit is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            hit = self._cache[key] = str(make())
        return hit

    def bad(self, col: FlatColumn, raw: Any) -> str:
        """Why this cell's value is not allowed."""
        value = cell_value(col.spec, raw)
        return self._cached(
            ("bad", col.name, (type(raw).__name__, raw)),
            lambda: self._ask(self._place(col, value), col.where),
        )

    def missing(self, col: FlatColumn) -> str:
        """Why this empty cell is a problem (age, or an item of an all-required instrument)."""
        return self._cached(
            ("missing", col.name, None),
            lambda: self._ask(self._place(col, None if col.instrument else ABSENT), col.where),
        )

    def at_most(self, rule: AtMost, a: Any, b: Any) -> str:
        """Why two valid answers cannot stand together."""

        def make() -> str:
            data: dict[str, Any] = {"age": 40}
            for path, v in ((rule.field, a), (rule.limit, b)):
                if "." in path:
                    group, key = path.split(".", 1)
                    data.setdefault(group, {})[key] = v
                else:
                    data[path] = v
            msg = self._ask(data, rule.field)
            return msg.replace(f" {rule.limit} (", f" {flat_name(rule.limit)} (")

        return self._cached(("at_most", rule.field, (a, b)), make)


def _plan(
    raw: pl.DataFrame, c: Contract, today: dt.date | None
) -> tuple[dict[str, pl.Expr], dict[str, pl.Expr], list[pl.Expr]]:
    """Per column the typed value (null when absent or refused); the named row flags; and
    the shared first-pass columns the values and flags read."""
    cols = flat_columns(c)
    schema = raw.schema  # built once: each lookup of DataFrame.schema rebuilds it
    present_of: dict[str, pl.Expr] = {}
    value_of: dict[str, pl.Expr] = {}
    flags: dict[str, pl.Expr] = {}
    pre: list[pl.Expr] = []
    clean = _clean_columns(raw, cols)
    for col in cols:
        if col.name in clean:
            # every value in the column is allowed: no per-row check is needed
            s = pl.col(col.name).cast(col.dtype)
            cell = _Cell(s.is_not_null(), s, pl.lit(False))
        elif col.name in schema:
            dtype = schema[col.name]
            allowed: list[str] | None = None
            all_valid = False
            if col.spec.type == "date":
                allowed, all_valid = _valid_dates(raw, col, today)
            elif col.spec.type == "string":
                allowed, all_valid = _allowed_texts(raw, col)
            cell = _typed(col, dtype, allowed)
            if not _never_wrong(col, dtype, all_valid):
                flags["b:" + col.name] = cell.bad
            if cell.pre is not None:
                pre.append(cell.pre)
        else:
            nothing = pl.lit(None, col.dtype)
            cell = _Cell(pl.lit(False), nothing, pl.lit(False))
        present_of[col.name], value_of[col.name] = cell.present, cell.value
    # required answers: age, and every item of an instrument that needs all of them
    for name, inst in c.instruments.items():
        if inst.required_all:
            items = [col for col in cols if col.instrument == name]
            given = pl.any_horizontal([present_of[col.name] for col in items])
            for col in items:
                flags["m:" + col.name] = given & ~present_of[col.name]
    flags["m:age"] = ~present_of["age"]
    for i, rule in enumerate(c.at_most):
        a, b = value_of[flat_name(rule.field)], value_of[flat_name(rule.limit)]
        flags[f"x:{i}"] = (a > b).fill_null(False)
    return value_of, flags, pre


def validate(
    raw: pl.DataFrame,
    first_row: int = 0,
    messages: Messages | None = None,
    contract: Contract | None = None,
) -> Checked:
    """Check every row of a raw chunk; ``first_row`` is the 0-based row offset of the chunk.

    Every cell is read once: one pass gives each column's typed value and each row's
    problem flags, and the valid rows are the ones without a flag. Columns missing from
    the chunk are read as never asked. Dates are checked against ``messages.today`` (the
    run's date, from the adapter), exactly as the single validator does. The valid frame
    has ``row``, ``id`` and one typed column per contract field, named by its dotted path.
    """
    c = contract or load_contract()
    msgs = messages or Messages(c)
    cols = flat_columns(c)
    n = raw.height
    value_of, flags, pre = _plan(raw, c, msgs.today)
    keys = [f"flag {k}" for k in flags]
    typed = (raw.with_columns(pre) if pre else raw).select(
        pl.int_range(first_row + 1, first_row + 1 + n, dtype=pl.Int64).alias("row"),
        *[value_of[col.name].alias(col.path) for col in cols],
        *[f.alias(k) for k, f in zip(keys, flags.values(), strict=True)],
    )
    ok = typed.select(pl.any_horizontal(keys).not_() if keys else pl.lit(True)).to_series()
    rejected = n - int(ok.sum()) if keys else 0
    lf = typed.lazy()
    if rejected:
        lf = lf.filter(pl.lit(ok))
    valid = lf.select("row", *[col.path for col in cols])
    errors = pl.DataFrame(schema=ERROR_SCHEMA)
    if rejected:
        bad = raw.with_columns(
            pl.int_range(first_row + 1, first_row + 1 + n, dtype=pl.Int64).alias("__row")
        ).filter(~ok)
        bad_values, bad_flags, bad_pre = _plan(bad.drop("__row"), c, msgs.today)
        checked = (bad.with_columns(bad_pre) if bad_pre else bad).select(
            "__row",
            (
                pl.col("id").cast(pl.String, strict=False)
                if "id" in raw.columns
                else pl.lit(None, pl.String)
            ).alias("__id"),
            *[v.alias("v:" + name) for name, v in bad_values.items()],
            *[f.alias(key) for key, f in bad_flags.items()],
        )
        errors = _errors(bad, checked, list(bad_flags), msgs, c)
    return Checked(valid=valid, errors=errors, rows_in=n, rows_rejected=rejected)


def _errors(
    raw: pl.DataFrame, checked: pl.DataFrame, flags: Iterable[str], msgs: Messages, c: Contract
) -> pl.DataFrame:
    """One line per problem for the rejected rows (few), in row then column order."""
    by_name = columns_by_name(c)
    rows = checked.get_column("__row").to_list()
    ids = checked.get_column("__id").to_list()
    lines: list[tuple[int, int, int, str | None, str, str]] = []
    order = {col.name: i for i, col in enumerate(flat_columns(c))}
    for flag in flags:
        hit = checked.get_column(flag).to_list()
        if not any(hit):
            continue
        kind, name = flag.split(":", 1)
        if kind == "x":
            rule = c.at_most[int(name)]
            a_name, b_name = flat_name(rule.field), flat_name(rule.limit)
            avals = checked.get_column("v:" + a_name).to_list()
            bvals = checked.get_column("v:" + b_name).to_list()
            for i, h in enumerate(hit):
                if h:
                    msg = msgs.at_most(rule, avals[i], bvals[i])
                    lines.append((rows[i], order[a_name], 2, ids[i], a_name, msg))
            continue
        col = by_name[name]
        if kind == "m":
            for i, h in enumerate(hit):
                if h:
                    lines.append((rows[i], order[name], 1, ids[i], name, msgs.missing(col)))
            continue
        values = raw.get_column(name).to_list()
        for i, h in enumerate(hit):
            if h:
                lines.append((rows[i], order[name], 0, ids[i], name, msgs.bad(col, values[i])))
    lines.sort(key=lambda t: (t[0], t[1], t[2]))
    return pl.DataFrame(
        {
            "row": [t[0] for t in lines],
            "id": [t[3] for t in lines],
            "field": [t[4] for t in lines],
            "message": [t[5] for t in lines],
        },
        schema=ERROR_SCHEMA,
    )
