"""Mixed clusters: one training job over several chip types, and whether mixing pays (issue 15).

The plan space is what every working heterogeneous system keeps (shared/research/mixed_clusters.md, sec. 1):
- tensor and expert parallelism stay inside one chip type and its scale-up domain;
- each pipeline replica runs its stages in blocks, one block per chip type, in a chosen order; a block has its own
  tensor-parallel degree, number of stages and share of the layers (H2's HeteroPP, Metis, FlashFlex);
- data-parallel replicas are identical, so every data-parallel group is of one type and needs no cross-vendor
  collective; the only cross-type traffic is the pipeline send at each block boundary, over the scale-out network.

A step is a 1F1B pipeline of unequal stages: the first micro-batch passes every stage, the rest follow at the pace of
the slowest (the cost HARP's planner uses: sum of stage times + (micro - 1) x the slowest), then each block's
data-parallel gradient exchange and optimizer step. Per-layer times are the homogeneous step model's, per chip type,
on its own training stack (`perf.step.stage_rates`), so the two agree where a mix has one type.

The search is vectorized over the block order, the data-parallel degree, each block's tensor-parallel degree, the
micro-batch, recompute and the layer split (a window around the split that balances the blocks).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from accelplan.catalog.loader import Catalog
from accelplan.catalog.schema import Chip, System, Workload
from accelplan.catalog.stack import Stack
from accelplan.errors import PlanError
from accelplan.perf.assumptions import DEFAULT, Assumptions
from accelplan.perf.calibration import Calibration
from accelplan.perf.collectives import Fabric, reduce_scatter_s
from accelplan.perf.costs import ModelCosts, model_costs
from accelplan.perf.memory import stage_memory_bytes
from accelplan.perf.plans import RECOMPUTE_CODE, PlanArrays
from accelplan.perf.step import Overlaps, stage_rates
from accelplan.plan.rules import MAX_TP

Array = np.ndarray
MICRO_BATCHES = (1, 2, 4, 8)
SPLIT_WINDOW = 3  # layer splits tried on each side of the one that balances the blocks
BEAM_ROWS = 256  # with four types, the grid rows (at their balanced split) that get the whole split window
RC_NAMES = {v: k for k, v in RECOMPUTE_CODE.items()}
# the only measured cross-vendor device-direct RDMA matrix (DLSlime README, commits 17812c5..6d7cea5; shared/research/
# mixed_clusters.md sec. 3): every cross-vendor entry equals the slower chip's own rate within -4% / +7%
CROSS_LINK_ASSUMPTION = ("cross-type pipeline sends run at the slower side's scale-out rate and the larger latency "
                         "(DLSlime's measured cross-vendor RDMA matrix: each cross-vendor pair at the smaller of the "
                         "two chips' own rates, within -4%/+7%; shared/research/mixed_clusters.md sec. 3)")


@dataclass(frozen=True)
class Part:
    """Chips of one type in the cluster, on the system and training stack they run."""

    chip: Chip
    system: System
    count: int
    stack: Stack
    stack_note: str = ""


class Block(BaseModel):
    """The stages of one chip type in every pipeline replica."""

    chip: str
    tp: int
    ep: int  # experts split over this block's data-parallel ranks (1: dense, or every expert on every rank)
    stages: int
    layers: int  # transformer layers over this block's stages
    chips: int  # chips this block uses: dp x stages x tp
    idle_chips: int  # chips of this type the plan leaves unused
    stage_time_s: float  # the block's slowest stage, per micro-batch (forward and backward)
    busy_share: float  # share of the step its chips compute
    memory_gb: float  # its fullest stage (the first, holding the most micro-batches in flight)
    capacity_gb: float


class MixedEstimate(BaseModel):
    """One mixed plan: the blocks in pipeline order, and what the step costs."""

    blocks: list[Block]
    dp: int
    micro_batch: int
    micro_batches: int
    recompute: str
    step_time_s: float
    tokens_per_s: float
    days: float | None
    boundary_s: float  # cross-type sends per micro-batch at the block boundaries (both directions, all boundaries)
    bubble_s: float  # pipeline fill and drain
    dp_exposed_s: float  # the slowest block's exposed gradient exchange and optimizer step
    fits: bool


class DataShare(BaseModel):
    """One chip type's share of the global batch, on its own best plan."""

    chip: str
    sequences: int  # sequences per step this type trains
    plan: str
    step_time_s: float  # its own step on that share, before the cross-type exchange


class DataSplit(BaseModel):
    """The other way to mix: whole-model replicas on each type with uneven batch shares, and a gradient all-reduce
    across the types every step, which needs a cross-vendor collective library."""

    shares: list[DataShare]
    exchange_s: float  # the cross-type gradient all-reduce per step (exposed)
    step_time_s: float
    tokens_per_s: float
    searches: int  # homogeneous plan searches it took


class MixedResult(BaseModel):
    """The best mixed plan beside each part alone, and the verdict."""

    workload: str
    parts: dict[str, int]  # chip -> count
    best: MixedEstimate | None
    top: list[MixedEstimate] = Field(default_factory=list)
    candidates: int = 0
    data_split: DataSplit | None = None  # uneven data-parallel shares across the types (2 types), where one exists
    mode: str = "pipeline"  # which way of mixing is faster: pipeline (blocks per type) or data (batch shares)
    mixed_tokens_per_s: float | None = None  # the faster of the two
    alone_tokens_per_s: dict[str, float | None] = Field(default_factory=dict)  # each part's best plan on its own
    alone_plans: dict[str, str] = Field(default_factory=dict)
    sum_of_parts_tokens_per_s: float | None = None
    efficiency: float | None = None  # mixed / sum of the parts run alone
    gain_over_best_part: float | None = None  # mixed / the fastest part alone - 1
    verdict: str = ""
    assumptions: list[str] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)


def _tp_options(workload: Workload, part: Part) -> list[int]:
    m = workload.model
    domain = max(part.system.domain_chips, 1)
    return [t for t in range(1, min(MAX_TP, domain, part.count) + 1)
            if m.heads % t == 0 and (m.n_kv_heads % t == 0 or t % m.n_kv_heads == 0) and part.count % t == 0
            and (t & (t - 1)) == 0]


