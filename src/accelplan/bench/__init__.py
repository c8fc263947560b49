"""Measured calibration: microbenchmarks on the PyTorch device at hand, written as a profile the model accepts.

    accelplan bench --device cuda --out profile.yaml          GEMM, copy/triad bandwidth, SDPA attention
    torchrun --nproc-per-node 8 -m accelplan.bench.collectives --out profile.yaml   collectives

`load_profile(path)` returns a `CalibrationProfile`; pass it as `calibration=` to accelplan.api.
This package's top level imports nothing heavy (the CLI imports `accelplan.bench.cli` at start-up);
the names below load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CalibrationProfile", "load_profile", "save_profile", "run_bench"]


def __getattr__(name: str) -> Any:
    if name in ("CalibrationProfile", "load_profile", "save_profile"):
        from accelplan.bench import profile

        return getattr(profile, name)
    if name == "run_bench":
        from accelplan.bench.run import run_bench

        return run_bench
    raise AttributeError(f"module 'accelplan.bench' has no attribute '{name}'")
