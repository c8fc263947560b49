"""Mixed-cluster search speed. Run: python benchmarks/bench_mixed.py

Times `accelplan.plan.mixed.search_mixed` (both block orders, every dp, tp and ep per type, micro-batch, recompute
and a window of layer splits; per-type layer rates included) on 2-type clusters of 4,096 chips, median of 5 runs
after a warm-up, and the whole `plan_mixed` (the search, each part's own homogeneous search, and the data split's
homogeneous searches at each batch share its bisection tries). Results are
written by hand in benchmarks/RESULTS.md. The target (issue 15) is 2 s for a 2-type search over 4,096 chips.
"""

from __future__ import annotations

import statistics
import time

from accelplan.api import make_workload, resolve_stack
from accelplan.catalog.loader import load_catalog
from accelplan.plan.mixed import Part, plan_mixed, search_mixed

CASES = [  # (model, seq, global batch, [(chip, count), ...])
    ("openpangu-505b-moe", 4096, 4096, [("ascend-910b", 3072), ("h100-sxm", 1024)]),
    ("llama3.1-405b", 8192, 2048, [("ascend-910c", 2048), ("h100-sxm", 2048)]),
    ("llama3.1-70b", 8192, 1024, [("mi300x", 2048), ("h200-sxm", 2048)]),
]


def main() -> None:
    cat = load_catalog()
    print("| model | mix | mixed plans | search s (median) | plans/s | plan_mixed s | pipeline tokens/s | "
          "data-split tokens/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for model, seq, gbs, mix in CASES:
        w = make_workload(model, 1e12, seq, gbs, "bf16", cat)
        parts = []
        for chip, n in mix:
            c = cat.chip(chip)
            st, note = resolve_stack(c, catalog=cat)
            parts.append(Part(c, cat.default_system(c), n, st, note))
        search_mixed(w, parts)  # warm-up
        times, n = [], 0
        for _ in range(5):
            t = time.perf_counter()
            best, n = search_mixed(w, parts)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        res = plan_mixed(w, parts)
        whole = time.perf_counter() - t
        med = statistics.median(times)
        label = " + ".join(f"{k:,} {c}" for c, k in mix)
        tps = f"{res.best.tokens_per_s:,.0f}" if res.best else "-"
        split = f"{res.data_split.tokens_per_s:,.0f}" if res.data_split else "-"
        print(f"| {model} | {label} | {n:,} | {med:.3f} | {n / med:,.0f} | {whole:.2f} | {tps} | {split} |")


if __name__ == "__main__":
    main()
