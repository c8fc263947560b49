"""Read a HuggingFace `config.json` into a ModelSpec without installing transformers.

Handled `model_type`s: llama, mistral, mixtral, qwen2, qwen2_moe, qwen3, qwen3_moe, deepseek_v3 (and
deepseek_v2, whose keys are the same), gemma and starcoder2. Any other `model_type`, or none, is an error
naming the field: the layout (gated MLP, biases, tied embeddings) comes from the type, so it is not guessed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ValidationError

from accelplan.catalog.schema import Attention, ModelSpec
from accelplan.errors import CatalogError

KNOWN_TYPES = ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "deepseek_v2",
               "deepseek_v3", "gemma", "starcoder2")
# What each type's HuggingFace modeling code builds, which config.json does not spell out:
_NOT_GATED = ("starcoder2",)  # c_fc -> act -> c_proj; every other type has gate, up and down projections
_QKV_BIAS = ("qwen2", "qwen2_moe")  # Qwen2Attention: bias on q/k/v only, none on o_proj or the MLP
_TIED_BY_DEFAULT = ("gemma", "starcoder2")  # their config classes default tie_word_embeddings to true
_HEAD_DIM_DEFAULT = {"gemma": 256}  # GemmaConfig.head_dim default (not hidden / heads on gemma-7b)
_REQUIRED = ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")


def _linear_bias(mtype: str, cfg: dict[str, Any]) -> Literal["none", "qkv", "all"]:
    if mtype in _QKV_BIAS:
        return "qkv"
    if mtype == "starcoder2":  # use_bias (default true): every linear layer; its norms are LayerNorm
        return "all" if cfg.get("use_bias", True) else "none"
    return "none"


def model_from_hf_config(cfg: dict[str, Any], name: str = "hf-model", file: str = "config.json") -> ModelSpec:
    supported = f"supported: {', '.join(KNOWN_TYPES)}"
    if not cfg.get("model_type"):
        raise CatalogError(file, None, "model_type",
                           f"missing from the HuggingFace config; it decides the layer layout ({supported})")
    mtype = str(cfg["model_type"])
    if mtype not in KNOWN_TYPES:
        raise CatalogError(file, None, "model_type", f"'{mtype}' is not a supported model_type ({supported})")
    missing = [k for k in _REQUIRED if k not in cfg]
    if missing:
        raise CatalogError(file, None, missing[0],
                           f"missing from the HuggingFace config (needs {', '.join(_REQUIRED)})")
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
        "gated_mlp": mtype not in _NOT_GATED,
        "linear_bias": _linear_bias(mtype, cfg),
        "vocab": int(cfg["vocab_size"]),
        "tied_embeddings": bool(cfg.get("tie_word_embeddings", mtype in _TIED_BY_DEFAULT)),
        "seq_len": int(cfg.get("max_position_embeddings") or 4096),
        "source": f"HuggingFace config.json ({file})",
    }
    head_dim = cfg.get("head_dim") or _HEAD_DIM_DEFAULT.get(mtype)
    if head_dim:
        spec["head_dim"] = int(head_dim)
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
        expert_ffn = cfg.get("moe_intermediate_size") or cfg.get("intermediate_size") or 0  # 0: MoE names it
        shared = int(cfg.get("n_shared_experts") or 0)
        shared_ffn = None
        if cfg.get("shared_expert_intermediate_size"):  # qwen2_moe: one shared expert of its own width
            shared, shared_ffn = 1, int(cfg["shared_expert_intermediate_size"])
        dense = int(cfg.get("first_k_dense_replace") or 0)
        if mtype.startswith("qwen") and cfg.get("mlp_only_layers"):
            dense = len(cfg["mlp_only_layers"])
        spec["moe"] = {"experts": int(experts), "top_k": int(top_k), "shared_experts": shared,  # checked below
                       "expert_ffn_hidden": int(expert_ffn), "dense_layers": dense,
                       "shared_expert_ffn_hidden": shared_ffn}
    try:
        return ModelSpec(**spec)
    except ValidationError as err:
        e = err.errors()[0]
        raise CatalogError(file, name, ".".join(map(str, e["loc"])) or None, e["msg"]) from None
