"""Memory per device of arrays of plans: weights, gradients, optimizer state, activations, logits, reserve.

Per rank, on the pipeline stage with the most layers. Activations follow Korthikanti et al. 2022 (arXiv 2205.05198,
sec. 4) with flash attention, sequence parallelism splitting the norm and GEMM inputs, and what the stack's
recompute keeps. Optimizer state follows ZeRO (Rajbhandari et al. 2020, arXiv 1910.02054, sec. 5): stage 1 shards it,
stage 2 also the gradients, stage 3 also the weights, over the data-parallel (and context-parallel) ranks; expert
weights shard over their own expert-data-parallel ranks (Megatron's parallel folding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelplan.catalog.schema import Chip, Workload
from accelplan.catalog.stack import Stack
from accelplan.perf.assumptions import Assumptions
from accelplan.perf.costs import ModelCosts
from accelplan.perf.kernels import stack_on
from accelplan.perf.plans import CP_ALGO_CODE, PlanArrays, cp_algorithms, ulysses_degree

Array = np.ndarray
MEMORY_TERMS = ("weights", "grads", "optimizer", "activations", "logits", "reserve")


@dataclass(frozen=True)
class Layout:
    """How a plan places the model on one rank: the quantities both memory and step time read."""

    micro: Array  # micro-batches per step
    tokens: Array  # rows of every dense GEMM on a rank (a TP group shares them)
    sp_div: Array  # what sequence parallelism divides the norm and GEMM inputs by (tp, or 1)
    etp: Array  # expert tensor parallelism: experts split like the dense layers (tp), or whole (1)
    tokens_moe: Array  # tokens a rank feeds its experts (all of its TP group's with etp = tp)
    layers_per_stage: Array
    p_nonexp: Array  # parameters per rank outside the routed experts (the stage with the most layers)
    p_exp: Array  # routed-expert parameters per rank
    shard: Array  # ranks the dense parameters' optimizer state shards over (dp x cp)
    exp_shard: Array  # ranks the expert parameters' state shards over (expert data parallel)
    f_full: Array  # share of layers that recompute their forward (full recompute)
    cp_algo: Array  # context-parallel algorithm (CP_ALGO_CODE), the stack's default resolved
    ulysses: Array  # context-parallel ranks that split the heads by all-to-all (1 without Ulysses)


def layout(workload: Workload, plans: PlanArrays, c: ModelCosts, stack: Stack) -> Layout:
    m = workload.model
    tp, pp, dp, ep, cp = (x.astype(float) for x in (plans.tp, plans.pp, plans.dp, plans.ep, plans.cp))
    micro = np.maximum(np.round(float(workload.global_batch) / (dp * plans.mb)), 1.0)
    sp = plans.sp.astype(bool) | (stack.memory.activations_follow_sharding & (tp > 1))
    tokens = plans.mb * float(workload.seq_len) / cp
    # Megatron splits experts like the dense layers unless told otherwise; that needs ep to fold inside dp x cp
    # (ETP x EP x EDP = TP x DP x CP), so where it does not, the experts stay whole (ETP 1)
    etp = np.where((stack.memory.expert_tensor_parallel == "tp") & (np.mod(dp * cp, ep) == 0), tp, 1.0)
    L = float(m.layers)
    frac_moe = c.n_moe_layers / L
    lps = np.ceil(L / pp)
    dense, moe_nonexp = c.params_dense_layer, c.params_moe_layer_nonexpert
    emb = np.where(pp > 1, max(c.params_embedding, c.params_logits), c.params_embedding + c.params_logits) / tp
    p_nonexp = lps * ((1 - frac_moe) * dense + frac_moe * moe_nonexp) / tp + emb
    p_exp = lps * frac_moe * (m.moe.experts / ep if m.moe else 0.0) * c.params_expert / etp
    algo = cp_algorithms(plans, stack)
    return Layout(micro=micro, tokens=tokens, sp_div=np.where(sp, tp, 1.0), etp=etp,
                  tokens_moe=tokens / tp * etp, layers_per_stage=lps, p_nonexp=p_nonexp, p_exp=p_exp, shard=dp * cp,
                  exp_shard=np.maximum(dp * cp * tp / (ep * etp), 1.0), f_full=full_recompute_fraction(plans, m.layers),
                  cp_algo=algo, ulysses=ulysses_degree(algo, cp, m.heads / tp))


def cp_working_bytes(workload: Workload, plans: PlanArrays, lay: Layout, bytes_per_element: float) -> Array:
    """Transient bytes context parallelism holds for the layer it computes, beyond the activations it keeps: a ring
    double-buffers the K, V chunk in flight (and dK, dV in backward); an all-gather holds every rank's K and V (and
    their gradients in backward); Ulysses holds q, k, v and the output re-split over heads (the size of the local
    ones). K and V heads fewer than the ranks splitting them are replicated."""
    m = workload.model
    tp, cp = plans.tp.astype(float), plans.cp.astype(float)
    kv_heads = np.maximum(float(m.n_kv_heads), tp * lay.ulysses)
    kv_chunk = lay.tokens * kv_heads * m.d_head * 2.0 * bytes_per_element / tp
    qkvo = lay.tokens * (2.0 * m.heads + kv_heads * 2.0) * m.d_head * bytes_per_element / tp
    ring = cp / lay.ulysses  # ranks that pass or gather K and V along the sequence
    algo = lay.cp_algo
    out = np.where(algo == CP_ALGO_CODE["all_gather"], 2.0 * ring * kv_chunk, 4.0 * kv_chunk * (ring > 1))
    out = out + np.where(lay.ulysses > 1, qkvo, 0.0)
    return np.where(cp > 1, out, 0.0)


def full_recompute_fraction(plans: PlanArrays, layers: int) -> Array:
    """Share of layers that recompute their forward: 1 for full recompute of every layer, N / (layers per virtual
    stage) for Megatron's block method with N layers, 0 without full recompute."""
    chunk = np.ceil(layers / plans.pp.astype(float)) / plans.vpp.astype(float)
    rl = np.asarray(plans.rlayers, dtype=float)
    return np.where(plans.recompute == 2, np.where(rl > 0, np.minimum(rl / chunk, 1.0), 1.0), 0.0)


