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
from functools import cached_property

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
class Activations:
    """Elements per token per layer that a layer keeps for its backward pass, by how they shard.

    `*_gemm_in` are the inputs of GEMMs (fp8 training keeps them in fp8, Transformer Engine and DeepSeek-V3 sec. 3.3);
    the rest stay bf16."""

    seqpar_gemm_in: float  # QKV and fc1 inputs (the normalised hidden state): split by TP only with SP
    seqpar_other: float  # norm inputs: split by TP only with SP
    attn_qkv: float  # q, k, v as the attention kernel keeps them (MLA: expanded per head): split by TP
    attn_out_gemm_in: float  # attention output = input of the output projection: split by TP
    mlp_hidden: float  # fc1 output = the activation's input: split by TP
    mlp_out_gemm_in: float  # activation output = input of fc2: split by TP
    attn_latent: float  # MLA's compressed q and kv (inputs of the up-projections): not split
    scores_per_s: float  # unfused attention only: softmax output per token per unit sequence length (heads)
    moe_in: float  # the routed copies' inputs (top_k x hidden): GEMM inputs
    moe_act_out: float  # routed and shared experts' activation outputs (inputs of their fc2): GEMM inputs
    moe_fc1_out: float  # routed and shared experts' fc1 outputs
    layer_input: float  # what full recompute keeps: the layer input (split by TP only with SP)
    qkv_keep: float  # what a "keep q, k, v" remat policy (MaxText save_qkv_proj) keeps besides the layer input


@dataclass(frozen=True)
class OpSacLayer:
    """What per-op selective activation checkpointing keeps and recomputes of one layer (torchtitan's "selective op":
    every compute op's output is saved except every second matrix multiply; the count restarts in each transformer
    block; grouped expert GEMMs are not `aten.mm`, so they are recomputed)."""

    recompute_share: float  # of the layer's forward GEMM FLOPs
    saved_col: float  # output elements per token of the saved column-parallel mm's (split by TP)
    saved_row: float  # output elements per token of the saved row-parallel mm's (the full partial sums)


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
    # activations kept for backward, ELEMENTS per token per layer (Korthikanti et al. 2022, arXiv 2205.05198 sec. 4.1,
    # with flash attention and no dropout); `Activations` says which split them and which fp8 training stores in fp8
    act: Activations
    # element-wise memory traffic per token per layer, forward, ELEMENTS read + written (the minimal fused count)
    elementwise_tp: float  # split by TP: rotary on q and k
    elementwise_mlp: float  # split by TP: the dense MLP's activation
    elementwise_norm: float  # split by TP only with sequence parallelism: the norms
    elementwise_residual: float  # split by TP only with sequence parallelism: the residual adds
    elementwise_moe_permute: float  # token permute and unpermute (per token entering the MoE layer)
    elementwise_moe_act: float  # routed and shared experts' activations (split by expert tensor parallelism)
    head_elementwise: float  # logits: fp32 logits write, softmax read/write, gradient write, per vocab entry
    notes: list[str] = field(default_factory=list)

    # totals ------------------------------------------------------------------------------
    @property
    def n_dense_layers(self) -> int:
        return self.model.layers - self.model.moe_layers

    @property
    def n_moe_layers(self) -> int:
        return self.model.moe_layers

    @property
    def params_dense_layer(self) -> float:
        """Parameters of one dense layer: attention, MLP, norms."""
        return self.params_attn_per_layer + self.params_dense_mlp_per_layer + self.params_norm_per_layer

    @property
    def params_moe_layer_nonexpert(self) -> float:
        """Parameters of one MoE layer outside its routed experts: attention, norms, router, shared experts."""
        return (self.params_attn_per_layer + self.params_norm_per_layer + self.params_router_per_layer
                + self.params_shared_per_layer)

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

    @property
    def last_gemms(self) -> frozenset[str]:
        """The GEMMs of a layer whose outputs only feed the layer's output (the MLP's and experts' down projections;
        in a parallel block the attention output projection too): nothing in the backward pass reads them."""
        return frozenset({"mlp_out", "expert_out", "shared_out"} | ({"out_proj"} if self.model.parallel_block else set()))

    def last_gemm_flops_per_token(self) -> float:
        """Forward FLOPs per token of every layer's `last_gemms`, summed over the layers."""
        def per_layer(gemms: tuple[Gemm, ...]) -> float:
            return sum(g.flops_per_token for g in gemms if g.name in self.last_gemms)
        return self.n_dense_layers * per_layer(self.dense_layer_gemms) + self.n_moe_layers * per_layer(self.moe_layer_gemms)

    def op_sac_recompute_flops_per_token(self) -> float:
        """Forward FLOPs per token that per-op selective checkpointing re-runs (`op_sac_layer`), over the layers."""
        return (self.n_dense_layers * self.op_sac_dense.recompute_share * sum(g.flops_per_token for g in self.dense_layer_gemms)
                + self.n_moe_layers * self.op_sac_moe.recompute_share * sum(g.flops_per_token for g in self.moe_layer_gemms))

    @cached_property
    def op_sac_dense(self) -> OpSacLayer:
        """Per-op selective checkpointing of a dense layer (`op_sac_layer`)."""
        return op_sac_layer(self.dense_layer_gemms, self.model)

    @cached_property
    def op_sac_moe(self) -> OpSacLayer:
        """Per-op selective checkpointing of a MoE layer (`op_sac_layer`)."""
        return op_sac_layer(self.moe_layer_gemms, self.model)

    def model_flops_per_token(self) -> float:
        """3 x forward (forward + backward), no recompute: the MFU numerator per token."""
        return 3.0 * self.forward_flops_per_token()


