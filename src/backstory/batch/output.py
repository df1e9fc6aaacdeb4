"""Write a run's outputs: a temporary file per output that takes its real name only when the
run is sound, CSV cells a spreadsheet would run made harmless, and leftovers of killed runs
swept away."""

from __future__ import annotations

import os
import re

import polars as pl

from backstory.batch.chunks import Format, count_records
from backstory.batch.parquet_sink import ParquetSink


def errors_path(out: str | os.PathLike[str]) -> str:
    """Where the problems go: the output's name followed by ``.errors.csv``."""
    return f"{os.fspath(out)}.errors.csv"


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


class OutputWriter:
    """Append chunks to a temporary file; it takes the real name only when the run is sound."""

    def __init__(self, path: str, fmt: Format, empty: pl.DataFrame) -> None:
        self.path = path
        self.fmt = fmt
        sweep_partials(path)
        self.tmp = f"{path}{PARTIAL}{os.getpid()}"
        self._closed = False
        self._sink: ParquetSink | None = None
        if fmt == "parquet":
            self._sink = ParquetSink(self.tmp, empty.schema)
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
