"""CUDA lock-in audit speed. Run: python benchmarks/bench_port.py [EXTRA_TREE ...]

Generates a 100,000-line PyTorch training tree (accelplan.port.synthetic) in a temporary folder and
times (1) the library call `accelplan.port.audit` (scan + per-target summary), median of repeats after
a warm-up, and (2) the whole command `accelplan port-audit TREE --json` as a user runs it, start-up
included. Any EXTRA_TREE given (e.g. an unpacked open-source training repository) is timed the same
way. Results are written by hand in benchmarks/RESULTS_port.md. The target is 10 s for 100k lines on a
2-core machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from accelplan.port import audit
from accelplan.port.synthetic import FINDINGS_PER_MODULE, make_tree

TARGET_S = 10.0
REPEATS = 5


def timed(fn, repeats: int = REPEATS):
    out = fn()  # warm-up: page cache, imports
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), max(times), out


def cli_wall_s(tree: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "accelplan", "port-audit", str(tree), "--json"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def row(label: str, tree: Path) -> str:
    median_s, worst_s, res = timed(lambda: audit(tree))
    scan = res.scan
    wall_s = cli_wall_s(tree)
    rate = scan.lines_scanned / median_s
    return (f"| {label} | {scan.files_scanned:,} | {scan.lines_scanned:,} | {len(scan.findings):,} | {median_s:.2f} | "
            f"{worst_s:.2f} | {wall_s:.2f} | {rate:,.0f} |")


def main() -> None:
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, cores seen: {os.cpu_count()}, "
          f"{platform.python_implementation()} {platform.python_version()}, {platform.system()} {platform.release()}; "
          f"load average (1 min) at start {os.getloadavg()[0]:.2f}")
    print("| tree | files | lines | findings | audit() s, median | audit() s, worst | `accelplan port-audit --json` "
          "wall s | lines/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        modules, lines = make_tree(tmp, lines=100_000)
        line = row("generated (synthetic.make_tree)", Path(tmp))
        print(line)
        res = audit(tmp)
        assert len(res.scan.findings) == modules * FINDINGS_PER_MODULE, "the generated tree was not fully read"
    for extra in sys.argv[1:]:
        print(row(Path(extra).name, Path(extra)))
    print(f"\nload average (1 min) at end {os.getloadavg()[0]:.2f}; target: 100k lines in under {TARGET_S:.0f} s on 2 cores")


if __name__ == "__main__":
    main()
