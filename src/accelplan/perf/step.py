"""The training step, evaluated for arrays of plans at once (struct of arrays, no per-plan loop).

    step = m * t_mb(critical stage) + bubble + exposed data-parallel traffic + optimizer update
    bubble = (pp - 1) / vpp * t_mb(mean stage)                 (Narayanan et al. 2021, sec. 2.2)
    t_mb = compute (GEMM roofline, flash attention, element-wise) + exposed TP / CP / EP / PP traffic

Every time term is work / rate; `Breakdown` keeps the terms so they sum to the step time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from accelplan.catalog.schema import Chip, Plan, System, Workload
from accelplan.perf.assumptions import DEFAULT, Assumptions
from accelplan.perf.collectives import Fabric, all_reduce_s, all_to_all_s, reduce_scatter_s, send_recv_s
from accelplan.perf.costs import Gemm, ModelCosts, model_costs

Array = np.ndarray
RECOMPUTE_CODE = {"none": 0, "selective": 1, "full": 2}
FLASH_BACKWARD_FACTOR = 2.5  # flash backward recomputes the scores: 2.5 x forward (FlashAttention-2, sec. 3.1.2)
ELEMENTWISE_BACKWARD_FACTOR = 2.0  # backward of a norm/activation reads input and grad, writes grad


@dataclass
class PlanArrays:
    tp: Array
    pp: Array
    dp: Array
    ep: Array
    cp: Array
    vpp: Array
    mb: Array
    recompute: Array  # 0 none, 1 selective, 2 full
    zero: Array
    sp: Array  # bool
    rlayers: Array | None = None  # full recompute: layers per virtual stage that recompute; 0 = all

    def __post_init__(self) -> None:
        if self.rlayers is None:
            self.rlayers = np.zeros(len(self.tp), dtype=int)

    @classmethod
    def from_plans(cls, plans: list[Plan]) -> PlanArrays:
        def col(f):  # noqa: ANN001, ANN202
            return np.array([f(p) for p in plans])

        return cls(tp=col(lambda p: p.tp), pp=col(lambda p: p.pp), dp=col(lambda p: p.dp), ep=col(lambda p: p.ep),
                   cp=col(lambda p: p.cp), vpp=col(lambda p: p.vpp), mb=col(lambda p: p.micro_batch),
                   recompute=col(lambda p: RECOMPUTE_CODE[p.recompute]), zero=col(lambda p: p.zero),
                   sp=col(lambda p: p.sequence_parallel), rlayers=col(lambda p: p.recompute_layers or 0))

    def __len__(self) -> int:
        return len(self.tp)

    def take(self, idx: Array) -> PlanArrays:
        return PlanArrays(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def concat(self, other: PlanArrays) -> PlanArrays:
        return PlanArrays(**{f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                             for f in fields(self)})

    def plan(self, i: int) -> Plan:
        rc = {v: k for k, v in RECOMPUTE_CODE.items()}
        return Plan(tp=int(self.tp[i]), pp=int(self.pp[i]), dp=int(self.dp[i]), ep=int(self.ep[i]), cp=int(self.cp[i]),
                    vpp=int(self.vpp[i]), micro_batch=int(self.mb[i]), recompute=rc[int(self.recompute[i])],  # type: ignore[arg-type]
                    zero=int(self.zero[i]), sequence_parallel=bool(self.sp[i]),
                    recompute_layers=int(self.rlayers[i]) or None)  # type: ignore[index]


TIME_TERMS = ("compute_gemm", "compute_attention", "compute_elementwise", "recompute", "tp_comm", "cp_comm",
              "ep_comm", "pp_comm", "pipeline_bubble", "dp_comm", "overlap_contention", "optimizer")
MEMORY_TERMS = ("weights", "grads", "optimizer", "activations", "logits", "reserve")


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
class Rates:
    """What the chip sustains: peaks times the efficiencies of the chip or its calibration profile."""

    matmul_flops_per_s: float  # at the workload's GEMM precision
    bf16_flops_per_s: float  # attention and logits stay in bf16 under fp8 training
    mfu_peak_flops_per_s: float
    hbm_bytes_per_s: float
    attention_flops_per_s: float
    gemm_bytes: float  # bytes per GEMM input element
    basis: str

    @classmethod
    def of(cls, chip: Chip, precision: str, a: Assumptions, calibration: object | None = None) -> Rates:
        from accelplan.errors import PlanError

        eff = chip.efficiency
        mm, mem, basis = (eff.matmul, eff.memory, eff.basis) if eff else (0.8, 0.85, "default")
        mm8 = (eff.matmul_fp8 if eff and eff.matmul_fp8 else mm)
        if calibration is not None:
            mm, mm8, mem, basis = calibration.efficiencies(chip, mm, mm8, mem)  # type: ignore[attr-defined]
        # both the catalog's MAMF and a bench profile are best-shape figures; a training step's GEMMs run below them
        mm, mm8 = mm * a.gemm_sustained_fraction, mm8 * a.gemm_sustained_fraction
        bf16 = chip.peak_flops_per_s("bf16") or chip.peak_flops_per_s("fp16")
        if bf16 is None:
            raise PlanError(f"chip '{chip.id}' has no bf16/fp16 peak in the catalog (unknown), so it cannot be modelled")
        if chip.hbm_bytes_per_s is None:
            raise PlanError(f"chip '{chip.id}' has no HBM bandwidth in the catalog (unknown)")
        if precision == "fp8":
            p8 = chip.peak_flops_per_s("fp8")
            if p8 is None or "fp8" in chip.unsupported:
                raise PlanError(f"precision 'fp8' is not supported by chip '{chip.id}' (allowed: bf16, fp16)")
            mat, gemm_bytes = p8 * mm8, 1.0
        else:
            mat, gemm_bytes = bf16 * mm, 2.0
        return cls(matmul_flops_per_s=mat, bf16_flops_per_s=bf16 * mm,
                   mfu_peak_flops_per_s=(chip.peak_flops_per_s(precision) or bf16),
                   hbm_bytes_per_s=chip.hbm_bytes_per_s * mem,
                   attention_flops_per_s=bf16 * mm * a.attention_kernel_efficiency, gemm_bytes=gemm_bytes,
                   basis=basis)


def _gemm_time(g: Gemm, tokens: Array, tp: Array, r: Rates, a: Assumptions, fp8: bool) -> Array:
    """Roofline time of one forward GEMM on `tokens` rows for one rank."""
    k = g.k / tp if g.split == "k" else np.full_like(tp, g.k, dtype=float)
    n = g.n / tp if g.split == "n" else np.full_like(tp, g.n, dtype=float)
    low = fp8 and g.kind != "logits"
    rate = r.matmul_flops_per_s if low else r.bf16_flops_per_s
    el = r.gemm_bytes if low else 2.0
    flops = 2.0 * tokens * k * n * g.count
    nbytes = el * (tokens * k * g.count + k * n + tokens * n * g.count / el * 2.0)
    if low:
        nbytes = nbytes + a.fp8_cast_bytes_per_element * tokens * k * g.count
    return np.maximum(flops / rate, nbytes / r.hbm_bytes_per_s)


def _expert_time(c: ModelCosts, tokens_rank: Array, ep: Array, r: Rates, a: Assumptions, fp8: bool) -> Array:
    """Routed experts on one rank: tokens_rank x top_k rows spread over its experts/ep local experts."""
    moe = c.model.moe
    assert moe is not None  # only called for MoE models
    local_experts = moe.experts / ep
    rows = tokens_rank * moe.top_k
    t = np.zeros_like(tokens_rank, dtype=float)
    rate = r.matmul_flops_per_s if fp8 else r.bf16_flops_per_s
    el = r.gemm_bytes if fp8 else 2.0
    for g in c.moe_layer_gemms:
        if g.kind != "expert":
            continue
        flops = 2.0 * rows * g.k * g.n
        nbytes = el * (rows * g.k + local_experts * g.k * g.n) + 2.0 * rows * g.n
        t = t + np.maximum(flops / rate, nbytes / r.hbm_bytes_per_s)
    return t


def full_recompute_fraction(plans: PlanArrays, layers: int) -> Array:
    """Share of layers that recompute their forward: 1 for full recompute of every layer, N / (layers per virtual
    stage) for Megatron's block method with N layers, 0 without full recompute."""
    chunk = np.ceil(layers / plans.pp.astype(float)) / plans.vpp.astype(float)
    rl = np.asarray(plans.rlayers, dtype=float)
    return np.where(plans.recompute == 2, np.where(rl > 0, np.minimum(rl / chunk, 1.0), 1.0), 0.0)


