"""The training step, evaluated for arrays of plans at once (struct of arrays, no per-plan loop).

    step = m * t_mb(critical stage) + bubble + exposed data-parallel traffic + optimizer update
    bubble = (pp - 1) / vpp * t_mb(mean stage)                 (Narayanan et al. 2021, sec. 2.2)
    t_mb = compute (GEMMs by shape, flash attention, element-wise, launch gaps) + exposed TP / CP / EP / PP traffic

What the training stack does decides several terms: which collectives it hides behind compute (its `overlap`), which
attention kernel it runs, whether element-wise ops are fused by a compiler and whether kernels launch one by one
(its `execution`). Every time term is work / rate; `StepArrays.time` keeps the terms so they sum to the step time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelplan.catalog.schema import Chip, System, Workload
from accelplan.catalog.stack import Stack
from accelplan.perf.assumptions import DEFAULT, Assumptions
from accelplan.perf.calibration import Calibration
from accelplan.perf.collectives import Fabric, all_reduce_s, all_to_all_s, reduce_scatter_s, send_recv_s
from accelplan.perf.costs import Gemm, ModelCosts, model_costs
from accelplan.perf.kernels import Rates, stack_on
from accelplan.perf.memory import MEMORY_TERMS, Layout, Memory, full_recompute_fraction, layout, memory_per_device
from accelplan.perf.plans import CP_ALGO_CODE, RECOMPUTE_CODE, PlanArrays, distinct_rows

Array = np.ndarray
TIME_TERMS = ("compute_gemm", "compute_attention", "compute_elementwise", "recompute", "tp_comm", "cp_comm",
              "ep_comm", "pp_comm", "pipeline_bubble", "dp_comm", "overlap_contention", "offload", "optimizer")

__all__ = ["TIME_TERMS", "MEMORY_TERMS", "RECOMPUTE_CODE", "PlanArrays", "StepArrays", "Rates", "Memory",
           "evaluate", "memory_of", "full_recompute_fraction"]


@dataclass
class StepArrays:
    """Results per plan. Times in s, memory in bytes, rates per s."""

    plans: PlanArrays
    step_time_s: Array
    time: dict[str, Array]
    memory: dict[str, Array]
    memory_bytes: Array
    capacity_bytes: float
    fits: Array
    valid: Array
    tokens_per_s: Array
    mfu: Array
    hfu: Array
    micro_batches: Array
    chips: Array


@dataclass(frozen=True)
class Overlaps:
    """Share of each collective the stack hides, after any --assume override."""

    tp: float
    tp_moe_mlp: float  # the expert MLP's share of a MoE layer's tensor-parallel traffic
    dp: float
    pp_interleaved: float
    pp_1f1b: float
    ep: float
    cp: float

    @classmethod
    def of(cls, stack: Stack, a: Assumptions) -> Overlaps:
        o = stack.overlap

        def pick(override: float | None, value: float) -> float:
            return value if override is None else override

        pp = pick(a.pp_overlap, o.pp)
        tp = pick(a.tp_overlap, o.tp)
        tp_moe = tp if o.tp_moe_mlp is None or a.tp_overlap is not None else o.tp_moe_mlp
        return cls(tp=tp, tp_moe_mlp=tp_moe, dp=pick(a.dp_overlap, o.dp), pp_interleaved=pp,
                   pp_1f1b=0.0 if (o.pp_needs_interleaving and a.pp_overlap is None) else pp,
                   ep=pick(a.ep_overlap, o.ep), cp=pick(a.cp_overlap, o.cp))


def memory_of(workload: Workload, chip: Chip, plans: PlanArrays, stack: Stack, assumptions: Assumptions = DEFAULT,
              costs: ModelCosts | None = None) -> Memory:
    """Memory per device of each plan: the cheap half of `evaluate`, for pruning a search before timing."""
    return memory_per_device(workload, chip, plans, assumptions, costs or model_costs(workload.model, workload.seq_len),
                             stack)


def evaluate(workload: Workload, system: System, chip: Chip, plans: PlanArrays, assumptions: Assumptions = DEFAULT,
             calibration: Calibration | None = None, costs: ModelCosts | None = None, memory: Memory | None = None, *,
             stack: Stack, sustained: Array | None = None) -> StepArrays:
    """Step time, its breakdown, memory and rates of every plan on `stack`. `memory` may pass what `memory_of` already
    computed for these same plans; `sustained` gives each plan its own in-step compute fraction instead of
    `assumptions.gemm_sustained_fraction` (validation's refit). A plan whose groups need a network level the system
    lacks gets an infinite (or undefined) step time, which callers treat as infeasible."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _evaluate(workload, system, chip, plans, assumptions, calibration, costs, memory, stack, sustained)


def _gemm_time(g: Gemm, rows: Array, tp: Array, r: Rates, a: Assumptions, low: bool) -> tuple[Array, Array]:
    """Roofline time of one forward GEMM (count copies) of `rows` rows on one rank at its shape's efficiency, and the
    time of its fp8 casts: under fp8 training the input is cast in forward and the output gradient in backward, each
    a separate memory-bound kernel (Transformer Engine's cast / cast-transpose), so the casts add to the GEMMs."""
    k = g.k / tp if g.split == "k" else np.full_like(tp, g.k, dtype=float)
    n = g.n / tp if g.split == "n" else np.full_like(tp, g.n, dtype=float)
    rate = (r.matmul_flops_per_s if low else r.bf16_flops_per_s) * r.shape_factor(rows, n, k, a, low)
    bf16 = a.activation_bytes_per_element
    el = r.gemm_bytes if low else bf16
    flops = 2.0 * rows * k * n * g.count  # a multiply-add is 2 FLOPs
    nbytes = el * (rows * k * g.count + k * n) + bf16 * rows * n * g.count  # operands in, bf16 output
    cast = a.fp8_cast_bytes_per_element * rows * (k + n) * g.count / r.hbm_bytes_per_s if low else np.zeros_like(tp)
    return np.maximum(flops / rate, nbytes / r.hbm_bytes_per_s), cast


def _expert_time(c: ModelCosts, tokens_moe: Array, etp: Array, ep: Array, r: Rates, a: Assumptions, low: bool,
                 grouped: bool) -> tuple[Array, Array, Array, Array]:
    """Routed experts on one rank, their fp8 casts, and the number of GEMM launches they take. A rank receives
    tokens_moe x top_k rows (balanced routing) spread over its experts / ep local experts; expert tensor parallelism
    splits each expert's hidden dimension. A grouped GEMM runs all local experts as one kernel (its tiles fill the
    chip together); without it each expert is its own GEMM. Returns the time, the casts, the launches and the part of
    the time that is the experts' down projection (the layer's last GEMM)."""
    moe = c.model.moe
    assert moe is not None  # only called for MoE models
    local = moe.experts / ep
    rows = tokens_moe * moe.top_k  # per rank, over all its local experts
    rows_per_expert = rows / local
    t = np.zeros_like(rows, dtype=float)
    t_out = np.zeros_like(rows, dtype=float)
    cast = np.zeros_like(rows, dtype=float)
    rate_peak = r.matmul_flops_per_s if low else r.bf16_flops_per_s
    bf16 = a.activation_bytes_per_element
    el = r.gemm_bytes if low else bf16
    for g in c.moe_layer_gemms:
        if g.kind != "expert":
            continue
        k = g.k / etp if g.name == "expert_out" else np.full_like(rows, g.k, dtype=float)
        n = g.n / etp if g.name == "expert_in" else np.full_like(rows, g.n, dtype=float)
        # a grouped GEMM's tiles are those of every local expert together; alone, each expert fills the chip itself
        m_eff = rows_per_expert * np.where(grouped, local, 1.0)
        rate = rate_peak * r.shape_factor(m_eff, n, k, a, low)
        flops = 2.0 * rows * k * n
        nbytes = el * (rows * k + local * k * n) + bf16 * rows * n
        if low:
            cast = cast + a.fp8_cast_bytes_per_element * rows * (k + n) / r.hbm_bytes_per_s
        t_g = np.maximum(flops / rate, nbytes / r.hbm_bytes_per_s)
        t = t + t_g
        if g.name in c.last_gemms:
            t_out = t_out + t_g
    launches = np.where(grouped, 2.0, 2.0 * local)  # the two expert GEMMs (fc1, fc2), once or per expert
    return t, cast, launches, t_out


def _attention_time(c: ModelCosts, tokens: Array, tp: Array, cp: Array, r: Rates, a: Assumptions, stack: Stack,
                    seq_len: float) -> tuple[Array, Array]:
    """Forward and backward time of the attention core (scores and values) per layer and micro-batch on a rank."""
    m = c.model
    flops = c.attn_core_flops_per_token * tokens / tp  # causal, at the full sequence (CP splits the tokens)
    head_dim = float(m.attention.qk_nope_head_dim + m.attention.qk_rope_head_dim  # type: ignore[operator,union-attr]
                     if m.is_mla else m.d_head)
    if stack.kernels.attention == "unfused":
        # scores materialised: QK^T and AV as dense batched GEMMs over the whole s x s square (the causal mask is
        # applied to the scores, not skipped: twice the causal FLOPs), and the s^2 softmax traffic (write scores,
        # read them, write probabilities, read them for AV: 4 passes of bf16 per key)
        score_bytes = tokens / tp * m.heads * seq_len * 4.0 * a.activation_bytes_per_element
        fwd = 2.0 * flops / r.bf16_flops_per_s + score_bytes / r.hbm_bytes_per_s
        return fwd, a.gemm_backward_factor * fwd
    f_rate, b_rate = r.attention_rates(head_dim, seq_len, a)
    return flops / f_rate, a.flash_backward_factor * flops / b_rate


@dataclass(frozen=True)
class _Setup:
    """What every stage of one evaluation reads: the plans as floats, the rates, the fabric, the stack's overlap."""

    workload: Workload
    c: ModelCosts
    a: Assumptions
    r: Rates
    fab: Fabric
    ov: Overlaps
    stack: Stack
    plans: PlanArrays
    mem: Memory | None  # None where only the per-layer stages run (`cp_layer_cost_s`)
    lay: Layout
    tp: Array
    pp: Array
    dp: Array
    ep: Array
    cp: Array
    vpp: Array
    fp8: bool

    @property
    def memory(self) -> Memory:
        assert self.mem is not None, "the pipeline and data-parallel stages need the plans' memory"
        return self.mem


@dataclass(frozen=True)
class LayerCompute:
    """Compute of one layer and micro-batch on a rank (s), averaged over the dense and MoE layers."""

    gemm_fwd_s: Array  # forward GEMMs
    gemm_s: Array  # GEMMs forward and backward, with their fp8 casts
    attention_fwd_s: Array
    attention_s: Array  # attention core forward and backward
    elementwise_fwd_s: Array
    elementwise_s: Array  # element-wise kernels and launch gaps, forward and backward
    recompute_s: Array  # forward work that recompute re-runs

    @property
    def forward_s(self) -> Array:
        return self.gemm_fwd_s + self.attention_fwd_s + self.elementwise_fwd_s

    @property
    def total_s(self) -> Array:
        return self.gemm_s + self.attention_s + self.elementwise_s + self.recompute_s


@dataclass(frozen=True)
class LayerComm:
    """Tensor-, context- and expert-parallel traffic of one layer and micro-batch on a rank (s): the part left
    exposed, and the slowdown the hidden part causes in the compute it hides behind."""

    tp_exposed_s: Array
    cp_exposed_s: Array
    ep_exposed_s: Array
    contention_s: Array

    @property
    def exposed_s(self) -> Array:
        return self.tp_exposed_s + self.cp_exposed_s + self.ep_exposed_s


@dataclass(frozen=True)
class PipelineTimes:
    """One micro-batch on the critical pipeline stage and the bubble (s)."""

    layer_s: Array  # one layer: compute, exposed traffic and contention
    stage_layers: Array  # layers on the critical stage, the head counted as a share of a layer
    microbatch_s: Array  # one micro-batch through the critical stage
    pp_exposed_s: Array  # exposed pipeline sends per micro-batch
    pp_contention_s: Array
    offload_exposed_s: Array  # activation offload traffic left exposed per micro-batch
    bubble_s: Array


@dataclass(frozen=True)
class DataParallelTimes:
    """Once per step (s): exposed data-parallel traffic, the slowdown its hidden part causes, the optimizer update
    and optimizer-state offload."""

    exposed_s: Array
    contention_s: Array
    optimizer_s: Array
    offload_optimizer_s: Array


def _setup(workload: Workload, system: System, chip: Chip, plans: PlanArrays, a: Assumptions,
           calibration: Calibration | None, costs: ModelCosts | None, memory: Memory | None, stack: Stack,
           sustained: Array | None, with_memory: bool = True) -> _Setup:
    c = costs or model_costs(workload.model, workload.seq_len)
    stack = stack_on(stack, chip, workload.model)[0]
    r = Rates.of(chip, workload.precision, a, calibration, stack.kernels.attention)
    if sustained is not None:
        r = r.scaled(np.asarray(sustained, dtype=float) / a.gemm_sustained_fraction)
    chips = plans.tp * plans.pp * plans.dp * plans.cp
    fab = Fabric.of(system, a, calibration, chips=int(np.max(chips)) if len(chips) else None)
    mem = memory if memory is not None or not with_memory else memory_per_device(workload, chip, plans, a, c, stack)
    lay = mem.lay if mem is not None else layout(workload, plans, c, stack)
    tp, pp, dp, ep, cp, vpp = (x.astype(float) for x in (plans.tp, plans.pp, plans.dp, plans.ep, plans.cp, plans.vpp))
    return _Setup(workload=workload, c=c, a=a, r=r, fab=fab, ov=Overlaps.of(stack, a), stack=stack, plans=plans,
                  mem=mem, lay=lay, tp=tp, pp=pp, dp=dp, ep=ep, cp=cp, vpp=vpp, fp8=workload.precision == "fp8")


def _layer_compute(st: _Setup, first: Array, back: Array) -> LayerCompute:
    """GEMMs, attention and element-wise work of one layer and micro-batch. These depend on the plan only through
    (tp, cp, micro-batch, ep, etp, sp), which a search repeats across its pipeline, ZeRO and recompute choices: they
    are computed once per distinct combination (`first`) and spread back (`back`)."""
    c, a, r, stack, lay = st.c, st.a, st.r, st.stack, st.lay
    m = c.model
    u_tp, u_ep, u_tokens, u_sp = st.tp[first], st.ep[first], lay.tokens[first], lay.sp_div[first]
    u_moe_tokens, u_etp = lay.tokens_moe[first], lay.etp[first]
    compiled = stack.execution.mode == "compiled"
    fused = stack.execution.fuses_elementwise
    ew_factor = a.compiled_elementwise_traffic_factor if fused else a.elementwise_traffic_factor
    # launch gaps between dependent kernels: none in a compiled program or a whole-step graph; a per-layer graph
    # removes them inside the layers it captures (the dense ones; MoE dispatch stays outside)
    gap_s = 0.0 if compiled or stack.execution.graphs == "full_iteration" else a.kernel_overhead_us * 1e-6
    dense_gap_s = 0.0 if stack.execution.graphs == "per_layer" else gap_s

    tail = c.last_gemms  # a recompute that re-runs only what the backward reads skips them

    def layer_forward(gemms: tuple[Gemm, ...], moe_layer: bool) -> tuple[Array, Array, Array, Array]:
        t_gemm = np.zeros_like(u_tp)
        t_cast = np.zeros_like(u_tp)
        t_tail = np.zeros_like(u_tp)
        launches = np.full_like(u_tp, a.kernels_per_layer_forward)
        for g in gemms:
            if g.kind == "expert":
                continue
            rows = u_moe_tokens / u_etp if (moe_layer and g.name == "router") else u_tokens
            t_g, t_c = _gemm_time(g, rows, u_tp, r, a, st.fp8 and g.name != "router")
            t_gemm, t_cast = t_gemm + t_g, t_cast + t_c
            if g.name in tail:
                t_tail = t_tail + t_g
        if moe_layer:
            t_exp, c_exp, exp_launches, t_exp_out = _expert_time(c, u_moe_tokens, u_etp, u_ep, r, a, st.fp8,
                                                                 stack.kernels.grouped_gemm)
            t_gemm, t_cast, t_tail = t_gemm + t_exp, t_cast + c_exp, t_tail + t_exp_out
            launches = launches + exp_launches
        # eager and graph stacks run every element-wise op as kernels of its own between the GEMMs, fused or not
        # (fp32 statistics, casts and layout copies around them): `elementwise_traffic_factor` x the minimal count;
        # a compiler folds them into their neighbours: the minimal count (measured: fusing them per op the stack's
        # `kernels` way, at the minimal count, raises leave-one-source-out MAPE from 18.4% to 20.2%)
        ew = u_tokens * ((c.elementwise_tp + c.elementwise_mlp * (not moe_layer)) / u_tp
                         + (c.elementwise_norm + c.elementwise_residual) / u_sp)
        if moe_layer:
            ew = ew + u_moe_tokens * (c.elementwise_moe_permute + c.elementwise_moe_act / u_etp)
        ew = ew * ew_factor
        t_ew = ew * a.activation_bytes_per_element / r.hbm_bytes_per_s + launches * (
            gap_s if moe_layer else dense_gap_s)
        return t_gemm[back], t_cast[back], t_ew[back], t_tail[back]

    zeros = np.zeros_like(st.tp)
    n_moe, n_dense, L = float(c.n_moe_layers), float(c.n_dense_layers), float(m.layers)
    gemm_d, cast_d, ew_d, tail_d = layer_forward(c.dense_layer_gemms, False) if n_dense else (zeros,) * 4
    gemm_m, cast_m, ew_m, tail_m = layer_forward(c.moe_layer_gemms, True) if n_moe else (zeros,) * 4
    attn_f, attn_b = (x[back] * _causal_imbalance(st) for x in _attention_time(
        c, u_tokens, u_tp, st.cp[first], r, a, stack, float(st.workload.seq_len)))
    gemm_fwd = (n_dense * gemm_d + n_moe * gemm_m) / L
    ew_fwd = (n_dense * ew_d + n_moe * ew_m) / L
    rc, f_full = st.plans.recompute, lay.f_full
    # full recompute that re-runs only what the backward pass reads (JAX remat) skips the layer's last GEMMs
    full_skips = (n_dense * tail_d + n_moe * tail_m) / L if stack.memory.recompute_skips_last_gemms else zeros
    # selective recompute re-runs the attention core and the element-wise work (Megatron's core-attention recompute,
    # MaxText's keep-q,k,v policies); per-op checkpointing keeps the attention output and re-runs every second mm
    # of a block instead
    if stack.memory.selective_recompute == "every_other_mm":
        selective_s = ew_fwd + (n_dense * c.op_sac_dense.recompute_share * gemm_d
                                + n_moe * c.op_sac_moe.recompute_share * gemm_m) / L
    else:
        selective_s = attn_f + ew_fwd
    return LayerCompute(
        gemm_fwd_s=gemm_fwd,
        gemm_s=gemm_fwd * (1.0 + a.gemm_backward_factor) + (n_dense * cast_d + n_moe * cast_m) / L,
        attention_fwd_s=attn_f,
        attention_s=attn_f + attn_b,
        elementwise_fwd_s=ew_fwd,
        elementwise_s=ew_fwd * (1.0 + a.elementwise_backward_factor),
        recompute_s=np.where(rc == 2, f_full * (gemm_fwd - full_skips + attn_f + ew_fwd),
                             np.where(rc == 1, selective_s, 0.0)),
    )


def _layer_comm(st: _Setup, comp: LayerCompute, first: Array, back: Array) -> LayerComm:
    """Tensor-parallel collectives, the context-parallel KV ring and the MoE all-to-all of one layer and micro-batch,
    each hidden by the stack's overlap behind no more than the compute beside it."""
    a, fab, ov, lay = st.a, st.fab, st.ov, st.lay
    m = st.c.model
    el = a.activation_comm_bytes_per_element
    u_tp, u_ep, u_tokens = st.tp[first], st.ep[first], lay.tokens[first]
    u_moe_tokens, u_etp = lay.tokens_moe[first], lay.etp[first]
    n_moe, L = float(st.c.n_moe_layers), float(m.layers)
    f_full, tp, cp = lay.f_full, st.tp, st.cp
    # one TP all-reduce of the layer's activations (with SP: an all-gather + a reduce-scatter, the same)
    tp_one_s = all_reduce_s(fab, u_tokens * m.hidden * el, u_tp, np.ones_like(u_tp))[back]
    tp_per_layer = a.tp_collectives_per_layer / (2.0 if m.parallel_block else 1.0)
    # full recompute re-runs the forward half, or (re-running only what the backward pass reads) the collectives
    # before the layer's last GEMMs: all but the final reduction of the layer's 2 blocks (1 in a parallel block), each
    # an all-reduce or, with sequence parallelism, an all-gather and a reduce-scatter
    rerun_tp: float | Array = 1.0
    rerun_ep = 1.0
    if st.stack.memory.recompute_skips_last_gemms:
        forward_ops = (1.0 if m.parallel_block else 2.0) * np.where(lay.sp_div > 1, 2.0, 1.0)
        rerun_tp, rerun_ep = 1.0 - 1.0 / forward_ops, 0.5  # the MoE combine all-to-all only feeds the output
    tp_s = tp_per_layer * (1.0 + rerun_tp * f_full / 2.0) * tp_one_s
    # decomposed overlap (userbuffers ring exchange, async TP, MC2) splits each collective into tp chunks pipelined with
    # the pieces of the neighbouring GEMM: the first chunk has nothing to hide behind, and no more than the layer's
    # GEMM time can hide the rest (Wang et al. 2023, ASPLOS, "Overlap communication with dependent computation via
    # decomposition")
    # the MLP half of the MoE layers' collectives may hide less (a stack's fused overlap skipping the experts)
    moe_mlp = 0.0 if m.parallel_block else 0.5 * n_moe / L
    tp_hideable = (ov.tp * (1.0 - moe_mlp) + ov.tp_moe_mlp * moe_mlp) * tp_s * (1.0 - 1.0 / tp)
    tp_exposed = tp_s - np.minimum(tp_hideable, comp.gemm_s)
    cp_s, cp_hideable_s = _context_parallel(st, comp, first, back)
    cp_hidden = np.minimum(ov.cp * cp_s, cp_hideable_s) * (cp > 1)
    cp_exposed = (cp_s - cp_hidden) * (cp > 1)
    ep_s = ep_exposed = np.zeros_like(tp)
    if n_moe:
        ep_one_s = all_to_all_s(fab, u_moe_tokens / u_etp * m.moe.top_k * m.hidden * el,  # type: ignore[union-attr]
                                u_ep, np.ones_like(u_ep))[back]
        ep_s = a.moe_all_to_alls_per_layer * (1.0 + rerun_ep * f_full / 2.0) * ep_one_s * (n_moe / L)
        # the all-to-all hides behind another micro-batch's compute (1F1B A2A overlap, DualPipe), no more than it
        ep_exposed = ep_s - np.minimum(ov.ep * ep_s, comp.gemm_s + comp.attention_s)
    # communication hidden behind compute still slows that compute (SMs and HBM shared with the collective)
    hidden = (tp_s - tp_exposed) + cp_hidden + (ep_s - ep_exposed)
    return LayerComm(tp_exposed_s=tp_exposed, cp_exposed_s=cp_exposed, ep_exposed_s=ep_exposed,
                     contention_s=a.overlap_slowdown * hidden)


def _causal_imbalance(st: _Setup) -> Array:
    """Attention work of the busiest context-parallel rank over the mean. With causal masking and contiguous chunks,
    rank i of r attends i + 1/2 chunks' worth of keys, so the last does (2r - 1) / r times the mean; a balancing
    stack (two chunks per rank, head and tail) and Ulysses (each rank has the whole sequence for its heads) have
    none."""
    balanced = st.stack.context_parallel.load_balanced if st.a.cp_load_balanced is None else st.a.cp_load_balanced
    if balanced:
        return np.ones_like(st.cp)
    ring = st.cp / st.lay.ulysses
    return (2.0 * ring - 1.0) / ring


def _context_parallel(st: _Setup, comp: LayerCompute, first: Array, back: Array) -> tuple[Array, Array]:
    """Time of one layer and micro-batch's context-parallel traffic, and the compute that can hide it (s), in the
    plan's algorithm. K and V of a rank's chunk cross the group `cp_kv_passes` times (K, V forward; K, V again and
    dK, dV backward), plus once more for a layer that recomputes its forward:
    - ring: r - 1 point-to-point steps each time, each behind the attention of one of the r chunks, so up to
      (r - 1) / r of the attention hides it (TE's AttnFuncWithCPAndKVP2P; Liu et al. 2023, ring attention);
    - all-gather: one all-gather (reduce-scatter for the gradients) of every chunk, issued before the local chunk's
      attention and waited after it, so only 1 / r of the attention hides it (torchtitan's allgather rotation;
      Llama 3, arXiv 2407.21783, sec. 3.3.2);
    - Ulysses: an all-to-all of q, k, v before attention and of the output after, forward and backward, on the
      critical path (Jacobs et al. 2023, arXiv 2309.14509);
    - hybrid: Ulysses over `ulysses` ranks, a ring over the rest.
    GQA K, V heads fewer than the ranks splitting them are replicated."""
    a, fab, lay = st.a, st.fab, st.lay
    m = st.c.model
    el = a.activation_comm_bytes_per_element
    u_tp, u_cp, u_uly, u_tokens = st.tp[first], st.cp[first], lay.ulysses[first], lay.tokens[first]
    ring = u_cp / u_uly  # ranks that pass or gather K and V along the sequence
    kv_heads = np.maximum(float(m.n_kv_heads), u_tp * u_uly)
    kv_chunk = u_tokens * kv_heads * m.d_head * 2.0 * el / u_tp
    ring_step_s = np.where(ring > 1, send_recv_s(fab, kv_chunk, u_tp * u_uly), 0.0)
    gather_s = np.where(ring > 1, reduce_scatter_s(fab, kv_chunk * ring, ring, u_tp), 0.0)
    qkvo = u_tokens * (2.0 * m.heads + 2.0 * kv_heads) * m.d_head * el / u_tp
    a2a_s = np.where(u_uly > 1, all_to_all_s(fab, qkvo, u_uly, u_tp), 0.0)
    ring, ring_step_s, gather_s, a2a_s = ring[back], ring_step_s[back], gather_s[back], a2a_s[back]
    passes = a.cp_kv_passes + lay.f_full
    gathered = lay.cp_algo == CP_ALGO_CODE["all_gather"]
    along_s = np.where(gathered, passes * gather_s, passes * (ring - 1.0) * ring_step_s)
    heads_s = (2.0 + lay.f_full) * a2a_s
    hideable_s = comp.attention_s * np.where(gathered, 1.0 / ring, (ring - 1.0) / ring)
    return along_s + heads_s, np.minimum(hideable_s, along_s)


def cp_layer_cost_s(workload: Workload, system: System, chip: Chip, plans: PlanArrays, stack: Stack,
                    assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None,
                    costs: ModelCosts | None = None) -> Array:
    """One layer and micro-batch's compute plus what its context parallelism adds (s): exposed traffic, the slowdown
    hidden traffic causes, and the attention a causal imbalance adds. Nothing else in a step depends on the
    context-parallel algorithm, and a step never gets faster when a layer gets slower, so among plans that differ
    only in the algorithm the one with the least of this is the fastest (the search keeps only it; the transient
    buffers the algorithms hold differ by less than a layer's activations and are not weighed)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        st = _setup(workload, system, chip, plans, assumptions, calibration, costs, None, stack, None,
                    with_memory=False)
        first, back = distinct_rows(plans.tp, plans.cp, plans.mb, plans.ep, st.lay.etp, st.lay.sp_div, st.lay.cp_algo)
        comp = _layer_compute(st, first, back)
        cp_s, hideable_s = _context_parallel(st, comp, first, back)
        hidden = np.minimum(st.ov.cp * cp_s, hideable_s)
        return comp.total_s + (cp_s - hidden + assumptions.overlap_slowdown * hidden) * (st.cp > 1)


def _head_s(st: _Setup) -> Array:
    """The head on the last stage: logits GEMM forward and backward and the loss, per micro-batch (s). The loss
    moves the fp32 logits at the minimal count where one kernel computes it (a fused cross-entropy, or a compiler
    that fuses element-wise work); an eager stack's unfused loss runs as kernels of their own (cast to fp32,
    max, exp-sum, log-softmax, gradient, cast back) at `elementwise_traffic_factor` x that, as every other
    element-wise op of such a stack does."""
    a, r, lay, c, tp, stack = st.a, st.r, st.lay, st.c, st.tp, st.stack
    head_s = np.zeros_like(tp)
    for g in c.head_gemms:
        t_g, t_c = _gemm_time(g, lay.tokens, tp, r, a, st.fp8 and stack.fp8 is not None and stack.fp8.lm_head)
        head_s = head_s + (1.0 + a.gemm_backward_factor) * t_g + t_c
    fused = stack.kernels.fused_cross_entropy or stack.execution.fuses_elementwise
    factor = a.compiled_elementwise_traffic_factor if fused else a.elementwise_traffic_factor
    return head_s + factor * lay.tokens * c.head_elementwise * a.loss_bytes_per_element / tp / r.hbm_bytes_per_s


@dataclass(frozen=True)
class StageRates:
    """Per micro-batch on one rank of each plan: what a pipeline of unequal stages (a mixed cluster) composes."""

    layer_s: Array  # one layer forward and backward, its exposed TP/CP/EP traffic and their contention
    head_s: Array  # the logits and the loss (on the last stage)
    recompute_s: Array  # of layer_s: forward work recompute re-runs (per layer)
    send_bytes: Array  # activations a stage sends the next (and receives their gradient back)
    hbm_bytes_per_s: float  # the sustained memory rate the optimizer step runs at


def stage_rates(workload: Workload, system: System, chip: Chip, plans: PlanArrays, stack: Stack,
                assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None,
                costs: ModelCosts | None = None) -> StageRates:
    """The per-layer and head times of `plans` on `chip`, as `evaluate` computes them inside a step (the pipeline
    and data-parallel stages are left to the caller)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        st = _setup(workload, system, chip, plans, assumptions, calibration, costs, None, stack, None,
                    with_memory=False)
        first, back = distinct_rows(plans.tp, plans.cp, plans.mb, plans.ep, st.lay.etp, st.lay.sp_div, st.lay.cp_algo)
        comp = _layer_compute(st, first, back)
        comm = _layer_comm(st, comp, first, back)
        return StageRates(layer_s=comp.total_s + comm.exposed_s + comm.contention_s, head_s=_head_s(st),
                          recompute_s=comp.recompute_s,
                          send_bytes=st.lay.tokens * st.c.model.hidden * assumptions.activation_comm_bytes_per_element
                          / st.lay.sp_div, hbm_bytes_per_s=float(st.r.hbm_bytes_per_s))


