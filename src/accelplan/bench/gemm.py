"""GEMM rate: C = A @ B over shapes and dtypes, checked against a float64 reference.

bf16, fp16 and fp32 run torch.matmul into a preallocated C; fp8 (e4m3 inputs, bf16 output, unit
scales) runs torch._scaled_mm where the device supports it. FLOP per call = 2 m n k.
"""

from __future__ import annotations

import math
from typing import Any

from accelplan.bench.buffers import ELEMENT_BYTES, budget_bytes, check_fits, randn, rotation_sets, torch_dtype
from accelplan.bench.device import Device
from accelplan.bench.profile import GemmPoint
from accelplan.bench.timing import Settings, best_wall_rate, time_calls

DTYPES: tuple[str, ...] = ("bf16", "fp16", "fp8", "fp32")
Shape = tuple[int, int, int]

# Square shapes up to 8192 (the acceptance shape) and the two MLP GEMMs of a Llama-70B layer at 8192
# tokens (hidden 8192, FFN 28672); a CPU gets smaller ones.
ACCEL_QUICK: tuple[Shape, ...] = ((2048, 2048, 2048), (4096, 4096, 4096), (8192, 8192, 8192))
ACCEL_FULL: tuple[Shape, ...] = ((1024, 1024, 1024), (2048, 2048, 2048), (4096, 4096, 4096), (8192, 8192, 8192),
                                 (8192, 28672, 8192), (8192, 8192, 28672))
CPU_QUICK: tuple[Shape, ...] = ((256, 256, 256), (512, 512, 512))
CPU_FULL: tuple[Shape, ...] = ((512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048))

CHECK_ROWS = 64  # rows and columns of C compared with the float64 reference
# max |C - C_ref| / rms(C_ref) must stay under 16 output roundings plus a random-walk fp32 accumulation over k
# (16 sqrt(k) 2^-24). A wrong or zero result scores about 1; TF32 in place of fp32 scores ~5e-4 and fails.
UNIT_ROUNDOFF = {"bf16": 2.0**-8, "fp16": 2.0**-11, "fp32": 2.0**-24, "fp8": 2.0**-8}  # fp8's output is bf16


def shapes(kind: str, quick: bool) -> tuple[Shape, ...]:
    if kind == "cpu":
        return CPU_QUICK if quick else CPU_FULL
    return ACCEL_QUICK if quick else ACCEL_FULL


def tolerance(dtype: str, k: int) -> float:
    return 16.0 * UNIT_ROUNDOFF[dtype] + 16.0 * math.sqrt(k) * 2.0**-24


def _operands(torch: Any, dev: Device, m: int, n: int, k: int, dtype: str) -> tuple[Any, Any, Any]:
    a = randn(torch, (m, k), dtype, dev.torch_device)
    if dtype == "fp8":  # _scaled_mm wants B column-major
        b = randn(torch, (n, k), dtype, dev.torch_device).t()
        c = torch.empty((m, n), dtype=torch.bfloat16, device=dev.torch_device)
    else:
        b = randn(torch, (k, n), dtype, dev.torch_device)
        c = torch.empty((m, n), dtype=torch_dtype(torch, dtype), device=dev.torch_device)
    return a, b, c


def _matmul(torch: Any, dtype: str, device: Any) -> Any:
    if dtype != "fp8":
        return lambda a, b, c: torch.matmul(a, b, out=c)
    one = torch.ones((), dtype=torch.float32, device=device)
    return lambda a, b, c: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16, out=c)


def probe(torch: Any, dev: Device, dtype: str) -> str | None:
    """None if a small GEMM of this dtype runs on the device, else why not (one line)."""
    if dtype == "fp8" and dev.kind in ("cpu", "mps"):
        return f"not benchmarked on {dev.kind}: no fp8 matrix units; torch's fallback takes seconds per small GEMM"
    if dtype == "fp8" and not hasattr(torch, "_scaled_mm"):
        return f"torch {torch.__version__} has no _scaled_mm"
    try:
        a, b, c = _operands(torch, dev, 32, 32, 32, dtype)
        _matmul(torch, dtype, dev.torch_device)(a, b, c)
        dev.synchronize()
    except (RuntimeError, TypeError, NotImplementedError) as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return None


def max_rel_error(torch: Any, a: Any, b: Any, c: Any) -> float:
    """max |C - A B| / rms(A B) over the first CHECK_ROWS rows and columns, reference in float64 on the CPU."""
    r, q = min(CHECK_ROWS, a.shape[0]), min(CHECK_ROWS, b.shape[1])
    ref = a[:r].to(torch.float32).cpu().double() @ b[:, :q].to(torch.float32).cpu().double()
    err = (c[:r, :q].to(torch.float32).cpu().double() - ref).abs().max()
    return float(err / ref.pow(2).mean().sqrt().clamp_min(1e-300))


def bench(torch: Any, dev: Device, shape: Shape, dtype: str, peak_tflops: float | None, s: Settings) -> GemmPoint:
    m, n, k = shape
    out_bytes = 2 if dtype == "fp8" else ELEMENT_BYTES[dtype]
    set_bytes = ELEMENT_BYTES[dtype] * (m * k + k * n) + out_bytes * m * n
    check_fits(f"GEMM {m}x{n}x{k} {dtype}", set_bytes, dev.available_bytes)
    sets = min(rotation_sets(set_bytes, dev.llc_bytes), max(1, math.floor(budget_bytes(dev.available_bytes) / set_bytes)))
    ops = [_operands(torch, dev, m, n, k, dtype) for _ in range(sets)]
    mm = _matmul(torch, dtype, dev.torch_device)

    def call(i: int) -> None:
        a, b, c = ops[i % sets]
        mm(a, b, c)

    t = time_calls(call, dev, sets, s)
    dev.synchronize()
    err = max(max_rel_error(torch, a, b, c) for a, b, c in ops)
    tflops = 2.0 * m * n * k / t.median_s / 1e12
    return GemmPoint(m=m, n=n, k=k, dtype=dtype, tflops=tflops, seconds=t.median_s, catalog_peak_tflops=peak_tflops,  # type: ignore[arg-type]
                     rotation_sets=sets, rotation_bytes=sets * set_bytes, max_rel_error=err,
                     verified=err <= tolerance(dtype, k))


def plain_matmul_tflops(torch: Any, dev: Device, shape: Shape, dtype: str, s: Settings) -> float:
    """Best rate of a plain `torch.matmul(a, b)` loop on one pair of inputs (new output each call)."""
    m, n, k = shape
    a = randn(torch, (m, k), dtype, dev.torch_device)
    b = randn(torch, (k, n), dtype, dev.torch_device)
    return best_wall_rate(lambda: torch.matmul(a, b), dev, 2.0 * m * n * k, trials=s.repeats,
                          min_batch_s=s.min_repeat_s) / 1e12
