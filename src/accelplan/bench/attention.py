"""Fused attention forward: torch.nn.functional.scaled_dot_product_attention, causal, (batch, heads, seq, d).

FLOP per call = 4 b h s^2 d (QK^T and PV, 2 s^2 d each per head), halved for the causal mask: the
convention of FlashAttention's own benchmarks (Dao-AILab/flash-attention, benchmarks/benchmark_flash_attention.py, flops()).
PyTorch picks the kernel (flash, memory-efficient, or the math fallback); the rate is what it gives.
"""

from __future__ import annotations

import math
from typing import Any

from accelplan.bench.buffers import ELEMENT_BYTES, budget_bytes, check_fits, randn, rotation_sets
from accelplan.bench.device import Device
from accelplan.bench.profile import AttentionPoint
from accelplan.bench.timing import Settings, time_calls

Shape = tuple[int, int, int, int]  # batch, heads, seq_len, head_dim
ACCEL_QUICK: tuple[Shape, ...] = ((4, 32, 4096, 128),)
ACCEL_FULL: tuple[Shape, ...] = ((8, 32, 2048, 128), (4, 32, 4096, 128), (2, 32, 8192, 128), (1, 32, 16384, 128))
CPU_QUICK: tuple[Shape, ...] = ((1, 8, 512, 64),)
CPU_FULL: tuple[Shape, ...] = ((2, 16, 1024, 64), (1, 16, 2048, 128))
CHECK_QUERIES = 16  # query rows of the first (batch, head) compared with float64
# max |O - O_ref| / max |V|: several roundings of the inputs' dtype (softmax and PV in low precision)
TOLERANCE = {"bf16": 2.0**-4, "fp16": 2.0**-7, "fp32": 2.0**-14}


def shapes(kind: str, quick: bool) -> tuple[Shape, ...]:
    if kind == "cpu":
        return CPU_QUICK if quick else CPU_FULL
    return ACCEL_QUICK if quick else ACCEL_FULL


def flops(shape: Shape, causal: bool = True) -> float:
    b, h, s, d = shape
    return 4.0 * b * h * s * s * d * (0.5 if causal else 1.0)


def max_abs_error(torch: Any, q: Any, k: Any, v: Any, o: Any) -> float:
    """Causal softmax(Q K^T / sqrt(d)) V in float64 for sampled query rows of (batch 0, head 0), against O."""
    s, d = q.shape[2], q.shape[3]
    rows = torch.linspace(0, s - 1, CHECK_QUERIES).round().long()
    q64, k64, v64 = (x[0, 0].float().cpu().double() for x in (q, k, v))
    scores = q64[rows] @ k64.T / math.sqrt(d)
    scores = scores.masked_fill(torch.arange(s)[None, :] > rows[:, None], float("-inf"))
    ref = torch.softmax(scores, dim=-1) @ v64
    err = (o[0, 0].float().cpu().double()[rows] - ref).abs().max()
    return float(err / v64.abs().max())


def bench(torch: Any, dev: Device, shape: Shape, dtype: str, peak_tflops: float | None, s: Settings) -> AttentionPoint:
    import torch.nn.functional as F

    b, h, n, d = shape
    set_bytes = 4 * b * h * n * d * ELEMENT_BYTES[dtype]  # q, k, v and the output
    check_fits(f"attention {shape} {dtype}", set_bytes, dev.available_bytes)
    sets = min(rotation_sets(set_bytes, dev.llc_bytes), max(1, math.floor(budget_bytes(dev.available_bytes) / set_bytes)))
    qkv = [tuple(randn(torch, shape, dtype, dev.torch_device) for _ in range(3)) for _ in range(sets)]

    def call(i: int) -> Any:
        q, k, v = qkv[i % sets]
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    t = time_calls(call, dev, sets, s)
    q, k, v = qkv[0]
    err = max_abs_error(torch, q, k, v, call(0))
    return AttentionPoint(batch=b, heads=h, seq_len=n, head_dim=d, causal=True, dtype=dtype,  # type: ignore[arg-type]
                          tflops=flops(shape) / t.median_s / 1e12, seconds=t.median_s, catalog_peak_tflops=peak_tflops,
                          rotation_sets=sets, max_abs_error=err, verified=err <= TOLERANCE[dtype])