def _pipeline(st: _Setup, comp: LayerCompute, comm: LayerComm) -> PipelineTimes:
    """The critical stage's micro-batch (its layers, the head on the last stage, exposed sends, offload) and the
    bubble: (pp - 1) / vpp mean-stage micro-batches (Narayanan et al. 2021, sec. 2.2)."""
    a, lay, c = st.a, st.lay, st.c
    m = c.model
    tp, pp, vpp, L = st.tp, st.pp, st.vpp, float(m.layers)
    layer_s = comp.total_s + comm.exposed_s + comm.contention_s
    head_s = _head_s(st)
    # the critical stage in layer-equivalents: a published run on a stack that splits the transformer layers evenly
    # by default has the head on the last stage on top of its share; a request is planned with the head balanced
    # over the stages (the split a tuned run sets)
    head_layers = head_s / np.maximum(layer_s, 1e-30)
    if st.stack.as_published and st.stack.plan_defaults.pipeline_split == "even_layers":
        stage_layers = np.ceil(L / pp) + head_layers
    else:
        stage_layers = np.maximum(np.ceil(L / pp), (L + head_layers) / pp)
    pp_bytes = lay.tokens * m.hidden * a.activation_comm_bytes_per_element / lay.sp_div
    # each virtual stage sends its activations forward and receives their gradients back once per micro-batch
    pp_s = np.where(pp > 1, 2.0 * vpp * send_recv_s(st.fab, pp_bytes, tp * st.cp * st.dp), 0.0)
    pp_exposed = (1.0 - np.where(vpp > 1, st.ov.pp_interleaved, st.ov.pp_1f1b)) * pp_s
    pp_contention = a.overlap_slowdown * (pp_s - pp_exposed)
    # offloaded activations stream to the host in forward and back in backward, behind that micro-batch's compute
    offload_s = 2.0 * st.memory.host_bytes_per_microbatch / (a.host_link_gb_s * 1e9)
    offload_exposed = np.maximum(offload_s - stage_layers * layer_s, 0.0)
    extra = pp_exposed + pp_contention + offload_exposed
    mean_s = (L * layer_s + head_s) / pp + extra
    return PipelineTimes(layer_s=layer_s, stage_layers=stage_layers, microbatch_s=stage_layers * layer_s + extra,
                         pp_exposed_s=pp_exposed, pp_contention_s=pp_contention, offload_exposed_s=offload_exposed,
                         bubble_s=(pp - 1.0) / vpp * mean_s)