@dataclass(frozen=True)
class _Rates:
    """Per (tp, micro-batch, recompute) of one part: per-layer and head time, send bytes, per-layer parameters."""

    keys: dict[tuple[int, int, int, int], int]  # (tp, micro-batch, recompute, ep)
    layer_s: Array
    head_s: Array
    send_bytes: Array
    hbm_bytes_per_s: float

    def index(self, tp: Array, mb: Array, rc: Array, ep: Array) -> Array:
        """Each row's position in these rates (every (tp, mb, rc, ep) of the rows must be a key)."""
        cols = (tp, mb, rc, ep)
        radix = [max(max(k[j] for k in self.keys), int(np.max(c))) + 1 for j, c in enumerate(cols)]
        table = np.full(int(np.prod(radix)), -1, dtype=np.int64)

        def code(vals: tuple[Any, ...]) -> Any:
            out: Any = 0
            for v, r in zip(vals, radix, strict=True):
                out = out * r + v
            return out

        for key, i in self.keys.items():
            table[code(key)] = i
        found = table[code(tuple(np.asarray(c, dtype=np.int64) for c in cols))]
        assert (found >= 0).all(), "a grid row has no per-layer rate"
        return found


def _ep_options(workload: Workload) -> list[int]:
    """Expert-parallel degrees (powers of two dividing the experts); 1 for a dense model."""
    moe = workload.model.moe
    if moe is None:
        return [1]
    return [e for e in (2 ** i for i in range(17)) if e <= moe.experts and moe.experts % e == 0]


def _part_rates(workload: Workload, part: Part, tps: list[int], mbs: list[int], rcs: list[int],
                a: Assumptions, calibration: Calibration | None, costs: ModelCosts) -> _Rates:
    combos = list(itertools.product(tps, mbs, rcs, _ep_options(workload)))
    col = np.array(combos, dtype=int).reshape(-1, 4)
    ones = np.ones(len(combos), dtype=int)
    # experts fold inside the block's data-parallel ranks (ep divides dp): a dp of ep keeps the stack's expert
    # tensor parallelism, as in the block
    plans = PlanArrays(tp=col[:, 0], pp=ones, dp=col[:, 3], ep=col[:, 3], cp=ones, vpp=ones, mb=col[:, 1],
                       recompute=col[:, 2], zero=ones, sp=col[:, 0] > 1)
    r = stage_rates(workload, part.system, part.chip, plans, part.stack, a, calibration, costs)
    return _Rates(keys={c: i for i, c in enumerate(combos)}, layer_s=r.layer_s, head_s=r.head_s,
                  send_bytes=r.send_bytes, hbm_bytes_per_s=r.hbm_bytes_per_s)


def cross_link(fa: Fabric, fb: Fabric) -> tuple[float, float]:
    """Bytes/s and latency (s) of a send between two chip types: the slower scale-out, the larger latency."""
    return min(fa.out_bytes_per_s, fb.out_bytes_per_s), max(fa.out_alpha_s, fb.out_alpha_s)


def search_mixed(workload: Workload, parts: list[Part], assumptions: Assumptions = DEFAULT,
                 calibration: Calibration | None = None, top: int = 5) -> tuple[list[MixedEstimate], int]:
    """Every pipeline-across-types plan over `parts`, evaluated at once; the `top` fastest that fit, and how many
    candidates were evaluated."""
    if not 2 <= len(parts) <= 4:
        raise PlanError(f"a mixed cluster needs 2 to 4 chip types, got {len(parts)}")
    m = workload.model
    L = m.layers
    if len(parts) > L:
        raise PlanError(f"{m.id} has {L} layers: too few for one pipeline stage on each of {len(parts)} chip types")
    costs = model_costs(m, workload.seq_len)
    gbs = workload.global_batch
    rcs = [RECOMPUTE_CODE[r] for r in ("none", "selective", "full")]
    tps = [_tp_options(workload, p) for p in parts]
    if any(not t for t in tps):
        bad = next(p for p, t in zip(parts, tps, strict=True) if not t)
        raise PlanError(f"no tensor-parallel degree of {bad.chip.id} divides the {m.heads} heads of {m.id}")
    rates = [_part_rates(workload, p, t, list(MICRO_BATCHES), rcs, assumptions, calibration, costs)
             for p, t in zip(parts, tps, strict=True)]
    best: list[MixedEstimate] = []
    evaluated = 0
    for order in itertools.permutations(range(len(parts))):
        ests, n = _search_order(workload, [parts[i] for i in order], [tps[i] for i in order],
                                [rates[i] for i in order], rcs, gbs, assumptions, costs, top)
        best.extend(ests)
        evaluated += n
    best.sort(key=lambda e: -e.tokens_per_s)
    return best[:top], evaluated