@dataclass(frozen=True)
class Memory:
    """Memory per device of each plan (bytes), and the placement the step time reuses."""

    memory: dict[str, Array]
    total: Array
    fits: Array
    capacity: float
    per_microbatch: Array  # ZeRO-3 plans that regather weights every micro-batch
    lay: Layout
    act_bytes_per_microbatch: Array  # activations one micro-batch keeps on the stage (what offload moves)
    host_bytes_per_microbatch: Array  # activations one micro-batch moves to host memory and back
    optimizer_bytes_local: Array  # optimizer state this rank updates (what optimizer offload moves)
    params_local: Array  # parameters this rank's optimizer updates

    def take(self, idx: Array) -> Memory:
        lay = Layout(**{k: v[idx] for k, v in self.lay.__dict__.items()})
        return Memory(memory={k: v[idx] for k, v in self.memory.items()}, total=self.total[idx], fits=self.fits[idx],
                      capacity=self.capacity, per_microbatch=self.per_microbatch[idx], lay=lay,
                      act_bytes_per_microbatch=self.act_bytes_per_microbatch[idx],
                      host_bytes_per_microbatch=self.host_bytes_per_microbatch[idx],
                      optimizer_bytes_local=self.optimizer_bytes_local[idx], params_local=self.params_local[idx])

    def concat(self, other: Memory) -> Memory:
        lay = Layout(**{k: np.concatenate([v, getattr(other.lay, k)]) for k, v in self.lay.__dict__.items()})
        return Memory(memory={k: np.concatenate([v, other.memory[k]]) for k, v in self.memory.items()},
                      total=np.concatenate([self.total, other.total]), fits=np.concatenate([self.fits, other.fits]),
                      capacity=self.capacity,
                      per_microbatch=np.concatenate([self.per_microbatch, other.per_microbatch]), lay=lay,
                      act_bytes_per_microbatch=np.concatenate([self.act_bytes_per_microbatch,
                                                               other.act_bytes_per_microbatch]),
                      host_bytes_per_microbatch=np.concatenate([self.host_bytes_per_microbatch,
                                                                other.host_bytes_per_microbatch]),
                      optimizer_bytes_local=np.concatenate([self.optimizer_bytes_local, other.optimizer_bytes_local]),
                      params_local=np.concatenate([self.params_local, other.params_local]))


