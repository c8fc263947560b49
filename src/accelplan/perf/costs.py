"""What a model costs per token: parameters, FLOPs per op, GEMM shapes, activation and element-wise bytes.

Every FLOP is counted here once; time (step.py) and MFU both read these numbers.

Conventions (stated in outputs):
- a multiply-add is 2 FLOPs; backward = 2 x forward for every matmul;
- causal attention is counted at half of the full s x s score/value products, because flash-attention
  kernels skip fully masked blocks (Dao 2023, FlashAttention-2, arXiv 2307.08691, sec. 3.1);
- model FLOPs (MFU) = 3 x forward over all matmuls including logits and causal attention, without
  recompute; hardware FLOPs (HFU) add what recompute re-runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accelplan.catalog.schema import ModelSpec

ATTENTION_CONVENTION = (
    "causal attention counted at half of the full s^2 products (flash kernels skip masked blocks); "
    "MFU = 3 x forward matmul FLOPs incl. logits, without recompute")


@dataclass(frozen=True)
class Gemm:
    """One forward GEMM per token: y[tokens, n] = x[tokens, k] @ W[k, n]; `split` says which dim TP shards."""

    name: str
    k: int
    n: int
    split: str  # "n" (column-parallel), "k" (row-parallel), "none"
    count: float = 1.0  # how many such GEMMs each token passes through (top-k experts, shared experts)
    kind: str = "dense"  # dense | expert | logits

    @property
    def flops_per_token(self) -> float:
        return 2.0 * self.k * self.n * self.count


@dataclass(frozen=True)
class ModelCosts:
    model: ModelSpec
    seq_len: int
    # parameters
    params_embedding: float
    params_logits: float  # 0 when tied
    params_attn_per_layer: float
    params_dense_mlp_per_layer: float
    params_expert: float  # one routed expert
    params_shared_per_layer: float
    params_router_per_layer: float
    params_norm_per_layer: float
    # GEMMs per token (forward) for a dense layer, a MoE layer, and the head
    dense_layer_gemms: tuple[Gemm, ...]
    moe_layer_gemms: tuple[Gemm, ...]
    head_gemms: tuple[Gemm, ...]
    attn_core_flops_per_token: float  # forward, causal, per layer
    # bytes per token per layer kept for backward (no recompute, flash attention, no dropout)
    act_attn_bytes: float  # attention block, split by TP always
    act_mlp_bytes: float  # dense MLP block, split by TP always
    act_bytes_seqpar: float  # split by TP only with sequence parallelism (norm and residual inputs)
    act_bytes_selective_saved: float  # what selective recompute frees
    act_bytes_full: float  # full recompute: the layer input only
    moe_act_bytes: float  # routed/shared expert activations per token in a MoE layer (EP-local)
    # fp8 training keeps the saved GEMM inputs in fp8 (1 byte, not 2): what that saves per token per layer
    fp8_saved_seqpar: float  # attention and MLP GEMM inputs (split by TP only with SP)
    fp8_saved_attn: float  # attention output, the input of the output projection (split by TP)
    fp8_saved_mlp: float  # activation output, the input of the second MLP GEMM (split by TP)
    fp8_saved_moe: float  # routed and shared expert GEMM inputs (EP-local)
    # element-wise memory traffic per token per layer, forward
    elementwise_bytes_tp: float  # split by TP
    elementwise_bytes_seqpar: float  # split by TP only with sequence parallelism
    head_elementwise_bytes: float  # logits softmax / cross-entropy per token, forward + backward
    notes: list[str] = field(default_factory=list)

    # totals ------------------------------------------------------------------------------
    @property
    def n_dense_layers(self) -> int:
        return self.model.layers - self.model.moe_layers

    @property
    def n_moe_layers(self) -> int:
        return self.model.moe_layers

    @property
    def params_total(self) -> float:
        m = self.model
        moe = m.moe
        per_dense = self.params_attn_per_layer + self.params_dense_mlp_per_layer + self.params_norm_per_layer
        per_moe = 0.0
        if moe is not None:
            per_moe = (self.params_attn_per_layer + self.params_norm_per_layer + self.params_router_per_layer
                       + self.params_shared_per_layer + moe.experts * self.params_expert)
        return (self.n_dense_layers * per_dense + self.n_moe_layers * per_moe + self.params_embedding
                + self.params_logits + (2 if m.linear_bias == "all" else 1) * m.hidden)  # + final norm

    @property
    def params_active(self) -> float:
        moe = self.model.moe
        if moe is None:
            return self.params_total
        return self.params_total - self.n_moe_layers * (moe.experts - moe.top_k) * self.params_expert

    @property
    def params_expert_total(self) -> float:
        moe = self.model.moe
        return 0.0 if moe is None else self.n_moe_layers * moe.experts * self.params_expert

    def forward_flops_per_token(self) -> float:
        dense = sum(g.flops_per_token for g in self.dense_layer_gemms)
        moe = sum(g.flops_per_token for g in self.moe_layer_gemms)
        head = sum(g.flops_per_token for g in self.head_gemms)
        return (self.n_dense_layers * dense + self.n_moe_layers * moe + head
                + self.model.layers * self.attn_core_flops_per_token)

    def model_flops_per_token(self) -> float:
        """3 x forward (forward + backward), no recompute: the MFU numerator per token."""
        return 3.0 * self.forward_flops_per_token()


def _attention(m: ModelSpec) -> tuple[list[Gemm], float, int, int, float]:
    """Attention GEMMs, core FLOPs per token per unit sequence, q width, kv width, params."""
    h = m.hidden
    if m.is_mla:
        a = m.attention
        assert a is not None  # narrowed by is_mla
        qk = a.qk_nope_head_dim + a.qk_rope_head_dim  # type: ignore[operator]
        gemms: list[Gemm] = []
        if a.q_lora_rank:
            gemms += [Gemm("q_down", h, a.q_lora_rank, "none"), Gemm("q_up", a.q_lora_rank, m.heads * qk, "n")]
        else:
            gemms += [Gemm("q_proj", h, m.heads * qk, "n")]
        gemms += [Gemm("kv_down", h, a.kv_lora_rank + a.qk_rope_head_dim, "none"),  # type: ignore[operator]
                  Gemm("kv_up", a.kv_lora_rank, m.heads * (a.qk_nope_head_dim + a.v_head_dim), "n"),  # type: ignore
                  Gemm("out_proj", m.heads * a.v_head_dim, h, "k")]  # type: ignore[operator]
        params = sum(g.k * g.n for g in gemms) + (a.q_lora_rank or 0) + a.kv_lora_rank  # + latent norms
        # scores: heads x qk per key, values: heads x v per key; causal halves both
        core_per_s = 2.0 * m.heads * (qk + a.v_head_dim) / 2.0  # type: ignore[operator]
        q_width = m.heads * qk
        kv_width = a.kv_lora_rank + a.qk_rope_head_dim  # type: ignore[operator]
        return gemms, core_per_s, q_width, kv_width, params
    d = m.d_head
    q = m.heads * d
    kv = m.n_kv_heads * d
    gemms = [Gemm("qkv_proj", h, q + 2 * kv, "n"), Gemm("out_proj", q, h, "k")]
    params = h * (q + 2 * kv) + q * h
    params += (q + 2 * kv if m.linear_bias != "none" else 0) + (h if m.linear_bias == "all" else 0)  # biases
    core_per_s = 2.0 * 2.0 * q / 2.0  # QK^T and AV, 2 FLOPs per MAC, causal half
    return gemms, core_per_s, q, 2 * kv, params


def model_costs(m: ModelSpec, seq_len: int | None = None) -> ModelCosts:
    s = seq_len or m.seq_len
    h = m.hidden
    attn_gemms, core_per_s, q_width, kv_width, attn_params = _attention(m)
    f = m.ffn_hidden
    fin = 2 * f if m.gated_mlp else f
    mlp_gemms = [Gemm("mlp_in", h, fin, "n"), Gemm("mlp_out", f, h, "k")]
    bias = m.linear_bias == "all"  # MLP biases and LayerNorm biases
    dense_mlp_params = h * fin + f * h + (fin + h if bias else 0)
    moe_gemms: list[Gemm] = []
    expert_params = shared_params = router_params = moe_act = 0.0
    if m.moe is not None:
        moe = m.moe
        fe = moe.expert_ffn_hidden
        fe_in = 2 * fe if m.gated_mlp else fe
        expert_params = h * fe_in + fe * h + (fe_in + h if bias else 0)
        fs = moe.shared_expert_ffn_hidden or fe
        fs_in = 2 * fs if m.gated_mlp else fs
        shared_params = moe.shared_experts * (h * fs_in + fs * h + (fs_in + h if bias else 0))
        router_params = h * moe.experts
        # routed/shared expert activations kept per token (inputs, fc1 outputs, activation outputs)
        moe_act = moe.top_k * (2 * h + 2 * fe_in + 2 * fe) + moe.shared_experts * (2 * fs_in + 2 * fs)
        moe_gemms = [Gemm("router", h, moe.experts, "none"),
                     Gemm("expert_in", h, fe_in, "none", count=moe.top_k, kind="expert"),
                     Gemm("expert_out", fe, h, "none", count=moe.top_k, kind="expert")]
        if moe.shared_experts:
            moe_gemms += [Gemm("shared_in", h, fs_in * moe.shared_experts, "n"),
                          Gemm("shared_out", fs * moe.shared_experts, h, "k")]
    norm_params = (4 if bias else 2) * h  # two norms per layer, LayerNorm with a bias when `bias`
    head = [Gemm("logits", h, m.vocab, "n", kind="logits")]

    # Activations kept per token per layer (bf16 = 2 bytes), after Korthikanti et al. 2022
    # (arXiv 2205.05198, sec. 4.1) with flash attention (no s^2 term) and no dropout masks.
    act_attn_sharded = 2 * (q_width + kv_width) + 2 * q_width  # QKV outputs, attention output
    act_mlp_sharded = 2 * fin + 2 * f  # fc1 output, activation output
    act_seqpar = 2 * h + 2 * h + 2 * 2 * h  # inputs of attention and MLP GEMMs, two norm inputs
    selective_saved = 2 * q_width + (2 * fin if m.gated_mlp else 0)  # core-attention output, act inputs

    # Element-wise traffic per token per layer, forward, bf16: two norms (read+write h), two residual
    # adds (read 2h, write h), activation (gated: read 2f write f), rotary on q and k (read+write).
    ew_seqpar = 2 * (2 * 2 * h) + 2 * (3 * 2 * h)
    ew_tp = (6 * f if m.gated_mlp else 4 * f) + 2 * 2 * (q_width + kv_width)
    if m.moe is not None:
        ew_tp += 2 * 2 * 2 * m.moe.top_k * h  # token permute + unpermute (read + write)
    head_ew = 12.0 * m.vocab  # fp32 logits: write, softmax read/write, gradient write (3 x 4 bytes)

    emb = float(m.vocab * h)
    return ModelCosts(
        model=m, seq_len=s,
        params_embedding=emb, params_logits=0.0 if m.tied_embeddings else emb,
        params_attn_per_layer=float(attn_params), params_dense_mlp_per_layer=float(dense_mlp_params),
        params_expert=float(expert_params), params_shared_per_layer=float(shared_params),
        params_router_per_layer=float(router_params), params_norm_per_layer=float(norm_params),
        dense_layer_gemms=tuple(attn_gemms + mlp_gemms),
        moe_layer_gemms=tuple(attn_gemms + moe_gemms),
        head_gemms=tuple(head),
        attn_core_flops_per_token=core_per_s * s,
        act_attn_bytes=float(act_attn_sharded), act_mlp_bytes=float(act_mlp_sharded),
        act_bytes_seqpar=float(act_seqpar),
        act_bytes_selective_saved=float(selective_saved),
        act_bytes_full=float(2 * h),
        moe_act_bytes=float(moe_act),
        fp8_saved_seqpar=float(2 * h), fp8_saved_attn=float(q_width), fp8_saved_mlp=float(f),
        fp8_saved_moe=float(m.moe.top_k * (h + m.moe.expert_ffn_hidden)
                            + m.moe.shared_experts * (m.moe.shared_expert_ffn_hidden or m.moe.expert_ffn_hidden))
        if m.moe is not None else 0.0,
        elementwise_bytes_tp=float(ew_tp), elementwise_bytes_seqpar=float(ew_seqpar),
        head_elementwise_bytes=head_ew,
    )
