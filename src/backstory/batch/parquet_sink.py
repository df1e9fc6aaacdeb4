"""A Parquet file written by Polars' streaming writer in a thread of its own."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import polars as pl

_END: Any = object()


class ParquetSink:
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
