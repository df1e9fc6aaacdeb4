"""Score chunks: validate and score one chunk, or a file's chunks here, two at a time."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, lru_cache

import polars as pl

from backstory.batch.chunks import Chunk, Source, read_chunk
from backstory.batch.errors import AccountingError
from backstory.batch.pipeline import Pipeline
from backstory.batch.validate import Messages, validate
from backstory.knowledge.loader import load_knowledge


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
