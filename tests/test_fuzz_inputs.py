"""Fuzzing the files a user writes: catalog entries, HuggingFace configs, runs files, economics tables, and raw YAML
and JSON text (issue 13 sec. 3).

Each generated case either loads, and then its figures are finite and positive, or is refused by an AccelplanError
whose message is one line naming the file. Any other exception (a traceback) fails the test, and so does a case that
takes longer than CASE_SECONDS. A single field of a valid shipped entry is spoiled per case, so the refusal must also
name that field where the spoiled value is what is wrong.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelplan import yamlio
from accelplan.catalog.loader import DATA, load_model_file, read_entry
from accelplan.catalog.schema import Chip, ModelSpec, System
from accelplan.economics.data import DATA_DIR, load_tables
from accelplan.errors import AccelplanError
from accelplan.perf.costs import model_costs
from accelplan.validate.runs import load_runs

CASE_SECONDS = 1.0  # per case; a case takes milliseconds, so this catches a hang or a blow-up, not noise


def dump(data: Any) -> str:
    """YAML text through libyaml's emitter where there is one (the pure-Python one takes most of a case's time)."""
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)


def fast(examples: int) -> settings:
    """`examples` cases, timed by the test itself (CASE_SECONDS) rather than by hypothesis's deadline."""
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

T = TypeVar("T")

# what a careless or hostile hand might put in any field
ODD_NUMBERS = st.sampled_from([0, -1, -0.5, 1e-300, 1e300, 10**30, -(10**30), 38, 100, 0.5, 1, 2, 4096])
VALUES = st.one_of(
    ODD_NUMBERS,
    st.integers(min_value=-(10**7), max_value=10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=4), st.integers(-3, 3), max_size=2),
)


def loads_or_refuses(fn: Callable[[], T], name: str, field: str | None = None) -> T | None:
    """fn()'s result, or None where it raised an AccelplanError of one line naming `name` (and `field`, if given).
    Anything else propagates; either way the call must end within CASE_SECONDS."""
    start = time.perf_counter()
    try:
        out: T | None = fn()
    except AccelplanError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, msg
        assert name in msg, msg
        if field is not None:
            assert field in msg, (field, msg)
        out = None
    assert time.perf_counter() - start < CASE_SECONDS
    return out


