"""Read a HuggingFace `config.json` into a ModelSpec without installing transformers.

Handled `model_type`s: llama, mistral, mixtral, qwen2, qwen2_moe, qwen3, qwen3_moe, deepseek_v3
(and deepseek_v2, whose keys are the same). Anything else that has the Llama keys is read the same way.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from accelplan.catalog.schema import Attention, ModelSpec, MoE
from accelplan.errors import CatalogError

KNOWN_TYPES = ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "deepseek_v2",
               "deepseek_v3")
_REQUIRED = ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")


def model_from_hf_config(cfg: dict[str, Any], name: str = "hf-model", file: str = "config.json") -> ModelSpec:
    missing = [k for k in _REQUIRED if k not in cfg]
    if missing:
        raise CatalogError(file, None, missing[0],
                           f"missing from the HuggingFace config (needs {', '.join(_REQUIRED)})")
    mtype = str(cfg.get("model_type", "llama"))
    layers = int(cfg["num_hidden_layers"])
    hidden = int(cfg["hidden_size"])
    heads = int(cfg["num_attention_heads"])
    spec: dict[str, Any] = {
        "id": name,
        "name": f"{name} (HuggingFace config, model_type {mtype})",
        "layers": layers,
        "hidden": hidden,
        "heads": heads,
        "kv_heads": int(cfg.get("num_key_value_heads") or heads),
        "ffn_hidden": int(cfg.get("intermediate_size") or 4 * hidden),
        "gated_mlp": str(cfg.get("hidden_act", "silu")) in ("silu", "swiglu", "gelu_pytorch_tanh", "geglu"),
        "vocab": int(cfg["vocab_size"]),
        "tied_embeddings": bool(cfg.get("tie_word_embeddings", False)),
        "seq_len": int(cfg.get("max_position_embeddings") or 4096),
        "source": f"HuggingFace config.json ({file})",
    }
    if cfg.get("head_dim"):
        spec["head_dim"] = int(cfg["head_dim"])
    if mtype in ("deepseek_v2", "deepseek_v3") and cfg.get("kv_lora_rank"):
        spec["attention"] = Attention(
            type="mla", q_lora_rank=cfg.get("q_lora_rank"), kv_lora_rank=cfg["kv_lora_rank"],
            qk_nope_head_dim=cfg["qk_nope_head_dim"], qk_rope_head_dim=cfg["qk_rope_head_dim"],
            v_head_dim=cfg["v_head_dim"])
        spec["head_dim"] = int(cfg["v_head_dim"])
        spec["kv_heads"] = heads
    experts = cfg.get("n_routed_experts") or cfg.get("num_local_experts") or cfg.get("num_experts")
    if experts:
        top_k = cfg.get("num_experts_per_tok") or cfg.get("num_experts_per_token") or 2
        expert_ffn = cfg.get("moe_intermediate_size") or cfg.get("intermediate_size")
        shared = int(cfg.get("n_shared_experts") or 0)
        shared_ffn = None
        if cfg.get("shared_expert_intermediate_size"):  # qwen2_moe: one shared expert of its own width
            shared, shared_ffn = 1, int(cfg["shared_expert_intermediate_size"])
        dense = int(cfg.get("first_k_dense_replace") or 0)
        if mtype.startswith("qwen") and cfg.get("mlp_only_layers"):
            dense = len(cfg["mlp_only_layers"])
        spec["moe"] = MoE(experts=int(experts), top_k=int(top_k), shared_experts=shared,
                          expert_ffn_hidden=int(expert_ffn), dense_layers=dense,
                          shared_expert_ffn_hidden=shared_ffn)
    try:
        return ModelSpec(**spec)
    except ValidationError as err:
        e = err.errors()[0]
        raise CatalogError(file, name, ".".join(map(str, e["loc"])) or None, e["msg"]) from None
