"""Files in, files out: plan chunks, score each, write as we go, and account for every row.

Inputs are read one chunk of rows at a time (a byte range of a CSV, a row slice of a
Parquet file) and scored, two chunks at a time, while a writer thread appends finished
chunks in input order, so memory is bounded by the chunk size whatever the file size (at
most a handful of chunks are held at once). The same chunk plan is what the Dask engine
hands to its workers, which is why both engines number rows and split files identically.

Every run ends with a check that rows in = rows scored + rows rejected, against a count
made independently of the scoring (the CSV splitter's own count, or the Parquet footer),
and that the files written hold exactly the scored rows and the problem lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from backstory.batch.pipeline import Pipeline
from backstory.batch.validate import ERROR_SCHEMA, ColumnError, Messages, check_columns, validate
from backstory.errors import InputError, IntegrityError
from backstory.knowledge.loader import load_knowledge

Format = Literal["csv", "parquet"]
DEFAULT_CHUNK = 200_000  # rows per chunk of a Parquet file (about 60 MB in memory)
CSV_CHUNK_BYTES = 32 << 20  # text per chunk of a CSV file, when no row count is given
_BLOCK = 16 << 20  # bytes read at a time when splitting a CSV into rows


class BatchError(InputError):
    """A problem with the whole run (unreadable file, unknown column): nothing is written."""


class AccountingError(IntegrityError):
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
    pipe = Pipeline(load_knowledge())
    pipe.warm()  # compile the expressions now, not in two scoring threads at once
    return pipe, Messages(pipe.kb.contract)


@lru_cache(maxsize=4)
def _messages(today: dt.date | None) -> Messages:
    return compiled()[1] if today is None else Messages(compiled()[0].kb.contract, today=today)


def score_frame(
    raw: pl.DataFrame, first_row: int = 0, index: int = 0, today: dt.date | None = None
) -> ChunkResult:
    """Validate and score one chunk of raw rows (dates after ``today`` plus the contract's
    margin are refused; without ``today`` only the earliest date is checked)."""
    pipe, _ = compiled()
    msgs = _messages(today)
    n = raw.height
    chk = validate(raw, first_row, msgs, pipe.kb.contract)
    del raw  # the typed values are all that is read from here on (text cells are bulky)
    scored = pipe.apply(chk.valid).collect()
    rejected_rows = chk.errors.get_column("row").n_unique() if chk.errors.height else 0
    if scored.height + chk.rows_rejected != n or rejected_rows != chk.rows_rejected:
        raise AccountingError(
            f"rows {first_row + 1}-{first_row + n}: {n} in, {scored.height} "
            f"scored, {chk.rows_rejected} rejected ({rejected_rows} with problems listed)"
        )
    return ChunkResult(index, scored, chk.errors, n, chk.rows_rejected)


def score_chunk(src: Source, chunk: Chunk) -> ChunkResult:
    """Read and score one chunk (what each Dask worker runs)."""
    return score_frame(read_chunk(src, chunk), chunk.first_row, chunk.index, src.today)


def score_local(src: Source, workers: int = 2) -> Iterator[ChunkResult]:
    """Score the chunks here, ``workers`` at a time, and hand the results back in order.

    Each worker reads and scores a whole chunk. Polars releases the GIL while it reads
    and computes, so two chunks in flight keep both cores of a small machine busy through
    the single-threaded moments of each chunk (planning the query, wording the few
    problems); at most ``workers + 1`` chunks are held at a time.
    """
    chunks = iter(src.chunks)
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="backstory-score") as pool:
        pending: deque[Future[ChunkResult]] = deque(
            pool.submit(score_chunk, src, c) for c in itertools.islice(chunks, workers + 1)
        )
        while pending:
            res = pending.popleft().result()
            nxt = next(chunks, None)
            if nxt is not None:
                pending.append(pool.submit(score_chunk, src, nxt))
            yield res


# ----------------------------------------------------------------------------- writing


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may run as a formula when a CSV cell begins with it."""


