"""Row accounting: what a run did, and the check that rows in = rows scored + rows rejected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backstory.batch.chunks import Source
from backstory.batch.errors import AccountingError


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
