"""The plausible range of every numeric input a user gives on the command line, in one table.

A value outside its range is refused with the range named, before any work: these bounds keep every search finite
(a 10^11-chip plan search would never end) and catch typos (a PUE of 12, a percent given as a fraction). They are
wide on purpose: the largest published jobs sit well inside them. Where a model field has a range of its own
(accelplan.catalog.schema, economics), the bound here is the same or tighter, so a flag is refused here, once.
Imports nothing heavy (the CLI reads it at start).
"""

from __future__ import annotations

import math
from typing import Any

# name: (low, high, what the bound is about)
LIMITS: dict[str, tuple[float, float, str]] = {
    "chips": (1, 1_048_576, "accelerators in one job; the largest announced clusters have ~10^5"),
    "tp": (1, 1024, "tensor-parallel degree"),
    "pp": (1, 1024, "pipeline stages"),
    "cp": (1, 1024, "context-parallel degree"),
    "dp": (1, 1_048_576, "data-parallel replicas (of a mixed pipeline)"),
    "ep": (1, 65536, "expert-parallel degree"),
    "vpp": (1, 256, "virtual pipeline stages per stage"),
    "micro_batch": (1, 65536, "sequences per micro-batch"),
    "global_batch": (1, 16_777_216, "sequences per step"),
    "seq_len": (16, 4_194_304, "tokens per sequence"),
    "tokens": (1e6, 1e16, "training tokens"),
    "days": (0.01, 3650, "deadline in days"),
    "top": (1, 10_000, "plans to show"),
    "zero": (0, 3, "ZeRO stage"),
    "recompute_layers": (1, 1024, "layers per virtual stage that recompute"),
    "kwh_price": (0.001, 2, "electricity $/kWh"),
    "pue": (1, 3, "data-centre power usage effectiveness"),
    "years": (0.25, 20, "years over which owned hardware is amortised"),
}


def check(flag: str, name: str, value: float | None) -> str | None:
    """None when VALUE is inside LIMITS[name] (or None: not given); otherwise the one-line reason naming FLAG."""
    why = None if value is None else reason(name, value)
    return f"{flag} {why}" if why else None


def show(x: float) -> str:
    """A bound as people read it: 1,048,576 and 1e+17."""
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e9 else f"{x:g}"


def reason(name: str, value: float) -> str | None:
    """Why VALUE is refused for LIMITS[name], without the flag (the CLI's error names it); None when it is fine."""
    lo, hi, what = LIMITS[name]
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number ({what}: {show(lo)}..{show(hi)})"
    if not lo <= value <= hi:
        return f"{show(value)} is outside the plausible range {show(lo)}..{show(hi)} ({what})"
    return None


def option(default: Any, *decls: str, name: str, help: str) -> Any:  # noqa: A002
    """A typer Option for a number whose range is LIMITS[name]: the range is shown in --help, and a value outside
    it is refused before the command runs (None, i.e. not given, passes)."""
    import typer

    lo, hi, _ = LIMITS[name]

    def cb(value: float | None) -> float | None:
        why = None if value is None else reason(name, value)
        if why:
            raise typer.BadParameter(why)
        return value

    return typer.Option(default, *decls, help=f"{help} [{show(lo)}..{show(hi)}]", callback=cb)
