"""Run the chunk plan on an existing Dask cluster.

Each task is one chunk: the worker reads its own rows from the input (so the file must
be on storage every worker can read), compiles the knowledge itself (once per worker
process) and returns the scored rows and problem lines. The client writes results in
chunk order, keeping only a few chunks in flight so its memory stays bounded too.
Workers need the same Backstory version installed as the client; the knowledge version
of every result is checked against the client's.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from backstory.batch.accounting import RunStats
from backstory.batch.chunks import Chunk, Source
from backstory.batch.errors import BatchError
from backstory.batch.run import Progress, run_batch
from backstory.batch.scoring import ChunkResult, score_chunk
from backstory.knowledge.loader import load_knowledge


def _score(src: Source, chunk: Chunk) -> ChunkResult:
    """The task run on a worker: read this chunk of the shared input and score it."""
    return score_chunk(src, chunk)


def map_chunks(src: Source, scheduler: str | None, in_flight: int = 0) -> Iterator[ChunkResult]:
    """Score every chunk on the cluster at ``scheduler``; yield results in chunk order."""
    if not scheduler:
        raise BatchError("--engine dask needs --scheduler ADDRESS (for example tcp://host:8786)")
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - a dependency of the package
        raise BatchError("--engine dask needs the 'distributed' package") from None
    try:
        client = Client(  # type: ignore[no-untyped-call]
            scheduler, timeout="20s", set_as_default=False
        )
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
    version = load_knowledge().version
    light = replace(src, chunks=())  # each task carries its own chunk, not the whole plan
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        limit = in_flight or 2 * workers
        total = len(src.chunks)
        index: dict[Any, int] = {}
        done: dict[int, ChunkResult] = {}
        queue = as_completed(loop=client.loop)  # type: ignore[no-untyped-call]
        submitted = nxt = 0

        def submit() -> None:
            nonlocal submitted
            while submitted < total and submitted - nxt < limit:
                fut = client.submit(_score, light, src.chunks[submitted], pure=False)
                index[fut.key] = submitted
                queue.add(fut)  # type: ignore[no-untyped-call]
                submitted += 1

        submit()
        for fut in queue:
            done[index.pop(fut.key)] = fut.result()
            while nxt in done:
                res = done.pop(nxt)
                got = res.scored.get_column("knowledge_version").unique().to_list()
                if got and got != [version]:
                    raise BatchError(
                        f"a worker scored with knowledge {got}, this client has {version}; "
                        "install the same Backstory version on every worker"
                    )
                yield res
                nxt += 1
            submit()
        if nxt != total:  # pragma: no cover - as_completed drained early
            raise BatchError(f"the cluster returned {nxt} of {total} chunks")
    finally:
        client.close()  # type: ignore[no-untyped-call]


def run_on_cluster(
    inp: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    scheduler: str | None,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Source], None] | None = None,
    today: dt.date | None = None,
) -> RunStats:
    """``run_batch`` with every chunk scored on the Dask cluster at ``scheduler``
    (``today`` as for ``run_batch``).

    Raises:
        BatchError: no scheduler, the cluster cannot be reached, or the input is unreadable.
        AccountingError: rows were lost or double-counted; the outputs are not kept.
    """
    return run_batch(
        inp,
        out,
        chunk_size=chunk_size,
        engine="dask",
        scheduler=scheduler,
        progress=progress,
        on_plan=on_plan,
        today=today,
        score_chunks=lambda src: map_chunks(src, scheduler),
    )
