"""Enumerate every valid plan for a chip count and evaluate them together.

Candidates are the cartesian product of per-dimension value lists, built with numpy (no Python loop
per plan), filtered by the divisibility rules, then handed to `perf.step.evaluate` as one batch:
- tp divides the attention heads (and the KV heads, or is a multiple of them) and fits the scale-up domain;
- pp <= layers (uneven stages allowed, as Megatron's first/last-stage layer options do);
- cp is a power of two that divides the sequence in 2 cp chunks (load-balanced causal CP), in each context-parallel
  algorithm the stack implements (ring, all-gather, Ulysses over heads where they divide, hybrid);
- dp = chips / (tp pp cp) is an integer that divides the global batch; micro-batch divides the local batch;
- interleaving (vpp > 1) needs pp > 1, layers per stage divisible by vpp, and at least pp micro-batches;
- ep divides the experts and folds inside dp * cp * tp (Megatron "parallel folding"); 1 for dense models;
- ZeRO-0 only where there is no data parallelism (elsewhere ZeRO-1 dominates it), unless the caller pins it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from accelplan.catalog.schema import CP_ALGORITHMS, Chip, System, Workload
from accelplan.catalog.stack import Stack
from accelplan.perf.assumptions import DEFAULT, Assumptions
from accelplan.perf.calibration import Calibration
from accelplan.perf.costs import model_costs
from accelplan.perf.plans import CP_ALGO_CODE, RECOMPUTE_CODE, PlanArrays, distinct_rows
from accelplan.perf.step import StepArrays, cp_layer_cost_s, evaluate, memory_of
from accelplan.plan import rules as plan_rules
from accelplan.plan.rules import MAX_TP

MICRO_BATCHES = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 20, 24, 32)  # kept where they divide the local batch
VPPS = tuple(range(1, 17))  # kept where they divide the layers per stage (Megatron needs that)
CPS = (1, 2, 4, 8, 16)
ZEROS = (0, 1, 2, 3)
PARTIAL_RECOMPUTE = (0.25, 0.5, 0.75)  # shares of a virtual stage's layers that recompute (besides all of them)


@dataclass
class SearchResult:
    chips: int
    candidates: int  # plans built and evaluated: memory for all of them, step time for those that fit
    arrays: StepArrays | None  # None when no candidate passed the divisibility rules
    order: np.ndarray  # indices of feasible plans, fastest first
    reasons: dict[str, int] = field(default_factory=dict)  # why the rest were dropped
    dominated: int = 0  # valid plans skipped unevaluated because another plan is never worse (ZeRO-0 beside ZeRO-1)

    @property
    def feasible(self) -> int:
        return len(self.order)

    @property
    def best(self) -> int | None:
        return int(self.order[0]) if len(self.order) else None


def _divisors(n: int, limit: int | None = None) -> list[int]:
    """The divisors of n in ascending order (up to `limit`): pairs (d, n / d) for d up to sqrt(n)."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    out = small + [n // d for d in reversed(small) if d * d != n]
    return [d for d in out if limit is None or d <= limit]


def candidate_values(workload: Workload, system: System, chips: int, fixed: dict | None = None) -> dict[str, list]:
    """Per-dimension value lists; a dimension in `fixed` (not None) is pinned to that value."""
    fixed = {k: v for k, v in (fixed or {}).items() if v is not None}
    m = workload.model
    kv = m.n_kv_heads
    domain = system.domain_chips
    tps = [t for t in _divisors(m.heads, min(MAX_TP, max(domain, 1)))
           if (kv % t == 0 or t % kv == 0) and chips % t == 0]
    pps = [p for p in _divisors(chips) if p <= m.layers]
    experts = m.moe.experts if m.moe else 1
    eps = _divisors(experts) if m.moe else [1]
    vals: dict[str, list] = {
        "tp": tps, "pp": pps, "cp": [c for c in CPS if workload.seq_len % (2 * c) == 0 or c == 1],
        "ep": eps, "vpp": list(VPPS), "micro_batch": list(MICRO_BATCHES),
        "recompute": list(RECOMPUTE_CODE), "zero": list(ZEROS), "sequence_parallel": [None],
    }
    for k, v in fixed.items():
        if k in vals:
            vals[k] = [v]
    return vals


def build_candidates(workload: Workload, system: System, chips: int, fixed: dict | None = None,
                     stack: Stack | None = None) -> PlanArrays:
    """Every valid plan for `chips` chips; context parallelism in each algorithm `stack` implements (None: all)."""
    return _build(workload, system, chips, fixed, stack)[0]