def bytes_per_param(stack: Stack, plans: PlanArrays, a: Assumptions, precision: str) -> tuple[float, float, Array]:
    """Weight, gradient and optimizer-state bytes per parameter: the stack's, unless an assumption overrides them;
    bf16 optimizer state halves the Adam moments (the master copy stays fp32); a bf16 run on a stack that keeps its
    master copy as remainders (`bf16_master_bytes`) holds that instead of the whole fp32 copy."""
    mem = stack.memory
    wb = a.weight_bytes if a.weight_bytes is not None else mem.weight_bytes
    gb = a.grad_bytes if a.grad_bytes is not None else mem.grad_bytes
    if a.optimizer_bytes is not None:  # an override states the whole state, master copy included
        ob, moments = a.optimizer_bytes, a.optimizer_bytes - mem.master_bytes
    else:
        moments = mem.optimizer_bytes - mem.master_bytes
        master = mem.bf16_master_bytes if precision == "bf16" and mem.bf16_master_bytes is not None \
            else mem.master_bytes
        ob = master + moments
    return wb, gb, np.where(plans.opt_bf16, ob - moments / 2.0, ob)


def activations_per_token(workload: Workload, plans: PlanArrays, c: ModelCosts, stack: Stack, lay: Layout,
                          a: Assumptions) -> tuple[Array, Array, Array]:
    """Bytes one token keeps per layer on a rank, averaged over dense and MoE layers: without recompute, with the
    plan's recompute, and what the plan's recompute policy keeps in host memory instead. fp8 training keeps GEMM
    inputs in fp8."""
    act = c.act
    tp = plans.tp.astype(float)
    eb = a.activation_bytes_per_element
    eb_in = a.fp8_bytes_per_element if workload.precision == "fp8" else eb
    attn = ((act.seqpar_gemm_in * eb_in + act.seqpar_other * eb) / lay.sp_div
            + (act.attn_qkv * eb + act.attn_out_gemm_in * eb_in) / tp + act.attn_latent * eb)
    if stack.kernels.attention == "unfused":  # the softmax output per head, s / cp keys per token (the whole square)
        attn = attn + act.scores_per_s * float(workload.seq_len) / plans.cp * eb / tp
    dense_mlp = (act.mlp_hidden * eb + act.mlp_out_gemm_in * eb_in) / tp
    moe_mlp = (lay.tokens_moe / lay.tokens) * (act.moe_in * eb_in + (act.moe_act_out * eb_in + act.moe_fc1_out * eb)
                                               / lay.etp)
    frac_moe = c.n_moe_layers / workload.model.layers
    full_layer = attn + (1 - frac_moe) * dense_mlp + frac_moe * moe_mlp
    per_tok = full_layer
    sel = stack.memory.selective_recompute
    # keep-q,k,v policies keep the layer input and q, k, v (on the device, or on the host when offloaded)
    kept = act.layer_input * eb / lay.sp_div + act.qkv_keep * eb / tp
    if sel == "core_attention":  # recomputes the attention core: frees only what the core keeps alone (the scores)
        freed = act.scores_per_s * float(workload.seq_len) / plans.cp * eb / tp if stack.kernels.attention == "unfused" \
            else np.zeros_like(tp)
        selective = full_layer - freed
    elif sel == "every_other_mm":  # the block input, the attention output and the outputs of every odd mm
        dense, moe = c.op_sac_dense, c.op_sac_moe
        saved_col = (1 - frac_moe) * dense.saved_col + frac_moe * moe.saved_col
        saved_row = (1 - frac_moe) * dense.saved_row + frac_moe * moe.saved_row
        selective = (act.layer_input * eb / lay.sp_div + (saved_col + act.attn_out_gemm_in) * eb / tp
                     + saved_row * eb)
    else:
        selective = np.zeros_like(tp) if sel == "keep_qkv_offloaded" else kept
    on_host = np.where(plans.recompute == 1, kept, 0.0) if sel == "keep_qkv_offloaded" else np.zeros_like(tp)
    per_tok = np.where(plans.recompute == 1, selective, per_tok)
    recompute_kept = lay.f_full * act.layer_input * eb / lay.sp_div + (1.0 - lay.f_full) * full_layer
    per_tok = np.where(plans.recompute == 2, recompute_kept, per_tok)
    return full_layer, per_tok, on_host


