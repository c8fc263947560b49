"""Search throughput and plan latency. Run: python benchmarks/bench_search.py

Times the real exhaustive search (enumeration + vectorized evaluation + ranking), median of repeats
after a warm-up, and prints candidates per second. Results are written in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
import time

from accelplan.api import compare, make_workload
from accelplan.catalog.loader import load_catalog
from accelplan.plan.search import search

CASES = [  # (model, chip, chips, seq, global batch)
    ("llama3.1-405b", "h100-sxm", 16384, 8192, 2048),
    ("deepseek-v3", "h800-sxm", 2048, 4096, 15360),
    ("openpangu-505b-moe", "ascend-910b", 4096, 4096, 4096),
    ("llama3.1-70b", "tpu-v5p", 1024, 8192, 1024),
]


def timed(fn, repeats: int = 5) -> tuple[float, object]:
    fn()
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    cat = load_catalog()
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, cores seen: {__import__('os').cpu_count()}")
    print("| model | chip | chips | candidates | feasible | search s (median) | candidates/s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for model, chip_id, n, seq, gbs in CASES:
        w = make_workload(model, tokens=1e12, seq_len=seq, global_batch=gbs, catalog=cat)
        c = cat.chip(chip_id)
        s = cat.default_system(c)
        st = cat.default_stack(c)
        dt, res = timed(lambda w=w, s=s, c=c, n=n, st=st: search(w, s, c, n, stack=st))
        print(f"| {model} | {chip_id} | {n} | {res.candidates:,} | {res.feasible:,} | {dt:.3f} | "
              f"{res.candidates / dt:,.0f} |")
    dt, _ = timed(lambda: compare(), repeats=1)
    print(f"\naccelplan.compare() with defaults (8 chips, chips-needed search): {dt:.2f} s")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "accelplan", "--help"], capture_output=True, check=True)
    print(f"`python -m accelplan --help` wall time: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "accelplan", "compare"], capture_output=True, check=True)
    print(f"`python -m accelplan compare` wall time: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