@dataclass(frozen=True)
class _Timing:
    """What choosing among context-parallel algorithms needs: the chip and the model's assumptions."""

    chip: Chip
    assumptions: Assumptions
    calibration: Calibration | None


def _build(workload: Workload, system: System, chips: int, fixed: dict | None,
           stack: Stack | None = None, timing: _Timing | None = None) -> tuple[PlanArrays, int]:
    """The candidates, and how many valid plans were skipped as dominated. With `timing`, each (tp, cp, micro-batch)
    keeps only its fastest context-parallel algorithm (the others are dominated: see `cp_layer_cost_s`)."""
    vals = candidate_values(workload, system, chips, fixed)
    rc_codes = [RECOMPUTE_CODE[r] for r in vals["recompute"]]
    gbs = workload.global_batch
    # 1) the model-parallel shape (tp, pp, cp): few survive chips and batch divisibility
    axes = [g.ravel() for g in np.meshgrid(np.array(vals["tp"]), np.array(vals["pp"]), np.array(vals["cp"]),
                                            indexing="ij")]
    col = dict(zip(("tp", "pp", "cp"), axes, strict=True))
    mp = col["tp"] * col["pp"] * col["cp"]
    dp = np.where(chips % mp == 0, chips // mp, 0)
    keep = (dp > 0) & (gbs % np.maximum(dp, 1) == 0)
    fixed_now = {k: v for k, v in (fixed or {}).items() if v is not None}
    if "dp" in fixed_now:
        keep &= dp == fixed_now["dp"]
    col["dp"] = dp
    col = _where(col, keep)
    # 2) each further dimension is crossed in and filtered at once, so the arrays never hold the full product
    col = _cross(col, "mb", vals["micro_batch"])
    local = gbs // col["dp"]
    col = _where(col, (local % col["mb"] == 0) & (local >= col["mb"]))
    micro = gbs // (col["dp"] * col["mb"])
    col = _cross(col, "vpp", vals["vpp"], micro=micro)
    micro = col.pop("micro")
    stage_layers = -(-workload.model.layers // col["pp"])  # ceil: uneven stages carry one layer less
    col = _where(col, (col["vpp"] == 1) | ((col["pp"] > 1) & (stage_layers % col["vpp"] == 0) & (micro >= col["pp"])))
    col = _cross(col, "ep", vals["ep"])
    col = _where(col, (col["dp"] * col["cp"] * col["tp"]) % col["ep"] == 0)
    col = _cross(col, "zero", vals["zero"])
    dominated = 0
    if "zero" not in fixed_now:
        # ZeRO-1 moves the same bytes as ZeRO-0 (reduce-scatter + all-gather = all-reduce) with less memory and a
        # smaller optimizer step, so ZeRO-0 is dominated wherever there is data parallelism; without any, all stages
        # are the same plan, kept once as ZeRO-0
        shard = col["dp"] * col["cp"]
        undominated = np.where(shard > 1, col["zero"] != 0, col["zero"] == 0)
        dominated = int((~undominated).sum()) * len(rc_codes)
        col = _where(col, undominated)
    col = _cross(col, "recompute", rc_codes)
    pinned = fixed_now.get("recompute_layers", 0)
    col["rlayers"] = np.where(col["recompute"] == RECOMPUTE_CODE["full"], pinned, 0)
    # context parallelism in each algorithm the stack offers (a pinned one alone); one row where there is none
    offered = [fixed_now["cp_algo"]] if "cp_algo" in fixed_now else (
        stack.context_parallel.algorithms if stack is not None else list(CP_ALGORITHMS))
    codes = [CP_ALGO_CODE[a] for a in offered]
    if timing is not None and stack is not None and len(codes) > 1 and bool((col["cp"] > 1).any()):
        col["cpa"] = _fastest_cp_algorithm(workload, system, stack, timing, col, codes)
    else:
        col = _cross(col, "cpa", codes)
        col = _where(col, (col["cp"] > 1) | (col["cpa"] == codes[0]))
    col["cpa"] = np.where(col["cp"] > 1, col["cpa"], 0)
    sp_fixed = vals["sequence_parallel"][0]
    sp = (col["tp"] > 1) if sp_fixed is None else np.full(col["tp"].shape, bool(sp_fixed))
    shape = col["tp"].shape
    plans = PlanArrays(tp=col["tp"], pp=col["pp"], dp=col["dp"], ep=col["ep"], cp=col["cp"], vpp=col["vpp"],
                       mb=col["mb"], recompute=col["recompute"], zero=col["zero"], sp=np.asarray(sp),
                       rlayers=col["rlayers"], opt_bf16=np.full(shape, fixed_now.get("optimizer_dtype") == "bf16"),
                       off_act=np.full(shape, bool(fixed_now.get("offload_activations", False))),
                       off_opt=np.full(shape, bool(fixed_now.get("offload_optimizer", False))), cpa=col["cpa"])
    # the enumeration above already avoids most invalid plans; the shared rules (which `estimate` applies too) drop
    # the rest, pinned values included
    ok = plan_rules.valid(workload, system, plans, stack)
    return (plans if ok.all() else plans.take(np.flatnonzero(ok))), dominated


def _fastest_cp_algorithm(workload: Workload, system: System, stack: Stack, timing: _Timing,
                          col: dict[str, np.ndarray], codes: list[int]) -> np.ndarray:
    """For each candidate, the algorithm of `codes` with the least per-layer cost at its (tp, cp, micro-batch), without
    recompute (recompute adds one forward exchange to every algorithm alike); an algorithm the plan rules refuse
    there (Ulysses where the heads do not divide) is never chosen."""
    first, back = distinct_rows(col["tp"], col["cp"], col["mb"])
    shapes = np.stack([col["tp"][first], col["cp"][first], col["mb"][first]], axis=1)
    n, k = len(shapes), len(codes)
    ones = np.ones(n * k, dtype=int)
    trial = PlanArrays(tp=np.repeat(shapes[:, 0], k), pp=ones, dp=ones, ep=ones, cp=np.repeat(shapes[:, 1], k),
                       vpp=ones, mb=np.repeat(shapes[:, 2], k), recompute=np.zeros(n * k, dtype=int),
                       zero=ones, sp=np.repeat(shapes[:, 0], k) > 1, cpa=np.tile(np.asarray(codes), n))
    cost = cp_layer_cost_s(workload, system, timing.chip, trial, stack, timing.assumptions, timing.calibration)
    allowed = plan_rules.cp_algorithm_allowed(workload, trial, stack)
    cost = np.where(allowed & np.isfinite(cost), cost, np.inf).reshape(n, k)
    best = np.asarray(codes)[np.argmin(cost, axis=1)]
    return best[np.ravel(back)]


def _partial_variants(cand: PlanArrays, layers: int) -> PlanArrays:
    """Full recompute of a quarter, half or three quarters of each virtual stage's layers (Megatron's block
    method) for the given full-recompute plans; shares that round to every layer, or repeat, are dropped."""
    col = {f: getattr(cand, f) for f in ("tp", "pp", "dp", "ep", "cp", "vpp", "mb", "recompute", "zero", "sp",
                                         "opt_bf16", "off_act", "off_opt", "cpa")}
    fr = _cross(col, "share", list(PARTIAL_RECOMPUTE), base=np.arange(len(cand)))
    chunk = np.ceil(layers / fr["pp"]) // fr["vpp"]
    rl = np.maximum(1, np.round(fr.pop("share") * chunk)).astype(int)
    base = fr.pop("base")
    repeat = np.concatenate([[False], (base[1:] == base[:-1]) & (rl[1:] == rl[:-1])])
    fr = _where({**fr, "rlayers": rl}, (rl < chunk) & ~repeat)
    return PlanArrays(**fr)


def _recompute_beside_a_fitting_twin(cand: PlanArrays, fits: np.ndarray) -> np.ndarray:
    """Each plan that recomputes (selective, full or part of it) while the same plan without recompute fits."""
    _, group = distinct_rows(cand.tp, cand.pp, cand.ep, cand.cp, cand.vpp, cand.mb, cand.zero + 1, cand.sp + 1,
                             cand.cpa + 1, cand.opt_bf16 + 1, cand.off_act + 1, cand.off_opt + 1)
    plain = (cand.recompute == RECOMPUTE_CODE["none"]) & fits
    covered = np.zeros(int(group.max()) + 1, dtype=bool)
    covered[group[plain]] = True
    return (cand.recompute != RECOMPUTE_CODE["none"]) & covered[group]


def _where(col: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in col.items()}


def _cross(col: dict[str, np.ndarray], name: str, values: list, **extra: np.ndarray) -> dict[str, np.ndarray]:
    """Every row of `col` (and of the `extra` columns) once per value of the new dimension `name`."""
    n = len(values)
    out = {k: np.repeat(v, n) for k, v in {**col, **extra}.items()}
    out[name] = np.tile(np.asarray(values), len(next(iter(col.values()))))
    return out


def search(workload: Workload, system: System, chip: Chip, chips: int, fixed: dict | None = None,
           assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None,
           objective: str = "tokens_per_s", require_fit: bool = True, *, stack: Stack,
           best_only: bool = False) -> SearchResult:
    """All valid plans for `chips` chips, evaluated at once; feasible ones ranked fastest first.

    With `require_fit=False`, when no plan fits in memory the plans that exceed it least (to the next GB) are
    ranked instead, fastest first: validation predicts a published plan's throughput even where the memory
    model says it does not fit (it ran, so the model misses something) and reports by how much.

    With `best_only` (the sizing walks and comparisons, which read the fastest plan alone) a plan is not timed where
    the same plan without recompute fits: recompute only adds time in this model, so it can never be the fastest.
    The ranking then leaves those near-duplicates out (they are counted in `dominated`)."""
    cand, dominated = _build(workload, system, chips, fixed, stack, _Timing(chip, assumptions, calibration))
    reasons: dict[str, int] = {}
    if len(cand) == 0:
        reasons["no plan satisfies the divisibility rules (heads, layers, batch, chips)"] = 1
        return SearchResult(chips=chips, candidates=0, arrays=None, order=np.array([], int), reasons=reasons,
                            dominated=dominated)
    costs = model_costs(workload.model, workload.seq_len)
    # memory first (cheap): only plans that fit are timed
    mem = memory_of(workload, chip, cand, stack, assumptions, costs)
    pieces = [(cand, mem)]  # kept apart until the fitting plans are taken: concatenating all of them costs more
    f = fixed or {}
    if f.get("recompute") is None and f.get("recompute_layers") is None:
        # partial full recompute helps only where full recompute fits and selective does not (where selective
        # fits it is faster than recomputing whole layers); the build puts a plan's recompute variants side by side
        full = np.flatnonzero((cand.recompute == RECOMPUTE_CODE["full"]) & mem.fits)
        sel = full - 1
        need = full[(cand.recompute[sel] == RECOMPUTE_CODE["selective"]) & ~mem.fits[sel]
                    & (cand.mb[sel] == cand.mb[full]) & (cand.zero[sel] == cand.zero[full])]
        if len(need):
            part = _partial_variants(cand.take(need), workload.model.layers)
            pieces.append((part, memory_of(workload, chip, part, stack, assumptions, costs)))
    n_cand = sum(len(c) for c, _ in pieces)
    fit = np.concatenate([m.fits for _, m in pieces])
    timed = fit
    if best_only and objective == "tokens_per_s" and f.get("recompute") is None:
        slower = _recompute_beside_a_fitting_twin(cand, mem.fits)
        if slower.any():
            timed = fit.copy()
            timed[:len(cand)] &= ~slower
            dominated += int(slower.sum())
    n_mem = int((~fit).sum())
    if n_mem:
        reasons["does not fit in device memory"] = n_mem
    if not fit.any():
        if require_fit:
            return SearchResult(chips=chips, candidates=n_cand, arrays=None, order=np.array([], int),
                                reasons=reasons, dominated=dominated)
        over_gb = np.ceil((np.concatenate([m.total for _, m in pieces]) - mem.capacity) / 1e9)
        fit = over_gb <= over_gb.min()
    taken_plans, taken_mem, start = None, None, 0
    for c, m in pieces:
        mask = (timed if require_fit else fit)[start:start + len(c)]
        start += len(c)
        if not mask.any():
            continue
        if not mask.all():
            idx = np.flatnonzero(mask)
            c, m = c.take(idx), m.take(idx)
        taken_plans = c if taken_plans is None else taken_plans.concat(c)
        taken_mem = m if taken_mem is None else taken_mem.concat(m)
    assert taken_plans is not None and taken_mem is not None
    res = evaluate(workload, system, chip, taken_plans, assumptions, calibration, costs=costs, memory=taken_mem,
                   stack=stack)
    finite = np.isfinite(res.step_time_s)
    admitted = res.fits if require_fit else np.ones(len(res.fits), bool)
    good = res.valid & admitted & finite
    n_net = int((res.valid & admitted & ~finite).sum())
    if n_net:
        reasons["needs a network level the system does not have"] = n_net
    idx = np.flatnonzero(good)
    key = -res.tokens_per_s[idx] if objective == "tokens_per_s" else res.memory_bytes[idx]
    order = idx[np.argsort(key, kind="stable")]
    return SearchResult(chips=chips, candidates=n_cand, arrays=res, order=order, reasons=reasons, dominated=dominated)
