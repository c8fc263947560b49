"""Training stacks as data: every property sourced, releases resolved by name or date, forks by runtime."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelplan.catalog.stack import Release, Stack, match_release
from accelplan.errors import AccelplanError, CatalogError

RELEASES = [Release(version="24.03", date="2024-03"), Release(version="25.04", date="2025-04"),
            Release(version="25.11", date="2025-11"), Release(version="26.06", date="2026-06")]


def test_every_shipped_stack_sources_every_property(catalog):
    assert len(catalog.stacks) >= 14
    for stack in catalog.stacks.values():
        paths = stack.figure_paths()
        assert {"execution.mode", "overlap.tp", "kernels.attention", "memory.grad_bytes"} <= set(paths)
        for path in paths:
            assert stack.sources_for(path), (stack.id, path)
            assert path in stack.confidence, (stack.id, path)


def test_each_runtime_has_exactly_one_default_stack(catalog):
    owners: dict[str, list[str]] = {}
    for stack in catalog.stacks.values():
        for rt in stack.default_for:
            owners.setdefault(rt, []).append(stack.id)
    assert all(len(v) == 1 for v in owners.values()), owners
    for chip in catalog.chips.values():
        assert chip.runtime in owners, chip.id  # every chip can be planned without naming a stack


@pytest.mark.parametrize(("text", "expected"), [
    ("NeMo 25.04.01 container", "25.04"),        # a release name inside the text
    ("NeMo 25.02 container (NeMo 2.0)", "24.03"),  # a YY.MM tag between releases: the last one before it
    ("NeMo 25.11 container (Megatron-Bridge)", "25.11"),
    ("torchtitan 9dec370 (2026-01-15)", "25.11"),  # a date
    ("2023-01-01", "24.03"),                     # before every release: the first
])
def test_a_version_selects_the_release_by_name_or_date(text, expected):
    assert RELEASES[match_release(text, RELEASES)].version == expected


def test_an_unrecognised_version_is_none():
    assert match_release("maxtext@04262f3cf", RELEASES) is None


@settings(max_examples=80, deadline=None)
@given(y1=st.integers(2020, 2030), m1=st.integers(1, 12), y2=st.integers(2020, 2030), m2=st.integers(1, 12))
def test_a_later_date_never_selects_an_earlier_release(y1, m1, y2, m2):
    a, b = sorted([(y1, m1), (y2, m2)])
    ia = match_release(f"{a[0]}-{a[1]:02d}-15", RELEASES)
    ib = match_release(f"{b[0]}-{b[1]:02d}-15", RELEASES)
    assert ia is not None and ib is not None and ia <= ib


def test_releases_apply_cumulatively_and_say_which(catalog):
    nemo = catalog.stack("nemo")
    old, why_old = nemo.at_release("NeMo 24.07 container")
    new, why_new = nemo.at_release(None)
    assert old.fp8.scaling == "delayed" and new.fp8.scaling == "tensorwise"  # 25.04 changed it
    assert old.execution.graphs == "none" and new.execution.graphs == "full_iteration"
    assert "24.07" in why_old and "latest release is assumed" in why_new
    _, why = nemo.at_release("a version nobody knows")
    assert "not recognised" in why


def test_a_runtime_fork_changes_only_its_properties(catalog):
    gaudi, note = catalog.resolve_stack(catalog.chip("gaudi2"), "megatron-deepspeed")
    cuda, _ = catalog.resolve_stack(catalog.chip("a100-sxm-80gb"), "megatron-deepspeed")
    assert gaudi.kernels.attention == "vendor" and cuda.kernels.attention == "unfused"
    assert gaudi.execution.mode == "graph" and cuda.execution.mode == "eager"
    assert gaudi.memory == cuda.memory and "habana" in note


def test_a_stack_on_a_runtime_it_does_not_run_on_is_refused(catalog):
    with pytest.raises(CatalogError, match="does not run on ascend-910b"):
        catalog.resolve_stack(catalog.chip("ascend-910b"), "nemo")
    with pytest.raises(AccelplanError, match="unknown stack 'megatorn'"):
        catalog.resolve_stack(catalog.chip("h100-sxm"), "megatorn")


def test_a_release_naming_an_unknown_property_is_refused(catalog):
    data = catalog.stack("nemo").model_dump()
    data["releases"] = [{"version": "1", "changes": {"overlap.tpp": 1.0}}]
    with pytest.raises(ValueError, match="unknown property 'overlap.tpp'"):
        Stack.model_validate(data)


def test_a_stack_property_without_a_source_is_refused(catalog):
    data = catalog.stack("nemo").model_dump()
    data["field_sources"] = {k: v for k, v in data["field_sources"].items() if k != "overlap.dp"}
    with pytest.raises(ValueError, match="overlap.dp"):
        Stack.model_validate(data)


def test_a_release_without_fused_attention_for_wide_heads_runs_them_unfused_on_that_architecture(catalog):
    # Transformer Engine before 2.5 trains cuDNN fused attention on Blackwell only for head dims up to 128 and turns
    # FlashAttention off for MLA (fused_attn.cpp, dot_product_attention/utils.py); TE 2.5 with cuDNN 9.11 adds MLA's
    # 192/128. NeMo 25.04 therefore runs DeepSeek-V3 (MLA 192/128) and Nemotron-4 340B (192) unfused on GB200, not on
    # H100, and 25.11 runs DeepSeek-V3 fused there but still not Nemotron's 192/192.
    from accelplan.perf.kernels import head_dims, stack_on

    dsv3, nemotron, llama = (catalog.model(m) for m in ("deepseek-v3", "nemotron4-340b", "llama3.1-70b"))
    assert head_dims(dsv3) == (192, 128) and head_dims(nemotron) == (192, 192) and head_dims(llama) == (128, 128)
    old, _ = catalog.stack("nemo").at_release("NeMo 25.04.01 container")
    new, _ = catalog.stack("nemo").at_release("25.11")
    gb200, h100 = catalog.chip("gb200"), catalog.chip("h100-sxm")
    st, note = stack_on(old, gb200, dsv3)
    assert st.kernels.attention == "unfused" and "192/128" in note and "Blackwell" in note
    assert stack_on(old, h100, dsv3)[0].kernels.attention == old.kernels.attention == "vendor"
    assert stack_on(old, gb200, llama) == (old, "")
    assert stack_on(new, gb200, dsv3)[0].kernels.attention == "vendor"
    assert stack_on(new, gb200, nemotron)[0].kernels.attention == "unfused"


def test_an_unfused_fallback_costs_attention_time_in_the_step(catalog):
    from accelplan.api import estimate, make_workload
    from accelplan.catalog.schema import Plan

    w = make_workload("deepseek-v3", seq_len=4096, global_batch=2048, catalog=catalog)
    plan = Plan(tp=2, pp=4, dp=32, ep=64, micro_batch=1, recompute="selective", zero=1)
    old = estimate(w, "gb200", plan, framework="nemo", framework_version="NeMo 25.04.01 container", catalog=catalog)
    new = estimate(w, "gb200", plan, framework="nemo", framework_version="25.11", catalog=catalog)
    assert "attention unfused" in old.stack and "attention unfused" not in new.stack
    assert old.time_breakdown_s["compute_attention"] > 2 * new.time_breakdown_s["compute_attention"]


@pytest.mark.parametrize("stages", [[], [0, 2], [2, 2]])
def test_default_virtual_stages_must_be_distinct_counts_of_at_least_one(stages):
    from pydantic import ValidationError

    from accelplan.catalog.stack import PlanDefaults

    with pytest.raises(ValidationError, match="distinct stage counts"):
        PlanDefaults(pipeline_virtual_stages=stages)
