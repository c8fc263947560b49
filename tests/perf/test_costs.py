"""FLOP counts against formulas worked by hand."""

import pytest

from accelplan.catalog.schema import ModelSpec
from accelplan.perf.costs import model_costs


def test_dense_forward_flops_match_2n_plus_causal_attention():
    # GPT-3-like, MHA, plain 4h MLP: forward = 2 * N_nonembedding-ish + logits + causal attention (2*L*s*h)
    m = ModelSpec(id="t", name="t", layers=24, hidden=2048, heads=16, ffn_hidden=8192, gated_mlp=False, vocab=50000,
                  seq_len=2048)
    c = model_costs(m)
    h, L, s, V = 2048, 24, 2048, 50000
    per_layer = 2 * (4 * h * h + 2 * h * 4 * h)  # qkv+out, two MLP matrices
    attention = 2 * 2 * h * s / 2  # QK^T and AV, causal half
    expected = L * (per_layer + attention) + 2 * h * V
    assert c.forward_flops_per_token() == pytest.approx(expected)
    assert c.model_flops_per_token() == pytest.approx(3 * expected)


def test_gqa_shrinks_only_the_kv_projections():
    mha = ModelSpec(id="a", name="a", layers=1, hidden=4096, heads=32, ffn_hidden=14336, vocab=1000)
    gqa = mha.model_copy(update={"kv_heads": 8})
    d = model_costs(mha).params_attn_per_layer - model_costs(gqa).params_attn_per_layer
    assert d == 2 * 4096 * (4096 - 1024)


def test_per_op_checkpointing_recomputes_every_second_mm_of_a_block():
    # torchtitan's "selective op" AC on a Llama block calls wq, wk, wv, wo, w1, w3, w2 and recomputes the 2nd, 4th and
    # 6th: wk, wo, w3. Llama 3.1 8B: h 4096, 32 q heads / 8 kv of 128, ffn 14336 (gated). By hand, in k x n:
    from accelplan.perf.costs import op_sac_layer

    m = ModelSpec(id="l8", name="l8", layers=32, hidden=4096, heads=32, kv_heads=8, ffn_hidden=14336, gated_mlp=True,
                  vocab=128256, seq_len=8192)
    h, q, kv, f = 4096, 4096, 1024, 14336
    wq, wk, wv, wo, w1, w3, w2 = h * q, h * kv, h * kv, q * h, h * f, h * f, f * h
    sac = op_sac_layer(model_costs(m).dense_layer_gemms, m)
    assert sac.recompute_share == pytest.approx((wk + wo + w3) / (wq + wk + wv + wo + w1 + w3 + w2), rel=1e-12)
    assert sac.saved_col == q + kv + f  # wq, wv, w1 outputs (column-parallel)
    assert sac.saved_row == h  # w2's output (row-parallel: the full partial sum)
    # a non-gated MLP calls w1, w2 only: wk, wo and w2 are recomputed
    m2 = m.model_copy(update={"gated_mlp": False, "ffn_hidden": 4 * h})
    sac2 = op_sac_layer(model_costs(m2).dense_layer_gemms, m2)
    assert sac2.recompute_share == pytest.approx((wk + wo + 4 * h * h) / (wq + wk + wv + wo + 2 * 4 * h * h),
                                                 rel=1e-12)
