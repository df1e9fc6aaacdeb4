"""Benchmark the scan-report explainer: does its time grow in step with the report's length?

Run: `.venv/bin/python benchmarks/bench_imaging.py [--repeat 3]`.
For several kinds of text (realistic reports run together, and shapes that once made the
explainer slow: long comma lists, long runs of descriptive words, one endless clause, many
headings) it times reports of 1/4, 1/2 and all of the longest accepted length
(`MAX_REPORT_CHARS`) and prints the ratio of each time to the previous one. A linear
explainer shows ratios near 2; a quadratic one near 4. Times are the best of --repeat runs
in this one process, since these machines are noisy.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from pathlib import Path

from backstory.imaging.explain import MAX_REPORT_CHARS, explain_scan
from backstory.imaging.knowledge import load_imaging_knowledge

SAMPLE = (Path(__file__).parents[1] / "tests" / "imaging" / "reports.yaml").read_text("utf-8")


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


SHAPES: dict[str, Callable[[int], str]] = {
    "realistic reports": _repeat(SAMPLE),
    "comma list": lambda n: _repeat("disc bulge, ")(n - 20) + " are not seen.",
    "descriptive words": _repeat("old mild "),
    "one long clause": _repeat("L4/5 disc bulge and L5 fracture with stenosis "),
    "many headings": _repeat("History: back pain\n"),
}


def best_time(text: str, repeat: int) -> float:
    kn = load_imaging_knowledge()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        explain_scan(text, 50, kn)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sizes = (MAX_REPORT_CHARS // 4, MAX_REPORT_CHARS // 2, MAX_REPORT_CHARS)
    print(f"{'shape':<20}" + "".join(f"{n:>12,}" for n in sizes) + "   ratios (x2 length)")
    for name, make in SHAPES.items():
        times = [best_time(make(n), args.repeat) for n in sizes]
        ratios = [b / a for a, b in itertools.pairwise(times)]
        print(
            f"{name:<20}"
            + "".join(f"{t:>11.3f}s" for t in times)
            + "   "
            + "  ".join(f"{r:.2f}" for r in ratios)
        )


if __name__ == "__main__":
    main()
