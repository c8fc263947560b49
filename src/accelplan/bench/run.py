"""Run the device benchmarks and return a CalibrationProfile (data; the CLI prints it).

Order: GEMM over shapes x dtypes, a plain torch.matmul reference on the largest bf16 shape, copy and
triad over buffer sizes, a plain dst.copy_(src) reference, SDPA attention over shapes (forward, and forward +
backward; on a CPU the backward only on small shapes, see bench/attention.py).
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable
from typing import Any

from accelplan.bench import attention, gemm, memory
from accelplan.bench.device import Device, resolve
from accelplan.bench.profile import (
    CalibrationProfile,
    CopyReference,
    MatmulReference,
    References,
    Unsupported,
)
from accelplan.bench.timing import FULL, QUICK, Settings

Progress = Callable[[str], None]  # called once per finished step with the next step's description
SEED = 20240601
# A bench figure and its plain reference differ only in method: the median of rotated, timed calls against the
# best wall-clock trial on one warm input set. On a quiet CPU the GEMM agreed within 8% (docs/bench.md: 92%), and
# the H200 acceptance asks 95% for the GEMM and 90% for the copy. A figure under 80% of its reference measured the
# machine's load or the bench's method, not the device, and the report says so instead of "ok".
REFERENCE_FLOOR = 0.8


def catalog_peaks(chip_id: str | None) -> tuple[dict[str, float | None], float | None]:
    """(dense TFLOP/s per dtype, HBM GB/s) of the catalog chip; empty and None without one."""
    if chip_id is None:
        return {}, None
    from accelplan.catalog.loader import load_catalog

    chip = load_catalog().chip(chip_id)
    peaks = {d: getattr(chip.peak_tflops, d, None) for d in gemm.DTYPES}
    return peaks, None if chip.hbm_tb_s is None else chip.hbm_tb_s * 1e3


def plan_steps(dev: Device, quick: bool) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = [("gemm", (shape, dtype)) for dtype in gemm.DTYPES for shape in gemm.shapes(dev.kind, quick)]
    steps.append(("plain_matmul", None))
    steps += [("bandwidth", size) for size in sorted(memory.sizes(dev.kind, quick))]
    steps.append(("plain_copy", None))
    steps += [("attention", (shape, attention.measures_backward(dev.kind, shape)))
              for shape in attention.shapes(dev.kind, quick)]
    return steps


def describe(step: tuple[str, Any]) -> str:
    kind, arg = step
    if kind == "gemm":
        (m, n, k), dtype = arg
        return f"GEMM {m}x{n}x{k} {dtype}"
    if kind == "bandwidth":
        return f"copy/triad {arg // 2**20} MiB"
    if kind == "attention":
        shape, backward = arg
        return "SDPA attention {} b={} h={} s={} d={}".format("fwd+bwd" if backward else "fwd", *shape)
    return {"plain_matmul": "plain torch.matmul reference", "plain_copy": "plain copy_ reference"}[kind]


def run_bench(device: str | None = None, quick: bool = False, chip: str | None = None,
              progress: Progress | None = None, on_start: Callable[[Device, int], None] | None = None) -> CalibrationProfile:
    """Bench `device` (default: the first present of cuda, npu, xpu, mps, cpu). `chip` overrides the catalog chip
    found from the device name. `on_start(device, steps)` is called once before the first step."""
    dev = resolve(device, chip)
    import torch

    torch.manual_seed(SEED)
    s: Settings = QUICK if quick else FULL
    peaks, hbm_gb_s = catalog_peaks(dev.chip)
    steps = plan_steps(dev, quick)
    if on_start:
        on_start(dev, len(steps))
    unsupported: list[Unsupported] = []
    dtypes_ok: list[str] = []
    for dtype in gemm.DTYPES:
        why = gemm.probe(torch, dev, dtype)
        if why is None:
            dtypes_ok.append(dtype)
        else:
            unsupported.append(Unsupported(what=f"gemm {dtype}", reason=why))
    gemms, bandwidth, attn = [], [], []
    plain_matmul = plain_copy = None
    pool = None
    att_dtype = "bf16" if "bf16" in dtypes_ok else "fp32"
    for step in steps:
        if progress:
            progress(describe(step))
        kind, arg = step
        if kind == "gemm":
            shape, dtype = arg
            if dtype in dtypes_ok:
                gemms.append(gemm.bench(torch, dev, shape, dtype, peaks.get(dtype), s))
        elif kind == "plain_matmul":
            ref_dtype = "bf16" if "bf16" in dtypes_ok else "fp32"
            shape = max(gemm.shapes(dev.kind, quick), key=lambda x: x[0] * x[1] * x[2])
            same = [p for p in gemms if (p.m, p.n, p.k) == shape and p.dtype == ref_dtype]
            if same:
                best = gemm.plain_matmul_tflops(torch, dev, shape, ref_dtype, s)
                plain_matmul = MatmulReference(m=shape[0], n=shape[1], k=shape[2], dtype=ref_dtype,  # type: ignore[arg-type]
                                               best_tflops=best, bench_tflops=same[0].tflops)
        elif kind == "bandwidth":
            if pool is None:
                pool = memory.make_pool(torch, dev, max(memory.sizes(dev.kind, quick)))
            bandwidth.append(memory.bench_copy(torch, dev, pool, arg, hbm_gb_s, s))
            bandwidth.append(memory.bench_triad(torch, dev, pool, arg, hbm_gb_s, s))
        elif kind == "plain_copy":
            assert pool is not None  # the bandwidth steps come first
            bench_copy = next(p for p in bandwidth if p.kernel == "copy" and p.buffer_bytes == pool.buffer_bytes)
            plain_copy = CopyReference(buffer_bytes=pool.buffer_bytes, best_gb_s=memory.plain_copy_gb_s(torch, dev, pool, s),
                                       bench_gb_s=bench_copy.gb_s)
            pool = None  # free it before attention
        elif kind == "attention":
            shape, backward = arg
            attn.append(attention.bench(torch, dev, shape, att_dtype, peaks.get(att_dtype), s, backward=backward))
    now = dt.datetime.now(dt.UTC)
    refs = References(plain_matmul=plain_matmul, plain_copy=plain_copy)
    profile = CalibrationProfile(
        device=dev.kind,  # type: ignore[arg-type]
        device_name=dev.name, chip=dev.chip, chip_match=dev.chip_match, host=socket.gethostname(),
        date=now.date().isoformat(), timestamp_utc=now.isoformat(timespec="seconds"), versions=dev.versions,
        llc_bytes=dev.llc_bytes, quick=quick, settings=s.as_dict(), gemm=gemms, bandwidth=bandwidth, attention=attn,
        references=refs, unsupported=unsupported,
        warnings=_warnings(dev, gemms, bandwidth, attn) + _reference_warnings(refs, dev.llc_bytes))
    return profile


def low_references(refs: References, llc_bytes: int | None) -> dict[str, float]:
    """{"matmul" and/or "copy": bench figure / plain reference} for the figures below REFERENCE_FLOOR of their
    reference. A copy whose buffer pair fits in the last-level cache is not judged: the plain loop's figure is then
    the cache's, which the bench's rotation removes on purpose (docs/bench.md: 43 vs 23 GB/s on a 480 MiB cache),
    and neither is one when the cache size is unknown."""
    out = {}
    if refs.plain_matmul and refs.plain_matmul.best_tflops > 0:
        ratio = refs.plain_matmul.bench_tflops / refs.plain_matmul.best_tflops
        if ratio < REFERENCE_FLOOR:
            out["matmul"] = ratio
    c = refs.plain_copy
    if c and c.best_gb_s > 0 and llc_bytes is not None and 2 * c.buffer_bytes > llc_bytes:
        ratio = c.bench_gb_s / c.best_gb_s
        if ratio < REFERENCE_FLOOR:
            out["copy"] = ratio
    return out


def _reference_warnings(refs: References, llc_bytes: int | None) -> list[str]:
    what = {}
    if m := refs.plain_matmul:
        what["matmul"] = (f"GEMM {m.m}x{m.n}x{m.k} {m.dtype}", "torch.matmul")
    if c := refs.plain_copy:
        what["copy"] = (f"copy {c.buffer_bytes // 2**20} MiB", "dst.copy_(src)")
    return [f"{what[k][0]}: the bench measured {ratio:.1%} of a plain {what[k][1]} in the same run (under "
            f"{REFERENCE_FLOOR:.0%}): the machine's load or a timing problem, not the device; rerun on a quiet "
            "machine before calibrating from this profile" for k, ratio in low_references(refs, llc_bytes).items()]


def _warnings(dev: Device, gemms: list, bandwidth: list, attn: list) -> list[str]:
    out = []
    for p in gemms:
        if not p.verified:
            out.append(f"GEMM {p.m}x{p.n}x{p.k} {p.dtype}: result differs from the float64 reference "
                       f"(error {p.max_rel_error:.2g} of rms); excluded from the efficiencies")
    for p in bandwidth:
        if not p.verified:
            out.append(f"{p.kernel} {p.buffer_bytes // 2**20} MiB: result check failed; excluded")
    for p in attn:
        if not p.verified:
            out.append(f"attention s={p.seq_len} {p.dtype}: differs from the float64 reference "
                       f"(error {p.max_abs_error:.2g} of max |V|)")
        if p.bwd_verified is False:
            why = ("dQ, dK or dV not finite" if p.bwd_max_abs_error is None else
                   f"dQ differs from the float64 reference (error {p.bwd_max_abs_error:.2g} of max |dQ|)")
            out.append(f"attention backward s={p.seq_len} {p.dtype}: {why}; excluded from the efficiencies")
        elif p.bwd_verified and p.bwd_tflops is None:
            out.append(f"attention backward s={p.seq_len} {p.dtype}: forward + backward timed no slower than the "
                       "forward alone (timer noise on a tiny shape); no backward rate")
    if dev.chip is None:
        out.append(f"{dev.chip_match}: no catalog peak, figures are absolute only and the profile cannot calibrate a chip")
    return out
