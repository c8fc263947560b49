"""Fused attention, forward and backward: torch.nn.functional.scaled_dot_product_attention, causal, (batch, heads, seq, d).

FLOP per forward call = 4 b h s^2 d (QK^T and PV, 2 s^2 d each per head), halved for the causal mask; per backward
call 2.5 x the forward (dV, dP, dS->dQ, dS->dK: four matmuls, plus recomputing QK^T, five in all against the
forward's two). Both are the convention of FlashAttention's own benchmarks (Dao-AILab/flash-attention,
benchmarks/benchmark_flash_attention.py, flops(): mode "bwd" = 2.5 x "fwd"), the figures FlashAttention-2
(Dao, arXiv 2307.08691, sec. 4.1) reports, and the convention of the step model's attention rates (perf/kernels.py).
PyTorch picks the kernel (flash, memory-efficient, cuDNN, or the math fallback); the rate is what it gives.

q, k and v require grad, so the forward is timed as in training (the kernel keeps what the backward needs).
The backward is timed as forward + backward (torch.autograd.grad of the output against q, k, v with a random
output gradient per rotation set; autograd.grad returns fresh gradients, nothing accumulates into .grad) minus
the forward: backward seconds = median(fwd + bwd) - median(fwd), each the median over repeats (bench/timing.py).
Checked: the output on sampled query rows against a float64 causal softmax, and dQ on the same rows against the
float64 gradient (dQ_i = sum_j P_ij (dP_ij - D_i) k_j / sqrt(d), dP = dO V^T, D_i = sum_j P_ij dP_ij); dK and dV
are checked to be finite only (a float64 reference for them needs every query row: s^2 d work in float64).
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
CPU_FULL: tuple[Shape, ...] = ((1, 8, 512, 64), (2, 16, 1024, 64), (1, 16, 2048, 128))
# torch's CPU attention backward runs 5-50x slower than its forward (bf16 without AVX512-BF16: 8.7 s per
# 1x16x2048x128 call on a 2-core EPYC), and a CPU profile calibrates no chip: on a CPU the backward is timed
# only up to the quick shape's size.
CPU_BWD_MAX_FLOP = 4.0 * 1 * 8 * 512 * 512 * 64 * 0.5
CHECK_QUERIES = 16  # query rows of the first (batch, head) compared with float64
# max |O - O_ref| / max |V|: several roundings of the inputs' dtype (softmax and PV in low precision)
TOLERANCE = {"bf16": 2.0**-4, "fp16": 2.0**-7, "fp32": 2.0**-14}
# max |dQ - dQ_ref| / max |dQ_ref| on the checked rows. Seen on a CPU (torch 2.13): bf16 1.2, fp16 0.16 units
# of 2^-8; fp32 5.5e-6 at s = 2048, growing with s. A wrong gradient (no causal mask, zeros) scores about 1.
BWD_TOLERANCE = {"bf16": 2.0**-4, "fp16": 2.0**-7, "fp32": 2.0**-12}
LSE_BYTES = 4  # fp32 log-sum-exp per query row, kept by the forward for the backward


def shapes(kind: str, quick: bool) -> tuple[Shape, ...]:
    if kind == "cpu":
        return CPU_QUICK if quick else CPU_FULL
    return ACCEL_QUICK if quick else ACCEL_FULL


def flops(shape: Shape, causal: bool = True) -> float:
    b, h, s, d = shape
    return 4.0 * b * h * s * s * d * (0.5 if causal else 1.0)


def bwd_flops(shape: Shape, causal: bool = True) -> float:
    """Backward FLOP per call: 2.5 x the forward (FlashAttention's benchmark convention)."""
    return 2.5 * flops(shape, causal)


def measures_backward(kind: str, shape: Shape) -> bool:
    return kind != "cpu" or flops(shape) <= CPU_BWD_MAX_FLOP


def _rows(torch: Any, s: int) -> Any:
    return torch.linspace(0, s - 1, CHECK_QUERIES).round().long()


def _reference_probs(torch: Any, q64: Any, k64: Any, rows: Any) -> Any:
    s, d = q64.shape
    scores = q64[rows] @ k64.T / math.sqrt(d)
    scores = scores.masked_fill(torch.arange(s)[None, :] > rows[:, None], float("-inf"))
    return torch.softmax(scores, dim=-1)


def _head0(x: Any) -> Any:
    return x[0, 0].detach().float().cpu().double()


def max_abs_error(torch: Any, q: Any, k: Any, v: Any, o: Any) -> float:
    """Causal softmax(Q K^T / sqrt(d)) V in float64 for sampled query rows of (batch 0, head 0), against O."""
    rows = _rows(torch, q.shape[2])
    q64, k64, v64 = (_head0(x) for x in (q, k, v))
    ref = _reference_probs(torch, q64, k64, rows) @ v64
    err = (_head0(o)[rows] - ref).abs().max()
    return float(err / v64.abs().max())


def dq_error(torch: Any, q: Any, k: Any, v: Any, do: Any, dq: Any) -> float:
    """max |dQ - dQ_ref| / max |dQ_ref| over sampled query rows of (batch 0, head 0), dQ_ref in float64 from the
    same (rounded) q, k, v and output gradient dO."""
    rows = _rows(torch, q.shape[2])
    q64, k64, v64, do64 = (_head0(x) for x in (q, k, v, do))
    p = _reference_probs(torch, q64, k64, rows)
    dp = do64[rows] @ v64.T
    ref = (p * (dp - (p * dp).sum(dim=-1, keepdim=True))) @ k64 / math.sqrt(q64.shape[1])
    err = (_head0(dq)[rows] - ref).abs().max()
    return float(err / ref.abs().max().clamp_min(1e-300))


def bench(torch: Any, dev: Device, shape: Shape, dtype: str, peak_tflops: float | None, s: Settings,
          backward: bool = True) -> AttentionPoint:
    """Time the forward and (if `backward`) forward + backward of causal SDPA at `shape`; check both."""
    import torch.nn.functional as F

    b, h, n, d = shape
    tensor_bytes = b * h * n * d * ELEMENT_BYTES[dtype]
    set_bytes = 4 * tensor_bytes  # q, k, v and the output (backward: the output gradient) per rotation set
    # backward: the call in flight also holds its output, dq, dk, dv and the forward's log-sum-exp
    in_flight = 4 * tensor_bytes + LSE_BYTES * b * h * n if backward else 0
    check_fits(f"attention {shape} {dtype}", set_bytes + in_flight, dev.available_bytes)
    room = budget_bytes(dev.available_bytes) - in_flight
    sets = rotation_sets(set_bytes, dev.llc_bytes)
    if not math.isinf(room):
        sets = min(sets, max(1, math.floor(room / set_bytes)))
    qkv = [tuple(randn(torch, shape, dtype, dev.torch_device).requires_grad_() for _ in range(3)) for _ in range(sets)]
    grads = [randn(torch, shape, dtype, dev.torch_device) for _ in range(sets)] if backward else []

    def fwd(i: int) -> Any:
        q, k, v = qkv[i % sets]
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def fwd_bwd(i: int) -> tuple[Any, tuple[Any, ...]]:
        q, k, v = qkv[i % sets]
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return o, torch.autograd.grad(o, (q, k, v), grads[i % sets])

    t = time_calls(fwd, dev, sets, s)
    q, k, v = qkv[0]
    bwd: dict[str, Any] = {}
    if backward:
        t_both = time_calls(fwd_bwd, dev, sets, s)
        o, (dq, dk, dv) = fwd_bwd(0)
        bwd_s = t_both.median_s - t.median_s  # noise can leave nothing on a tiny shape: then no rate
        finite = all(bool(torch.isfinite(x).all()) for x in (dq, dk, dv))
        bwd_err = dq_error(torch, q, k, v, grads[0], dq) if finite else None
        bwd = {"bwd_tflops": bwd_flops(shape) / bwd_s / 1e12 if bwd_s > 0 else None,
               "bwd_seconds": bwd_s if bwd_s > 0 else None, "bwd_max_abs_error": bwd_err,
               "bwd_verified": bwd_err is not None and bwd_err <= BWD_TOLERANCE[dtype]}
    else:
        o = fwd(0)
    err = max_abs_error(torch, q, k, v, o)
    return AttentionPoint(batch=b, heads=h, seq_len=n, head_dim=d, causal=True, dtype=dtype,  # type: ignore[arg-type]
                          tflops=flops(shape) / t.median_s / 1e12, seconds=t.median_s, catalog_peak_tflops=peak_tflops,
                          rotation_sets=sets, max_abs_error=err, verified=err <= TOLERANCE[dtype], **bwd)
