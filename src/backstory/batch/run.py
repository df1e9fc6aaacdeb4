"""Files in, files out: plan chunks, score each, write as we go, and account for every row.

Inputs are read one chunk of rows at a time (a byte range of a CSV, a row slice of a
Parquet file) and scored, two chunks at a time, while a writer thread appends finished
chunks in input order, so memory is bounded by the chunk size whatever the file size (at
most a handful of chunks are held at once). The same chunk plan is what the Dask engine
hands to its workers, which is why both engines number rows and split files identically.

Every run ends with a check that rows in = rows scored + rows rejected, against a count
made independently of the scoring (the CSV splitter's own count, or the Parquet footer),
and that the files written hold exactly the scored rows and the problem lines.

This module only runs the parts, each in its own module: ``chunks`` (the CSV splitter and
Parquet slicer), ``scoring`` (one chunk, or a file's chunks here), ``output`` (the output
files and the CSV cell guard), ``parquet_sink`` (the streaming Parquet writer) and
``accounting`` (the run's counts and their check). Their public names are importable from
here too. The Dask engine imports this module; this module never imports it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Literal

import polars as pl

from backstory.batch.accounting import RunStats, check_accounting
from backstory.batch.chunks import (
    CSV_CHUNK_BYTES,
    DEFAULT_CHUNK,
    Chunk,
    Format,
    Source,
    count_records,
    file_format,
    open_source,
    read_chunk,
)
from backstory.batch.errors import AccountingError, BatchError
from backstory.batch.output import (
    FORMULA_START,
    PARTIAL,
    OutputWriter,
    errors_path,
    safe_cells,
    sweep_partials,
)
from backstory.batch.scoring import ChunkResult, compiled, score_chunk, score_frame, score_local
from backstory.batch.validate import ERROR_SCHEMA

__all__ = [
    "CSV_CHUNK_BYTES",
    "DEFAULT_CHUNK",
    "FORMULA_START",
    "PARTIAL",
    "AccountingError",
    "BatchError",
    "Chunk",
    "ChunkResult",
    "Format",
    "Progress",
    "RunStats",
    "ScoreChunks",
    "Source",
    "check_accounting",
    "compiled",
    "count_records",
    "errors_path",
    "file_format",
    "open_source",
    "read_chunk",
    "run_batch",
    "safe_cells",
    "score_chunk",
    "score_frame",
    "score_local",
    "sweep_partials",
]


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
    writers: list[OutputWriter] = []
    try:
        writer = OutputWriter(out_s, out_fmt, empty)
        writers.append(writer)
        err_writer = OutputWriter(stats.errors, "csv", pl.DataFrame(schema=ERROR_SCHEMA))
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


def _write(writer: OutputWriter, errors: OutputWriter, res: ChunkResult) -> None:
    writer.write(res.scored)
    errors.write(res.errors)
