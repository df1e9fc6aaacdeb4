"""Plan an input file's chunks and read them back: the CSV splitter and the Parquet slicer.

A CSV is split at the byte offsets of its record ends (quotes respected, found a block at a
time with NumPy); a Parquet file by row slices. The plan also counts the rows, which is the
count the run's accounting is checked against (independently of the scoring).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from backstory.batch.errors import BatchError
from backstory.batch.validate import ColumnError, check_columns
from backstory.knowledge.loader import load_knowledge

Format = Literal["csv", "parquet"]
DEFAULT_CHUNK = 200_000  # rows per chunk of a Parquet file (about 60 MB in memory)
CSV_CHUNK_BYTES = 32 << 20  # text per chunk of a CSV file, when no row count is given
_BLOCK = 16 << 20  # bytes read at a time when splitting a CSV into rows


def file_format(path: str | os.PathLike[str]) -> Format:
    """CSV or Parquet, from the file name's extension."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise BatchError(f"{path}: the file name must end in .csv or .parquet")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of consecutive data rows; ``first_row`` is 0-based (output rows are 1-based)."""

    index: int
    first_row: int
    rows: int
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Source:
    """An input file split into chunks (plain data, so it travels to Dask workers)."""

    path: str
    format: Format
    columns: tuple[str, ...]
    rows: int
    chunks: tuple[Chunk, ...]
    header: bytes = b""
    today: dt.date | None = None
    """The run's date (from the caller's clock): later dates are refused, as in the validator."""


def open_source(path: str | os.PathLike[str], chunk_size: int | None = None) -> Source:
    """Check the file's columns against the contract and plan its chunks.

    ``chunk_size`` is rows per chunk; by default 200,000 for Parquet, and for a CSV as
    many rows as fit in about 32 MB of text (a CSV row's cells are held as text before
    they are checked, which takes several times the file's bytes in memory).
    """
    if chunk_size is not None and chunk_size < 1:
        raise BatchError("the chunk size must be at least 1 row")
    p = os.fspath(path)
    fmt = file_format(p)
    if not os.path.isfile(p):
        raise BatchError(f"no such file: {p}")
    if fmt == "csv":
        src = _plan_csv(p, chunk_size or _csv_chunk_rows(p))
    else:
        src = _plan_parquet(p, chunk_size or DEFAULT_CHUNK)
    try:
        check_columns(src.columns, load_knowledge().contract)
    except ColumnError as exc:
        raise BatchError(f"{p}:\n{exc}") from None
    return src


def _plan_parquet(path: str, chunk_size: int) -> Source:
    try:
        lf = pl.scan_parquet(path)
        names = tuple(lf.collect_schema().names())
        rows = int(lf.select(pl.len()).collect().item())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise BatchError(f"{path}: not a readable Parquet file ({exc})") from None
    chunks = tuple(
        Chunk(i, start, min(chunk_size, rows - start))
        for i, start in enumerate(range(0, rows, chunk_size))
    )
    return Source(path, "parquet", names, rows, chunks)


def _record_ends(path: str) -> Iterator[np.ndarray[Any, np.dtype[np.int64]]]:
    """Byte offsets just after each newline that ends a CSV record (not one inside quotes).

    Quotes inside a quoted field are doubled in CSV, so a newline ends a record exactly
    when an even number of quote characters precede it: a vectorised count per block.
    """
    parity = 0
    base = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            if not block:
                return
            buf = np.frombuffer(block, dtype=np.uint8)
            quotes = np.flatnonzero(buf == 34)
            newlines = np.flatnonzero(buf == 10)
            before = np.searchsorted(quotes, newlines)
            ends = newlines[((before + parity) & 1) == 0].astype(np.int64) + base + 1
            yield ends
            parity = (parity + len(quotes)) & 1
            base += len(block)


def _csv_chunk_rows(path: str) -> int:
    """Rows per chunk so that a chunk holds about CSV_CHUNK_BYTES of text.

    Estimated from the records in the file's first block (a row of the full flat form
    is about 500 bytes, so about 65,000 rows).
    """
    first = next(_record_ends(path), None)
    if first is None or len(first) < 2:
        return DEFAULT_CHUNK
    per_row = (int(first[-1]) - int(first[0])) / (len(first) - 1)
    return max(1_000, min(DEFAULT_CHUNK, int(CSV_CHUNK_BYTES / max(per_row, 1.0))))


