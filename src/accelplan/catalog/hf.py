"""Read a HuggingFace `config.json` into a ModelSpec without installing transformers.

Handled `model_type`s: llama, mistral, mixtral, qwen2, qwen2_moe, qwen3, qwen3_moe, deepseek_v3 (and
deepseek_v2, whose keys are the same), gemma and starcoder2. Any other `model_type`, or none, is an error
naming the field: the layout (gated MLP, biases, tied embeddings) comes from the type, so it is not guessed.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import ValidationError

from accelplan.catalog.refusal import explain
from accelplan.catalog.schema import DEFAULT_SEQ_LEN, ModelSpec
from accelplan.errors import CatalogError

KNOWN_TYPES = ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "deepseek_v2",
               "deepseek_v3", "gemma", "starcoder2")
# What each type's HuggingFace modeling code builds, which config.json does not spell out:
_NOT_GATED = ("starcoder2",)  # c_fc -> act -> c_proj; every other type has gate, up and down projections
_QKV_BIAS = ("qwen2", "qwen2_moe")  # Qwen2Attention: bias on q/k/v only, none on o_proj or the MLP
_TIED_BY_DEFAULT = ("gemma", "starcoder2")  # their config classes default tie_word_embeddings to true
_HEAD_DIM_DEFAULT = {"gemma": 256}  # GemmaConfig.head_dim default (not hidden / heads on gemma-7b)
_REQUIRED = ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")
_EXPERT_KEYS = ("n_routed_experts", "num_local_experts", "num_experts")
_TOP_K_KEYS = ("num_experts_per_tok", "num_experts_per_token")
_MLA_KEYS = ("q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")
# ModelSpec field -> the config.json key it was read from, to name the key the user wrote in a refusal
_HF_KEY = {"layers": "num_hidden_layers", "hidden": "hidden_size", "heads": "num_attention_heads",
           "kv_heads": "num_key_value_heads", "ffn_hidden": "intermediate_size", "vocab": "vocab_size",
           "head_dim": "head_dim", "moe.top_k": "num_experts_per_tok", "moe.shared_experts": "n_shared_experts",
           "moe.expert_ffn_hidden": "moe_intermediate_size", "moe.dense_layers": "first_k_dense_replace",
           "moe.shared_expert_ffn_hidden": "shared_expert_intermediate_size",
           **{f"attention.{k}": k for k in _MLA_KEYS}}


class _Reader:
    """Typed reads of one config.json, each refusing by key name what is not a number of the right kind."""

    def __init__(self, cfg: dict[str, Any], file: str, name: str):
        self.cfg, self.file, self.name = cfg, file, name

    def refuse(self, key: str, message: str) -> CatalogError:
        return CatalogError(self.file, self.name, key, message)

    def whole(self, key: str) -> int | None:
        """cfg[key] as a whole number; None where the key is absent or null. 0 and negatives are returned, for the
        model's range to refuse by name: they are never read as 'absent'."""
        v = self.cfg.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.refuse(key, f"must be a whole number, got {v!r}")
        if isinstance(v, float) and not math.isfinite(v):
            raise self.refuse(key, f"must be a finite whole number, got {v!r}")
        if isinstance(v, float) and not v.is_integer():
            raise self.refuse(key, f"must be a whole number, got {v!r}")
        return int(v)

    def first(self, keys: tuple[str, ...]) -> tuple[str, int | None]:
        """(the first of `keys` the config gives, its value); (keys[0], None) where it gives none."""
        for k in keys:
            v = self.whole(k)
            if v is not None:
                return k, v
        return keys[0], None

    def flag(self, key: str, default: bool) -> bool:
        v = self.cfg.get(key)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self.refuse(key, f"must be true or false, got {v!r}")
        return v


def _linear_bias(mtype: str, r: _Reader) -> Literal["none", "qkv", "all"]:
    if mtype in _QKV_BIAS:
        return "qkv"
    if mtype == "starcoder2":  # use_bias (default true): every linear layer; its norms are LayerNorm
        return "all" if r.flag("use_bias", True) else "none"
    return "none"


def _seq_len(r: _Reader) -> int:
    """The workload's sequence length, DEFAULT_SEQ_LEN, within the model's context window.

    max_position_embeddings is how far the model can attend (163,840 on DeepSeek-V3), not what a training run uses
    by default; a window shorter than the default caps it."""
    window = r.whole("max_position_embeddings")
    if window is not None and window <= 0:
        raise r.refuse("max_position_embeddings", f"must be > 0, got {window}")
    return DEFAULT_SEQ_LEN if window is None else min(DEFAULT_SEQ_LEN, window)