def memory_per_device(workload: Workload, chip: Chip, plans: PlanArrays, a: Assumptions, c: ModelCosts,
                      stack: Stack) -> Memory:
    m = workload.model
    stack = stack_on(stack, chip, m)[0]
    lay = layout(workload, plans, c, stack)
    pp, vpp = plans.pp.astype(float), plans.vpp.astype(float)
    zero = plans.zero
    wb, gb, ob = bytes_per_param(stack, plans, a, workload.precision)
    p_all = lay.p_nonexp + lay.p_exp
    p_sharded = lay.p_nonexp / lay.shard + lay.p_exp / lay.exp_shard
    full_weights, sharded_weights = wb * p_all, wb * p_sharded
    grads = gb * np.where(zero >= 2, p_sharded, p_all)
    params_local = np.where(zero >= 1, p_sharded, p_all)
    local_opt = ob * params_local
    optim = np.where(plans.off_opt, 0.0, local_opt)
    if m.moe is not None:  # ZeRO-3 holds one gathered layer at a time
        gathered_layer = wb * ((c.params_attn_per_layer + c.params_norm_per_layer + c.params_router_per_layer
                                + c.params_shared_per_layer) / plans.tp + (m.moe.experts / plans.ep) * c.params_expert
                               / lay.etp)
    else:
        gathered_layer = wb * (c.params_attn_per_layer + c.params_dense_mlp_per_layer + c.params_norm_per_layer) / plans.tp
    full_layer, per_tok, on_host = activations_per_token(workload, plans, c, stack, lay, a)
    in_flight = np.minimum(lay.micro, pp) * np.where(vpp > 1, 1.0 + (pp - 1.0) / (pp * vpp), 1.0)
    per_mb = lay.tokens * per_tok * lay.layers_per_stage
    # offloaded activations leave two layers' worth on the device: the one computing and the one in transfer
    kept_mb = np.where(plans.off_act, lay.tokens * per_tok * np.minimum(lay.layers_per_stage, 2.0), per_mb)
    activations = kept_mb * in_flight
    # recomputing a layer rebuilds its full activations for its backward
    activations = activations + np.where(plans.recompute == 2, lay.tokens * full_layer, 0.0)
    activations = activations + cp_working_bytes(workload, plans, lay, a.activation_bytes_per_element)
    # a fused cross-entropy (or a compiler) writes the loss gradient into the bf16 logits; an unfused one keeps an
    # fp32 copy for the softmax beside them
    fused_loss = stack.kernels.fused_cross_entropy or stack.execution.fuses_elementwise
    logits_bytes = lay.tokens * m.vocab / plans.tp * (a.activation_bytes_per_element if fused_loss
                                                      else a.logits_bytes_per_element)
    cap = chip.hbm_bytes or 0.0
    reserve = a.xla_reserve_bytes if stack.execution.mode == "compiled" else cap * a.fragmentation + a.reserve_bytes
    # ZeRO-3 holds the layer it computes and the next one it prefetches
    memory = {"weights": np.where(zero == 3, sharded_weights + 2.0 * gathered_layer, full_weights), "grads": grads,
              "optimizer": optim, "activations": activations, "logits": np.zeros_like(activations),
              "reserve": np.full_like(activations, reserve)}
    # without PP the only stage holds the logits; with PP the last stage holds them instead of the first stage's
    # extra in-flight micro-batches
    last_stage = logits_bytes + kept_mb
    memory["logits"] = np.where(pp > 1, np.maximum(last_stage - activations, 0.0), logits_bytes)
    # ZeRO-3 keeps the weights it gathered for the whole step when they fit (no regather per micro-batch; Llama 3,
    # arXiv 2407.21783 sec. 3.3.2, does this under PP), and otherwise regathers them layer by layer every micro-batch
    keep_total = sum(memory.values()) - memory["weights"] + full_weights + sharded_weights
    keep = (zero == 3) & (keep_total <= cap)
    memory["weights"] = np.where(keep, full_weights + sharded_weights, memory["weights"])
    total = sum(memory.values())
    return Memory(memory=memory, total=total, fits=total <= cap, capacity=cap, per_microbatch=(zero == 3) & ~keep,
                  lay=lay, act_bytes_per_microbatch=per_mb,
                  host_bytes_per_microbatch=np.where(plans.off_act, per_mb, 0.0)
                  + lay.tokens * on_host * lay.layers_per_stage,
                  optimizer_bytes_local=local_opt, params_local=params_local)