def safe_cells(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells a spreadsheet would run as a formula, neutralised for a CSV file.

    A text cell beginning with ``= + - @``, a tab or a carriage return gets a leading
    apostrophe (``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)``), so a spreadsheet
    shows it as text and runs nothing. Numbers are never changed; Parquet keeps raw values.
    """
    risky = "^[" + "".join(re.escape(c) for c in FORMULA_START) + "]"
    text = [c for c, t in df.schema.items() if t == pl.String]
    if not text:
        return df
    return df.with_columns(
        pl.when(pl.col(c).str.contains(risky))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


PARTIAL = ".partial-"
"""A temporary output is named OUT.partial-PID until the run is sound."""


def sweep_partials(path: str) -> list[str]:
    """Remove what an earlier run writing ``path`` left behind (killed before it could clean
    up): only files named exactly ``path.partial-PID`` whose process no longer runs."""
    folder, base = os.path.split(os.path.abspath(path))
    gone: list[str] = []
    for name in os.listdir(folder):
        pid = name[len(base) + len(PARTIAL) :]
        if not (name.startswith(base + PARTIAL) and pid.isascii() and pid.isdigit()):
            continue
        if int(pid) != os.getpid() and _running(int(pid)):
            continue  # another run writing the same output right now: leave it alone
        full = os.path.join(folder, name)
        try:
            os.remove(full)
            gone.append(full)
        except FileNotFoundError:
            pass
    return gone


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    except OSError:
        return False
    return True


class _Writer:
    """Append chunks to a temporary file; it takes the real name only when the run is sound."""

    def __init__(self, path: str, fmt: Format, empty: pl.DataFrame) -> None:
        self.path = path
        self.fmt = fmt
        sweep_partials(path)
        self.tmp = f"{path}{PARTIAL}{os.getpid()}"
        self._closed = False
        self._sink: _ParquetSink | None = None
        if fmt == "parquet":
            self._sink = _ParquetSink(self.tmp, empty.schema)
        else:
            self._fh = open(self.tmp, "wb")  # noqa: SIM115 - closed in close/abort
            empty.write_csv(self._fh)

    def write(self, df: pl.DataFrame) -> None:
        if not df.height:
            return
        if self._sink is not None:
            self._sink.put(df)
        else:
            safe_cells(df).write_csv(self._fh, include_header=False)

    def close(self) -> None:
        """Flush everything to the temporary file (errors surface here)."""
        if self._closed:
            return
        self._closed = True
        if self._sink is not None:
            self._sink.close()
        else:
            self._fh.close()

    def rows(self) -> int:
        """Data rows in the closed temporary file, counted from the file itself."""
        if self.fmt == "parquet":
            return int(pl.scan_parquet(self.tmp).select(pl.len()).collect().item())
        return count_records(self.tmp)

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            if not self._closed:
                self._closed = True
                if self._sink is not None:
                    self._sink.cancel()
                else:
                    self._fh.close()
        finally:
            if os.path.exists(self.tmp):
                os.remove(self.tmp)


_END: Any = object()


class _ParquetSink:
    """One Parquet file written by Polars' own streaming writer from chunks handed to it.

    The chunks reach Polars through an I/O-source plugin fed by a small queue, so the
    file is written in a thread of its own, in parallel and in input order, while the next
    chunk is scored; the queue holds at most two chunks, so memory stays bounded.
    """

    def __init__(self, path: str, schema: pl.Schema) -> None:
        from polars.io.plugins import register_io_source

        self._queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._cancelled = False

        def chunks(*_: Any) -> Iterator[pl.DataFrame]:
            while (df := self._queue.get()) is not _END:
                yield df

        def run() -> None:
            try:
                register_io_source(chunks, schema=schema).sink_parquet(path)
            except BaseException as exc:  # handed to the caller in put/close
                self._error = exc
                _drain(self._queue)

        self._thread = threading.Thread(target=run, name="backstory-sink", daemon=True)
        self._thread.start()

    def put(self, df: pl.DataFrame) -> None:
        if not self._offer(df):
            self._raise()
            raise RuntimeError("the Parquet writer stopped before the last chunk")

    def close(self) -> None:
        self._end()
        self._raise()

    def cancel(self) -> None:
        self._cancelled = True
        self._end()

    def _offer(self, item: Any) -> bool:
        """Queue an item, waiting for room while the writer runs; False if it has stopped."""
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _end(self) -> None:
        self._offer(_END)
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None and not self._cancelled:
            raise self._error


def _drain(q: queue.Queue[Any]) -> None:
    """Empty a queue so a producer blocked on it can see that its consumer has stopped."""
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        return


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
ScoreChunks = Callable[["Source"], Iterator["ChunkResult"]]


def run_batch(
    inp: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    chunk_size: int | None = None,
    engine: Literal["polars", "dask"] = "polars",
    scheduler: str | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Source], None] | None = None,
    today: dt.date | None = None,
    score_chunks: ScoreChunks | None = None,
) -> RunStats:
    """Score every row of ``inp`` into ``out`` and its errors file; check the accounting.

    ``today`` is the run's date from the caller's clock (dates after it, plus the
    contract's margin, are refused). ``score_chunks`` scores the chunk plan somewhere else
    and yields results in chunk order (``backstory.batch.dask_engine.run_on_cluster`` passes
    the Dask one); by default the chunks are scored here. This module never imports the Dask
    engine, which imports it.

    Raises:
        BatchError: the input cannot be read as the flat form; nothing is written.
        AccountingError: rows were lost or double-counted; the outputs are not kept.
    """
    t0 = time.perf_counter()
    out_s = os.fspath(out)
    out_fmt = file_format(out_s)
    if os.path.abspath(out_s) == os.path.abspath(os.fspath(inp)):
        raise BatchError("the output would overwrite the input; choose another name")
    _check_writable(out_s)
    src = replace(open_source(inp, chunk_size), today=today)
    if on_plan is not None:
        on_plan(src)
    pipe, _ = compiled()
    empty = pl.DataFrame(schema={o.name: o.dtype for o in pipe.outputs})
    stats = RunStats(output=out_s, errors=errors_path(out_s), engine=engine)
    writers: list[_Writer] = []
    try:
        writer = _Writer(out_s, out_fmt, empty)
        writers.append(writer)
        err_writer = _Writer(stats.errors, "csv", pl.DataFrame(schema=ERROR_SCHEMA))
        writers.append(err_writer)
        if score_chunks is not None:
            results: Iterator[ChunkResult] = score_chunks(src)
        elif engine == "dask":
            raise BatchError(
                "the dask engine runs through backstory.batch.dask_engine.run_on_cluster"
            )
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
        for w in writers:
            w.close()
        check_accounting(src, stats, written=(writer.rows(), err_writer.rows()))
    except BaseException as exc:
        for w in writers:
            w.abort()
        if isinstance(exc, OSError):
            raise BatchError(f"could not write the output ({exc}); nothing was kept") from exc
        raise
    for w in writers:
        w.commit()
    stats.seconds = time.perf_counter() - t0
    return stats


def _check_writable(out: str) -> None:
    """Refuse an output whose folder is missing or read-only before any work is done."""
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise BatchError(f"cannot write {out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise BatchError(f"cannot write {out}: the folder {folder} is not writable")


def _write(writer: _Writer, errors: _Writer, res: ChunkResult) -> None:
    writer.write(res.scored)
    errors.write(res.errors)


def check_accounting(src: Source, stats: RunStats, written: tuple[int, int] | None = None) -> None:
    """Rows in (counted when the file was split) = rows scored + rows rejected.

    ``written`` is (output rows, problem lines) counted back from the files themselves,
    so a row lost on the way to the disk fails the run too.
    """
    if not (
        stats.rows_in == src.rows == stats.rows_scored + stats.rows_rejected
        and stats.chunks == len(src.chunks)
    ):
        raise AccountingError(
            f"{src.path}: the file has {src.rows} rows but {stats.rows_in} were read, "
            f"{stats.rows_scored} scored and {stats.rows_rejected} rejected; the outputs "
            "were not kept"
        )
    if written is not None and written != (stats.rows_scored, stats.problems):
        raise AccountingError(
            f"{src.path}: {stats.rows_scored} rows were scored and {stats.problems} problems "
            f"found, but the files hold {written[0]} and {written[1]}; the outputs were not kept"
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