def _compiled_step(chip: Chip) -> bool:
    """TPUs run the whole training step as one XLA program; the other chips' frameworks launch kernel by kernel."""
    return chip.vendor == "google"


def _reserve_bytes(chip: Chip, capacity: float, a: Assumptions) -> float:
    """Device memory the model cannot use. XLA (TPU) assigns every buffer when it compiles the step, so it has no
    caching-allocator fragmentation and no CUDA-style context; eager stacks (CUDA, ROCm, CANN, Gaudi) have both."""
    if _compiled_step(chip):
        return a.xla_reserve_bytes
    return capacity * a.fragmentation + a.reserve_bytes


@dataclass(frozen=True)
class Memory:
    """Memory per device of each plan (bytes), and the parameter counts the traffic terms reuse."""

    memory: dict[str, Array]
    total: Array
    fits: Array
    capacity: float
    per_microbatch: Array  # ZeRO-3 plans that regather weights every micro-batch
    p_nonexp: Array
    p_exp: Array
    shard: Array
    exp_shard: Array
    f_full: Array  # share of layers with full recompute (full_recompute_fraction), which the step time reuses

    def take(self, idx: Array) -> Memory:
        sub = {k: v[idx] for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}
        return Memory(memory={k: v[idx] for k, v in self.memory.items()}, capacity=self.capacity, **sub)

    def concat(self, other: Memory) -> Memory:
        both = {k: np.concatenate([v, getattr(other, k)]) for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}
        return Memory(memory={k: np.concatenate([v, other.memory[k]]) for k, v in self.memory.items()},
                      capacity=self.capacity, **both)


