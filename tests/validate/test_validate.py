"""Validation against the shipped published runs (no per-run tuning)."""

import json

import pytest
import yaml

from accelplan.errors import CatalogError
from accelplan.validate.runs import load_runs, prepare_run, validate
from accelplan.validate.shipped import shipped_runs_path

# the runs shipped in the package (a test keeps them identical to ../shared/validation/runs.yaml), so the accuracy
# floor is checked in a plain checkout and on a `pip install` too
# long-context runs, read from the runs file itself: sequences of 32K or more, or context parallelism
LONG_IDS = {r.id for r in load_runs(shipped_runs_path()) if r.model.seq_len >= 32768 or (r.plan.cp or 1) > 1}


@pytest.fixture(scope="module")
def result():
    return validate(shipped_runs_path())


@pytest.fixture(scope="module")
def with_best():
    return validate(shipped_runs_path(), best_plan=True)


def test_every_run_reads_and_the_json_shape_is_the_contract(result):
    assert result["runs"] and "mape_pct" in result
    for r in result["runs"]:
        assert {"id", "predicted_tokens_per_s", "measured_tokens_per_s", "error_pct"} <= set(r)
    json.dumps(result)


def test_mfu_runs_carry_predicted_and_measured_mfu(result):
    pangu = next(r for r in result["runs"] if r["id"].startswith("pangu_ultra"))
    assert pangu["predicted_mfu"] is not None and pangu["measured_mfu"] == 0.52


def test_accuracy_holds_its_floor(result):
    # issue 12: the 163-run file; a floor that catches regressions (MAPE 27.1% and leave-one-source-out 24.1% on the
    # model of 2026-11; 21.9% and 19.5% with the training stack as an input; 18.4% and 18.9% with measured matmul,
    # attention and collective rates; 16.7% and 17.2% with the interleaved DP window and TE's Blackwell head-dim
    # limit; 15.9% and 15.9% with vendor-median matmul defaults and the TPU MXU padding; 15.4% and 15.4% with the
    # stacks' pipeline defaults and MindSpeed's MC2 skipping the MoE MLP; 15.3% and 15.8% with Megatron's even
    # layer split, after which the constant refits to 0.80 without torchtitan's runs; 15.0% and 15.0% with MindSpore's
    # communication stream hiding MindFormers' gradient reduction; 14.8% and 14.8% with an unfused loss at the eager
    # element-wise factor; 14.8% and 14.8% with torchtitan's per-op checkpointing; 14.55% and 14.55% with the
    # device-reported memory capacities; 14.15% and 14.15% with JAX remat re-running only what the backward reads;
    # 14.18% and 14.18% with PaLM's parallel block read from its preset),
    # tightened as the model improves
    assert result["mape_pct"] <= 14.2
    assert result["loso_mape_pct"] <= 14.2
    assert abs(result["bias_pct"]) <= 5.0
    assert result["fit_rate"] >= 0.95  # published plans fit the memory model
    assert 0.72 <= result["interval_coverage"] <= 0.88  # 80% ranges hold about 80% of the runs
    assert result["failed"] == []  # every run is predicted, also where its plan does not fit the memory model


def test_long_context_runs_are_scored_on_their_own(result):
    # issue 14: the runs with sequences >= 32K or CP > 1, counted from the runs themselves; 20.4% on 2026-12-01
    # (aim 15%), a floor that catches regressions
    lc = result["long_context"]
    expect = [r for r in result["runs"] if r["id"] in LONG_IDS]
    assert lc["runs"] == len(expect) == 30 and lc["predicted"] == 30
    errs = [abs(r["error_pct"]) for r in expect]
    assert lc["mape_pct"] == pytest.approx(sum(errs) / len(errs))
    assert lc["mape_pct"] <= 21.0


def test_summary_fields_are_the_contract(result):
    for key in ("mape_pct", "loso_mape_pct", "bias_pct", "fit_rate", "interval_coverage", "mape_by_vendor_pct",
                "mape_by_framework_pct"):
        assert result[key] is not None, key
    for r in result["runs"]:
        assert {"framework", "predicted_low_tokens_per_s", "predicted_high_tokens_per_s", "memory_over_gb"} <= set(r)
        assert r["error_pct"] is not None, r["id"]
        # the range need not hold the point: where a stack's runs are all predicted high, it lies below it
        assert 0 < r["predicted_low_tokens_per_s"] <= r["predicted_high_tokens_per_s"]


def test_a_plan_over_memory_says_by_how_much(result):
    over = [r for r in result["runs"] if r["published_plan_fits"] is False]
    for r in over:
        assert r["memory_over_gb"] > 0 and abs(r["memory_gb"] - r["capacity_gb"] - r["memory_over_gb"]) < 1e-6
        assert any("GB over" in a for a in r["assumptions"])
    assert result["fit_rate"] == pytest.approx(1 - len(over) / len(result["runs"]))


def test_coverage_counts_the_runs_inside_their_range(result):
    inside = [r for r in result["runs"] if r["in_range"]]
    for r in inside:
        meas = r["measured_tokens_per_s"]
        if meas is not None:
            assert r["predicted_low_tokens_per_s"] * (1 - 1e-9) <= meas <= r["predicted_high_tokens_per_s"] * (1 + 1e-9)
    assert result["interval_coverage"] == pytest.approx(len(inside) / len(result["runs"]))


def test_best_plan_is_at_least_as_fast_as_the_published_one(with_best):
    for r in with_best["runs"]:
        if not r["published_plan_fits"]:
            continue  # the search only admits plans that fit
        if r["best_plan_tokens_per_s"] is not None and r["predicted_tokens_per_s"] is not None:
            assert r["best_plan_tokens_per_s"] >= r["predicted_tokens_per_s"] * (1 - 1e-9), r["id"]


