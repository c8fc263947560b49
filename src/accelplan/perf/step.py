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
from accelplan.perf.kernels import Rates
from accelplan.perf.memory import MEMORY_TERMS, Memory, full_recompute_fraction, memory_per_device
from accelplan.perf.plans import RECOMPUTE_CODE, PlanArrays

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
        return cls(tp=pick(a.tp_overlap, o.tp), dp=pick(a.dp_overlap, o.dp), pp_interleaved=pp,
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
                 grouped: bool) -> tuple[Array, Array, Array]:
    """Routed experts on one rank, their fp8 casts, and the number of GEMM launches they take. A rank receives
    tokens_moe x top_k rows (balanced routing) spread over its experts / ep local experts; expert tensor parallelism
    splits each expert's hidden dimension. A grouped GEMM runs all local experts as one kernel (its tiles fill the
    chip together); without it each expert is its own GEMM."""
    moe = c.model.moe
    assert moe is not None  # only called for MoE models
    local = moe.experts / ep
    rows = tokens_moe * moe.top_k  # per rank, over all its local experts
    rows_per_expert = rows / local
    t = np.zeros_like(rows, dtype=float)
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
        t = t + np.maximum(flops / rate, nbytes / r.hbm_bytes_per_s)
    launches = np.where(grouped, 2.0, 2.0 * local)  # the two expert GEMMs (fc1, fc2), once or per expert
    return t, cast, launches


def _attention_time(c: ModelCosts, tokens: Array, tp: Array, cp: Array, r: Rates, a: Assumptions, stack: Stack,
                    seq_len: float) -> tuple[Array, Array]:
    """Forward and backward time of the attention core (scores and values) per layer and micro-batch on a rank."""
    m = c.model
    flops = c.attn_core_flops_per_token * tokens / tp  # causal, at the full sequence (CP splits the tokens)
    head_dim = float(m.attention.qk_nope_head_dim + m.attention.qk_rope_head_dim  # type: ignore[operator,union-attr]
                     if m.is_mla else m.d_head)
    if stack.kernels.attention == "unfused":
        # scores materialised: QK^T and AV at the GEMM rate, and the s^2 softmax traffic (write scores, read them,
        # write probabilities, read them for AV: 4 passes of bf16 per key of the causal half)
        score_bytes = tokens / tp * m.heads * (seq_len / 2.0) * 4.0 * a.activation_bytes_per_element
        fwd = flops / r.bf16_flops_per_s + score_bytes / r.hbm_bytes_per_s
        return fwd, a.gemm_backward_factor * fwd
    f_rate, b_rate = r.attention_rates(head_dim, seq_len, a)
    return flops / f_rate, a.flash_backward_factor * flops / b_rate


