"""Input buffers for the benchmarks: random (never zero-filled), rotated so caches do not flatter."""

from __future__ import annotations

import math
from typing import Any

from accelplan.errors import AccelplanError

TORCH_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32", "fp8": "float8_e4m3fn"}
ELEMENT_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4, "fp8": 1}
# Rotated inputs total at least this many times the last-level cache, so no call finds its inputs
# still resident from an earlier call.
ROTATION_LLC_FACTOR = 2.0
# Share of free device memory the benchmarks may take (the rest: allocator, workspaces, other users).
MEMORY_SHARE = 0.5
FILL_BLOCK_ELEMENTS = 2**20  # random block tiled over bandwidth buffers (4 MiB of fp32)


def torch_dtype(torch: Any, name: str) -> Any:
    return getattr(torch, TORCH_DTYPES[name])


def rotation_sets(set_bytes: int, llc_bytes: int, lo: int = 2, hi: int = 8) -> int:
    """Input sets to cycle through: enough to exceed ROTATION_LLC_FACTOR x the cache, within [lo, hi]."""
    return max(lo, min(hi, math.ceil(ROTATION_LLC_FACTOR * llc_bytes / max(set_bytes, 1))))


def budget_bytes(available_bytes: int | None) -> float:
    return math.inf if available_bytes is None else MEMORY_SHARE * available_bytes


def check_fits(what: str, need_bytes: float, available_bytes: int | None) -> None:
    if need_bytes > budget_bytes(available_bytes):
        raise AccelplanError(f"{what}: needs {need_bytes / 1e9:.2f} GB of device memory, more than "
                             f"{MEMORY_SHARE:.0%} of the {(available_bytes or 0) / 1e9:.2f} GB free; free memory or use --quick")


def randn(torch: Any, shape: tuple[int, ...], dtype: str, device: Any) -> Any:
    """Normal random values in the benchmark dtype (fp8: cast from fp32; all within e4m3's +-448 range)."""
    x = torch.randn(shape, dtype=torch.float32, device=device)
    return x if dtype == "fp32" else x.to(torch_dtype(torch, dtype))


def fill_nonzero(torch: Any, t: Any) -> Any:
    """Fill a 1-D fp32 buffer with a random block of values in +-[0.5, 1.5), tiled: no zeros, and a period
    (4 MiB) far beyond the small blocks hardware memory compression works on. Much faster than
    generating every element, which matters for buffers of several GB on a CPU."""
    n = t.numel()
    block = min(n, FILL_BLOCK_ELEMENTS)
    u = torch.rand(block, dtype=torch.float32, device=t.device)
    sign = torch.where(torch.rand(block, device=t.device) < 0.5, -1.0, 1.0)
    b = (0.5 + u) * sign
    whole = n // block
    t[: whole * block].view(whole, block).copy_(b.expand(whole, block))
    if n > whole * block:
        t[whole * block:].copy_(b[: n - whole * block])
    return t
