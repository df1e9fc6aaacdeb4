"""`backstory batch IN OUT` and `backstory synth N OUT`."""

from __future__ import annotations

import datetime as dt
import signal
import sys
from typing import Any, Literal

import click

from backstory.cli.common import fail

EXIT_ACCOUNTING = 1


@click.command("batch")
@click.argument("inp", metavar="IN")
@click.argument("out", metavar="OUT")
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=None,
    help="Rows read, scored and written at a time; memory is bounded by it "
    "[default: 200,000 for Parquet; about 32 MB of text for CSV].",
)
@click.option(
    "--engine",
    type=click.Choice(["polars", "dask"]),
    default="polars",
    show_default=True,
    help="Score here (polars) or on an existing Dask cluster (dask).",
)
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address (with --engine dask).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary line.")
def batch_command(
    inp: str,
    out: str,
    chunk_size: int | None,
    engine: Literal["polars", "dask"],
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Score every assessment in IN (CSV or Parquet, flat form) into OUT (CSV or Parquet).

    Rows that break the contract go to OUT.errors.csv (row, id, field, message), and the
    rest are scored. A summary line (rows in, scored, rejected, time) goes to standard
    error. Exit status 0 when every row is accounted for (even if some were rejected),
    2 when the input cannot be read as the flat form (for example an unknown column),
    1 if the row accounting ever fails (the outputs are then not kept).
    """
    from backstory.batch.run import AccountingError, BatchError, Source, run_batch
    from backstory.batch.validate import ValidatorMismatch

    if engine == "dask" and not scheduler:
        fail("--engine dask needs --scheduler ADDRESS (for example tcp://10.0.0.5:8786)")
    bar: Any = None
    progress = None
    show_bar = not quiet and sys.stderr.isatty()

    def on_plan(src: Source) -> None:
        nonlocal bar
        if show_bar and src.rows:
            bar = click.progressbar(
                length=src.rows, label="scoring", file=sys.stderr, show_pos=True, width=30
            )
            bar.__enter__()

    if show_bar:

        def progress(rows: int) -> None:
            if bar is not None:
                bar.update(rows)

    handlers = _exit_on_signals()
    try:
        if engine == "dask":
            from backstory.batch.dask_engine import run_on_cluster

            stats = run_on_cluster(
                inp,
                out,
                scheduler=scheduler,
                chunk_size=chunk_size,
                progress=progress,
                on_plan=on_plan,
                today=dt.date.today(),
            )
        else:
            stats = run_batch(
                inp,
                out,
                chunk_size=chunk_size,
                progress=progress,
                on_plan=on_plan,
                today=dt.date.today(),
            )
    except BatchError as exc:
        fail(str(exc))
    except AccountingError as exc:
        fail(f"row accounting failed: {exc}", code=EXIT_ACCOUNTING)
    except ValidatorMismatch as exc:
        fail(f"internal error, nothing was kept: {exc}", code=EXIT_ACCOUNTING)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        if bar is not None:
            bar.__exit__(None, None, None)
    if not quiet:
        click.echo(f"backstory batch: {stats.summary()}", err=True)


def _exit_on_signals() -> dict[int, Any]:
    """Turn a polite stop (SIGTERM, SIGHUP) into an ordinary exit, so the run removes its
    partial files as it does on Ctrl-C; a kill -9 cannot be seen, and the next run of the
    same output sweeps what it left."""

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    before: dict[int, Any] = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            before[sig] = signal.signal(sig, stop)
    return before


@click.command("synth")
@click.argument("n", type=click.IntRange(min=0), metavar="N")
@click.argument("out", metavar="OUT")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--invalid-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of rows broken on purpose (rejected by the contract).",
)
@click.option(
    "--missing-rate",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.05,
    show_default=True,
    help="Extra share of answers left out at random.",
)
def synth_command(n: int, out: str, seed: int, invalid_rate: float, missing_rate: float) -> None:
    """Write N synthetic assessments in the flat form to OUT (CSV or Parquet).

    Realistic mix: about 1% serious pathology, 7-8% radicular pain, STarT Back roughly
    47% low, 35% medium, 18% high, some answers missing. For demos, tests and benchmarks;
    all data is synthetic.
    """
    from backstory.batch.run import BatchError
    from backstory.batch.synth import write_cohort

    try:
        write_cohort(n, out, seed=seed, invalid_rate=invalid_rate, missing_rate=missing_rate)
    except BatchError as exc:
        fail(str(exc))
    click.echo(f"backstory synth: wrote {n:,} synthetic assessments to {out}", err=True)
