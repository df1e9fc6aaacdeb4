"""The flat (batch) form of an assessment: one row of named columns.

Every column comes from the contract (``Contract.flat_columns()``), so a file can never
carry a question the contract does not know. Inside the batch pipeline columns are
renamed to the dotted paths the knowledge reads (``pain_back`` -> ``pain.back``,
``startback_2`` -> ``startback.2``), so conditions compile without a translation table.

The rules for reading a cell are written once here, as plain Python (:func:`cell_value`),
and the vectorised validator must agree with them; the tests check that it does.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl

from backstory.contract.spec import Contract, FieldSpec, load_contract

# JSON's grammar for numbers: a cell that matches is the number, anything else is text
# (and so the wrong type). This mirrors what a JSON file with the same value would say.
INT_RE = r"^-?(?:0|[1-9][0-9]*)$"
NUMBER_RE = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$"
_INT = re.compile(INT_RE)
_NUMBER = re.compile(NUMBER_RE)

ABSENT: Any = object()
"""Marker for a cell that holds no answer (empty, or null)."""


@dataclass(frozen=True, slots=True)
class FlatColumn:
    """One input column: its name in the file, the path the knowledge uses, and its rules."""

    name: str
    path: str
    spec: FieldSpec
    instrument: str | None = None
    item: int = 0

    @property
    def where(self) -> str:
        """The field name the single-assessment validator uses (``startback[9]``)."""
        return f"{self.instrument}[{self.item}]" if self.instrument else self.spec.path

    @property
    def dtype(self) -> pl.DataType:
        """The column's type inside the pipeline."""
        return dtype_for(self.spec)


def dtype_for(spec: FieldSpec) -> pl.DataType:
    """Polars type for a field: enums are ``pl.Enum`` so comparisons are integer compares."""
    t = spec.type
    if t == "bool":
        return pl.Boolean()
    if t == "int":  # the narrowest type that holds the range: less memory to stream through
        lo, hi = spec.minimum or 0, spec.maximum or 0
        for dtype, bits in ((pl.Int8(), 7), (pl.Int16(), 15), (pl.Int32(), 31)):
            if -(2**bits) <= lo and hi < 2**bits:
                return dtype
        return pl.Int64()
    if t == "number":
        return pl.Float64()
    if t == "enum":
        return pl.Enum(list(spec.values))
    return pl.String()


def flat_columns(contract: Contract | None = None) -> tuple[FlatColumn, ...]:
    """The input columns in contract order (the same list as ``Contract.flat_columns``)."""
    c = contract or load_contract()
    if c is load_contract():
        return _bundled_columns()
    return _columns(c)


@cache
def _bundled_columns() -> tuple[FlatColumn, ...]:
    return _columns(load_contract())


def _columns(c: Contract) -> tuple[FlatColumn, ...]:
    cols: list[FlatColumn] = [FlatColumn(k, k, s) for k, s in c.top.items() if k != "schema"]
    for gname, group in c.groups.items():
        cols.extend(FlatColumn(f"{gname}_{k}", s.path, s) for k, s in group.items())
    for iname, inst in c.instruments.items():
        cols.extend(
            FlatColumn(f"{iname}_{i}", f"{iname}.{i}", spec, iname, i)
            for i, spec in enumerate(inst.items, start=1)
        )
    names = [col.name for col in cols]
    if names != c.flat_columns() or len(set(names)) != len(names):  # pragma: no cover
        raise AssertionError("flat columns drifted from Contract.flat_columns()")
    return tuple(cols)


def columns_by_name(contract: Contract | None = None) -> dict[str, FlatColumn]:
    """Input columns by their file name."""
    return {col.name: col for col in flat_columns(contract)}


def flat_name(path: str, contract: Contract | None = None) -> str:
    """The column name for a dotted path (``exam.sij_tests_done`` -> ``exam_sij_tests_done``)."""
    for col in flat_columns(contract):
        if col.path == path:
            return col.name
    return path


# --------------------------------------------------------------------------------------
# Reading one cell (the reference rules; the vectorised validator mirrors them)


def cell_value(spec: FieldSpec, raw: Any) -> Any:
    """What a cell means, as the value a JSON assessment would hold.

    Text follows the CSV rules: empty is absent, ``true``/``false`` are booleans in a
    boolean column, a JSON-style number is a number in a numeric column, and anything
    else stays text (which the contract then rejects with its own message). Typed cells
    (Parquet) keep their Python value; a date becomes ``YYYY-MM-DD``.
    """
    if raw is None:
        return ABSENT
    if isinstance(raw, str):
        if raw == "":
            return ABSENT
        if spec.type == "bool":
            return {"true": True, "false": False}.get(raw, raw)
        if spec.type == "int" and _INT.match(raw):
            return int(raw)
        if spec.type == "number" and _NUMBER.match(raw):
            return int(raw) if _INT.match(raw) else float(raw)
        return raw
    if isinstance(raw, (_dt.date, _dt.time)):  # a datetime keeps its time, so it is refused
        return raw.isoformat()
    if isinstance(raw, decimal.Decimal):  # a Parquet decimal is a number (not a whole number)
        return float(raw)
    if raw is not None and not isinstance(raw, (bool, int, float, list, dict)):
        return str(raw)  # other Parquet types (decimal, duration, binary): refused as text
    return raw


def row_to_assessment(row: Mapping[str, Any], contract: Contract | None = None) -> dict[str, Any]:
    """Rebuild the JSON assessment a flat row stands for (used for messages and tests).

    An instrument is present when any of its cells holds an answer; its empty cells are
    then ``null`` items, exactly as a JSON array with gaps.
    """
    c = contract or load_contract()
    cols = columns_by_name(c)
    out: dict[str, Any] = {}
    arrays: dict[str, list[Any]] = {}
    for name, raw in row.items():
        col = cols[name]
        value = cell_value(col.spec, raw)
        if col.instrument is not None:
            items = arrays.setdefault(col.instrument, [None] * c.instruments[col.instrument].length)
            items[col.item - 1] = None if value is ABSENT else value
            continue
        if value is ABSENT:
            continue
        if "." in col.path:
            group, key = col.path.split(".", 1)
            out.setdefault(group, {})[key] = value
        else:
            out[col.path] = value
    for name, items in arrays.items():
        if any(v is not None for v in items):
            out[name] = items
    return out


def flatten(data: Mapping[str, Any], contract: Contract | None = None) -> dict[str, Any]:
    """The flat row for a JSON assessment: every column, ``None`` where nothing was given."""
    c = contract or load_contract()
    row: dict[str, Any] = {}
    for col in flat_columns(c):
        if col.instrument is not None:
            items = data.get(col.instrument)
            row[col.name] = items[col.item - 1] if isinstance(items, Sequence) else None
        elif "." in col.path:
            group, key = col.path.split(".", 1)
            grp = data.get(group)
            row[col.name] = grp.get(key) if isinstance(grp, Mapping) else None
        else:
            row[col.name] = data.get(col.path)
    return row


def frame(rows: Iterable[Mapping[str, Any]], contract: Contract | None = None) -> pl.DataFrame:
    """A typed frame (Parquet-ready) from flat rows of valid values."""
    cols = flat_columns(contract)
    data: dict[str, list[Any]] = {col.name: [] for col in cols}
    for row in rows:
        for col in cols:
            v = row.get(col.name)
            if col.spec.type == "number" and v is not None:
                v = float(v)
            data[col.name].append(v)
    return pl.DataFrame({col.name: pl.Series(col.name, data[col.name], col.dtype) for col in cols})
