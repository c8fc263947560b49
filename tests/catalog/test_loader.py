"""Bad catalog input gives one clear error naming file, entry, field and allowed values."""

import json

import pytest

from accelplan.catalog.loader import load_catalog, load_model_file
from accelplan.errors import CatalogError, UnknownIdError


def test_unknown_chip_suggests_close_ids(catalog):
    with pytest.raises(UnknownIdError) as exc:
        catalog.chip("h10-sxm")
    assert "h100-sxm" in str(exc.value)
    assert "did you mean" in str(exc.value)


def test_aliases_resolve_to_canonical_ids(catalog):
    assert catalog.chip("nvidia-h100-sxm5-80gb").id == "h100-sxm"
    assert catalog.chip("H100").id == "h100-sxm"
    assert catalog.chip("huawei-ascend-910b").id == "ascend-910b"


def test_malformed_user_chip_names_file_entry_field_and_allowed_values(tmp_path):
    d = tmp_path / "chips"
    d.mkdir()
    (d / "bad.yaml").write_text("id: my-chip\nvendor: nvidia\nname: x\nstatus: rumoured\npeak_tflops: {bf16: 1}\n")
    with pytest.raises(CatalogError) as exc:
        load_catalog([str(tmp_path)])
    msg = str(exc.value)
    assert "bad.yaml" in msg and "my-chip" in msg and "status" in msg
    assert "shipping" in msg and "projected" in msg


def test_user_chip_without_source_is_rejected(tmp_path):
    (tmp_path / "c.yaml").write_text("id: my-chip\nvendor: nvidia\nname: x\nstatus: shipping\npeak_tflops: {bf16: 100}\n")
    with pytest.raises(CatalogError, match="peak_tflops.bf16"):
        load_catalog([str(tmp_path)])


def test_user_model_directory_adds_a_model(tmp_path):
    (tmp_path / "m.yaml").write_text("id: tiny\nname: tiny\nlayers: 2\nhidden: 64\nheads: 4\nffn_hidden: 128\nvocab: 100\n")
    cat = load_catalog([str(tmp_path)])
    assert cat.model("tiny").layers == 2


def test_hf_llama_config_is_read_without_transformers(tmp_path):
    cfg = {"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
           "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256, "hidden_act": "silu",
           "max_position_embeddings": 131072, "tie_word_embeddings": False}
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    m = load_model_file(p)
    assert (m.layers, m.n_kv_heads, m.ffn_hidden, m.gated_mlp) == (32, 8, 14336, True)


def test_hf_deepseek_v3_config_gives_mla_and_moe(tmp_path):
    cfg = {"model_type": "deepseek_v3", "num_hidden_layers": 61, "hidden_size": 7168, "num_attention_heads": 128,
           "num_key_value_heads": 128, "intermediate_size": 18432, "moe_intermediate_size": 2048,
           "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8, "first_k_dense_replace": 3,
           "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
           "v_head_dim": 128, "vocab_size": 129280, "hidden_act": "silu"}
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    from accelplan.perf.costs import model_costs

    c = model_costs(load_model_file(p))
    assert c.params_total / 1e9 == pytest.approx(671, rel=0.02)
    assert c.params_active / 1e9 == pytest.approx(37, rel=0.02)


def test_hf_config_missing_keys_names_them(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"model_type": "llama", "hidden_size": 10}))
    with pytest.raises(CatalogError, match="num_hidden_layers"):
        load_model_file(p)


def test_a_user_catalog_with_no_entries_is_refused(tmp_path):
    with pytest.raises(CatalogError, match="no catalog entries"):
        load_catalog([str(tmp_path)])
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(CatalogError, match="is a file"):
        load_catalog([str(tmp_path / "f.txt")])


def test_one_id_twice_in_user_catalogs_is_refused_not_replaced(tmp_path):
    import yaml

    from accelplan.catalog.loader import DATA

    chip = yaml.safe_load((DATA / "chips" / "h100-sxm.yaml").read_text())
    for d in ("a", "b"):
        (tmp_path / d / "chips").mkdir(parents=True)
        (tmp_path / d / "chips" / "mine.yaml").write_text(yaml.safe_dump({**chip, "id": "mine", "aliases": []}))
    with pytest.raises(CatalogError, match="also defined in"):
        load_catalog([str(tmp_path / "a"), str(tmp_path / "b")])
    assert load_catalog([str(tmp_path / "a")]).chip("mine").id == "mine"  # once is fine, and overriding shipped too
