"""Memory bandwidth: STREAM copy (b = a) and triad (a = b + s c) on fp32 buffers.

Bytes counted as STREAM does: copy moves 2 x buffer bytes (read + write), triad 3 x. All buffer
sizes share one pool of random buffers whose total is at least twice the last-level cache; each call
takes the next buffer pair (triple) in the pool, so no call reads what an earlier one left in cache.
Copy is checked by exact equality, triad against float64 on a sample of elements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from accelplan.bench.buffers import ROTATION_LLC_FACTOR, check_fits, fill_nonzero
from accelplan.bench.device import MIB, Device
from accelplan.bench.profile import BandwidthPoint
from accelplan.bench.timing import Settings, best_wall_rate, time_calls

ACCEL_QUICK: tuple[int, ...] = (256 * MIB,)
ACCEL_FULL: tuple[int, ...] = (16 * MIB, 64 * MIB, 256 * MIB, 1024 * MIB)
CPU_QUICK: tuple[int, ...] = (64 * MIB,)
CPU_FULL: tuple[int, ...] = (16 * MIB, 64 * MIB, 256 * MIB)
MIN_POOL_BUFFERS = 6  # three copy pairs, two triad triples at least
TRIAD_SCALAR = 3.0
TRIAD_SAMPLES = 4096
FP32_BYTES = 4


def sizes(kind: str, quick: bool) -> tuple[int, ...]:
    if kind == "cpu":
        return CPU_QUICK if quick else CPU_FULL
    return ACCEL_QUICK if quick else ACCEL_FULL


@dataclass
class Pool:
    buffers: list[Any]  # 1-D fp32, each `buffer_bytes` long
    buffer_bytes: int


def make_pool(torch: Any, dev: Device, buffer_bytes: int) -> Pool:
    """Enough buffers of `buffer_bytes` that the pairs (and the triples) total ROTATION_LLC_FACTOR x the cache."""
    count = max(MIN_POOL_BUFFERS, math.ceil(ROTATION_LLC_FACTOR * dev.llc_bytes / buffer_bytes) + 2)
    check_fits(f"bandwidth pool of {count} x {buffer_bytes // MIB} MiB", count * buffer_bytes, dev.available_bytes)
    bufs = [fill_nonzero(torch, torch.empty(buffer_bytes // FP32_BYTES, dtype=torch.float32, device=dev.torch_device))
            for _ in range(count)]
    return Pool(buffers=bufs, buffer_bytes=buffer_bytes)


def _chunks(buf: Any, size_bytes: int) -> list[Any]:
    n = size_bytes // FP32_BYTES
    return [buf[i * n:(i + 1) * n] for i in range(buf.numel() // n)]


def bench_copy(torch: Any, dev: Device, pool: Pool, size_bytes: int, peak_gb_s: float | None, s: Settings) -> BandwidthPoint:
    pairs = [(src, dst) for p in range(len(pool.buffers) // 2)
             for src, dst in zip(_chunks(pool.buffers[2 * p], size_bytes), _chunks(pool.buffers[2 * p + 1], size_bytes),
                                 strict=True)]

    def call(i: int) -> None:
        src, dst = pairs[i % len(pairs)]
        dst.copy_(src)

    t = time_calls(call, dev, len(pairs), s)
    ok = all(bool(torch.equal(src, dst)) for src, dst in pairs)
    rotation = 2 * size_bytes * len(pairs)
    return BandwidthPoint(kernel="copy", buffer_bytes=size_bytes, gb_s=2 * size_bytes / t.median_s / 1e9, seconds=t.median_s,
                          catalog_peak_gb_s=peak_gb_s, rotation_buffers=2 * len(pairs), rotation_bytes=rotation,
                          exceeds_llc=rotation > dev.llc_bytes, verified=ok)


def bench_triad(torch: Any, dev: Device, pool: Pool, size_bytes: int, peak_gb_s: float | None, s: Settings) -> BandwidthPoint:
    triples = [abc for t in range(len(pool.buffers) // 3)
               for abc in zip(*(_chunks(pool.buffers[3 * t + j], size_bytes) for j in range(3)), strict=True)]

    def call(i: int) -> None:
        a, b, c = triples[i % len(triples)]
        torch.add(b, c, alpha=TRIAD_SCALAR, out=a)

    t = time_calls(call, dev, len(triples), s)
    ok = all(_triad_ok(torch, a, b, c) for a, b, c in triples)
    rotation = 3 * size_bytes * len(triples)
    return BandwidthPoint(kernel="triad", buffer_bytes=size_bytes, gb_s=3 * size_bytes / t.median_s / 1e9,
                          seconds=t.median_s, catalog_peak_gb_s=peak_gb_s, rotation_buffers=3 * len(triples),
                          rotation_bytes=rotation, exceeds_llc=rotation > dev.llc_bytes, verified=ok)


def _triad_ok(torch: Any, a: Any, b: Any, c: Any) -> bool:
    step = max(1, a.numel() // TRIAD_SAMPLES)
    a64, b64, c64 = (x[::step].cpu().double() for x in (a, b, c))
    ref = b64 + TRIAD_SCALAR * c64
    # at most two fp32 roundings (s c, then the sum), each within 2^-24 of |b| + |s c|
    return bool(((a64 - ref).abs() <= 2.0**-22 * (b64.abs() + TRIAD_SCALAR * c64.abs())).all())


def plain_copy_gb_s(torch: Any, dev: Device, pool: Pool, s: Settings) -> float:
    """Best rate of a plain `dst.copy_(src)` loop on one buffer pair (the pool's first two, full size)."""
    src, dst = pool.buffers[0], pool.buffers[1]
    return best_wall_rate(lambda: dst.copy_(src), dev, 2.0 * pool.buffer_bytes, trials=s.repeats,
                          min_batch_s=s.min_repeat_s) / 1e9
