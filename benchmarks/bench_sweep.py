"""Sweep throughput: scenarios per second of the 1,000-scenario grid on each engine.

Run: python benchmarks/bench_sweep.py [--workers 2] [--repeat 1]

Engines: in-process (one scenario at a time, the baseline), the local process pool, and Ray on a
local runtime. Each run starts from an empty output; times include the engine's start-up (process
pool spawn; Ray's worker processes), and Ray's runtime start (`ray.init`: GCS, raylet) is timed on its own.
The Ray rows are checked to be identical to the local ones. Results are written in
benchmarks/RESULTS_sweep.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from accelplan.sweep.engines import InlineEngine, LocalEngine, RayEngine
from accelplan.sweep.grid import parse_grid
from accelplan.sweep.runner import run_sweep

# 5 dense models x 10 chips x 5 cluster sizes x 2 token budgets x 2 context lengths = 1,000 scenarios,
# each one full plan search on a fixed chip count (the same grid as docs/sweep.md)
GRID = {
    "models": ["llama2-7b", "mpt-7b", "llama3.1-8b", "llama2-70b", "llama3.1-70b"],
    "chips": ["a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200-hgx", "ascend-910b", "ascend-910c", "mi300x", "gaudi3",
              "tpu-v5p", "tpu-v6e"],
    "cluster_sizes": [64, 128, 256, 512, 1024],
    "tokens": [1e12, 2e12],
    "seq_len": [4096, 8192],
    "global_batch": [1024],
}


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        names = [ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                 if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores seen, {mem_gb:.0f} GiB, {platform.system()} {platform.release()}, "
            f"CPython {platform.python_version()}")


def timed_sweep(engine, out: Path) -> tuple[float, int]:
    t = time.perf_counter()
    res = run_sweep(parse_grid(GRID), out, engine)
    return time.perf_counter() - t, res.ran


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--skip-inline", action="store_true", help="leave out the one-process baseline")
    args = ap.parse_args()
    import ray

    print(f"machine: {machine()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    engines: list[tuple[str, object]] = [] if args.skip_inline else [("in-process (1 worker)", InlineEngine())]
    engines += [(f"local pool ({args.workers} processes)", LocalEngine(args.workers)),
                (f"ray, local runtime ({args.workers} CPUs)", RayEngine(args.workers))]
    rows = []
    outs: dict[str, Path] = {}
    for name, engine in engines:
        times = []
        startup = []
        for i in range(args.repeat):
            out = tmp / f"{engine.name}-{i}.parquet"
            if engine.name == "ray":  # start the runtime here so its start-up is timed apart
                t = time.perf_counter()
                ray.init(num_cpus=args.workers, include_dashboard=False, logging_level=logging.WARNING,
                         log_to_driver=False)
                startup.append(time.perf_counter() - t)
            dt, n = timed_sweep(engine, out)
            if engine.name == "ray":
                ray.shutdown()
            times.append(dt)
            outs[engine.name] = out
        dt = statistics.median(times)
        init = statistics.median(startup) if startup else 0.0
        rows.append((name, n, dt, init, n / dt, n / (dt + init)))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| engine | scenarios | sweep wall s | runtime start s | scenarios/s | scenarios/s with runtime start |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, dt, init, rate, rate_all in rows:
        print(f"| {name} | {n:,} | {dt:.1f} | {init:.1f} | {rate:.1f} | {rate_all:.1f} |")
    same = pq.read_table(outs["local"]).equals(pq.read_table(outs["ray"]))
    print(f"ray rows identical to local rows: {same}")
    if "inline" in outs:
        print(f"in-process rows identical to local rows: {pq.read_table(outs['inline']).equals(pq.read_table(outs['local']))}")


if __name__ == "__main__":
    main()