def op_sac_layer(gemms: tuple[Gemm, ...], m: ModelSpec) -> OpSacLayer:
    """The mm's of a layer in call order (q, k, v, o; w1, w3, w2; a router before the experts), the even ones
    recomputed. Fused GEMMs of the cost model are split back into the projections torchtitan calls one by one."""
    mms: list[tuple[str, float, float]] = []  # (split, output width, FLOPs per token), in call order
    total = sum(g.flops_per_token for g in gemms)
    grouped = 0.0
    for g in gemms:
        if g.kind == "expert":
            grouped += g.flops_per_token
            continue
        parts: list[float]
        if g.name == "qkv_proj" and not m.is_mla:
            q, kv = float(m.heads * m.d_head), float(m.n_kv_heads * m.d_head)
            parts = [q, kv, kv]
        elif g.name in ("mlp_in", "shared_in") and m.gated_mlp:
            parts = [g.n / 2, g.n / 2]
        else:
            parts = [float(g.n)]
        mms += [(g.split, n, 2.0 * g.k * n * g.count) for n in parts]
    recomputed = grouped + sum(f for i, (_, _, f) in enumerate(mms, 1) if i % 2 == 0)
    saved = [(split, n) for i, (split, n, _) in enumerate(mms, 1) if i % 2 == 1]
    return OpSacLayer(recompute_share=recomputed / total if total else 0.0,
                      saved_col=sum(n for split, n in saved if split == "n"),
                      saved_row=sum(n for split, n in saved if split != "n"))


