"""Benchmark the batch mode against the single-assessment engine, side by side in one run.

Run: `.venv/bin/python benchmarks/bench_batch.py [--n 1000000] [--sample 20000]`.

A synthetic cohort of N rows is written once as Parquet and as CSV (not timed in the
rates). Each mode then runs in its own fresh process, so its peak memory (ru_maxrss) is
its own: the batch mode file to file (read, validate, score, write both outputs), and the
single-assessment engine on a sample (parse_assessment + Engine.assess per row, after the
rows were turned into JSON-like dicts, which is not timed). Each batch process runs twice:
"cold" (loading and compiling the knowledge and warming Polars up are included) and "warm"
(the same file again in the same process). Batch runs are repeated and the best and median
are printed, since shared machines are noisy. Peak memory is also measured at two chunk
sizes to show it follows the chunk size, not the file size.

`backstory synth` writes Parquet with version-2 data pages, which Polars reads several
times faster than the version-1 pages its own writer uses by default (Boolean columns are
then run-length encoded). The same cohort written by `DataFrame.write_parquet` with its
defaults is measured too ("batch_parquet_polars_default"), so both figures are on record.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would include the parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_batch(inp: str, out: str, chunk: int | None) -> dict[str, Any]:
    """A cold run (loads and compiles the knowledge, warms Polars up), then a warm one."""
    from backstory.batch.run import run_batch

    t = time.perf_counter()
    stats = run_batch(inp, out, chunk_size=chunk)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    run_batch(inp, out, chunk_size=chunk)
    warm = time.perf_counter() - t
    return {
        "rows": stats.rows_in,
        "chunks": stats.chunks,
        "scored": stats.rows_scored,
        "rejected": stats.rows_rejected,
        "seconds": cold,
        "rows_per_s": stats.rows_in / cold,
        "warm_rows_per_s": stats.rows_in / warm,
        "peak_mb": _peak_mb(),
    }


def child_single(inp: str, sample: int) -> dict[str, Any]:
    import polars as pl

    from backstory.batch.flat import row_to_assessment
    from backstory.contract import AssessmentError, parse_assessment
    from backstory.core.engine import Engine
    from backstory.knowledge.loader import load_knowledge

    rows = pl.read_parquet(inp, n_rows=sample).to_dicts()
    data = [row_to_assessment(r) for r in rows]
    engine = Engine(load_knowledge())
    t = time.perf_counter()
    scored = 0
    for d in data:
        try:
            engine.assess(parse_assessment(d))
            scored += 1
        except AssessmentError:
            pass
    seconds = time.perf_counter() - t
    return {
        "rows": len(data),
        "scored": scored,
        "seconds": seconds,
        "rows_per_s": len(data) / seconds,
        "peak_mb": _peak_mb(),
    }


def _spawn(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000, help="rows in the synthetic cohort")
    ap.add_argument("--sample", type=int, default=20_000, help="rows for the single engine")
    ap.add_argument(
        "--chunk-size", type=int, default=None, help="rows per chunk (default: the batch default)"
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--invalid-rate", type=float, default=0.01)
    ap.add_argument("--workdir", default=None, help="keep the files here (default: a temp dir)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "batch":
            res = child_batch(rest[0], rest[1], None if rest[2] == "auto" else int(rest[2]))
        else:
            res = child_single(rest[0], int(rest[1]))
        print(json.dumps(res))
        return

    from backstory.batch.synth import write_cohort

    tmp = tempfile.TemporaryDirectory() if args.workdir is None else None
    work = Path(args.workdir or tmp.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    files = {"parquet": work / "cohort.parquet", "csv": work / "cohort.csv"}
    synth_s = {}
    for fmt, path in files.items():
        t = time.perf_counter()
        df = write_cohort(args.n, path, seed=args.seed, invalid_rate=args.invalid_rate)
        synth_s[fmt] = round(time.perf_counter() - t, 2)
        if fmt == "parquet":
            df.write_parquet(work / "cohort-polars-default.parquet")
        del df
    files["parquet_polars_default"] = work / "cohort-polars-default.parquet"

    result: dict[str, Any] = {
        "rows": args.n,
        "cores": os.cpu_count(),
        "synth_seconds": synth_s,
        "file_mb": {k: round(p.stat().st_size / 1e6, 1) for k, p in files.items()},
    }
    # the single engine is measured as often as each batch mode, and its best run is the
    # reference for the ratios (best against best), so noise cannot flatter the batch mode
    singles = [
        _spawn("single", str(files["parquet"]), str(args.sample)) for _ in range(args.repeat)
    ]
    single = max(singles, key=lambda r: float(r["rows_per_s"]))
    result["single_engine"] = {
        "rows": single["rows"],
        "rows_per_s": round(single["rows_per_s"]),
        "rows_per_s_median": round(statistics.median(r["rows_per_s"] for r in singles)),
        "peak_mb": round(max(r["peak_mb"] for r in singles)),
    }
    for fmt, path in files.items():
        chunk = str(args.chunk_size or "auto")
        runs = [
            _spawn("batch", str(path), str(work / f"out-{fmt}.parquet"), chunk)
            for _ in range(args.repeat)
        ]
        rates = [r["rows_per_s"] for r in runs]
        warm = [r["warm_rows_per_s"] for r in runs]
        best = max(rates)
        result[f"batch_{fmt}"] = {
            "chunks": runs[0]["chunks"],
            "scored": runs[0]["scored"],
            "rejected": runs[0]["rejected"],
            "best_seconds": round(min(r["seconds"] for r in runs), 2),
            "rows_per_s_best": round(best),
            "rows_per_s_median": round(statistics.median(rates)),
            "peak_mb": round(max(r["peak_mb"] for r in runs)),
            "ratio_to_single_best": round(best / single["rows_per_s"], 1),
            "ratio_median_to_median": round(
                statistics.median(rates) / result["single_engine"]["rows_per_s_median"], 1
            ),
            "warm_rows_per_s_best": round(max(warm)),
            "warm_rows_per_s_median": round(statistics.median(warm)),
        }
    small = max(1, (args.chunk_size or 200_000) // 4)
    mem = _spawn("batch", str(files["parquet"]), str(work / "out-small.parquet"), str(small))
    result["parquet_peak_mb_by_chunk_size"] = {
        small: round(mem["peak_mb"]),
        args.chunk_size or 200_000: result["batch_parquet"]["peak_mb"],
    }
    print(json.dumps(result, indent=2))
    for fmt in files:
        r = result[f"batch_{fmt}"]
        print(
            f"batch ({fmt}): {r['rows_per_s_best']:,} rows/s best (median "
            f"{r['rows_per_s_median']:,}), {r['ratio_to_single_best']}x the single engine "
            f"({result['single_engine']['rows_per_s']:,} rows/s), peak {r['peak_mb']} MB",
            file=sys.stderr,
        )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