def _memory(workload: Workload, chip: Chip, plans: PlanArrays, a: Assumptions, c: ModelCosts) -> Memory:
    m = workload.model
    tp, pp, dp, ep, cp = (x.astype(float) for x in (plans.tp, plans.pp, plans.dp, plans.ep, plans.cp))
    vpp, mb = plans.vpp.astype(float), plans.mb.astype(float)
    rc, zero, sp = plans.recompute, plans.zero, plans.sp.astype(bool)
    micro = np.maximum(np.round(float(workload.global_batch) / (dp * mb)), 1.0)
    sp_div = np.where(sp, tp, 1.0)
    tokens = mb * float(workload.seq_len) / cp
    L = float(m.layers)
    n_moe = float(c.n_moe_layers)
    wb, gb = a.weight_bytes, a.grad_bytes
    # ---------- parameters per rank (the stage with the most) ----------
    dense_layer_params = c.params_attn_per_layer + c.params_dense_mlp_per_layer + c.params_norm_per_layer
    moe_nonexp = c.params_attn_per_layer + c.params_norm_per_layer + c.params_router_per_layer + c.params_shared_per_layer
    lps = np.ceil(L / pp)
    frac_moe = n_moe / L
    emb_per_rank = np.where(pp > 1, np.maximum(c.params_embedding, c.params_logits),
                            c.params_embedding + c.params_logits) / tp
    p_nonexp = lps * ((1 - frac_moe) * dense_layer_params + frac_moe * moe_nonexp) / tp + emb_per_rank
    p_exp = lps * frac_moe * (m.moe.experts / ep if m.moe else 0.0) * c.params_expert
    shard = dp * cp
    exp_shard = np.maximum(dp * cp * tp / ep, 1.0)

    # ---------- memory per device ----------
    ob = a.optimizer_bytes
    full_weights = wb * (p_nonexp + p_exp)
    sharded_weights = wb * (p_nonexp / shard + p_exp / exp_shard)
    grads = gb * np.where(zero >= 2, p_nonexp / shard + p_exp / exp_shard, p_nonexp + p_exp)
    optim = ob * np.where(zero >= 1, p_nonexp / shard + p_exp / exp_shard, p_nonexp + p_exp)
    if m.moe is not None:  # ZeRO-3 also holds one gathered layer at a time
        gathered_layer = wb * (moe_nonexp / tp + (m.moe.experts / ep) * c.params_expert)
    else:
        gathered_layer = wb * dense_layer_params / tp
    per_tok_dense = c.act_attn_bytes / tp + c.act_mlp_bytes / tp + c.act_bytes_seqpar / sp_div
    per_tok_moe = c.act_attn_bytes / tp + c.act_bytes_seqpar / sp_div + c.moe_act_bytes / tp
    selective_saved = c.act_bytes_selective_saved
    if workload.precision == "fp8":  # saved GEMM inputs are kept in fp8 (Transformer Engine, DeepSeek-V3 sec. 3.3)
        per_tok_dense = per_tok_dense - c.fp8_saved_seqpar / sp_div - (c.fp8_saved_attn + c.fp8_saved_mlp) / tp
        per_tok_moe = per_tok_moe - c.fp8_saved_seqpar / sp_div - (c.fp8_saved_attn + c.fp8_saved_moe) / tp
        selective_saved = selective_saved - c.fp8_saved_attn  # the attention output it frees is fp8 already
    per_tok_all = (1 - frac_moe) * per_tok_dense + frac_moe * per_tok_moe
    per_tok = np.where(rc == 1, per_tok_all - selective_saved / tp, per_tok_all)
    f_full = full_recompute_fraction(plans, m.layers)  # recomputing layers keep their input only, the others all
    per_tok = np.where(rc == 2, f_full * c.act_bytes_full / sp_div + (1.0 - f_full) * per_tok_all, per_tok)
    in_flight = np.minimum(micro, pp) * np.where(vpp > 1, 1.0 + (pp - 1.0) / (pp * vpp), 1.0)
    activations = tokens * per_tok * lps * in_flight
    activations = activations + np.where(rc == 2, tokens * ((1 - frac_moe) * per_tok_dense + frac_moe * per_tok_moe), 0.0)
    logits_bytes = tokens * m.vocab / tp * a.logits_bytes_per_element
    logits = np.where(pp > 1, 0.0, 1.0) * logits_bytes
    cap = chip.hbm_bytes or 0.0
    memory = {"weights": np.where(zero == 3, sharded_weights + 2.0 * gathered_layer, full_weights), "grads": grads,
              "optimizer": optim, "activations": activations, "logits": logits,
              "reserve": np.full_like(tp, _reserve_bytes(chip, cap, a))}
    # with PP the last stage holds the logits instead of first-stage in-flight activations of extra micro-batches
    last_stage = logits_bytes + tokens * per_tok * lps
    memory["logits"] = np.where(pp > 1, np.maximum(last_stage - activations, 0.0), logits)
    # ZeRO-3 keeps the weights it gathered for the whole step when they fit (no regather per micro-batch; Llama 3,
    # arXiv 2407.21783 sec. 3.3.2, does this under PP), and otherwise regathers them layer by layer every micro-batch
    keep_total = sum(memory.values()) - memory["weights"] + full_weights + sharded_weights
    keep = (zero == 3) & (keep_total <= cap)
    memory["weights"] = np.where(keep, full_weights + sharded_weights, memory["weights"])
    per_microbatch = (zero == 3) & ~keep
    mem_total = sum(memory.values())
    fits = mem_total <= cap

    return Memory(memory=memory, total=mem_total, fits=fits, capacity=cap, per_microbatch=per_microbatch,
                  p_nonexp=p_nonexp, p_exp=p_exp, shard=shard, exp_shard=exp_shard, f_full=f_full)



