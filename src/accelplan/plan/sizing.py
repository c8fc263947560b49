"""Sizing a cluster: the sizes worth trying, the fewest chips that meet a deadline or match a throughput, and whether
a plan and a system suit the request. Errors name the field (faces add their own flag names if they want them).

The walks need only the best plan at a size (`best_at`, e.g. `accelplan.api.best_estimate` bound to a workload and
chip) and read nothing of it but its chip count and tokens/s, so they know nothing of how plans are searched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from accelplan.catalog.schema import Chip, Plan, System, Workload
from accelplan.catalog.stack import Stack
from accelplan.errors import PlanError
from accelplan.perf.step import PlanArrays
from accelplan.plan.rules import first_violation

SECONDS_PER_DAY = 86400.0
MAX_CHIPS = 262144  # the top of the ladder a deadline search walks
REFERENCE_CHIPS = 1024  # where a deadline search starts: the per-chip rate here predicts the size needed
NARROW_POINTS = 12  # plan searches per narrowing round in `narrow`


class Sized(Protocol):
    """What sizing reads of a best plan (accelplan.api.Estimate)."""

    @property
    def chips(self) -> int: ...

    @property
    def tokens_per_s(self) -> float: ...


class Goodput(Protocol):
    """What a deadline reads of a job's economics (accelplan.economics.Economics): elapsed days after failures,
    restarts and checkpoints, and the share of time that is useful work."""

    @property
    def effective_days(self) -> float | None: ...

    @property
    def goodput_pct(self) -> float: ...


E = TypeVar("E", bound=Sized)
G = TypeVar("G", bound=Goodput)
BestAt = Callable[[int], E | None]


def check_system(chip: Chip, system: System) -> None:
    """A system is built around one chip: pairing it with another would model the wrong network silently."""
    if system.chip != chip.id and chip.id not in system.default_for:
        built = ", ".join(dict.fromkeys([system.chip, *system.default_for]))
        raise PlanError(f"system '{system.id}' is built for {built}, not {chip.id}; leave system unset for "
                        f"{chip.id}'s default system")


def check_plan(workload: Workload, system: System, plan: Plan, chips: int | None = None,
               stack: Stack | None = None) -> None:
    """Reject a plan the frameworks cannot run, naming the field and what is allowed: the rules the search applies
    (accelplan.plan.rules), so estimate refuses exactly what search excludes. With `stack`, the plan's context-parallel
    algorithm must be one it implements."""
    if chips is not None and plan.chips != chips:
        raise PlanError(f"tp*pp*dp*cp = {plan.chips}, but chips = {chips}")
    why = first_violation(workload, system, PlanArrays.from_plans([plan]), stack=stack)
    if why:
        raise PlanError(why)


def check_days(days: float) -> None:
    if not days > 0:
        raise PlanError(f"deadline days must be > 0, got {days:g}")


def cluster_sizes(system: System, lo: int, hi: int) -> list[int]:
    """Sizes worth trying: whole nodes times 2^k and 3 x 2^k (batch sizes are powers of two, so other
    sizes seldom admit a data-parallel degree that divides the batch)."""
    node = system.chips_per_node
    out = set()
    k = 1
    while node * k <= hi:
        out.add(node * k)
        if k >= 2 and node * k * 3 // 2 <= hi:
            out.add(node * k * 3 // 2)
        k *= 2
    return sorted(n for n in out if n >= lo)


def fewest_chips(system: System, need_tokens_per_s: float, best_at: BestAt[E], max_chips: int = MAX_CHIPS,
                 memo: dict[int, E | None] | None = None) -> E | None:
    """Fewest chips on the `cluster_sizes` ladder whose best plan reaches `need_tokens_per_s`.

    Starts from the per-chip rate at a reference size, then walks the ladder up or down; throughput is
    not strictly monotone in chips (divisibility), so the walk stops at the first size that misses.
    `memo` keeps the best plan per size; a caller asking twice passes the same dict.
    """
    ladder = cluster_sizes(system, system.chips_per_node, max_chips)
    if not ladder:
        return None
    memo = {} if memo is None else memo

    def at(i: int) -> E | None:
        if ladder[i] not in memo:
            memo[ladder[i]] = best_at(ladder[i])
        return memo[ladder[i]]

    ref_i = min(range(len(ladder)), key=lambda j: abs(ladder[j] - REFERENCE_CHIPS))
    ref = at(ref_i)
    while ref is None:  # the model may not fit a reference-size cluster: find the first size that runs
        ref_i += 1
        if ref_i == len(ladder):
            return None
        ref = at(ref_i)
    guess = need_tokens_per_s / (ref.tokens_per_s / ref.chips)
    i = min(range(len(ladder)), key=lambda j: abs(ladder[j] - guess))
    e = ref if i == ref_i else at(i)
    if e is not None and e.tokens_per_s >= need_tokens_per_s:
        while i > 0:
            lower = at(i - 1)
            if lower is None or lower.tokens_per_s < need_tokens_per_s:
                break
            e, i = lower, i - 1
        return e
    while i + 1 < len(ladder):
        i += 1
        e = at(i)
        if e is not None and e.tokens_per_s >= need_tokens_per_s:
            return e
    return None


def chips_needed(system: System, tokens: float, days: float, best_at: BestAt[E], max_chips: int = MAX_CHIPS,
                 memo: dict[int, E | None] | None = None) -> E | None:
    """Fewest chips on the ladder whose best plan trains `tokens` within `days` of failure-free compute."""
    check_days(days)
    return fewest_chips(system, tokens / (days * SECONDS_PER_DAY), best_at, max_chips, memo)


def chips_for_deadline(system: System, tokens: float, days: float, best_at: BestAt[E], economics: Callable[[E], G],
                       max_chips: int = MAX_CHIPS) -> tuple[E, G] | None:
    """Fewest chips that finish within `days` of elapsed time: failure-free compute stretched by the goodput
    that failures, restarts and checkpoints leave (`economics` of a best plan), not compute days alone.
    Returns the best plan and its economics, or None when no size on the ladder makes it."""
    memo: dict[int, E | None] = {}
    e = chips_needed(system, tokens, days, best_at, max_chips, memo)
    if e is None:
        return None
    econ = economics(e)
    if econ.effective_days is not None and econ.effective_days > days:
        e = chips_needed(system, tokens, days * econ.goodput_pct / 100.0, best_at, max_chips, memo)
        if e is None:
            return None
        econ = economics(e)
    return e, econ


def narrow(system: System, need_tokens_per_s: float, lo: int, hi: E, best_at: BestAt[E]) -> E:
    """The fewest whole nodes in (lo, hi.chips] whose best plan reaches `need_tokens_per_s`: scan about NARROW_POINTS
    counts, keep the interval below the first that reaches it, and repeat until the step is one node."""
    node = system.chips_per_node
    best = hi
    lo_n, hi_n = lo // node, hi.chips // node  # in nodes; hi_n reaches the need, lo_n does not (or is 0)
    while hi_n - lo_n > 1:
        step = max(1, -(-(hi_n - lo_n) // NARROW_POINTS))
        for k in range(lo_n + step, hi_n, step):
            e = best_at(k * node)
            if e is not None and e.tokens_per_s >= need_tokens_per_s:
                best, hi_n = e, k  # the answer is at most k nodes
                break
            lo_n = k  # k nodes fall short: the answer is above
    return best


def matching_chips(system: System, need_tokens_per_s: float, best_at: BestAt[E],
                   max_chips: int = MAX_CHIPS) -> tuple[E | None, E | None]:
    """(ladder, exact): the fewest chips on the ladder whose best plan reaches `need_tokens_per_s`, and the fewest
    whole nodes that do, narrowed between that size and the largest ladder size below it that falls short.
    Throughput is not monotone in chips (the batch must divide evenly), so a count between the scanned ones may
    also match."""
    memo: dict[int, E | None] = {}
    ladder = fewest_chips(system, need_tokens_per_s, best_at, max_chips, memo)
    if ladder is None:
        return None, None
    below = max((n for n, e in memo.items()
                 if n < ladder.chips and (e is None or e.tokens_per_s < need_tokens_per_s)), default=0)
    return ladder, narrow(system, need_tokens_per_s, below, ladder, best_at)
