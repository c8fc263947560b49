"""Goodput: how many interruptions a job of N chips meets, what checkpointing costs, and how long it really takes.

Rates are per wall-clock time. `mtti_s` is the job's mean time to an unexpected interruption;
`interval_s` (tau) is compute time between checkpoints; `blocking_s` (delta) is the time training stops
to take one. All times in seconds inside; the result reports minutes, hours and days where people read them.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from accelplan.economics.data import ReliabilityFile

SECONDS_PER_DAY = 86_400.0
GIGA = 1e9


def young_interval_s(blocking_s: float, mtti_s: float) -> float:
    """Young (1974), CACM 17(9):530, first-order optimum: tau = sqrt(2 delta M)."""
    return math.sqrt(2.0 * blocking_s * mtti_s)


def daly_interval_s(blocking_s: float, mtti_s: float) -> float:
    """Daly (2006), FGCS 22(3):303, higher-order optimum.

    tau = sqrt(2 delta M) [1 + (1/3) sqrt(delta / 2M) + (1/9) (delta / 2M)] - delta   for delta < 2M, else M.
    """
    if blocking_s >= 2.0 * mtti_s:
        return mtti_s
    x = blocking_s / (2.0 * mtti_s)
    return math.sqrt(2.0 * blocking_s * mtti_s) * (1.0 + math.sqrt(x) / 3.0 + x / 9.0) - blocking_s


def goodput_fraction(interval_s: float, blocking_s: float, mtti_s: float, restart_s: float,
                     durable_lag_s: float = 0.0, planned_per_s: float = 0.0) -> float:
    """Share of wall time that is useful training (Llama 3's "effective training time").

    Each unexpected interruption costs the restart R plus the work since the last durable checkpoint:
    on average half a cycle (tau + delta) / 2, plus `durable_lag_s` when checkpoints become durable only
    after a background write (asynchronous checkpointing). Each planned interruption costs R only (a
    checkpoint is taken just before). What is left runs at tau / (tau + delta) because of checkpoint stalls:

        goodput = (1 - (R + (tau + delta)/2 + lag) / M - planned_rate * R) * tau / (tau + delta)

    First-order, like research §A.5 (which drops the delta inside the lost work and the last factor's form).
    """
    lost_s = (interval_s + blocking_s) / 2.0 + durable_lag_s
    running = 1.0 - (restart_s + lost_s) / mtti_s - planned_per_s * restart_s
    cycle_s = interval_s + blocking_s
    stalls = interval_s / cycle_s if cycle_s > 0 else 1.0  # free checkpoints (no state) cost nothing
    return max(0.0, running) * stalls


def interruptions_per_day(chips: int, chips_per_node: int, per_1000_node_days: float, chip_share: float,
                          basis_chips_per_node: int = 8, factor: float = 1.0) -> float:
    """Expected unexpected interruptions per wall-clock day for a job on `chips` chips.

    The measured rate is per node of `basis_chips_per_node` chips (Meta RSC: 8 x A100). The share
    `chip_share` of it follows the number of chips (GPU faults), the rest the number of nodes (host,
    network, software), so systems with 4 or 16 chips per node scale correctly. Failures are independent
    and exponential (research §A.3), so rates add up.
    """
    nodes = math.ceil(chips / chips_per_node)
    rate_per_node_day = per_1000_node_days / 1000.0
    per_chip_day = chip_share * rate_per_node_day / basis_chips_per_node
    per_node_day = (1.0 - chip_share) * rate_per_node_day
    return factor * (chips * per_chip_day + nodes * per_node_day)


def checkpoint_write_s(state_bytes: float, nodes: int, node_write_bytes_per_s: float,
                       storage_bytes_per_s: float | None = None) -> float:
    """Time to write the whole training state: state / min(nodes x per-node bandwidth, storage cap)."""
    rate = nodes * node_write_bytes_per_s
    if storage_bytes_per_s is not None:
        rate = min(rate, storage_bytes_per_s)
    return state_bytes / rate


# ---------- defaults from reliability.yaml ----------


def default_rate_per_1000_node_days(rel: ReliabilityFile) -> tuple[float, float, float]:
    """(central, low, high): geometric mean, min and max of the measured cluster rates."""
    rates = [c.per_1000_node_days for c in rel.node_failure_rate.clusters]
    central = math.exp(sum(math.log(r) for r in rates) / len(rates))
    return central, min(rates), max(rates)


def chip_share(rel: ReliabilityFile) -> float:
    return sum(rel.chip_share.chip_counts.values()) / rel.chip_share.total


def bloom_node_write_bytes_per_s(rel: ReliabilityFile) -> float:
    ck = rel.checkpoint
    return ck.bloom_bytes / ck.bloom_seconds / ck.bloom_nodes


class Goodput(BaseModel):
    model_config = ConfigDict(frozen=True)

    interruptions_per_day: float  # unexpected
    planned_per_day: float
    job_mtti_h: float
    checkpoint: str  # "sync" | "async"
    checkpoint_write_s: float  # full write of the state to storage
    checkpoint_blocking_s: float  # time training stops per checkpoint
    checkpoint_interval_min: float  # compute time between checkpoints
    restart_min: float
    lost_work_min: float  # per unexpected interruption, on average
    goodput: float  # 0..1
    effective_days: float | None  # None when the job cannot make progress
    expected_interruptions: float | None
    expected_planned_interruptions: float | None
    assumptions: list[str]
    sources: list[str]


def job_goodput(chip_id: str, chips: int, chips_per_node: int, compute_days: float, state_bytes: float,
                rel: ReliabilityFile, *, checkpoint: str = "async", storage_gb_s: float | None = None,
                node_write_gb_s: float | None = None, interval_min: float | None = None,
                restart_min: float | None = None, rate_per_1000_node_days: float | None = None,
                reliability_factor: float | None = None, planned_per_day: float | None = None) -> Goodput:
    """Goodput and effective days of a job; every default from reliability.yaml unless given."""
    assumptions: list[str] = []
    sources: list[str] = []
    nodes = math.ceil(chips / chips_per_node)
    basis = rel.node_failure_rate

    central, low, high = default_rate_per_1000_node_days(rel)
    if rate_per_1000_node_days is None:
        rate_per_1000_node_days = central
        assumptions.append(
            f"interruption rate {central:.2f} per 1000 node-days of {basis.chips_per_node} chips: geometric mean of "
            f"Meta's research clusters (range {low:.2f}-{high:.2f})")
        sources.extend(c.source for c in basis.clusters)
    else:
        assumptions.append(f"interruption rate {rate_per_1000_node_days:g} per 1000 node-days (given)")
    share = chip_share(rel)
    sources.append(rel.chip_share.source)
    assumptions.append(f"{share:.0%} of interruptions scale with chips, the rest with nodes (Llama 3 Table 5 counts)")

    if reliability_factor is not None:
        factor = reliability_factor
        assumptions.append(f"reliability factor {factor:g} (given)")
    elif chip_id in rel.chip_factors.measured.chips:
        factor = rel.chip_factors.measured.factor
    else:
        factor = rel.chip_factors.unknown.factor
        assumptions.append(
            f"ASSUMPTION: {chip_id} has no published failure rate; rate x{factor:g} ({rel.chip_factors.unknown.basis})")
        sources.append(rel.chip_factors.unknown.source)

    per_day = interruptions_per_day(chips, chips_per_node, rate_per_1000_node_days, share,
                                    basis.chips_per_node, factor)
    if planned_per_day is None:
        planned_per_day = rel.planned.count / rel.planned.days
        assumptions.append(f"{planned_per_day:.2f} planned interruptions per day (automated maintenance, Llama 3)")
        sources.append(rel.planned.source)

    if restart_min is None:
        restart_min = rel.restart.minutes
        assumptions.append(f"restart {restart_min:g} min per interruption (automated detection and restart)")
        sources.append(rel.restart.source)
    restart_s = restart_min * 60.0

    if node_write_gb_s is None:
        node_bytes_per_s = bloom_node_write_bytes_per_s(rel)
        assumptions.append(f"checkpoint write {node_bytes_per_s / GIGA:.2f} GB/s per node (BLOOM-176B on a parallel file system)")
        sources.append(rel.checkpoint.bloom_source)
    else:
        node_bytes_per_s = node_write_gb_s * GIGA
    storage_bytes_per_s = None if storage_gb_s is None else storage_gb_s * GIGA
    write_s = checkpoint_write_s(state_bytes, nodes, node_bytes_per_s, storage_bytes_per_s)

    if checkpoint == "sync":
        blocking_s, lag_s = write_s, 0.0
        assumptions.append("synchronous checkpoints: training stops for the whole write")
    else:
        blocking_s = min(write_s, rel.checkpoint.async_blocking_s)
        lag_s = write_s
        assumptions.append(
            f"asynchronous checkpoints: training stops {blocking_s:.1f} s (snapshot to host memory); the write to "
            "storage runs in the background and a checkpoint counts only once written")
        sources.append(rel.checkpoint.async_source)

    mtti_s = SECONDS_PER_DAY / per_day if per_day > 0 else math.inf
    if interval_min is not None:
        interval_s = interval_min * 60.0
    elif math.isinf(mtti_s):
        interval_s = math.inf
    else:
        # a cycle must last at least as long as the background write it waits for
        interval_s = max(daly_interval_s(blocking_s, mtti_s), lag_s - blocking_s)
        sources.append("Daly 2006, FGCS 22(3):303, doi:10.1016/j.future.2004.11.016 (optimum checkpoint interval)")

    if math.isinf(mtti_s):
        g = 1.0 - planned_per_day / SECONDS_PER_DAY * restart_s
        lost_s = 0.0
    else:
        g = goodput_fraction(interval_s, blocking_s, mtti_s, restart_s, lag_s, planned_per_day / SECONDS_PER_DAY)
        lost_s = (interval_s + blocking_s) / 2.0 + lag_s
    effective = compute_days / g if g > 0 else None
    if effective is None:
        assumptions.append("interruptions come faster than checkpoints and restarts allow: the job makes no progress")
    return Goodput(
        interruptions_per_day=per_day,
        planned_per_day=planned_per_day,
        job_mtti_h=mtti_s / 3600.0,
        checkpoint=checkpoint,
        checkpoint_write_s=write_s,
        checkpoint_blocking_s=blocking_s,
        checkpoint_interval_min=interval_s / 60.0,
        restart_min=restart_min,
        lost_work_min=lost_s / 60.0,
        goodput=g,
        effective_days=effective,
        expected_interruptions=None if effective is None else per_day * effective,
        expected_planned_interruptions=None if effective is None else planned_per_day * effective,
        assumptions=assumptions,
        sources=sources,
    )