def _attention(m: ModelSpec) -> tuple[list[Gemm], float, int, int, float]:
    """Attention GEMMs, core FLOPs per token per unit sequence, q width, kv width, params."""
    h = m.hidden
    if m.is_mla:
        assert m.attention is not None  # narrowed by is_mla
        q_lora, kv_lora, nope, rope, v = m.attention.mla_dims()
        qk = nope + rope
        gemms: list[Gemm] = []
        if q_lora:
            gemms += [Gemm("q_down", h, q_lora, "none"), Gemm("q_up", q_lora, m.heads * qk, "n")]
        else:
            gemms += [Gemm("q_proj", h, m.heads * qk, "n")]
        gemms += [Gemm("kv_down", h, kv_lora + rope, "none"),
                  Gemm("kv_up", kv_lora, m.heads * (nope + v), "n"),
                  Gemm("out_proj", m.heads * v, h, "k")]
        params = sum(g.k * g.n for g in gemms) + q_lora + kv_lora  # + latent norms
        # scores: heads x qk per key, values: heads x v per key; causal halves both
        core_per_s = 2.0 * m.heads * (qk + v) / 2.0
        q_width = m.heads * qk
        kv_width = kv_lora + rope
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
    expert_params = shared_params = router_params = 0.0
    if m.moe is not None:
        moe = m.moe
        fe = moe.expert_ffn_hidden
        fe_in = 2 * fe if m.gated_mlp else fe
        expert_params = h * fe_in + fe * h + (fe_in + h if bias else 0)
        fs = moe.shared_expert_ffn_hidden or fe
        fs_in = 2 * fs if m.gated_mlp else fs
        shared_params = moe.shared_experts * (h * fs_in + fs * h + (fs_in + h if bias else 0))
        router_params = h * moe.experts
        moe_gemms = [Gemm("router", h, moe.experts, "none"),
                     Gemm("expert_in", h, fe_in, "none", count=moe.top_k, kind="expert"),
                     Gemm("expert_out", fe, h, "none", count=moe.top_k, kind="expert")]
        if moe.shared_experts:
            moe_gemms += [Gemm("shared_in", h, fs_in * moe.shared_experts, "n"),
                          Gemm("shared_out", fs * moe.shared_experts, h, "k")]
    norm_params = (4 if bias else 2) * h  # two norms per layer, LayerNorm with a bias when `bias`
    head = [Gemm("logits", h, m.vocab, "n", kind="logits")]

    # Activations kept per token per layer (elements), after Korthikanti et al. 2022 (arXiv 2205.05198, sec. 4.1):
    # their 34sbh for a GPT layer is 32sbh without the two dropout masks, which these terms give for MHA, a 4h MLP and
    # bf16. Flash attention keeps q, k, v and its output (no s^2 scores); MLA's kernel works on the expanded per-head
    # k and v, so those are kept, not the 576-wide latent (DeepSeek-V3: ~168 KB per token per layer in bf16).
    n_norms = 1 if m.parallel_block else 2  # a parallel block normalises once and feeds attention and MLP together
    attn_qkv = float(q_width + kv_width)
    latent = 0.0
    o_width = m.heads * m.d_head
    if m.is_mla:
        assert m.attention is not None
        q_lora, kv_lora, nope, rope, v = m.attention.mla_dims()
        attn_qkv = float(m.heads * (2 * (nope + rope) + v))
        latent = float(q_lora + kv_lora)
        o_width = m.heads * v
    moe_in = moe_act_out = moe_fc1_out = 0.0
    if m.moe is not None:
        moe = m.moe
        fe = moe.expert_ffn_hidden
        fe_in = 2 * fe if m.gated_mlp else fe
        fs = moe.shared_expert_ffn_hidden or fe
        fs_in = 2 * fs if m.gated_mlp else fs
        moe_in = moe.top_k * h
        moe_act_out = moe.top_k * fe + moe.shared_experts * fs
        moe_fc1_out = moe.top_k * fe_in + moe.shared_experts * fs_in
    act = Activations(
        seqpar_gemm_in=float(n_norms * h), seqpar_other=float(n_norms * h),
        attn_qkv=attn_qkv, attn_out_gemm_in=float(o_width), mlp_hidden=float(fin), mlp_out_gemm_in=float(f),
        attn_latent=latent, scores_per_s=float(m.heads),  # the whole s x s softmax output (mask applied, not skipped)
        moe_in=float(moe_in), moe_act_out=float(moe_act_out), moe_fc1_out=float(moe_fc1_out), layer_input=float(h),
        qkv_keep=float(q_width + kv_width))

    # Element-wise traffic per token per layer, forward (elements read + written): norms (read + write h), residual
    # adds (read 2h, write h; a parallel block adds both branches at once: read 3h, write h), the MLP activation
    # (gated: read 2f, write f), rotary on q and k (read + write), MoE token permute and unpermute (read + write).
    ew_norm = n_norms * 2 * h
    ew_residual = 4 * h if m.parallel_block else 2 * 3 * h
    act_rw = 3 if m.gated_mlp else 2  # elements read + written per hidden unit of the activation
    ew_tp = 2 * (q_width + kv_width)
    ew_moe = 2 * 2 * m.moe.top_k * h if m.moe is not None else 0.0
    ew_moe_act = (act_rw * (m.moe.top_k * m.moe.expert_ffn_hidden
                            + m.moe.shared_experts * (m.moe.shared_expert_ffn_hidden or m.moe.expert_ffn_hidden))
                  if m.moe is not None else 0.0)
    head_ew = 3.0 * m.vocab  # fp32 logits: write, softmax read + write and gradient write (in fp32 elements)

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
        act=act,
        elementwise_tp=float(ew_tp), elementwise_mlp=float(act_rw * f), elementwise_norm=float(ew_norm),
        elementwise_residual=float(ew_residual),
        elementwise_moe_permute=float(ew_moe), elementwise_moe_act=float(ew_moe_act),
        head_elementwise=head_ew,
    )