def test_bad_runs_file_names_entry_and_field(tmp_path):
    p = tmp_path / "runs.yaml"
    p.write_text("- id: x\n  chip: h100-sxm\n  chips: -1\n  model: {}\n  plan: {}\n  measured: {}\n")
    with pytest.raises(CatalogError, match="x"):
        load_runs(p)


def test_the_shipped_residuals_are_those_of_the_current_model(result):
    # every estimate's 80% range comes from src/accelplan/validate/data/residuals.yaml (tools/fit_ranges.py);
    # a model change that moves the leave-one-source-out errors must rewrite it
    from accelplan.validate.fit import shipped_residuals

    shipped = sorted(shipped_residuals(), key=lambda x: (x[0], x[1] or "", x[2]))
    fresh = sorted(((r["vendor"], r["stack"], r["loso_error_pct"]) for r in result["runs"]),
                   key=lambda x: (x[0], x[1] or "", x[2]))
    assert [x[:2] for x in shipped] == [x[:2] for x in fresh], "rerun: python tools/fit_ranges.py"
    assert [x[2] for x in shipped] == pytest.approx([x[2] for x in fresh], abs=1e-3), "rerun: python tools/fit_ranges.py"


def test_every_estimate_carries_a_range_drawn_from_its_vendor_or_stack(catalog):
    from accelplan import api
    from accelplan.catalog.schema import Plan
    from accelplan.validate.fit import pool_for, range_factors, shipped_residuals

    w = api.make_workload("llama3.1-70b", tokens=1e12, seq_len=4096, global_batch=512, catalog=catalog)
    e = api.estimate(w, "ascend-910b", Plan(tp=8, pp=4, dp=2, micro_batch=1, recompute="selective"))
    lo, hi = range_factors(pool_for("huawei", "mindspeed-llm", list(shipped_residuals()))[0])
    assert e.tokens_per_s_low == pytest.approx(e.tokens_per_s * lo) and e.tokens_per_s_high == pytest.approx(e.tokens_per_s * hi)
    assert "80% range" in e.range_basis


def test_conformal_bounds_are_order_statistics_of_the_pool():
    from accelplan.validate.fit import range_factors

    # n = 9 residuals: floor(0.1 x 10) = 1st and ceil(0.9 x 10) = 9th smallest, i.e. the extremes
    lo, hi = range_factors([-30, -20, -10, 0, 10, 20, 30, 40, 50])
    assert lo == pytest.approx(1 / 1.5) and hi == pytest.approx(1 / 0.7)
    # n = 19: the 2nd and the 18th
    lo, hi = range_factors(list(range(-90, 100, 10)))
    assert lo == pytest.approx(1 / 1.8) and hi == pytest.approx(1 / 0.2)


@pytest.mark.parametrize(("stack", "version", "expected"), [
    # torchtitan at 9dec370 (2024-12-26): as many micro-batches as pipeline stages, so 32 / 4 / 2 = 4 sequences each
    ("torchtitan", "torchtitan 9dec370 (2024-12-26)", 4),
    # from commit 5e2033c75 (2025-04-07): pipeline micro-batches of one sequence
    ("torchtitan", "torchtitan v0.1.0 (2025-06-17)", 1),
    ("megatron-lm", None, None),  # no documented default: the planner chooses
])
def test_an_unpublished_pipeline_micro_batch_is_the_stacks_default(catalog, tmp_path, stack, version, expected):
    entry = yaml.safe_load(shipped_runs_path().read_text())[0]  # Megatron-LM 2021, 1.7B: a valid entry to vary
    entry["plan"].update({"tp": 4, "pp": 2, "dp": 4, "micro_batch": None, "vpp": 1, "global_batch": 32,
                          "framework": stack, "framework_version": version})
    path = tmp_path / "runs.yaml"
    path.write_text(yaml.safe_dump([entry]))
    (run,) = load_runs(path)
    res = prepare_run(run, catalog).result
    said = [a for a in res.assumptions if a.startswith("micro_batch")]
    if expected is None:
        assert said == ["micro_batch: chosen by the planner (not published)"]
    else:
        assert res.plan["micro_batch"] == expected
        assert said and "not published" in said[0] and stack in said[0]



def test_unpublished_virtual_stages_are_those_the_stack_builds_by_default(catalog, tmp_path):
    # torchtitan since cec7fb6fc (2024-10-10): without split points 1 stage per rank for single-stage schedules and 2
    # for multi-stage ones; the run does not say which schedule ran, so the faster of the two
    entry = yaml.safe_load(shipped_runs_path().read_text())[0]  # Megatron-LM 2021, 1.7B: 24 layers
    entry["plan"].update({"tp": 1, "pp": 4, "dp": 8, "micro_batch": 1, "vpp": None, "global_batch": 256,
                          "framework": "torchtitan", "framework_version": "torchtitan 9dec370 (2024-12-26)"})
    path = tmp_path / "runs.yaml"
    path.write_text(yaml.safe_dump([entry]))
    (run,) = load_runs(path)
    res = prepare_run(run, catalog).result
    assert res.plan["vpp"] in (1, 2)
    assert any(a.startswith("vpp: one of [1, 2]") for a in res.assumptions)
    assert not any(a.startswith("vpp: chosen by the planner") for a in res.assumptions)
    # before that commit split points were the user's to give: no default
    old, _ = catalog.stack("torchtitan").at_release("torchtitan (2024-07-01)")
    assert old.plan_defaults.pipeline_virtual_stages is None
    assert old.plan_defaults.pipeline_microbatches == "pp_degree"
