"""Validation against the shipped published runs (no per-run tuning)."""

import json

import pytest

from accelplan.errors import CatalogError
from accelplan.validate.runs import load_runs, validate


@pytest.fixture(scope="module")
def result(shared_dir):
    return validate(shared_dir / "validation" / "runs.yaml")


def test_every_run_reads_and_the_json_shape_is_the_contract(result):
    assert result["runs"] and "mape_pct" in result
    for r in result["runs"]:
        assert {"id", "predicted_tokens_per_s", "measured_tokens_per_s", "error_pct"} <= set(r)
    json.dumps(result)


def test_mfu_runs_carry_predicted_and_measured_mfu(result):
    pangu = next(r for r in result["runs"] if r["id"].startswith("pangu_ultra"))
    assert pangu["predicted_mfu"] is not None and pangu["measured_mfu"] == 0.52


def test_accuracy_holds_its_floor(result):
    # issue 12: the 163-run file; a floor that catches regressions (MAPE 25.8%, 19 plans rejected on the
    # model of 2026-11), tightened as the model improves
    assert result["mape_pct"] <= 26.0
    assert len(result["failed"]) <= 19


def test_best_plan_is_at_least_as_fast_as_the_published_one(result):
    for r in result["runs"]:
        if r["best_plan_tokens_per_s"] is not None and r["predicted_tokens_per_s"] is not None:
            assert r["best_plan_tokens_per_s"] >= r["predicted_tokens_per_s"] * (1 - 1e-9), r["id"]


def test_bad_runs_file_names_entry_and_field(tmp_path):
    p = tmp_path / "runs.yaml"
    p.write_text("- id: x\n  chip: h100-sxm\n  chips: -1\n  model: {}\n  plan: {}\n  measured: {}\n")
    with pytest.raises(CatalogError, match="x"):
        load_runs(p)