def memory_of(workload: Workload, chip: Chip, plans: PlanArrays, assumptions: Assumptions = DEFAULT,
              costs: ModelCosts | None = None) -> Memory:
    """Memory per device of each plan: the cheap half of `evaluate`, for pruning a search before timing."""
    return _memory(workload, chip, plans, assumptions, costs or model_costs(workload.model, workload.seq_len))


def evaluate(workload: Workload, system: System, chip: Chip, plans: PlanArrays,
             assumptions: Assumptions = DEFAULT, calibration: object | None = None,
             costs: ModelCosts | None = None, memory: Memory | None = None) -> StepArrays:
    """Step time, its breakdown, memory and rates of every plan. `memory` may pass what `memory_of` already
    computed for these same plans. A plan whose groups need a network level the system lacks gets an infinite
    (or undefined) step time, which callers treat as infeasible."""
    with np.errstate(invalid="ignore"):
        return _evaluate(workload, system, chip, plans, assumptions, calibration, costs, memory)


def _evaluate(workload: Workload, system: System, chip: Chip, plans: PlanArrays, assumptions: Assumptions,
              calibration: object | None, costs: ModelCosts | None, memory: Memory | None) -> StepArrays:
    a = assumptions
    m = workload.model
    c = costs or model_costs(m, workload.seq_len)
    s = float(workload.seq_len)
    fp8 = workload.precision == "fp8"
    r = Rates.of(chip, workload.precision, a, calibration)
    fab = Fabric.of(system, a, calibration, chips=int(np.max(plans.tp * plans.pp * plans.dp * plans.cp)))

    tp, pp, dp, ep, cp = (x.astype(float) for x in (plans.tp, plans.pp, plans.dp, plans.ep, plans.cp))
    vpp, mb = plans.vpp.astype(float), plans.mb.astype(float)
    rc, zero, sp = plans.recompute, plans.zero, plans.sp.astype(bool)
    chips = tp * pp * dp * cp
    gbs = float(workload.global_batch)
    micro = gbs / (dp * mb)
    valid = (np.abs(micro - np.round(micro)) < 1e-9) & (micro >= 1)
    micro = np.maximum(np.round(micro), 1.0)
    sp_div = np.where(sp, tp, 1.0)
    tokens = mb * s / cp  # rows of every GEMM on a rank (a TP group shares the same tokens)
    tokens_moe = tokens / tp  # tokens per rank entering the MoE layer (sequence-split across TP)
    L = float(m.layers)
    n_moe, n_dense = float(c.n_moe_layers), float(c.n_dense_layers)
    # XLA fuses element-wise ops into their producers and consumers and has no per-kernel launch gaps
    compiled = _compiled_step(chip)
    ew_factor = a.compiled_elementwise_traffic_factor if compiled else a.elementwise_traffic_factor
    launch_s = 0.0 if compiled else a.kernels_per_layer_forward * a.kernel_overhead_us * 1e-6

    # ---------- compute per layer per micro-batch (forward) ----------
    def layer_forward(gemms: tuple[Gemm, ...], moe_layer: bool) -> tuple[Array, Array, Array]:
        t_gemm = np.zeros_like(tp)
        for g in gemms:
            if g.kind == "expert":
                continue
            rows = tokens_moe if (moe_layer and g.name == "router") else tokens
            t_gemm = t_gemm + _gemm_time(g, rows, tp, r, a, fp8)
        if moe_layer:
            t_gemm = t_gemm + _expert_time(c, tokens_moe, ep, r, a, fp8)
        t_attn = c.attn_core_flops_per_token * tokens / tp / r.attention_flops_per_s
        ew = tokens * (c.elementwise_bytes_tp / tp + c.elementwise_bytes_seqpar / sp_div) * ew_factor
        t_ew = ew / r.hbm_bytes_per_s + launch_s
        return t_gemm, t_attn, t_ew

    zeros = np.zeros_like(tp)
    gd, ad, ed = layer_forward(c.dense_layer_gemms, False) if n_dense else (zeros, zeros, zeros)
    gm, am, em = layer_forward(c.moe_layer_gemms, True) if n_moe else (zeros, zeros, zeros)
    # fwd + bwd per layer, averaged over dense and MoE layers
    g_fb = (n_dense * gd + n_moe * gm) / L * 3.0
    a_fb = (n_dense * ad + n_moe * am) / L * (1.0 + FLASH_BACKWARD_FACTOR)
    e_fb = (n_dense * ed + n_moe * em) / L * (1.0 + ELEMENTWISE_BACKWARD_FACTOR)
    g_f = (n_dense * gd + n_moe * gm) / L
    a_f = (n_dense * ad + n_moe * am) / L
    e_f = (n_dense * ed + n_moe * em) / L
    mem = memory if memory is not None else _memory(workload, chip, plans, a, c)
    f_full = mem.f_full
    re = np.where(rc == 2, f_full * (g_f + a_f + e_f), np.where(rc == 1, a_f + e_f, 0.0))

    # ---------- communication per layer per micro-batch ----------
    act_bytes = tokens * m.hidden * 2.0
    n_tp_collectives = 4.0 + 2.0 * f_full  # 2 fwd + 2 bwd all-reduce equivalents; full recompute re-runs fwd
    # with SP each all-reduce becomes an all-gather + a reduce-scatter: the same bytes and time
    tp_t = n_tp_collectives * all_reduce_s(fab, act_bytes, tp, np.ones_like(tp))
    tp_exposed = (1.0 - a.tp_overlap) * tp_t
    kv_bytes = tokens * c.model.n_kv_heads * c.model.d_head * 2.0 * 2.0 / tp  # K and V chunk per ring step
    cp_t = 3.0 * (cp - 1.0) * send_recv_s(fab, kv_bytes, tp)  # fwd ring + bwd ring of K,V and dK,dV
    cp_exposed = np.maximum(cp_t - a_fb, 0.0) * (cp > 1)
    ep_exposed = zeros
    if n_moe:
        moe = m.moe
        assert moe is not None
        a2a_bytes = tokens_moe * moe.top_k * m.hidden * 2.0
        n_a2a = 4.0 + 2.0 * f_full
        ep_t = n_a2a * all_to_all_s(fab, a2a_bytes, ep, np.ones_like(ep)) * (n_moe / L)
        ep_exposed = (1.0 - a.ep_overlap) * ep_t

    # communication hidden behind compute still slows that compute (SMs and HBM shared with the collective)
    hidden_layer = (tp_t - tp_exposed) + np.where(cp > 1, np.minimum(cp_t, a_fb), 0.0)
    if n_moe:
        hidden_layer = hidden_layer + (ep_t - ep_exposed)
    contention_layer = a.overlap_slowdown * hidden_layer
    t_layer = g_fb + a_fb + e_fb + re + tp_exposed + cp_exposed + ep_exposed + contention_layer  # per layer per micro-batch

    # ---------- head (logits + loss) on the last stage ----------
    t_head = zeros.copy()
    for g in c.head_gemms:
        t_head = t_head + 3.0 * _gemm_time(g, tokens, tp, r, a, fp8)
    t_head_ew = tokens * c.head_elementwise_bytes / tp / r.hbm_bytes_per_s
    t_head_total = t_head + t_head_ew

    # ---------- pipeline ----------
    layers_max = np.maximum(np.ceil(L / pp), (L + t_head_total / np.maximum(t_layer, 1e-30)) / pp)
    pp_bytes = tokens * m.hidden * 2.0 / sp_div
    pp_t = np.where(pp > 1, 2.0 * vpp * send_recv_s(fab, pp_bytes, tp * cp * dp), 0.0)
    pp_exposed = (1.0 - a.pp_overlap) * pp_t
    contention_pp = a.overlap_slowdown * (pp_t - pp_exposed)
    t_mb_max = layers_max * t_layer + pp_exposed + contention_pp
    t_mb_mean = (L * t_layer + t_head_total) / pp + pp_exposed + contention_pp
    bubble = (pp - 1.0) / vpp * t_mb_mean

    wb, gb = a.weight_bytes, a.grad_bytes
    p_nonexp, p_exp, shard, exp_shard = mem.p_nonexp, mem.p_exp, mem.shard, mem.exp_shard
    memory, mem_total, fits, per_microbatch = mem.memory, mem.total, mem.fits, mem.per_microbatch
    cap = mem.capacity

    # ---------- data-parallel traffic and optimizer ----------
    # DP traffic overlaps the whole micro-batch on the critical stage, its own exposed traffic included
    fwd_share = (g_f + a_f + e_f) / np.maximum(g_fb + a_fb + e_fb + re, 1e-30)
    t_fwd_mb_stage = t_mb_max * fwd_share
    t_bwd_mb_stage = t_mb_max * (1.0 - fwd_share)
    grad_sync = np.where(zero == 0,
                         all_reduce_s(fab, gb * p_nonexp, shard, tp) + all_reduce_s(fab, gb * p_exp, exp_shard, ep),
                         reduce_scatter_s(fab, gb * p_nonexp, shard, tp) + reduce_scatter_s(fab, gb * p_exp, exp_shard, ep))
    param_gather = np.where(zero >= 1, reduce_scatter_s(fab, wb * p_nonexp, shard, tp)
                            + reduce_scatter_s(fab, wb * p_exp, exp_shard, ep), 0.0)
    # ZeRO-2 keeps only its gradient shard, so it cannot accumulate over micro-batches: it reduce-scatters after every
    # micro-batch's backward (DeepSpeed stage 2); ZeRO-0/1 accumulate locally and reduce once per step
    grad_syncs = np.where(zero == 2, micro, 1.0)
    per_step_exposed = (grad_syncs * np.maximum(grad_sync - a.dp_overlap * t_bwd_mb_stage, 0.0)
                        + np.maximum(param_gather - a.dp_overlap * t_fwd_mb_stage, 0.0))
    # ZeRO-3 / FSDP that regathers: weights gathered for forward and again for backward, gradients reduce-scattered,
    # every micro-batch. ZeRO-3 that keeps its gathered weights moves ZeRO-2's traffic, once per step.
    fsdp_mb = 2.0 * param_gather + grad_sync
    fsdp_exposed = micro * np.maximum(fsdp_mb - a.dp_overlap * (t_fwd_mb_stage + t_bwd_mb_stage), 0.0)
    has_dp = (shard > 1) | (exp_shard > 1)
    dp_exposed = np.where(per_microbatch, fsdp_exposed, per_step_exposed) * has_dp
    dp_hidden = np.where(per_microbatch, micro * fsdp_mb, grad_syncs * grad_sync + param_gather) * has_dp - dp_exposed
    contention_dp = a.overlap_slowdown * dp_hidden
    local_opt = np.where(zero >= 1, p_nonexp / shard + p_exp / exp_shard, p_nonexp + p_exp)
    t_opt = a.optimizer_traffic_bytes_per_param * local_opt / r.hbm_bytes_per_s

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
        "optimizer": t_opt,
    }
    # the head (logits, loss) is inside layers_max as a fraction of a layer, so it is spread over the
    # per-layer terms; what rounding leaves is folded into GEMM time so the terms sum exactly.
    pipeline = micro * t_mb_max
    accounted = sum(time[k] for k in ("compute_gemm", "compute_attention", "compute_elementwise", "recompute",
                                      "tp_comm", "cp_comm", "ep_comm", "pp_comm", "overlap_contention")) - contention_dp
    time["compute_gemm"] = time["compute_gemm"] + (pipeline - accounted)
    step = pipeline + bubble + dp_exposed + contention_dp + t_opt

    tokens_per_step = gbs * s
    tps = np.where(valid, tokens_per_step / step, 0.0)
    model_flops = c.model_flops_per_token() * tps
    mfu = model_flops / (chips * r.mfu_peak_flops_per_s)
    recompute_flops = np.where(rc == 2, f_full * (c.forward_flops_per_token() - sum(g.flops_per_token for g in c.head_gemms)),
                               np.where(rc == 1, L * c.attn_core_flops_per_token, 0.0))
    hfu = (c.model_flops_per_token() + recompute_flops) * tps / (chips * r.mfu_peak_flops_per_s)
    return StepArrays(plans=plans, step_time_s=step, time=time, memory=memory, memory_bytes=mem_total,
                      capacity_bytes=cap, fits=fits, valid=valid, tokens_per_s=tps, mfu=mfu, hfu=hfu,
                      micro_batches=micro, chips=chips)