def _moe(mtype: str, r: _Reader, experts_key: str, experts: int) -> dict[str, Any]:
    top_key, top_k = r.first(_TOP_K_KEYS)
    if top_k is None:
        raise r.refuse(top_key, f"missing: the config names {experts} experts ({experts_key}) but not how many "
                                "each token is routed to")
    expert_ffn = r.whole("moe_intermediate_size")
    if expert_ffn is None:
        expert_ffn = r.whole("intermediate_size")
    if expert_ffn is None:
        raise r.refuse("moe_intermediate_size", "missing: an MoE config needs the expert width "
                                                "(moe_intermediate_size or intermediate_size)")
    shared = r.whole("n_shared_experts") or 0
    shared_ffn = r.whole("shared_expert_intermediate_size")
    if shared_ffn is not None:  # qwen2_moe: one shared expert of its own width
        shared = 1
    dense = r.whole("first_k_dense_replace") or 0
    only_mlp = r.cfg.get("mlp_only_layers")
    if mtype.startswith("qwen") and only_mlp:
        if not isinstance(only_mlp, list):
            raise r.refuse("mlp_only_layers", f"must be a list of layer indices, got {only_mlp!r}")
        dense = len(only_mlp)
    return {"experts": experts, "top_k": top_k, "shared_experts": shared, "expert_ffn_hidden": expert_ffn,
            "dense_layers": dense, "shared_expert_ffn_hidden": shared_ffn}


def model_from_hf_config(cfg: dict[str, Any], name: str = "hf-model", file: str = "config.json") -> ModelSpec:
    """A ModelSpec from a parsed config.json; CatalogError naming the key for anything missing or implausible."""
    supported = f"supported: {', '.join(KNOWN_TYPES)}"
    if not isinstance(cfg, dict):
        raise CatalogError(file, None, None, f"expected a JSON object, got {type(cfg).__name__}")
    if not cfg.get("model_type"):
        raise CatalogError(file, None, "model_type",
                           f"missing from the HuggingFace config; it decides the layer layout ({supported})")
    mtype = str(cfg["model_type"])
    if mtype not in KNOWN_TYPES:
        raise CatalogError(file, None, "model_type", f"'{mtype[:80]}' is not a supported model_type ({supported})")
    r = _Reader(cfg, file, name)
    missing = [k for k in _REQUIRED if r.whole(k) is None]
    if missing:
        raise CatalogError(file, None, missing[0],
                           f"missing from the HuggingFace config (needs {', '.join(_REQUIRED)})")
    spec: dict[str, Any] = {
        "id": name,
        "name": f"{name} (HuggingFace config, model_type {mtype})",
        "layers": r.whole("num_hidden_layers"),
        "hidden": r.whole("hidden_size"),
        "heads": r.whole("num_attention_heads"),
        "kv_heads": r.whole("num_key_value_heads"),  # None: as many as the query heads
        "ffn_hidden": r.whole("intermediate_size"),
        "gated_mlp": mtype not in _NOT_GATED,
        "linear_bias": _linear_bias(mtype, r),
        "vocab": r.whole("vocab_size"),
        "tied_embeddings": r.flag("tie_word_embeddings", mtype in _TIED_BY_DEFAULT),
        "seq_len": _seq_len(r),
        "source": f"HuggingFace config.json ({file})",
    }
    if spec["ffn_hidden"] is None:
        hidden = spec["hidden"]
        spec["ffn_hidden"] = 4 * hidden if hidden > 0 else hidden  # the classic 4h MLP; <= 0 is refused below
    head_dim = r.whole("head_dim")
    spec["head_dim"] = head_dim if head_dim is not None else _HEAD_DIM_DEFAULT.get(mtype)
    if mtype in ("deepseek_v2", "deepseek_v3") and r.whole("kv_lora_rank") is not None:
        mla = {k: r.whole(k) for k in _MLA_KEYS}
        spec["attention"] = {"type": "mla", **mla}
        spec["head_dim"] = mla["v_head_dim"]
        spec["kv_heads"] = None
    experts_key, experts = r.first(_EXPERT_KEYS)
    if experts is not None and experts != 0:  # 0 or absent: a dense model
        spec["moe"] = _moe(mtype, r, experts_key, experts)
    try:
        return ModelSpec(**spec)
    except ValidationError as err:
        loc, msg = explain(err, ModelSpec)
        key = _HF_KEY.get(loc, experts_key if loc == "moe.experts" else loc)
        raise CatalogError(file, name, key or None, msg) from None