def _evaluate(workload: Workload, system: System, chip: Chip, plans: PlanArrays, a: Assumptions,
              calibration: Calibration | None, costs: ModelCosts | None, memory: Memory | None, stack: Stack,
              sustained: Array | None = None) -> StepArrays:
    m = workload.model
    c = costs or model_costs(m, workload.seq_len)
    s = float(workload.seq_len)
    fp8 = workload.precision == "fp8"
    r = Rates.of(chip, workload.precision, a, calibration, stack.kernels.attention)
    if sustained is not None:
        r = r.scaled(np.asarray(sustained, dtype=float) / a.gemm_sustained_fraction)
    chips = plans.tp * plans.pp * plans.dp * plans.cp
    fab = Fabric.of(system, a, calibration, chips=int(np.max(chips)) if len(chips) else None)
    ov = Overlaps.of(stack, a)
    mem = memory if memory is not None else memory_per_device(workload, chip, plans, a, c, stack)
    lay = mem.lay

    tp, pp, dp, ep, cp = (x.astype(float) for x in (plans.tp, plans.pp, plans.dp, plans.ep, plans.cp))
    vpp = plans.vpp.astype(float)
    rc, zero = plans.recompute, plans.zero
    gbs = float(workload.global_batch)
    micro_exact = gbs / (dp * plans.mb)
    valid = (np.abs(micro_exact - np.round(micro_exact)) < 1e-9) & (micro_exact >= 1)
    micro, tokens, sp_div = lay.micro, lay.tokens, lay.sp_div
    L = float(m.layers)
    n_moe, n_dense = float(c.n_moe_layers), float(c.n_dense_layers)
    compiled = stack.execution.mode == "compiled"
    fused = compiled or stack.execution.compiler_fusion
    ew_factor = a.compiled_elementwise_traffic_factor if fused else a.elementwise_traffic_factor
    # launch gaps between dependent kernels: none in a compiled program or a whole-step graph; a per-layer graph
    # removes them inside the layers it captures (the dense ones; MoE dispatch stays outside)
    gap_s = 0.0 if compiled or stack.execution.graphs == "full_iteration" else a.kernel_overhead_us * 1e-6
    dense_gap = 0.0 if stack.execution.graphs == "per_layer" else gap_s

    # ---------- per layer per micro-batch: compute (forward) and one collective of each kind ----------
    # these depend on the plan only through (tp, cp, micro-batch, ep, etp, sp), which a search repeats across its
    # pipeline, ZeRO and recompute choices: computed once per distinct combination, then spread back
    first, back = _distinct(plans.tp, plans.cp, plans.mb, plans.ep, lay.etp, sp_div)
    u_tp, u_cp, u_ep, u_tokens, u_sp = tp[first], cp[first], ep[first], tokens[first], sp_div[first]
    u_moe_tokens, u_etp = lay.tokens_moe[first], lay.etp[first]

    def layer_forward(gemms: tuple[Gemm, ...], moe_layer: bool) -> tuple[Array, Array, Array]:
        t_gemm = np.zeros_like(u_tp)
        t_cast = np.zeros_like(u_tp)
        launches = np.full_like(u_tp, a.kernels_per_layer_forward)
        for g in gemms:
            if g.kind == "expert":
                continue
            rows = u_moe_tokens / u_etp if (moe_layer and g.name == "router") else u_tokens
            t_g, t_c = _gemm_time(g, rows, u_tp, r, a, fp8 and g.name != "router")
            t_gemm, t_cast = t_gemm + t_g, t_cast + t_c
        if moe_layer:
            t_exp, c_exp, exp_launches = _expert_time(c, u_moe_tokens, u_etp, u_ep, r, a, fp8,
                                                      stack.kernels.grouped_gemm)
            t_gemm, t_cast = t_gemm + t_exp, t_cast + c_exp
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
            gap_s if moe_layer else dense_gap)
        return t_gemm, t_cast, t_ew

    u_zeros = np.zeros_like(u_tp)
    comm_el = a.activation_comm_bytes_per_element
    per_key = {
        "dense": layer_forward(c.dense_layer_gemms, False) if n_dense else (u_zeros, u_zeros, u_zeros),
        "moe": layer_forward(c.moe_layer_gemms, True) if n_moe else (u_zeros, u_zeros, u_zeros),
        "attention": _attention_time(c, u_tokens, u_tp, u_cp, r, a, stack, s),
        # one TP all-reduce of the layer's activations (with SP: an all-gather + a reduce-scatter, the same)
        "tp": (all_reduce_s(fab, u_tokens * m.hidden * comm_el, u_tp, np.ones_like(u_tp)),),
        # one context-parallel ring step of the K and V chunk
        "cp": (send_recv_s(fab, u_tokens * m.n_kv_heads * m.d_head * 2.0 * comm_el / u_tp, u_tp),),
        "ep": (all_to_all_s(fab, u_moe_tokens / u_etp * (m.moe.top_k if m.moe else 0) * m.hidden * comm_el, u_ep,
                            np.ones_like(u_ep)) if n_moe else u_zeros,),
    }
    (gd, cd, ed), (gm, cm, em), (af, ab) = ((x[back] for x in per_key[k]) for k in ("dense", "moe", "attention"))
    tp_ar, cp_step, ep_a2a = (per_key[k][0][back] for k in ("tp", "cp", "ep"))
    zeros = np.zeros_like(tp)
    bwd = a.gemm_backward_factor
    g_f = (n_dense * gd + n_moe * gm) / L
    e_f = (n_dense * ed + n_moe * em) / L
    g_fb = g_f * (1.0 + bwd) + (n_dense * cd + n_moe * cm) / L  # GEMMs forward and backward, and their fp8 casts
    a_fb = af + ab
    e_fb = e_f * (1.0 + a.elementwise_backward_factor)
    f_full = lay.f_full
    re = np.where(rc == 2, f_full * (g_f + af + e_f), np.where(rc == 1, af + e_f, 0.0))

    # ---------- communication per layer per micro-batch ----------
    tp_per_layer = a.tp_collectives_per_layer / (2.0 if m.parallel_block else 1.0)
    n_tp_collectives = tp_per_layer * (1.0 + f_full / 2.0)  # full recompute re-runs the forward half
    tp_t = n_tp_collectives * tp_ar
    # decomposed overlap (userbuffers ring exchange, async TP, MC2) splits each collective into tp chunks pipelined with
    # the pieces of the neighbouring GEMM: the first chunk has nothing to hide behind, and no more than the layer's
    # GEMM time can hide the rest (Wang et al. 2023, ASPLOS, "Overlap communication with dependent computation via
    # decomposition")
    tp_hidden = np.minimum(ov.tp * tp_t * (1.0 - 1.0 / tp), g_fb)
    tp_exposed = tp_t - tp_hidden
    cp_t = a.cp_kv_passes * (cp - 1.0) * cp_step
    cp_hidden = np.minimum(ov.cp * cp_t, a_fb)  # the ring hides behind the attention it feeds
    cp_exposed = (cp_t - cp_hidden) * (cp > 1)
    ep_t = ep_exposed = zeros
    if n_moe:
        n_a2a = a.moe_all_to_alls_per_layer * (1.0 + f_full / 2.0)
        ep_t = n_a2a * ep_a2a * (n_moe / L)
        # the all-to-all hides behind another micro-batch's compute (1F1B A2A overlap, DualPipe), no more than it
        ep_exposed = ep_t - np.minimum(ov.ep * ep_t, g_fb + a_fb)

    # communication hidden behind compute still slows that compute (SMs and HBM shared with the collective)
    hidden_layer = (tp_t - tp_exposed) + cp_hidden * (cp > 1) + (ep_t - ep_exposed)
    contention_layer = a.overlap_slowdown * hidden_layer
    t_layer = g_fb + a_fb + e_fb + re + tp_exposed + cp_exposed + ep_exposed + contention_layer

    # ---------- head (logits + loss) on the last stage ----------
    t_head = zeros.copy()
    for g in c.head_gemms:
        t_g, t_c = _gemm_time(g, tokens, tp, r, a, fp8 and stack.fp8 is not None and stack.fp8.lm_head)
        t_head = t_head + (1.0 + bwd) * t_g + t_c
    t_head_ew = tokens * c.head_elementwise * a.loss_bytes_per_element / tp / r.hbm_bytes_per_s
    t_head_total = t_head + t_head_ew

    # ---------- pipeline ----------
    layers_max = np.maximum(np.ceil(L / pp), (L + t_head_total / np.maximum(t_layer, 1e-30)) / pp)
    pp_bytes = tokens * m.hidden * a.activation_comm_bytes_per_element / sp_div
    # each virtual stage sends its activations forward and receives their gradients back once per micro-batch
    pp_t = np.where(pp > 1, 2.0 * vpp * send_recv_s(fab, pp_bytes, tp * cp * dp), 0.0)
    pp_ov = np.where(vpp > 1, ov.pp_interleaved, ov.pp_1f1b)
    pp_exposed = (1.0 - pp_ov) * pp_t
    contention_pp = a.overlap_slowdown * (pp_t - pp_exposed)
    # offloaded activations stream to the host in forward and back in backward, behind that micro-batch's compute
    off_t = 2.0 * mem.host_bytes_per_microbatch / (a.host_link_gb_s * 1e9)
    off_exposed_mb = np.maximum(off_t - layers_max * t_layer, 0.0)
    t_mb_max = layers_max * t_layer + pp_exposed + contention_pp + off_exposed_mb
    t_mb_mean = (L * t_layer + t_head_total) / pp + pp_exposed + contention_pp + off_exposed_mb
    bubble = (pp - 1.0) / vpp * t_mb_mean

    # ---------- data-parallel traffic and optimizer ----------
    wb, gb = _dp_bytes(stack, a)
    p_nonexp, p_exp, shard, exp_shard = lay.p_nonexp, lay.p_exp, lay.shard, lay.exp_shard
    per_microbatch = mem.per_microbatch
    # DP traffic overlaps the whole micro-batch on the critical stage, its own exposed traffic included
    fwd_share = (g_f + af + e_f) / np.maximum(g_fb + a_fb + e_fb + re, 1e-30)
    t_fwd_mb_stage = t_mb_max * fwd_share
    t_bwd_mb_stage = t_mb_max * (1.0 - fwd_share)
    # a reduce-scatter (= all-gather) of the rank's dense and expert parameters over their data-parallel ranks, once per
    # distinct placement (tp, pp, dp, cp, ep, etp): its time is latency + bytes x a rate, so two sizes give both
    first, back = _distinct(plans.tp, plans.pp, plans.dp, plans.cp, plans.ep, lay.etp)
    parts = []
    for params, group, stride in ((p_nonexp, shard, tp), (p_exp, exp_shard, ep)):
        one = reduce_scatter_s(fab, params[first], group[first], stride[first])  # at 1 byte per parameter
        two = reduce_scatter_s(fab, 2.0 * params[first], group[first], stride[first])
        parts.append(((two - one)[back], (2.0 * one - two)[back]))  # (per byte per parameter, latency)

    def rs(bytes_per_param: float) -> Array:
        return sum(bytes_per_param * per_byte + latency for per_byte, latency in parts)  # type: ignore[return-value]

    grad_sync = np.where(zero == 0, 2.0 * rs(gb), rs(gb))  # an all-reduce is a reduce-scatter and an all-gather
    param_gather = np.where(zero >= 1, rs(wb), 0.0)
    # sharded gradients (ZeRO-2 and -3) cannot accumulate over micro-batches: they are reduce-scattered after every
    # micro-batch's backward (DeepSpeed stage 2, FSDP); ZeRO-0/1 accumulate whole gradients and reduce once per step
    grad_syncs = np.where(zero >= 2, micro, 1.0)
    per_step_exposed = (grad_syncs * np.maximum(grad_sync - ov.dp * t_bwd_mb_stage, 0.0)
                        + np.maximum(param_gather - ov.dp * t_fwd_mb_stage, 0.0))
    # ZeRO-3 / FSDP that regathers: weights gathered for forward and again for backward, gradients reduce-scattered,
    # every micro-batch. ZeRO-3 that keeps its gathered weights gathers them once per step.
    fsdp_mb = 2.0 * param_gather + grad_sync
    fsdp_exposed = micro * np.maximum(fsdp_mb - ov.dp * (t_fwd_mb_stage + t_bwd_mb_stage), 0.0)
    has_dp = (shard > 1) | (exp_shard > 1)
    dp_exposed = np.where(per_microbatch, fsdp_exposed, per_step_exposed) * has_dp
    dp_hidden = np.where(per_microbatch, micro * fsdp_mb, grad_syncs * grad_sync + param_gather) * has_dp - dp_exposed
    contention_dp = a.overlap_slowdown * dp_hidden
    t_opt = a.optimizer_traffic_bytes_per_param * mem.params_local / r.hbm_bytes_per_s
    # optimizer state on the host moves there and back once per step (ZeRO-Offload, swap-optimizer)
    off_opt = np.where(plans.off_opt, 2.0 * mem.optimizer_bytes_local / (a.host_link_gb_s * 1e9), 0.0)

    # ---------- assemble the step and its breakdown ----------
    crit = micro * layers_max
    time = {
        "compute_gemm": crit * g_fb,
        "compute_attention": crit * a_fb,
        "compute_elementwise": crit * e_fb,
        "recompute": crit * re,
        "tp_comm": crit * tp_exposed,
        "cp_comm": crit * cp_exposed,
        "ep_comm": crit * ep_exposed,
        "pp_comm": micro * pp_exposed,
        "pipeline_bubble": bubble,
        "dp_comm": dp_exposed,
        "overlap_contention": crit * contention_layer + micro * contention_pp + contention_dp,
        "offload": micro * off_exposed_mb + off_opt,
        "optimizer": t_opt,
    }
    # the head (logits, loss) is inside layers_max as a fraction of a layer, so it is spread over the
    # per-layer terms; what rounding leaves is folded into GEMM time so the terms sum exactly.
    pipeline = micro * t_mb_max
    accounted = sum(time[k] for k in ("compute_gemm", "compute_attention", "compute_elementwise", "recompute",
                                      "tp_comm", "cp_comm", "ep_comm", "pp_comm", "overlap_contention")) - contention_dp \
        + micro * off_exposed_mb
    time["compute_gemm"] = time["compute_gemm"] + (pipeline - accounted)
    step = pipeline + bubble + dp_exposed + contention_dp + t_opt + off_opt

    tokens_per_step = gbs * s
    tps = np.where(valid, tokens_per_step / step, 0.0)
    model_flops = c.model_flops_per_token() * tps
    mfu = model_flops / (chips * r.mfu_peak_flops_per_s)
    recompute_flops = np.where(rc == 2, f_full * (c.forward_flops_per_token() - sum(g.flops_per_token for g in c.head_gemms)),
                               np.where(rc == 1, L * c.attn_core_flops_per_token, 0.0))
    hfu = (c.model_flops_per_token() + recompute_flops) * tps / (chips * r.mfu_peak_flops_per_s)
    return StepArrays(plans=plans, step_time_s=step, time=time, memory=mem.memory, memory_bytes=mem.total,
                      capacity_bytes=mem.capacity, fits=mem.fits, valid=valid, tokens_per_s=tps, mfu=mfu, hfu=hfu,
                      micro_batches=micro, chips=chips.astype(float))


def _distinct(*cols: Array) -> tuple[Array, Array]:
    """The first row of each distinct combination of these positive whole-number columns, and for every row the index
    of its combination among them (`np.unique` on one mixed-radix key, far cheaper than on rows)."""
    n = len(cols[0])
    if n < 256:
        return np.arange(n), np.arange(n)
    key = np.zeros(n, dtype=np.int64)
    for col in cols:
        ci = np.rint(np.asarray(col, dtype=float)).astype(np.int64)
        key = key * (int(ci.max()) + 1) + ci
    _, first, back = np.unique(key, return_index=True, return_inverse=True)
    return first, back


def _dp_bytes(stack: Stack, a: Assumptions) -> tuple[float, float]:
    """Bytes per element of the parameter all-gather and the gradient reduce-scatter."""
    wb = a.weight_bytes if a.weight_bytes is not None else stack.memory.weight_bytes
    gb = a.grad_bytes if a.grad_bytes is not None else stack.memory.grad_bytes
    return wb, gb