def _tied_embedding_s(st: _Setup, grad_bytes: float) -> Array:
    """All-reduce of a tied word embedding's gradient between its two copies, on the first pipeline stage (input
    embedding) and the last (output layer), after the backward and before the optimizer step: a two-rank group per
    position in the stage, pp - 1 stages apart in the rank order, every position at once (Megatron-LM
    `_allreduce_word_embedding_grads` over the embedding group; DeepSpeed's pipeline engine `ReduceTiedGrads`).
    Nothing runs beside it. Zero for an untied model or one pipeline stage."""
    if not st.workload.model.tied_embeddings:
        return np.zeros_like(st.pp)
    stride = st.tp * st.cp * st.dp * np.maximum(st.pp - 1.0, 1.0)
    t = all_reduce_s(st.fab, st.c.params_embedding / st.tp * grad_bytes, np.full_like(st.pp, 2.0), stride)
    return np.where(st.pp > 1, t, 0.0)


def _data_parallel(st: _Setup, comp: LayerCompute, pipe: PipelineTimes) -> DataParallelTimes:
    """Gradient reduce-scatter / all-reduce and parameter all-gather over the data-parallel ranks, hidden behind the
    critical stage's micro-batches as the stack allows, then the optimizer update."""
    a, lay, mem, plans, ov = st.a, st.lay, st.memory, st.plans, st.ov
    zero, micro = plans.zero, lay.micro
    wb, gb = _dp_bytes(st.stack, a)
    # DP traffic overlaps the whole micro-batch on the critical stage, its own exposed traffic included
    fwd_share = comp.forward_s / np.maximum(comp.total_s, 1e-30)
    fwd_mb_s = pipe.microbatch_s * fwd_share
    bwd_mb_s = pipe.microbatch_s * (1.0 - fwd_share)
    # a reduce-scatter (= all-gather) of the rank's dense and expert parameters over their data-parallel ranks, once per
    # distinct placement (tp, pp, dp, cp, ep, etp): its time is latency + bytes x a rate, so two sizes give both
    first, back = distinct_rows(plans.tp, plans.pp, plans.dp, plans.cp, plans.ep, lay.etp)
    parts = []
    for params, group, stride in ((lay.p_nonexp, lay.shard, st.tp), (lay.p_exp, lay.exp_shard, st.ep)):
        one = reduce_scatter_s(st.fab, params[first], group[first], stride[first])  # at 1 byte per parameter
        two = reduce_scatter_s(st.fab, 2.0 * params[first], group[first], stride[first])
        parts.append(((two - one)[back], (2.0 * one - two)[back]))  # (per byte per parameter, latency)

    def rs(bytes_per_param: float) -> Array:
        return sum(bytes_per_param * per_byte + latency for per_byte, latency in parts)  # type: ignore[return-value]

    grad_sync = np.where(zero == 0, 2.0 * rs(gb), rs(gb))  # an all-reduce is a reduce-scatter and an all-gather
    param_gather = np.where(zero >= 1, rs(wb), 0.0)
    # sharded gradients (ZeRO-2 and -3) cannot accumulate over micro-batches: they are reduce-scattered after every
    # micro-batch's backward (DeepSpeed stage 2, FSDP); ZeRO-0/1 accumulate whole gradients and reduce once per step
    grad_syncs = np.where(zero >= 2, micro, 1.0)
    # what hides it: the critical (first) stage's last micro-batch, in forward for the parameter all-gather and in
    # backward for the gradient reduce. An interleaved schedule widens that: each virtual chunk's gradients are
    # final after its last backward and are reduced while the stage runs the other chunks' remaining backwards
    # (Megatron-Core DDP buckets per virtual chunk, "the granularity of DP communication becomes the Transformer
    # layers per virtual pipeline stage", Megatron-Bridge docs, Communication Overlap); the last pp micro-batches'
    # backwards run chunk by chunk from the last to the first (Narayanan et al. 2021, sec. 2.2), so the reduces
    # have pp micro-batches' backward to hide behind (no more than there are), and the gathers the warm-up's
    # forwards; sharded gradients reduced every micro-batch hide behind that micro-batch's backward only
    win = np.where(st.vpp > 1, np.minimum(st.pp, micro), 1.0)
    per_step_exposed = (grad_syncs * np.maximum(grad_sync - ov.dp * np.where(zero >= 2, 1.0, win) * bwd_mb_s, 0.0)
                        + np.maximum(param_gather - ov.dp * win * fwd_mb_s, 0.0))
    # ZeRO-3 / FSDP that regathers: weights gathered for forward and again for backward, gradients reduce-scattered,
    # every micro-batch. ZeRO-3 that keeps its gathered weights gathers them once per step.
    fsdp_mb = 2.0 * param_gather + grad_sync
    fsdp_exposed = micro * np.maximum(fsdp_mb - ov.dp * (fwd_mb_s + bwd_mb_s), 0.0)
    has_dp = (lay.shard > 1) | (lay.exp_shard > 1)
    exposed = np.where(mem.per_microbatch, fsdp_exposed, per_step_exposed) * has_dp + _tied_embedding_s(st, gb)
    hidden = np.where(mem.per_microbatch, micro * fsdp_mb, grad_syncs * grad_sync + param_gather) * has_dp - exposed
    # optimizer state on the host moves there and back once per step (ZeRO-Offload, swap-optimizer)
    off_opt = np.where(plans.off_opt, 2.0 * mem.optimizer_bytes_local / (a.host_link_gb_s * 1e9), 0.0)
    # the Adam step at its fused traffic; an unfused one (element-wise ops over each state tensor, kernel by kernel)
    # at the eager element-wise factor, as every other unfused op
    stack = st.stack
    fused_adam = stack.kernels.fused_adam or stack.execution.fuses_elementwise
    adam_factor = 1.0 if fused_adam else a.elementwise_traffic_factor
    return DataParallelTimes(exposed_s=exposed, contention_s=a.overlap_slowdown * hidden,
                             optimizer_s=adam_factor * a.optimizer_traffic_bytes_per_param * mem.params_local
                             / st.r.hbm_bytes_per_s,
                             offload_optimizer_s=off_opt)


