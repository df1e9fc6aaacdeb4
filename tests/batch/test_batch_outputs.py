"""Batch outputs are safe to open (issue 13, item 5), each finding reproduced first.

``kill -9`` left ``OUT.partial-PID`` files behind; ids such as ``=HYPERLINK(...)``,
``@SUM(1)`` and ``+1+1`` were written into CSV outputs as they were, so a spreadsheet ran
them as formulas.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from backstory.batch.run import errors_path, run_batch, safe_cells, sweep_partials
from backstory.batch.synth import write_cohort
from backstory.cli.main import cli

SRC = Path(__file__).parents[2] / "src"
RISKY = ['=HYPERLINK("http://x","y")', "@SUM(1)", "+1+1", "-2+3", "=1"]


def _dead_pid() -> int:
    p = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(p.stdout)


def test_formula_cells_are_neutralised_in_csv_and_kept_in_parquet(tmp_path: Path) -> None:
    inp = tmp_path / "in.csv"
    ids = [*RISKY, "plain", "@bad"]
    pl.DataFrame({"id": ids, "age": ["40"] * (len(ids) - 1) + ["15"]}).write_csv(inp)
    run_batch(inp, tmp_path / "out.csv")
    run_batch(inp, tmp_path / "out.parquet")
    got = pl.read_csv(tmp_path / "out.csv", infer_schema=False).get_column("id").to_list()
    assert got == [*("'" + i for i in RISKY), "plain"]
    raw = pl.read_parquet(tmp_path / "out.parquet").get_column("id").to_list()
    assert raw == [*RISKY, "plain"]  # Parquet keeps the raw value
    # the problems file is CSV too: its ids are neutralised the same way
    errs = pl.read_csv(errors_path(tmp_path / "out.csv"), infer_schema=False)
    assert errs.get_column("id").to_list() == ["'@bad"]


def test_safe_cells_changes_text_only() -> None:
    df = pl.DataFrame({"t": ["=1", "\tx", "\rx", "ok", None, "x=1"], "n": [-1, 2, 3, 4, 5, 6]})
    out = safe_cells(df)
    assert out.get_column("t").to_list() == ["'=1", "'\tx", "'\rx", "ok", None, "x=1"]
    assert out.get_column("n").to_list() == [-1, 2, 3, 4, 5, 6]


def test_a_killed_runs_partial_files_are_swept_by_the_next_run(tmp_path: Path) -> None:
    inp = tmp_path / "in.csv"
    write_cohort(200, inp, seed=1)
    out = tmp_path / "out.csv"
    dead = _dead_pid()
    left = [Path(f"{out}.partial-{dead}"), Path(f"{errors_path(out)}.partial-{dead}")]
    alive = Path(f"{out}.partial-{os.getppid()}")  # a running process's: never touched
    others = [tmp_path / f"out.csv.partial-{dead}x", tmp_path / f"other.csv.partial-{dead}"]
    for p in [*left, alive, *others]:
        p.write_text("half")
    run_batch(inp, out)
    assert not any(p.exists() for p in left)
    assert alive.exists() and all(p.exists() for p in others)
    assert sweep_partials(str(out)) == []


def test_kill_9_then_a_new_run_leaves_only_the_outputs(tmp_path: Path) -> None:
    # the real thing: a batch killed with SIGKILL mid-run, then the same output again
    inp = tmp_path / "in.csv"
    write_cohort(300_000, inp, seed=2)
    out = tmp_path / "out.csv"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from backstory.cli.main import cli; cli()",
            "batch",
            "-q",
            "--chunk-size",
            "20000",
            str(inp),
            str(out),
        ],
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    for _ in range(600):  # wait (bounded) until it has started writing
        if list(tmp_path.glob("out.csv.partial-*")) or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    r = CliRunner().invoke(cli, ["batch", "-q", str(inp), str(out)])
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv", "out.csv.errors.csv"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_polite_stop_removes_the_partial_files(tmp_path: Path, sig: int) -> None:
    inp = tmp_path / "in.csv"
    write_cohort(300_000, inp, seed=3)
    out = tmp_path / "out.parquet"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from backstory.cli.main import cli; cli()",
            "batch",
            "-q",
            "--chunk-size",
            "20000",
            str(inp),
            str(out),
        ],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stderr=subprocess.PIPE,
    )
    for _ in range(600):
        if list(tmp_path.glob("out.parquet.partial-*")) or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate()
    assert proc.returncode != 0 and not out.exists()  # stopped mid-run
    assert b"Traceback" not in err or sig == signal.SIGINT
    assert sorted(p.name for p in tmp_path.iterdir() if "partial" in p.name) == []


def test_the_batch_command_refuses_dates_after_its_own_today(tmp_path: Path) -> None:
    # reproduced for the single validator (9999-12-31 stored); the batch command gives the
    # contract its own date too, so far-future and pre-1900 dates are rejected rows
    import datetime as dt

    inp = tmp_path / "in.csv"
    soon = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    days = ["9999-12-31", "0001-01-01", "1899-12-31", "1900-01-01", soon]
    pl.DataFrame(
        {"id": [f"d{i}" for i in range(5)], "age": ["40"] * 5, "assessed_on": days}
    ).write_csv(inp)
    out = tmp_path / "out.csv"
    r = CliRunner().invoke(cli, ["batch", "-q", str(inp), str(out)])
    assert r.exit_code == 0, r.stderr
    errs = pl.read_csv(errors_path(out), infer_schema=False)
    assert errs.get_column("id").to_list() == ["d0", "d1", "d2"]
    assert pl.read_csv(out, infer_schema=False).get_column("id").to_list() == ["d3", "d4"]