def stage_memory_bytes(workload: Workload, chip: Chip, plans: PlanArrays, a: Assumptions, c: ModelCosts, stack: Stack,
                       layers: Array, in_flight: Array, embedding: bool, logits: bool) -> Array:
    """Bytes per device of one pipeline stage holding `layers` layers with `in_flight` micro-batches of activations,
    and the embedding or the logits where it holds them: the fullest stage of `memory_per_device`, for pipelines
    whose stages differ (a mixed cluster's blocks). ZeRO stages shard over the plans' dp x cp ranks, as there."""
    m = workload.model
    stack = stack_on(stack, chip, m)[0]
    lay = layout(workload, plans, c, stack)
    tp = plans.tp.astype(float)
    frac_moe = c.n_moe_layers / m.layers
    dense, moe_nonexp = c.params_dense_layer, c.params_moe_layer_nonexpert
    # a tied output layer is a copy of the embedding on the last stage (once where one stage holds both)
    head = c.params_logits if c.params_logits else c.params_embedding * (not embedding)
    p_nonexp = layers * ((1 - frac_moe) * dense + frac_moe * moe_nonexp) / tp \
        + (c.params_embedding * embedding + head * logits) / tp
    p_exp = layers * frac_moe * (m.moe.experts / plans.ep if m.moe else 0.0) * c.params_expert / lay.etp
    wb, gb, ob = bytes_per_param(stack, plans, a, workload.precision)
    zero = plans.zero
    p_all = p_nonexp + p_exp
    p_sharded = p_nonexp / lay.shard + p_exp / lay.exp_shard
    states = (wb * np.where(zero == 3, p_sharded, p_all) + gb * np.where(zero >= 2, p_sharded, p_all)
              + ob * np.where(zero >= 1, p_sharded, p_all))
    full_layer, per_tok, _ = activations_per_token(workload, plans, c, stack, lay, a)
    acts = lay.tokens * per_tok * layers * in_flight + np.where(plans.recompute == 2, lay.tokens * full_layer, 0.0)
    fused_loss = stack.kernels.fused_cross_entropy or stack.execution.fuses_elementwise
    logit_bytes = lay.tokens * m.vocab / tp * (a.activation_bytes_per_element if fused_loss
                                               else a.logits_bytes_per_element) * logits
    cap = chip.hbm_bytes or 0.0
    reserve = a.xla_reserve_bytes if stack.execution.mode == "compiled" else cap * a.fragmentation + a.reserve_bytes
    return states + acts + logit_bytes + reserve
