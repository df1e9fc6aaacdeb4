"""Files in, files out: plan chunks, score each, write as we go, and account for every row.

Inputs are read one chunk of rows at a time (a byte range of a CSV, a row slice of a
Parquet file), scored, and written before the next is read, so memory is bounded by the
chunk size whatever the file size. The same chunk plan is what the Dask engine hands to
its workers, which is why both engines number rows and split files identically.

Every run ends with a check that rows in = rows scored + rows rejected, against a count
made independently of the scoring (the CSV splitter's own count, or the Parquet footer).
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from backstory.batch.pipeline import Pipeline
from backstory.batch.validate import ERROR_SCHEMA, ColumnError, Messages, check_columns, validate
from backstory.knowledge.loader import load_knowledge

Format = Literal["csv", "parquet"]
DEFAULT_CHUNK = 200_000
_BLOCK = 16 << 20  # bytes read at a time when splitting a CSV into rows


class BatchError(ValueError):
    """A problem with the whole run (unreadable file, unknown column): nothing is written."""


class AccountingError(RuntimeError):
    """Rows in did not equal rows scored plus rows rejected: the run is not trusted."""


def file_format(path: str | os.PathLike[str]) -> Format:
    """CSV or Parquet, from the file name's extension."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise BatchError(f"{path}: the file name must end in .csv or .parquet")


def errors_path(out: str | os.PathLike[str]) -> str:
    """Where the problems go: the output's name followed by ``.errors.csv``."""
    return f"{os.fspath(out)}.errors.csv"


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


def open_source(path: str | os.PathLike[str], chunk_size: int = DEFAULT_CHUNK) -> Source:
    """Check the file's columns against the contract and plan its chunks."""
    if chunk_size < 1:
        raise BatchError("the chunk size must be at least 1 row")
    p = os.fspath(path)
    fmt = file_format(p)
    if not os.path.isfile(p):
        raise BatchError(f"no such file: {p}")
    src = _plan_csv(p, chunk_size) if fmt == "csv" else _plan_parquet(p, chunk_size)
    try:
        check_columns(src.columns)
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


# ----------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class ChunkResult:
    """The output and problem lines for one chunk, with its own row accounting."""

    index: int
    scored: pl.DataFrame
    errors: pl.DataFrame
    rows_in: int
    rows_rejected: int


@cache
def compiled() -> tuple[Pipeline, Messages]:
    """The bundled knowledge compiled once per process (each Dask worker builds its own)."""
    return Pipeline(load_knowledge()), Messages()


def score_frame(raw: pl.DataFrame, first_row: int = 0, index: int = 0) -> ChunkResult:
    """Validate and score one chunk of raw rows."""
    pipe, msgs = compiled()
    chk = validate(raw, first_row, msgs)
    scored = pipe.apply(chk.valid).collect()
    rejected_rows = chk.errors.get_column("row").n_unique() if chk.errors.height else 0
    if scored.height + chk.rows_rejected != raw.height or rejected_rows != chk.rows_rejected:
        raise AccountingError(
            f"rows {first_row + 1}-{first_row + raw.height}: {raw.height} in, {scored.height} "
            f"scored, {chk.rows_rejected} rejected ({rejected_rows} with problems listed)"
        )
    return ChunkResult(index, scored, chk.errors, raw.height, chk.rows_rejected)


def score_chunk(src: Source, chunk: Chunk) -> ChunkResult:
    """Read and score one chunk (what each Dask worker runs)."""
    return score_frame(read_chunk(src, chunk), chunk.first_row, chunk.index)


def score_local(src: Source) -> Iterator[ChunkResult]:
    """Score the chunks in order here, reading the next chunk while this one is scored.

    Polars and Arrow release the GIL while they read, so one reader thread overlaps file
    access with scoring; at most two raw chunks are held at a time.
    """
    chunks = src.chunks
    if not chunks:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="backstory-read") as pool:
        ahead = pool.submit(read_chunk, src, chunks[0])
        for i, chunk in enumerate(chunks):
            raw = ahead.result()
            if i + 1 < len(chunks):
                ahead = pool.submit(read_chunk, src, chunks[i + 1])
            yield score_frame(raw, chunk.first_row, chunk.index)
            del raw


# ----------------------------------------------------------------------------- writing