def _plan_csv(path: str, chunk_size: int) -> Source:
    size = os.path.getsize(path)
    header_end: int | None = None
    bounds: list[int] = []  # byte offset where each chunk starts
    records = 0  # data records whose end has been seen
    last_end = 0
    for ends in _record_ends(path):
        if not len(ends):
            continue
        if header_end is None:
            header_end = int(ends[0])
            bounds.append(header_end)
            ends = ends[1:]
        # k numbers the data records ending in this block (1-based); a new chunk starts
        # after every chunk_size-th record
        k = np.arange(records + 1, records + 1 + len(ends))
        bounds.extend(int(e) for e in ends[(k % chunk_size) == 0])
        records += len(ends)
        if len(ends):
            last_end = int(ends[-1])
    if header_end is None:  # no newline at all: a header alone, or an empty file
        header_end = size
        bounds.append(size)
        last_end = size
    else:
        last_end = max(last_end, header_end)
    if size > last_end:  # a last record without a final newline
        records += 1
    with open(path, "rb") as fh:
        head = fh.read(header_end)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BatchError(f"{path}: the header is not UTF-8 text") from None
    names = next(csv.reader(io.StringIO(text)), [])
    if not names or names == [""]:
        raise BatchError(f"{path}: the file is empty (a header row is needed)")
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(names)
    if bounds[-1] != size:
        bounds.append(size)
    chunks: list[Chunk] = []
    first = 0
    for i, (start, end) in enumerate(itertools.pairwise(bounds)):
        n = min(chunk_size, records - first)
        if n <= 0:
            break
        chunks.append(Chunk(i, first, n, start, end))
        first += n
    return Source(path, "csv", tuple(names), records, tuple(chunks), line.getvalue().encode())


def read_chunk(src: Source, chunk: Chunk) -> pl.DataFrame:
    """The raw cells of one chunk: text for CSV (parsed later, by the contract's rules)."""
    if src.format == "parquet":
        df = pl.scan_parquet(src.path).slice(chunk.first_row, chunk.rows).collect()
    else:
        with open(src.path, "rb") as fh:
            fh.seek(chunk.start)
            data = fh.read(chunk.end - chunk.start)
        try:
            df = pl.read_csv(src.header + data, infer_schema=False, raise_if_empty=False)
        except pl.exceptions.PolarsError as exc:
            raise BatchError(_csv_problem(src, chunk, data, exc)) from None
    if df.height != chunk.rows:
        raise BatchError(
            f"{src.path}: rows {chunk.first_row + 1}-{chunk.first_row + chunk.rows} could not be "
            f"split reliably (expected {chunk.rows} rows, read {df.height}); check the quoting"
        )
    return df


def _csv_problem(src: Source, chunk: Chunk, data: bytes, exc: Exception) -> str:
    """Point at the first row that cannot be read, in plain words."""
    text = data.decode("utf-8", errors="replace")
    for i, cells in enumerate(csv.reader(io.StringIO(text)), start=chunk.first_row + 1):
        if len(cells) > len(src.columns):
            return (
                f"{src.path}: row {i} has {len(cells)} cells but the header has "
                f"{len(src.columns)} columns; nothing was written"
            )
    return f"{src.path}: rows {chunk.first_row + 1}-{chunk.first_row + chunk.rows} " + (
        f"could not be read ({str(exc).splitlines()[0]})"
    )


def count_records(path: str) -> int:
    """Data records in a CSV file (the header is not counted), quotes respected."""
    records = 0
    seen_header = False
    last_end = 0
    for ends in _record_ends(path):
        if len(ends):
            records += len(ends)
            last_end = int(ends[-1])
            if not seen_header:
                seen_header = True
                records -= 1
    size = os.path.getsize(path)
    if size > last_end:  # a last record without a final newline (or only a header)
        records += 1 if seen_header else 0
    return max(records, 0)