def _evaluate(workload: Workload, system: System, chip: Chip, plans: PlanArrays, a: Assumptions,
              calibration: Calibration | None, costs: ModelCosts | None, memory: Memory | None, stack: Stack,
              sustained: Array | None = None) -> StepArrays:
    st = _setup(workload, system, chip, plans, a, calibration, costs, memory, stack, sustained)
    lay = st.lay
    first, back = distinct_rows(plans.tp, plans.cp, plans.mb, plans.ep, lay.etp, lay.sp_div, lay.cp_algo)
    comp = _layer_compute(st, first, back)
    comm = _layer_comm(st, comp, first, back)
    pipe = _pipeline(st, comp, comm)
    dp = _data_parallel(st, comp, pipe)

    micro = lay.micro
    crit = micro * pipe.stage_layers
    time = {
        "compute_gemm": crit * comp.gemm_s,
        "compute_attention": crit * comp.attention_s,
        "compute_elementwise": crit * comp.elementwise_s,
        "recompute": crit * comp.recompute_s,
        "tp_comm": crit * comm.tp_exposed_s,
        "cp_comm": crit * comm.cp_exposed_s,
        "ep_comm": crit * comm.ep_exposed_s,
        "pp_comm": micro * pipe.pp_exposed_s,
        "pipeline_bubble": pipe.bubble_s,
        "dp_comm": dp.exposed_s,
        "overlap_contention": crit * comm.contention_s + micro * pipe.pp_contention_s + dp.contention_s,
        "offload": micro * pipe.offload_exposed_s + dp.offload_optimizer_s,
        "optimizer": dp.optimizer_s,
    }
    # the head (logits, loss) is inside stage_layers as a fraction of a layer, so it is spread over the per-layer
    # terms; what rounding leaves is folded into GEMM time so the terms sum exactly
    pipeline = micro * pipe.microbatch_s
    accounted = sum(time[k] for k in ("compute_gemm", "compute_attention", "compute_elementwise", "recompute",
                                      "tp_comm", "cp_comm", "ep_comm", "pp_comm", "overlap_contention")) \
        - dp.contention_s + micro * pipe.offload_exposed_s
    time["compute_gemm"] = time["compute_gemm"] + (pipeline - accounted)
    step = pipeline + pipe.bubble_s + dp.exposed_s + dp.contention_s + dp.optimizer_s + dp.offload_optimizer_s

    c, L = st.c, float(workload.model.layers)
    gbs = float(workload.global_batch)
    micro_exact = gbs / (st.dp * plans.mb)
    valid = (np.abs(micro_exact - np.round(micro_exact)) < 1e-9) & (micro_exact >= 1)
    chips = plans.tp * plans.pp * plans.dp * plans.cp
    tps = np.where(valid, gbs * float(workload.seq_len) / step, 0.0)
    peak = chips * st.r.mfu_peak_flops_per_s
    mfu = c.model_flops_per_token() * tps / peak
    rc = plans.recompute
    skipped = c.last_gemm_flops_per_token() if st.stack.memory.recompute_skips_last_gemms else 0.0
    # per-op checkpointing re-runs every second mm of a block, not the attention; the other policies the attention core
    selective_flops = (c.op_sac_recompute_flops_per_token() if st.stack.memory.selective_recompute == "every_other_mm"
                       else L * c.attn_core_flops_per_token)
    recompute_flops = np.where(rc == 2, lay.f_full * (c.forward_flops_per_token()
                                                      - sum(g.flops_per_token for g in c.head_gemms) - skipped),
                               np.where(rc == 1, selective_flops, 0.0))
    hfu = (c.model_flops_per_token() + recompute_flops) * tps / peak
    mem = st.memory
    return StepArrays(plans=plans, step_time_s=step, time=time, memory=mem.memory, memory_bytes=mem.total,
                      capacity_bytes=mem.capacity, fits=mem.fits, valid=valid, tokens_per_s=tps, mfu=mfu, hfu=hfu,
                      micro_batches=micro, chips=chips.astype(float))


def _dp_bytes(stack: Stack, a: Assumptions) -> tuple[float, float]:
    """Bytes per element of the parameter all-gather and the gradient reduce-scatter."""
    wb = a.weight_bytes if a.weight_bytes is not None else stack.memory.weight_bytes
    gb = a.grad_bytes if a.grad_bytes is not None else stack.memory.grad_bytes
    return wb, gb
