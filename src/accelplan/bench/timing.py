"""One timing loop for every kernel: warm up, size a repeat, time repeats, report the median.

`call(i)` runs the i-th call of a rotation (it picks buffer set i mod len(rotation) itself), so
consecutive calls read different inputs. Each repeat runs `calls` calls between two device timer
marks and yields seconds per call; the figure is the median over repeats.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from accelplan.bench.device import Device

MAX_CALLS_PER_REPEAT = 100_000


@dataclass(frozen=True)
class Settings:
    warmup_calls: int  # after one untimed pass over the rotation
    repeats: int
    min_repeat_s: float  # each repeat runs enough calls to last about this long

    def as_dict(self) -> dict[str, float]:
        return {"warmup_calls": self.warmup_calls, "repeats": self.repeats, "min_repeat_s": self.min_repeat_s}


QUICK = Settings(warmup_calls=2, repeats=5, min_repeat_s=0.005)
FULL = Settings(warmup_calls=5, repeats=15, min_repeat_s=0.05)


@dataclass(frozen=True)
class Timing:
    per_call_s: list[float]  # one per repeat
    calls_per_repeat: int

    @property
    def median_s(self) -> float:
        return statistics.median(self.per_call_s)


def time_calls(call: Callable[[int], object], device: Device, rotation: int, s: Settings) -> Timing:
    for i in range(rotation):  # every buffer touched once: first-touch page faults and lazy setup stay out
        call(i)
    device.synchronize()
    # warm-up calls, timed by wall clock after a synchronize to size a repeat
    warm = max(1, s.warmup_calls)
    t0 = time.perf_counter()
    for i in range(rotation, rotation + warm):
        call(i)
    device.synchronize()
    per_call = max((time.perf_counter() - t0) / warm, 1e-9)
    calls = min(max(1, math.ceil(s.min_repeat_s / per_call)), MAX_CALLS_PER_REPEAT)
    timer = device.timer()
    out: list[float] = []
    i = rotation + warm
    for _ in range(s.repeats):
        timer.start()
        for _ in range(calls):
            call(i)
            i += 1
        out.append(timer.stop() / calls)
    return Timing(per_call_s=out, calls_per_repeat=calls)


def best_wall_rate(call: Callable[[], object], device: Device, work: float, trials: int, min_batch_s: float) -> float:
    """Plain reference: `work` per call / the shortest wall-clock time per call over `trials` batches of calls
    (no rotation, no device events: what a quick hand-written loop would report)."""
    call()
    device.synchronize()
    t0 = time.perf_counter()
    call()
    device.synchronize()
    calls = min(max(3, math.ceil(min_batch_s / max(time.perf_counter() - t0, 1e-9))), MAX_CALLS_PER_REPEAT)
    best = math.inf
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        device.synchronize()
        best = min(best, (time.perf_counter() - t0) / calls)
    return work / best
