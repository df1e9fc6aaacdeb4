"""Benchmark the core: knowledge loading time and assessments per second.

Run: `.venv/bin/python benchmarks/bench_core.py [--n 20000] [--seed 1]`.
Synthetic assessments are generated up front (not timed). Figures are reported side by
side in one run, as ratios to validation alone, since these machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

from backstory.contract import parse_assessment
from backstory.contract.spec import load_contract
from backstory.core.engine import Engine
from backstory.knowledge.loader import data_root, load_knowledge_from


def synthetic(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Plausible random assessments: about half of each group's answers given."""
    c = load_contract()
    out = []
    for i in range(n):
        d: dict[str, Any] = {"id": f"b{i}", "age": rng.randint(16, 95)}
        for g, fields in c.groups.items():
            grp: dict[str, Any] = {}
            for k, s in fields.items():
                if rng.random() > 0.5:
                    continue
                if s.type == "bool":
                    grp[k] = rng.random() < (0.03 if g == "red_flags" else 0.4)
                elif s.type == "enum":
                    grp[k] = rng.choice(s.values)
                elif s.type in ("int", "number"):
                    grp[k] = rng.randint(int(s.minimum or 0), int(min(s.maximum or 10, 60)))
            if grp:
                d[g] = grp
        h = d.get("history", {})
        if "age_at_first_onset" in h:
            h["age_at_first_onset"] = min(h["age_at_first_onset"], d["age"])
        e = d.get("exam", {})
        if "sij_provocation_positive" in e and "sij_tests_done" in e:
            e["sij_provocation_positive"] = min(e["sij_provocation_positive"], e["sij_tests_done"])
        if rng.random() < 0.6:
            d["startback"] = [rng.randint(0, 1) for _ in range(8)] + [
                rng.choice(["not_at_all", "slightly", "moderately", "very_much", "extremely"])
            ]
        if rng.random() < 0.4:
            d["odi"] = [rng.randint(0, 5) for _ in range(10)]
        out.append(d)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    loads = []
    for _ in range(5):
        t = time.perf_counter()
        kb = load_knowledge_from(data_root())
        loads.append(time.perf_counter() - t)
    t = time.perf_counter()
    engine = Engine(kb)
    compile_s = time.perf_counter() - t

    data = synthetic(random.Random(args.seed), args.n)
    validate_rates, full_rates, core_rates, both_rates = [], [], [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        parsed = [parse_assessment(d) for d in data]
        validate_rates.append(args.n / (time.perf_counter() - t))
        t = time.perf_counter()
        for a in parsed:
            engine.assess(a)
        core_rates.append(args.n / (time.perf_counter() - t))
        t = time.perf_counter()
        for d in data:
            engine.assess(parse_assessment(d))
        both_rates.append(args.n / (time.perf_counter() - t))
        t = time.perf_counter()
        for d in data:
            engine.assess(parse_assessment(d)).to_dict()
        full_rates.append(args.n / (time.perf_counter() - t))
    result = {
        "assessments": args.n,
        "knowledge_load_ms_median": round(statistics.median(loads) * 1000, 1),
        "engine_compile_ms": round(compile_s * 1000, 1),
        "validate_per_s": round(statistics.median(validate_rates)),
        "assess_per_s": round(statistics.median(core_rates)),
        "validate_assess_per_s": round(statistics.median(both_rates)),
        "validate_assess_to_dict_per_s": round(statistics.median(full_rates)),
        "assess_vs_validate_ratio": round(
            statistics.median(core_rates) / statistics.median(validate_rates), 2
        ),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