def _search_order(workload: Workload, parts: list[Part], tps: list[list[int]], rates: list[_Rates], rcs: list[int],
                  gbs: int, a: Assumptions, costs: ModelCosts, top: int) -> tuple[list[MixedEstimate], int]:
    m = workload.model
    L = m.layers
    k = len(parts)
    dps = [d for d in range(1, min(p.count for p in parts) + 1) if gbs % d == 0]
    eps = _ep_options(workload)
    # the grid: dp x each part's tp and ep x micro-batch x recompute
    axes = ([np.array(dps)] + [np.array(t) for t in tps] + [np.array(eps)] * k
            + [np.array(MICRO_BATCHES), np.array(rcs)])
    grid = [g.ravel() for g in np.meshgrid(*axes, indexing="ij")]
    dp, tp_cols, ep_cols, mb, rc = grid[0], grid[1:1 + k], grid[1 + k:1 + 2 * k], grid[1 + 2 * k], grid[2 + 2 * k]
    stages = [np.array([p.count]) // (dp * t) for p, t in zip(parts, tp_cols, strict=True)]
    ok = (gbs % (dp * mb) == 0) & np.logical_and.reduce([s >= 1 for s in stages])
    ok &= np.sum(stages, axis=0) <= L
    # experts fold inside a block's data-parallel ranks; of the degrees that do, the largest few (more experts per
    # rank only adds memory, fewer only adds traffic past a point)
    for e in ep_cols:
        top_ep = np.minimum(dp, eps[-1])
        ok &= (dp % e == 0) & (e * 8 >= top_ep)
    sel = np.flatnonzero(ok)
    if len(sel) == 0:
        return [], 0
    dp, mb, rc = dp[sel], mb[sel], rc[sel]
    tp_cols = [t[sel] for t in tp_cols]
    ep_cols = [e[sel] for e in ep_cols]
    stages = [np.minimum(s[sel], L) for s in stages]
    micro = gbs // (dp * mb)
    idx = [r.index(tc, mb, rc, ec) for r, tc, ec in zip(rates, tp_cols, ep_cols, strict=True)]
    layer_s = [r.layer_s[i] for r, i in zip(rates, idx, strict=True)]
    head_s = rates[-1].head_s[idx[-1]]
    send_bytes = rates[0].send_bytes[idx[0]]  # activations the first block sends per micro-batch
    # the layer split that balances stage times: layers_i proportional to stages_i / layer_s_i (head on the last)
    w = [s / t for s, t in zip(stages, layer_s, strict=True)]
    total_w = sum(w)
    ideal = [L * wi / total_w for wi in w]

    def splits(rows: Array, offsets: list[tuple[int, ...]]) -> tuple[dict[str, Array], list[Array], list[Array], Array]:
        """Every row of `rows` at each layer-split offset from its balanced split (the first k - 1 blocks; the last
        takes the rest), evaluated; the results, the layers and stages per block, and each result's grid row."""
        rep = np.repeat(rows, len(offsets))
        off = np.tile(np.array(offsets).reshape(len(offsets), k - 1), (len(rows), 1))
        lay = [np.round(ideal[i][rep]).astype(int) + off[:, i] for i in range(k - 1)]
        lay.append(L - sum(lay))
        stg = [s[rep] for s in stages]
        keep = np.flatnonzero(np.logical_and.reduce([(x >= s) for x, s in zip(lay, stg, strict=True)]))
        rep, lay, stg = rep[keep], [x[keep] for x in lay], [s[keep] for s in stg]
        res = _evaluate(workload, parts, lay, stg, [t[rep] for t in tp_cols], [e[rep] for e in ep_cols],
                        [t[rep] for t in layer_s], head_s[rep], send_bytes[rep], dp[rep], mb[rep], rc[rep], micro[rep],
                        a, costs, [r.hbm_bytes_per_s for r in rates])
        return res, lay, stg, rep

    window = list(itertools.product(range(-SPLIT_WINDOW, SPLIT_WINDOW + 1), repeat=k - 1))
    rows = np.arange(len(dp))
    evaluated = 0
    if k >= 4:
        # four types: (2 x SPLIT_WINDOW + 1)^3 splits of every grid row are tens of millions of plans; the balanced
        # split ranks the rows first and only the BEAM_ROWS fastest (fitting or not: a shifted split may fit where
        # the balanced one does not) get the whole window
        res0, _, _, rep0 = splits(rows, [(0,) * (k - 1)])
        evaluated += len(rep0)
        finite = np.flatnonzero(np.isfinite(res0["step_s"]))
        rows = np.unique(rep0[finite[np.argsort(res0["step_s"][finite], kind="stable")[:BEAM_ROWS]]])
    res, layers, stg, rep = splits(rows, window)
    evaluated += len(rep)
    step, fits = res["step_s"], res["fits"]
    good = np.flatnonzero(fits & np.isfinite(step))
    order = good[np.argsort(step[good], kind="stable")][:top]
    return [_estimate(workload, parts, res, i, layers, stg, [t[rep] for t in tp_cols], [e[rep] for e in ep_cols],
                      dp[rep], mb[rep], rc[rep], micro[rep]) for i in order], evaluated


def _evaluate(workload: Workload, parts: list[Part], layers: list[Array], stages: list[Array], tp: list[Array],
              ep: list[Array], layer_s: list[Array], head_s: Array, send_bytes: Array, dp: Array, mb: Array, rc: Array,
              micro: Array, a: Assumptions, costs: ModelCosts, hbm_bytes_per_s: list[float]) -> dict[str, Array]:
    """Step time, memory and per-block figures of each row (blocks in pipeline order)."""
    k = len(parts)
    pp_total = np.sum(stages, axis=0).astype(float)
    micro_f = micro.astype(float)
    stage_s, work_s, mem, cap, internal = [], [], [], [], []
    s0 = np.zeros_like(pp_total)  # index of the block's first stage in the pipeline
    fabs = [Fabric.of(p.system, a) for p in parts]
    overlaps = [Overlaps.of(p.stack, a) for p in parts]
    for i, p in enumerate(parts):
        last = i == k - 1
        st = stages[i].astype(float)
        per_stage = np.ceil(layers[i] / st)
        t = per_stage * layer_s[i]
        if last:  # the head on the last stage, spread as the homogeneous model does
            t = np.maximum(t, (layers[i] * layer_s[i] + head_s) / st)
        fab, ov = fabs[i], overlaps[i]
        # sends between this block's own stages, on its fabric (stages are tp x dp ranks apart)
        send = 2.0 * (send_bytes / fab.out_bytes_per_s + fab.out_alpha_s) if fab.out_bytes_per_s else np.inf
        inner = (1.0 - ov.pp_1f1b) * send * (st > 1)
        stage_s.append(t + inner)
        internal.append(inner * (st - 1.0))
        work_s.append(layers[i] * layer_s[i] + (head_s if last else 0.0))
        in_flight = np.minimum(micro_f, pp_total - s0)
        plans = PlanArrays(tp=tp[i], pp=pp_total.astype(int), dp=dp, ep=ep[i], cp=np.ones_like(dp),
                           vpp=np.ones_like(dp), mb=mb, recompute=rc, zero=np.ones_like(dp), sp=tp[i] > 1)
        first_mem = stage_memory_bytes(workload, p.chip, plans, a, costs, p.stack, per_stage, in_flight,
                                       embedding=bool(i == 0), logits=False)
        last_mem = stage_memory_bytes(workload, p.chip, plans, a, costs, p.stack, per_stage,
                                      np.minimum(micro_f, pp_total - s0 - st + 1.0), embedding=False, logits=last)
        mem.append(np.maximum(first_mem, last_mem))
        cap.append(p.chip.hbm_bytes or 0.0)
        s0 = s0 + st
    # cross-type sends at each block boundary: activations forward, gradients back, at the slower side's rate
    boundary = np.zeros_like(pp_total)
    for i in range(k - 1):
        bw, alpha = cross_link(fabs[i], fabs[i + 1])
        boundary = boundary + (2.0 * (send_bytes / bw + alpha) if bw else np.inf)
    slowest = np.maximum.reduce(stage_s + [boundary / max(k - 1, 1)])
    fill = sum(work_s) + sum(internal) + boundary
    pipeline = fill + (micro_f - 1.0) * slowest
    # each block's data-parallel gradient exchange (ZeRO-1: reduce-scatter + all-gather) behind the last backward,
    # then its optimizer step; the slowest block sets the end of the step
    tail = np.zeros_like(pp_total)
    dp_f = dp.astype(float)
    # a tied word embedding's gradient all-reduced between its copies on the first and the last stage (two ranks per
    # position, all positions at once, over the scale-out network; Megatron-LM `_allreduce_word_embedding_grads`)
    tied = np.zeros_like(pp_total)
    if workload.model.tied_embeddings:
        bw, alpha = cross_link(fabs[0], fabs[-1])
        shard = costs.params_embedding / np.minimum(tp[0], tp[-1]) * parts[0].stack.memory.grad_bytes
        tied = shard / bw + 2.0 * alpha if bw else np.full_like(pp_total, np.inf)
    for i, p in enumerate(parts):
        fab, ov = fabs[i], overlaps[i]
        m = workload.model
        per_stage = np.ceil(layers[i] / stages[i])
        frac_moe = costs.n_moe_layers / m.layers
        dense, moe_nonexp = costs.params_dense_layer, costs.params_moe_layer_nonexpert
        etp = np.where(p.stack.memory.expert_tensor_parallel == "tp", tp[i], 1.0)
        p_dense = per_stage * ((1 - frac_moe) * dense + frac_moe * moe_nonexp) / tp[i]
        p_exp = per_stage * frac_moe * (m.moe.experts / ep[i] if m.moe else 0.0) * costs.params_expert / etp
        grad = p.stack.memory.grad_bytes + p.stack.memory.weight_bytes  # ZeRO-1: reduce-scatter and all-gather
        exp_dp = np.maximum(dp_f * tp[i] / (ep[i] * etp), 1.0)
        sync = (np.where(dp > 1, reduce_scatter_s(fab, p_dense * grad, dp_f, tp[i].astype(float)), 0.0)
                + np.where(exp_dp > 1, reduce_scatter_s(fab, p_exp * grad, exp_dp, (ep[i] * etp).astype(float)), 0.0))
        # hidden behind the last micro-batch's backward (about 2/3 of a stage's time) as far as the stack overlaps it
        exposed = np.maximum(sync - ov.dp * stage_s[i] * (2.0 / 3.0), 0.0)
        params = p_dense / dp_f + p_exp / exp_dp  # what this rank's optimizer updates (ZeRO-1)
        opt = a.optimizer_traffic_bytes_per_param * params / hbm_bytes_per_s[i]
        tail = np.maximum(tail, exposed + opt + (tied if i in (0, k - 1) else 0.0))
    step = pipeline + tail
    fits = np.logical_and.reduce([mm <= c for mm, c in zip(mem, cap, strict=True)])
    return {"step_s": step, "fits": fits, "pipeline_s": pipeline, "boundary_s": boundary, "tail_s": tail,
            "bubble_s": fill - slowest, "stage_s": np.array(stage_s), "mem": np.array(mem),
            "cap": np.array(cap)}


def _estimate(workload: Workload, parts: list[Part], res: dict[str, Array], i: int, layers: list[Array],
              stages: list[Array], tp: list[Array], ep: list[Array], dp: Array, mb: Array, rc: Array,
              micro: Array) -> MixedEstimate:
    step = float(res["step_s"][i])
    tps = workload.global_batch * workload.seq_len / step
    blocks = []
    for j, p in enumerate(parts):
        used = int(dp[i] * stages[j][i] * tp[j][i])
        stage_t = float(res["stage_s"][j][i])
        blocks.append(Block(chip=p.chip.id, tp=int(tp[j][i]), ep=int(ep[j][i]), stages=int(stages[j][i]),
                            layers=int(layers[j][i]),
                            chips=used, idle_chips=p.count - used, stage_time_s=stage_t,
                            busy_share=min(1.0, float(micro[i]) * stage_t / step),
                            memory_gb=float(res["mem"][j][i]) / 1e9, capacity_gb=float(res["cap"][j]) / 1e9))
    return MixedEstimate(blocks=blocks, dp=int(dp[i]), micro_batch=int(mb[i]), micro_batches=int(micro[i]),
                         recompute=RC_NAMES[int(rc[i])], step_time_s=step, tokens_per_s=tps,
                         days=workload.tokens / tps / 86400.0 if tps > 0 else None,
                         boundary_s=float(res["boundary_s"][i]),
                         bubble_s=float(res["bubble_s"][i]), dp_exposed_s=float(res["tail_s"][i]),
                         fits=bool(res["fits"][i]))


def verdict(result: MixedResult) -> str:
    """A plain sentence: does mixing add throughput over the fastest part alone, and what idles."""
    b = result.best
    tps = result.mixed_tokens_per_s or (b.tokens_per_s if b else None)
    if not tps:
        return "no mixed plan fits: every layer split leaves some block over its memory or the batch indivisible"
    alone = {k: v for k, v in result.alone_tokens_per_s.items() if v}
    if not alone:
        return f"mixed: {tps:,.0f} tokens/s; no part runs this job alone"
    top_chip, top_tps = max(alone.items(), key=lambda kv: kv[1])
    gain = tps / top_tps - 1.0
    how = ("as pipeline blocks per type" if result.mode == "pipeline" else
           "as whole replicas per type with uneven batch shares, which needs a cross-vendor all-reduce")
    if gain > 0.02:
        eff = f"; {result.efficiency:.0%} of the parts' sum run separately" if result.efficiency else ""
        return f"mixing adds {gain:.0%} over the {result.parts[top_chip]:,} {top_chip} alone ({how}{eff})"
    if b is not None and result.mode == "pipeline":
        idle = min(b.blocks, key=lambda x: x.busy_share)
        return (f"not worth it: {gain:+.0%} against the {result.parts[top_chip]:,} {top_chip} alone; the {idle.chip} "
                f"idle {1 - idle.busy_share:.0%} of the step")
    return f"not worth it: {gain:+.0%} against the {result.parts[top_chip]:,} {top_chip} alone (mixed {how})"


def caveats(parts: list[Part]) -> list[str]:
    """What the field reports about mixing these chips in one job (shared/research/mixed_clusters.md sec. 5-6)."""
    runtimes = {p.chip.runtime or p.chip.vendor for p in parts}
    out = []
    if len(runtimes) > 1:
        out.append(f"communication: the vendors' libraries do not interoperate ({' + '.join(sorted(runtimes))}); the "
                   "cross-type pipeline sends need a cross-vendor transport (DLSlime/DiComm, FlagCX, HetCCL) - NCCL "
                   "with RCCL fails in one job (ROCm/rccl #1220), FlagScale requires every vendor adapted on one "
                   "version (#1068)")
        out.append("numerics: vendors' kernels differ - on 910B vs H20 the same data gave losses within 1% but "
                   "first-layer gradient norms 50-100% apart (Ascend/pytorch #107); align the loss and gradient "
                   "reductions in fp32 (ms-swift #10102) and watch the stages for silent divergence")
    else:
        out.append("one vendor's library spans both types, but mixed generations need a build for every "
                   "architecture (NCCL #1372) and all-reduce across generations has hung (NCCL #794)")
    out.append("no planner's cost model has been measured on a cross-vendor LLM run at this scale; H2 reports up to "
               "16% over homogeneous baselines on >1,000 chips of 4 vendors, with the chips anonymised")
    return out


def plan_mixed(workload: Workload, parts: list[Part], assumptions: Assumptions = DEFAULT,
               calibration: Calibration | None = None, top: int = 5) -> MixedResult:
    """The best mixed plans over `parts`, each part's best plan alone, the efficiency and a verdict."""
    from accelplan.plan.search import search

    best, evaluated = search_mixed(workload, parts, assumptions, calibration, top)
    alone: dict[str, float | None] = {}
    plans: dict[str, str] = {}
    for p in parts:
        res = search(workload, p.system, p.chip, p.count, assumptions=assumptions, calibration=calibration,
                     stack=p.stack)
        if res.best is None or res.arrays is None:
            alone[p.chip.id] = None
            continue
        alone[p.chip.id] = float(res.arrays.tokens_per_s[res.best])
        q = res.arrays.plans.plan(res.best)
        plans[p.chip.id] = f"tp{q.tp} pp{q.pp} dp{q.dp} cp{q.cp} ep{q.ep}"
    known = [v for v in alone.values() if v]
    total = sum(known) if len(known) == len(parts) else None
    b = best[0] if best else None
    split = split_data(workload, parts, alone, assumptions, calibration) if len(known) == len(parts) else None
    mixed = max([x for x in (b.tokens_per_s if b else None, split.tokens_per_s if split else None) if x],
                default=None)
    mode = "data" if split and mixed == split.tokens_per_s and (not b or split.tokens_per_s > b.tokens_per_s) \
        else "pipeline"
    out = MixedResult(workload=workload.model.id, parts={p.chip.id: p.count for p in parts}, best=b, top=best,
                      candidates=evaluated, data_split=split, mode=mode, mixed_tokens_per_s=mixed,
                      alone_tokens_per_s=alone, alone_plans=plans,
                      sum_of_parts_tokens_per_s=total,
                      efficiency=mixed / total if mixed and total else None,
                      gain_over_best_part=mixed / max(known) - 1.0 if mixed and known else None,
                      assumptions=[CROSS_LINK_ASSUMPTION,
                                   "tensor and expert parallelism stay inside one chip type; in pipeline mode the "
                                   "data-parallel groups are of one type (no cross-vendor collective); each type runs "
                                   "its own default training stack's kernels and overlaps; context parallelism is not "
                                   "mixed",
                                   "data mode (whole replicas per type, uneven batch shares): the cross-type gradient "
                                   "all-reduce runs over the slowest type's aggregate scale-out, exposed, and needs a "
                                   "cross-vendor collective library (HetCCL, FlagCX; their maintainers call such "
                                   "collectives untested or restricted)",
                                   *[f"{p.chip.id}: {p.stack_note}" for p in parts if p.stack_note]],
                      caveats=caveats(parts))
    out.verdict = verdict(out)
    return out


def split_data(workload: Workload, parts: list[Part], alone: dict[str, float | None],
               assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None) -> DataSplit | None:
    """Two or more chip types as whole-model replicas with uneven shares of the global batch: each share on its
    type's best plan, the step the slowest type's plus the cross-type gradient all-reduce. Shares are multiples of
    1/64 of the batch. They start proportional to each type's throughput alone and are re-split in proportion to
    the rate each type reached on its last share (a fixed point where the types' steps are equal), then polished
    one 1/64 at a time from the slowest type to the fastest while the step shortens."""
    from accelplan.plan.search import search

    gbs, n = workload.global_batch, len(parts)
    q = max(1, gbs // 64)
    slots = gbs // q  # shares are u_i x q sequences; the last type also takes what rounding leaves
    if n < 2 or slots < n or any(not alone.get(p.chip.id) for p in parts):
        return None
    memo: dict[tuple[int, int], tuple[float, str] | None] = {}

    def seqs(units: list[int], i: int) -> int:
        return units[i] * q + (gbs - slots * q if i == n - 1 else 0)

    def step(i: int, k: int) -> tuple[float, str] | None:
        if (i, k) not in memo:
            p = parts[i]
            r = search(workload.model_copy(update={"global_batch": k}), p.system, p.chip, p.count,
                       assumptions=assumptions, calibration=calibration, stack=p.stack)
            if r.best is None or r.arrays is None:
                memo[(i, k)] = None
            else:
                pl = r.arrays.plans.plan(r.best)
                memo[(i, k)] = (float(r.arrays.step_time_s[r.best]), f"tp{pl.tp} pp{pl.pp} dp{pl.dp} cp{pl.cp} ep{pl.ep}")
        return memo[(i, k)]

    def times(units: list[int]) -> list[float]:
        return [math.inf if (x := step(i, seqs(units, i))) is None else x[0] for i in range(n)]

    def split(weights: list[float]) -> list[int]:
        """`slots` units in proportion to `weights`, at least one each (largest remainders)."""
        total = sum(weights)
        raw = [slots * w / total if total > 0 else slots / n for w in weights]
        units = [max(1, math.floor(x)) for x in raw]
        for i in sorted(range(n), key=lambda i: raw[i] - math.floor(raw[i]), reverse=True):
            if sum(units) >= slots:
                break
            units[i] += 1
        while sum(units) > slots:  # the floors of one unit each can overshoot: take from the most over-served
            units[max((i for i in range(n) if units[i] > 1), key=lambda i: units[i] - raw[i])] -= 1
        return units

    tried: dict[tuple[int, ...], float] = {}

    def best_tried() -> list[int]:
        return list(min(tried.items(), key=lambda kv: kv[1])[0])

    def worst(units: list[int]) -> float:
        key = tuple(units)
        if key not in tried:
            tried[key] = max(times(units))
        return tried[key]

    units = split([float(alone[p.chip.id] or 0.0) for p in parts])
    for _ in range(4):  # re-split by the rate each type reached on its share; a feasible share is never 0
        t = times(units)
        worst(units)
        finite = [x for x in t if math.isfinite(x)]
        if not finite:
            return None
        # a type with no plan on its share gets half the rate it would have at the slowest feasible step
        nxt = split([u / x if math.isfinite(x) else 0.5 * u / max(finite) for u, x in zip(units, t, strict=True)])
        if nxt == units:
            break
        units = nxt
    units = best_tried()
    for _ in range(2 * n):  # polish: one unit from the slowest type to the fastest while the step shortens
        t = times(units)
        slow, fast = max(range(n), key=lambda i: t[i]), min(range(n), key=lambda i: t[i])
        if units[slow] <= 1 or slow == fast:
            break
        moved = list(units)
        moved[slow] -= 1
        moved[fast] += 1
        if worst(moved) >= worst(units):
            break
        units = moved
    units = best_tried()
    if not math.isfinite(tried[tuple(units)]):
        return None
    m = workload.model
    costs = model_costs(m, workload.seq_len)
    grad = max(p.stack.memory.grad_bytes for p in parts)
    fabs = [Fabric.of(p.system, assumptions) for p in parts]
    agg = min(f.out_bytes_per_s * p.count for f, p in zip(fabs, parts, strict=True))
    # a ring all-reduce among the n types, each type's whole scale-out one party: 2 (n - 1) / n of the gradient
    # through the slowest party (a reduce-scatter then an all-gather), 2 (n - 1) latencies
    exchange = (2.0 * (n - 1) / n * costs.params_total * grad / agg + 2 * (n - 1) * max(f.out_alpha_s for f in fabs)
                if agg > 0 else math.inf)
    shares = []
    for i, p in enumerate(parts):
        x = step(i, seqs(units, i))
        assert x is not None
        shares.append(DataShare(chip=p.chip.id, sequences=seqs(units, i), plan=x[1], step_time_s=x[0]))
    total = max(x.step_time_s for x in shares) + exchange
    return DataSplit(shares=shares, exchange_s=exchange, step_time_s=total,
                     tokens_per_s=gbs * workload.seq_len / total, searches=len(memo))


def parts_of(pairs: list[tuple[str, int]], catalog: Catalog, framework: str | None = None,
             framework_version: str | None = None) -> list[Part]:
    """The parts of a mix: each chip on its default system and its runtime's default stack, or `framework` (at
    `framework_version`) for the chips whose runtime it runs on."""
    out = []
    for chip_id, n in pairs:
        c = catalog.chip(chip_id)
        fw = framework if framework and c.runtime in catalog.stack(framework).runtimes else None
        st, note = catalog.resolve_stack(c, fw, framework_version if fw else None)
        out.append(Part(c, catalog.default_system(c), n, st, note))
    return out


def parse_mix(items: list[str]) -> list[tuple[str, int]]:
    """`CHIP=COUNT` pairs from --mix; a bad one names the flag and the form."""
    out = []
    for item in items:
        chip, sep, count = item.partition("=")
        try:
            n = int(count)
        except ValueError:
            n = 0
        if not sep or not chip.strip() or n < 1:
            raise PlanError(f"--mix '{item}' is not CHIP=COUNT with COUNT a whole number >= 1, "
                            "e.g. --mix ascend-910b=2048 --mix h100-sxm=512")
        out.append((chip.strip(), n))
    if len({c for c, _ in out}) != len(out):
        raise PlanError("--mix names a chip twice; give each chip type once with its count")
    if not 2 <= len(out) <= 4:
        raise PlanError(f"--mix needs 2 to 4 chip types (got {len(out)}), e.g. --mix ascend-910b=2048 "
                        "--mix h100-sxm=512")
    return out


class MixedRow(BaseModel):
    """One line of `compare --mix`: a part alone on its best plan, or the mixed job."""

    cluster: str
    chips: int
    tokens_per_s: float | None
    compute_days: float | None  # failure-free
    elapsed_days: float | None  # after goodput
    goodput_pct: float | None
    cloud_cost_usd: float | None  # typical on-demand, for the elapsed time; None where a part has no public price
    energy_mwh: float | None
    plan: str


class MixedPhase(BaseModel):
    """One phase of a programme under `compare --mix`: the mixed job's and each part's best throughput on it."""

    name: str
    tokens: float
    seq_len: int
    global_batch: int
    mode: str  # pipeline or data: the faster way of mixing on this phase
    mixed_tokens_per_s: float | None
    alone_tokens_per_s: dict[str, float | None]
    plan: str  # the mixed plan on this phase


class MixedComparison(BaseModel):
    result: MixedResult  # one phase: its plan_mixed result; a programme: the totals (best, split: its dominant phase)
    rows: list[MixedRow]
    tokens: float
    notes: list[str] = Field(default_factory=list)
    phases: list[MixedPhase] = Field(default_factory=list)  # a programme's phases (empty for one phase)


def _scaled_sum(values: list[float | None], scale: list[float | None]) -> float | None:
    """Each part's figure times its scale, summed; None if any is unknown."""
    total = 0.0
    for v, k in zip(values, scale, strict=True):
        if v is None or k is None:
            return None
        total += v * k
    return total


def _typical(r: object | None) -> float | None:
    return None if r is None else float(getattr(r, "typical", None) or 0.0) or None


def _mixed_plan_text(res: MixedResult) -> str:
    if res.mode == "data" and res.data_split is not None:
        d = res.data_split
        return ("data: " + " | ".join(f"{x.chip}: {x.sequences:,} seq, {x.plan}" for x in d.shares)
                + f"; cross-type all-reduce {d.exchange_s:.2f} s")
    b = res.best
    if b is None:
        return "no mixed plan fits"
    blocks = " | ".join(f"{x.chip}: tp{x.tp}/ep{x.ep} x{x.stages}, {x.layers}L" for x in b.blocks)
    return f"pipeline: {blocks}; dp{b.dp} mb{b.micro_batch} {b.recompute}"


def _programme_rate(ws: list[Workload], rates: list[float | None]) -> float | None:
    """All the programme's tokens over the seconds its phases take at these rates; None if a phase has none."""
    known = [r for r in rates if r]
    if len(known) < len(rates):
        return None
    return sum(w.tokens for w in ws) / sum(w.tokens / r for w, r in zip(ws, known, strict=True))


def _programme_result(ws: list[Workload], names: list[str], results: list[MixedResult], dom: int
                      ) -> tuple[MixedResult, list[MixedPhase]]:
    """A programme's totals from each phase's `plan_mixed`: every rate is all tokens over the phases' seconds at
    each phase's own best plan; the plan, split and block shares shown are those of phase `dom`, the one with the
    most tokens."""
    chips = list(results[0].parts)
    alone = {c: _programme_rate(ws, [r.alone_tokens_per_s.get(c) for r in results]) for c in chips}
    mixed = _programme_rate(ws, [r.mixed_tokens_per_s for r in results])
    known = [v for v in alone.values() if v]
    total = sum(known) if len(known) == len(chips) else None
    modes = sorted({r.mode for r in results})
    d = results[dom]
    out = d.model_copy(update={
        "mixed_tokens_per_s": mixed, "alone_tokens_per_s": alone, "sum_of_parts_tokens_per_s": total,
        "efficiency": mixed / total if mixed and total else None,
        "gain_over_best_part": mixed / max(known) - 1.0 if mixed and known else None,
        "alone_plans": {c: f"{p} ({names[dom]})" for c, p in d.alone_plans.items()},
        "assumptions": [*d.assumptions,
                        f"programme: each of the {len(ws)} phases on its own best mixed plan and each part on its own "
                        f"best plan per phase ({' and '.join(modes)} mode); the plan shown is that of {names[dom]}, "
                        "the phase with the most tokens; every phase in phases[]"]})
    out.verdict = verdict(out)
    phases = [MixedPhase(name=n, tokens=w.tokens, seq_len=w.seq_len, global_batch=w.global_batch, mode=r.mode,
                         mixed_tokens_per_s=r.mixed_tokens_per_s, alone_tokens_per_s=r.alone_tokens_per_s,
                         plan=_mixed_plan_text(r))
              for n, w, r in zip(names, ws, results, strict=True)]
    return out, phases


def _phase_changes_days(econ: Any, changes: int) -> float:
    """Days a programme's phase changes add, each counted as accelplan.phases counts one for a single chip type."""
    from accelplan.phases import phase_change_s

    return changes * phase_change_s(econ) / 86400.0


def compare_mixed(workload: Workload | list[Workload], parts: list[Part], options: object | None = None,
                  assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None,
                  names: list[str] | None = None) -> MixedComparison:
    """`plan_mixed` with time, cost and energy for the workload's tokens: each part alone, and the mix, whose
    elapsed time loses what every part's failures cost it (goodput losses add: an interruption anywhere stops the
    whole job) and whose cost and energy are the parts' over that time. A list of workloads is a programme of
    phases (`names` labels them): each phase runs on its own best plan, mixed and alone, and the phase changes
    between them count as for one chip type."""
    from accelplan.economics import assess

    ws = [workload] if isinstance(workload, Workload) else list(workload)
    if not ws:
        raise PlanError("compare --mix needs at least one phase")
    labels = names or [f"phase {i + 1}" for i in range(len(ws))]
    results = [plan_mixed(w, parts, assumptions, calibration) for w in ws]
    dom = max(range(len(ws)), key=lambda i: ws[i].tokens)
    phases: list[MixedPhase] = []
    if len(ws) == 1:
        res = results[0]
    else:
        res, phases = _programme_result(ws, labels, results, dom)
    changes = len(ws) - 1
    tokens = sum(w.tokens for w in ws)
    state = model_costs(ws[0].model, ws[0].seq_len).params_total * DEFAULT.checkpoint_bytes_per_param

    def costed(p: Part, days: float) -> Any:
        ec = assess(p.chip, p.system, p.count, days, state_bytes=state, options=options)  # type: ignore[arg-type]
        if not changes:
            return ec
        return assess(p.chip, p.system, p.count, days + _phase_changes_days(ec, changes), state_bytes=state,
                      options=options)  # type: ignore[arg-type]

    rows = []
    for p in parts:
        tps = res.alone_tokens_per_s.get(p.chip.id)
        if not tps:
            rows.append(MixedRow(cluster=f"{p.count:,} x {p.chip.id}", chips=p.count, tokens_per_s=None,
                                 compute_days=None, elapsed_days=None, goodput_pct=None, cloud_cost_usd=None,
                                 energy_mwh=None, plan="no plan fits" + (" some phase" if changes else "")))
            continue
        ec = costed(p, tokens / tps / 86400.0)
        rows.append(MixedRow(cluster=f"{p.count:,} x {p.chip.id}", chips=p.count, tokens_per_s=tps,
                             compute_days=ec.compute_days, elapsed_days=ec.effective_days, goodput_pct=ec.goodput_pct,
                             cloud_cost_usd=_typical(ec.cloud_cost_usd), energy_mwh=ec.energy_mwh,
                             plan=res.alone_plans.get(p.chip.id, "")))
    notes = ["mixed job: goodput losses of the parts add (an interruption anywhere stops the whole job); cost and "
             "energy are each part's over the mixed job's elapsed time"]
    if changes:
        notes.append(f"{changes} phase change{'s' if changes > 1 else ''} (write the checkpoint, restart, read it back "
                     "resharded for the next plan) counted in each row's days; the mixed job's take as long as its "
                     "slowest part's")
    if res.mixed_tokens_per_s:
        days = tokens / res.mixed_tokens_per_s / 86400.0
        per = [assess(p.chip, p.system, p.count, days, state_bytes=state, options=options)  # type: ignore[arg-type]
               for p in parts]
        if changes:
            days += max(_phase_changes_days(e, changes) for e in per)
            per = [assess(p.chip, p.system, p.count, days, state_bytes=state, options=options)  # type: ignore[arg-type]
                   for p in parts]
        goodput = max(0.01, 1.0 - sum(1.0 - e.goodput_pct / 100.0 for e in per))
        elapsed = days / goodput
        costs = [_typical(e.cloud_cost_usd) for e in per]
        scale = [elapsed / e.effective_days if e.effective_days else None for e in per]
        cost = _scaled_sum(costs, scale)
        energy = _scaled_sum([e.energy_mwh for e in per], scale)
        plan = _mixed_plan_text(res) + (f" ({labels[dom]})" if changes else "")
        rows.append(MixedRow(cluster="mixed: " + " + ".join(f"{p.count:,} x {p.chip.id}" for p in parts),
                             chips=sum(p.count for p in parts), tokens_per_s=res.mixed_tokens_per_s,
                             compute_days=days, elapsed_days=elapsed, goodput_pct=goodput * 100.0,
                             cloud_cost_usd=cost, energy_mwh=energy, plan=plan))
        missing = [p.chip.id for p, c in zip(parts, costs, strict=True) if c is None]
        if missing:
            notes.append(f"no public cloud price for {', '.join(missing)}: the mixed job's cost is unknown "
                         "(--price CHIP=USD sets one)")
    return MixedComparison(result=res, rows=rows, tokens=tokens, notes=notes, phases=phases)


class BlockSpec(BaseModel):
    """One block of a given mixed plan: a chip type, its TP (and EP), stages and layers."""

    chip: str
    tp: int = Field(ge=1, le=1_024)
    stages: int = Field(ge=1, le=1_024)
    layers: int = Field(ge=1, le=1_024)
    ep: int = Field(default=1, ge=1, le=65_536)


def parse_block(text: str) -> BlockSpec:
    """`CHIP:tpT:sS:lL[:epE]` (e.g. h100-sxm:tp8:s1:l32) from --block; a bad one names the flag and the form."""
    chip, *fields = text.split(":")
    vals: dict[str, int] = {}
    names = {"tp": "tp", "s": "stages", "l": "layers", "ep": "ep"}
    try:
        for f in fields:
            key = next(k for k in sorted(names, key=len, reverse=True) if f.startswith(k))
            vals[names[key]] = int(f[len(key):])
        return BlockSpec(chip=chip, **vals)
    except (StopIteration, ValueError, TypeError):
        raise PlanError(f"--block '{text}' is not CHIP:tpT:sS:lL[:epE] with whole numbers >= 1 (tensor parallel, "
                        "stages, layers, expert parallel), e.g. --block h100-sxm:tp8:s1:l32") from None


def estimate_mixed(workload: Workload, parts: list[Part], blocks: list[BlockSpec], dp: int, micro_batch: int,
                   recompute: str = "none", assumptions: Assumptions = DEFAULT,
                   calibration: Calibration | None = None) -> MixedEstimate:
    """One given mixed plan: `blocks` in pipeline order, one per part; refused (naming the field) where it breaks
    the plan space's rules, or does not fit."""
    m = workload.model
    by_chip = {p.chip.id: p for p in parts}
    if sorted(b.chip for b in blocks) != sorted(by_chip):
        raise PlanError(f"--block must name each --mix chip once, in pipeline order: {', '.join(by_chip)}")
    if sum(b.layers for b in blocks) != m.layers:
        raise PlanError(f"the blocks hold {sum(b.layers for b in blocks)} layers; {m.id} has {m.layers}")
    if workload.global_batch % (dp * micro_batch):
        raise PlanError(f"global_batch={workload.global_batch} is not a multiple of dp x micro_batch = "
                        f"{dp * micro_batch}")
    ordered = [by_chip[b.chip] for b in blocks]
    for b, p in zip(blocks, ordered, strict=True):
        if b.tp not in _tp_options(workload, p):
            raise PlanError(f"--block {b.chip}: tp={b.tp} is not allowed (allowed: {_tp_options(workload, p)})")
        if b.ep not in _ep_options(workload) or dp % b.ep:
            raise PlanError(f"--block {b.chip}: ep={b.ep} must divide the experts and dp={dp}")
        if b.layers < b.stages:
            raise PlanError(f"--block {b.chip}: {b.stages} stages need at least as many layers (got {b.layers})")
        if dp * b.stages * b.tp > p.count:
            raise PlanError(f"--block {b.chip}: dp x stages x tp = {dp * b.stages * b.tp} exceeds its "
                            f"{p.count} chips")
    costs = model_costs(m, workload.seq_len)
    rc = RECOMPUTE_CODE[recompute]
    rates = [_part_rates(workload, p, [b.tp], [micro_batch], [rc], assumptions, calibration, costs)
             for b, p in zip(blocks, ordered, strict=True)]
    idx = [r.keys[(b.tp, micro_batch, rc, b.ep if m.moe else 1)] for b, r in zip(blocks, rates, strict=True)]
    one = np.ones(1, dtype=int)
    layers = [one * b.layers for b in blocks]
    stages = [one * b.stages for b in blocks]
    tp = [one * b.tp for b in blocks]
    ep = [one * b.ep for b in blocks]
    micro = one * (workload.global_batch // (dp * micro_batch))
    res = _evaluate(workload, ordered, layers, stages, tp, ep, [r.layer_s[[i]] for r, i in zip(rates, idx, strict=True)],
                    rates[-1].head_s[[idx[-1]]], rates[0].send_bytes[[idx[0]]], one * dp, one * micro_batch,
                    one * rc, micro, assumptions, costs, [r.hbm_bytes_per_s for r in rates])
    est = _estimate(workload, ordered, res, 0, layers, stages, tp, ep, one * dp, one * micro_batch, one * rc, micro)
    if not est.fits:
        over = [f"{b.chip} {b.memory_gb:.1f} of {b.capacity_gb:.1f} GB" for b in est.blocks
                if b.memory_gb > b.capacity_gb]
        raise PlanError(f"plan does not fit: {'; '.join(over)}")
    return est