def leaf_paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a scalar or an empty container inside nested dicts and lists."""
    if isinstance(data, dict) and data:
        return [p for k, v in data.items() for p in leaf_paths(v, (*prefix, k))]
    if isinstance(data, list) and data:
        return [p for i, v in enumerate(data) for p in leaf_paths(v, (*prefix, i))]
    return [prefix]


def spoil(base: dict, draw: Callable[[Any], Any], paths: list[tuple] | None = None) -> tuple[dict, str | None]:
    """A deep copy of `base` with one field set to an odd value, deleted, or given an unknown sibling; and the name
    of the field a refusal must mention (None where the change may leave the error elsewhere)."""
    data = copy.deepcopy(base)
    path = draw(st.sampled_from(paths or leaf_paths(base)))
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    action = draw(st.sampled_from(["set", "set", "set", "delete", "unknown"]))
    if action == "set":
        parent[key] = draw(VALUES)
        return data, (key if isinstance(key, str) else None)
    if action == "delete" and isinstance(parent, dict):
        parent.pop(key, None)
        return data, None  # a deleted figure also leaves its sources without a figure: the message may name those
    if isinstance(parent, dict):
        parent["unexpected_key"] = draw(VALUES)
        return data, None  # allowed where the model keeps unknown keys (runs), named where it forbids them
    return data, None


def all_figures_sane(entry: Chip | System) -> None:
    """Every figure of an accepted chip or system is a finite, positive number (node overhead may be 0)."""
    for path, v in entry.figure_paths().items():
        assert math.isfinite(v) and (v > 0 or (path == "node_overhead_w" and v == 0)), (path, v)


# ---- catalog entries

CATALOG_BASES = {
    "chips": DATA / "chips" / "h100-sxm.yaml",
    "systems": DATA / "systems" / "hgx-h100-ib400.yaml",
    "models": DATA / "models" / "deepseek-v3.yaml",
    "stacks": DATA / "stacks" / "megatron-lm.yaml",
}


@pytest.fixture(scope="module")
def bases() -> dict[str, dict]:
    return {kind: yaml.safe_load(p.read_text()) for kind, p in CATALOG_BASES.items()}


@pytest.mark.parametrize("kind", sorted(CATALOG_BASES))
@fast(80)
@given(data=st.data())
def test_spoiled_catalog_entries_load_or_are_refused_naming_file_and_field(tmp_path, bases, kind, data):
    entry, field = spoil(bases[kind], data.draw)
    f = tmp_path / f"{kind}-entry.yaml"
    f.write_text(dump(entry))
    # a spoiled figure may first be reported as a figure without a source or confidence, which names it too
    got = loads_or_refuses(lambda: read_entry(f, kind)[1], f.name, field)
    if isinstance(got, Chip | System):
        all_figures_sane(got)
    if isinstance(got, ModelSpec):
        costs = model_costs(got)
        assert math.isfinite(costs.params_total) and costs.params_total > 0


# ---- HuggingFace config.json

HF_BASES = [
    {"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
     "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256, "max_position_embeddings": 131072,
     "tie_word_embeddings": False},
    {"model_type": "deepseek_v3", "num_hidden_layers": 61, "hidden_size": 7168, "num_attention_heads": 128,
     "num_key_value_heads": 128, "intermediate_size": 18432, "moe_intermediate_size": 2048, "n_routed_experts": 256,
     "n_shared_experts": 1, "num_experts_per_tok": 8, "first_k_dense_replace": 3, "q_lora_rank": 1536,
     "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128, "vocab_size": 129280,
     "max_position_embeddings": 163840},
    {"model_type": "qwen2_moe", "num_hidden_layers": 24, "hidden_size": 2048, "num_attention_heads": 16,
     "num_key_value_heads": 16, "intermediate_size": 5632, "moe_intermediate_size": 1408, "num_experts": 60,
     "num_experts_per_tok": 4, "shared_expert_intermediate_size": 5632, "vocab_size": 151936,
     "max_position_embeddings": 8192, "mlp_only_layers": []},
    {"model_type": "gemma", "num_hidden_layers": 28, "hidden_size": 3072, "num_attention_heads": 16,
     "num_key_value_heads": 16, "head_dim": 256, "intermediate_size": 24576, "vocab_size": 256000},
]


@fast(200)
@given(base=st.sampled_from(HF_BASES), data=st.data())
def test_spoiled_hf_configs_load_or_are_refused_naming_the_file(tmp_path, base, data):
    cfg, _ = spoil(base, data.draw, [(k,) for k in base] + [("head_dim",), ("num_experts_per_tok",)])
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))  # NaN and Infinity as Python's json writes them
    got = loads_or_refuses(lambda: load_model_file(p), "config.json")
    if got is not None:
        costs = model_costs(got)
        assert math.isfinite(costs.params_total) and costs.params_total > 0
        assert 0 < got.seq_len <= 4096


@fast(40)
@given(key=st.sampled_from(["hidden_size", "num_hidden_layers", "vocab_size"]),
       text=st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "-Infinity", '"4096x"', "4096.5", "true", "null",
                             "[]", "{}", "-0", "0", "1e18"]))
def test_hf_numbers_json_cannot_hold_are_refused_by_key(tmp_path, key, text):
    p = tmp_path / "config.json"
    raw = json.dumps(HF_BASES[0]).replace(f'"{key}": {HF_BASES[0][key]}', f'"{key}": {text}')
    p.write_text(raw)
    assert loads_or_refuses(lambda: load_model_file(p), "config.json", key) is None


# ---- runs files


@pytest.fixture(scope="module")
def shipped_runs() -> list[dict]:
    from accelplan.validate import runs

    runs_file = Path(runs.__file__).parent / "data" / "runs.yaml"
    data = yaml.safe_load(runs_file.read_text())
    with_mfu = next(r for r in data if r["measured"].get("mfu") is not None)
    moe = next(r for r in data if r["model"].get("moe"))
    return [data[0], with_mfu, moe]


@fast(150)
@given(data=st.data())
def test_spoiled_runs_load_or_are_refused_naming_the_file(tmp_path, shipped_runs, data):
    run = data.draw(st.sampled_from(shipped_runs))
    entry, field = spoil(run, data.draw)
    p = tmp_path / "runs.yaml"
    p.write_text(dump([entry]))
    # runs keep unknown keys out silently (sources add their own), so only a set field must be named
    got = loads_or_refuses(lambda: load_runs(p), "runs.yaml", field)
    if got:
        m = got[0].measured
        for v in (m.tokens_per_s, m.mfu, m.mfu_peak_tflops):
            assert v is None or (math.isfinite(v) and v > 0)
        assert m.mfu is None or m.mfu <= 1


# ---- economics tables


@pytest.fixture(scope="module")
def economics() -> dict[str, dict]:
    return {f.stem: yaml.safe_load(f.read_text()) for f in DATA_DIR.glob("*.yaml")}


@fast(80)
@given(name=st.sampled_from(["grid", "prices", "reliability"]), data=st.data())
def test_spoiled_economics_tables_load_or_are_refused_naming_the_file(tmp_path, economics, name, data):
    spoiled, _ = spoil(economics[name], data.draw)
    for f in DATA_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_text(dump(spoiled) if f.stem == name else f.read_text())
    got = loads_or_refuses(lambda: load_tables(tmp_path), f"{name}.yaml")
    if got is not None:
        e = got.grid.energy
        assert 1 <= e.pue.value <= 3 and 0 < e.load_factor.value <= 1
        for loc in got.grid.locations.values():
            if loc.usd_per_kwh is not None:
                assert 0 < loc.usd_per_kwh.low <= loc.usd_per_kwh.high


# ---- raw text

YAML_ALPHABET = "ab01-:.,&*!|>[]{}?<#'\"\n \t%@`\\x"


@fast(250)
@given(text=st.text(alphabet=YAML_ALPHABET, max_size=120))
def test_arbitrary_yaml_text_parses_or_raises_a_yaml_error(text):
    start = time.perf_counter()
    try:
        yamlio.safe_load(text)
    except yaml.YAMLError as exc:
        assert yamlio.describe(exc) and "\n" not in yamlio.describe(exc)
    assert time.perf_counter() - start < CASE_SECONDS


@fast(150)
@given(text=st.text(alphabet=YAML_ALPHABET, max_size=120))
def test_arbitrary_text_as_a_catalog_file_is_refused_on_one_line_or_read(tmp_path, text):
    f = tmp_path / "entry.yaml"
    f.write_text(text)
    loads_or_refuses(lambda: read_entry(f), "entry.yaml")


@fast(150)
@given(text=st.text(alphabet='{}[]",:0123456789.eE+-aNInfity ltrue\\\n', max_size=80))
def test_arbitrary_json_text_parses_or_is_refused(text):
    start = time.perf_counter()
    try:
        yamlio.load_json(text)
    except (ValueError, AccelplanError) as exc:
        assert str(exc)
    assert time.perf_counter() - start < CASE_SECONDS


@fast(30)
@given(levels=st.integers(3, 12), width=st.integers(2, 12))
def test_alias_bombs_of_any_shape_are_refused_fast_or_small_enough_to_read(levels, width):
    lines = ["a0: &a0 [" + ",".join(['"lol"'] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    # every "lol" the aliases stand for is at least a node and three characters
    strings = sum(width ** (i + 1) for i in range(levels))
    start = time.process_time()
    try:
        yamlio.safe_load("\n".join(lines))
        assert strings < yamlio.MAX_ALIAS_EXPANSION, "a bomb was read"
    except yamlio.RefusedInputError as exc:
        assert "aliases" in str(exc)
        assert 10 * strings > yamlio.MAX_ALIAS_EXPANSION, "a small document was refused"
    # a hang guard, not a benchmark: an unbounded expansion takes seconds to minutes; a document just under the
    # limit took 0.36 s of CPU on a loaded 2-core machine (0.25 s, the old bound, failed there)
    assert time.process_time() - start < 1.0


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_a_refusal_echoing_any_text_stays_on_one_line(text):
    # a user's value may carry newlines, tabs or other controls; the one-line refusal escapes them instead of breaking
    from accelplan.errors import CatalogError, PlanError, UnknownIdError

    for err in (CatalogError("f.yaml", text, "field", f"'{text}' is not allowed"), PlanError(f"--tp {text}"),
                UnknownIdError("chip", text, ["h100-sxm"])):
        msg = str(err)
        assert "\n" not in msg and "\r" not in msg and all(ch.isprintable() for ch in msg), repr(msg)