class _Writer:
    """Append chunks to a temporary file; it takes the real name only when the run is sound."""

    def __init__(self, path: str, fmt: Format, empty: pl.DataFrame) -> None:
        self.path = path
        self.tmp = f"{path}.partial-{os.getpid()}"
        self.fmt = fmt
        self._pq: Any = None
        if fmt == "parquet":
            import pyarrow.parquet as pq  # type: ignore[import-untyped]

            self.schema = empty.to_arrow().schema
            self._pq = pq.ParquetWriter(self.tmp, self.schema)
        else:
            self._fh = open(self.tmp, "wb")  # noqa: SIM115 - closed in finish/abort
            empty.write_csv(self._fh)

    def write(self, df: pl.DataFrame) -> None:
        if not df.height:
            return
        if self._pq is not None:
            self._pq.write_table(df.to_arrow().cast(self.schema))
        else:
            df.write_csv(self._fh, include_header=False)

    def _close(self) -> None:
        if self._pq is not None:
            self._pq.close()
        else:
            self._fh.close()

    def finish(self) -> None:
        self._close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self._close()
        finally:
            if os.path.exists(self.tmp):
                os.remove(self.tmp)


@dataclass
class RunStats:
    """What a run did, for the summary line and for callers."""

    rows_in: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    problems: int = 0
    seconds: float = 0.0
    output: str = ""
    errors: str = ""
    chunks: int = 0
    engine: str = "polars"
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        rate = self.rows_in / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.rows_in:,} rows in, {self.rows_scored:,} scored, {self.rows_rejected:,} "
            f"rejected ({self.problems:,} problems in {self.errors}) in {self.seconds:.2f} s "
            f"({rate:,.0f} rows/s, {self.engine})"
        )


Progress = Callable[[int], None]


def run_batch(
    inp: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK,
    engine: Literal["polars", "dask"] = "polars",
    scheduler: str | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Source], None] | None = None,
) -> RunStats:
    """Score every row of ``inp`` into ``out`` and its errors file; check the accounting.

    Raises:
        BatchError: the input cannot be read as the flat form; nothing is written.
        AccountingError: rows were lost or double-counted; the outputs are not kept.
    """
    t0 = time.perf_counter()
    out_s = os.fspath(out)
    out_fmt = file_format(out_s)
    if os.path.abspath(out_s) == os.path.abspath(os.fspath(inp)):
        raise BatchError("the output would overwrite the input; choose another name")
    src = open_source(inp, chunk_size)
    if on_plan is not None:
        on_plan(src)
    pipe, _ = compiled()
    empty = pl.DataFrame(schema={o.name: o.dtype for o in pipe.outputs})
    stats = RunStats(output=out_s, errors=errors_path(out_s), engine=engine)
    writer = _Writer(out_s, out_fmt, empty)
    err_writer = _Writer(stats.errors, "csv", pl.DataFrame(schema=ERROR_SCHEMA))
    try:
        if engine == "dask":
            from backstory.batch.dask_engine import map_chunks

            results: Iterator[ChunkResult] = map_chunks(src, scheduler)
        else:
            results = score_local(src)
        # the previous chunk is written in a second thread while the next one is scored
        with ThreadPoolExecutor(1, thread_name_prefix="backstory-write") as pool:
            written: Future[None] | None = None
            for res in results:
                if written is not None:
                    written.result()
                written = pool.submit(_write, writer, err_writer, res)
                stats.rows_in += res.rows_in
                stats.rows_scored += res.scored.height
                stats.rows_rejected += res.rows_rejected
                stats.problems += res.errors.height
                stats.chunks += 1
                if progress is not None:
                    progress(res.rows_in)
            if written is not None:
                written.result()
        check_accounting(src, stats)
    except BaseException:
        writer.abort()
        err_writer.abort()
        raise
    writer.finish()
    err_writer.finish()
    stats.seconds = time.perf_counter() - t0
    return stats


def _write(writer: _Writer, errors: _Writer, res: ChunkResult) -> None:
    writer.write(res.scored)
    errors.write(res.errors)


def check_accounting(src: Source, stats: RunStats) -> None:
    """Rows in (counted when the file was split) = rows scored + rows rejected."""
    if not (
        stats.rows_in == src.rows == stats.rows_scored + stats.rows_rejected
        and stats.chunks == len(src.chunks)
    ):
        raise AccountingError(
            f"{src.path}: the file has {src.rows} rows but {stats.rows_in} were read, "
            f"{stats.rows_scored} scored and {stats.rows_rejected} rejected; the outputs "
            "were not kept"
        )
