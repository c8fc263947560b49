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
