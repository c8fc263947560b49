"""run_scenario: one row per scenario whose figures hold together, and a reason when no plan exists."""

import pytest

from accelplan.perf.step import TIME_TERMS
from accelplan.sweep.grid import Scenario
from accelplan.sweep.scenario import COLUMNS, run_scenario

SECONDS_PER_DAY = 86400


def scenario(**kw):
    base = {"model": "llama3.1-8b", "chip": "h100-sxm", "cluster_size": 64, "deadline_days": None, "tokens": 1e12,
            "seq_len": 4096, "global_batch": 1024, "precision": "bf16", "region": None}
    return Scenario(**{**base, **kw})


def test_feasible_row_has_every_column_and_consistent_figures():
    s = scenario()
    r = run_scenario(s)
    assert list(r) == list(COLUMNS)
    assert r["scenario_id"] == s.id and r["feasible"] and r["note"] == ""
    assert r["chips"] == 64 == r["tp"] * r["pp"] * r["dp"] * r["cp"]
    assert r["days"] == pytest.approx(1e12 / r["tokens_per_s"] / SECONDS_PER_DAY)
    assert r["chip_hours"] == pytest.approx(r["days"] * 24 * 64)
    # tokens per step / step time is the throughput
    assert r["tokens_per_s"] == pytest.approx(1024 * 4096 / r["step_time_s"])
    assert sum(r[f"time_{k}_s"] for k in TIME_TERMS) == pytest.approx(r["step_time_s"], rel=1e-6)
    assert 0 < r["memory_gb"] <= r["capacity_gb"]
    assert 0 < r["mfu"] < 1
    # Llama 3.1 8B: 8.03 B parameters (Meta model card)
    assert r["params_total"] / 1e9 == pytest.approx(8.03, rel=0.01)


def test_model_too_big_for_the_cluster_is_infeasible_with_the_reason():
    r = run_scenario(scenario(model="llama3.1-70b", chip="ascend-910b", cluster_size=8))
    assert r["feasible"] is False
    assert r["chips"] is None and r["tokens_per_s"] is None and r["tp"] is None
    assert "no feasible plan on 8 chips" in r["note"] and "memory" in r["note"]


def test_deadline_mode_meets_the_deadline():
    r = run_scenario(scenario(cluster_size=None, deadline_days=30.0))
    assert r["mode"] == "deadline" and r["feasible"]
    assert r["days"] <= 30.0
    assert r["chips"] % 8 == 0  # whole HGX nodes


def test_unmeetable_deadline_is_infeasible_with_the_reason():
    r = run_scenario(scenario(model="llama3.1-70b", tokens=1e15, cluster_size=None, deadline_days=1.0))
    assert r["feasible"] is False and "finishes in 1 days" in r["note"]


def test_projected_chip_carries_a_note():
    r = run_scenario(scenario(chip="ascend-970"))
    assert r["chip_status"] == "projected" and "projected" in r["note"]


def test_rows_carry_the_economics_of_the_region():
    cn = run_scenario(scenario(chip="b200-hgx", region="CN"))
    us = run_scenario(scenario(chip="b200-hgx", region="US"))
    assert cn["availability"] == "prohibited" and us["availability"] == "available"
    assert us["cost_usd_low"] <= us["cost_usd"] <= us["cost_usd_high"]
    assert us["effective_days"] >= us["days"] and 0 < us["goodput_pct"] < 100
    assert us["energy_mwh"] > 0 and us["tco2e"] > 0
    ascend = run_scenario(scenario(chip="ascend-910b", region="CN"))
    assert ascend["cost_usd"] is None and ascend["availability"] == "available"  # no public cloud price


def test_a_deadline_holds_in_elapsed_days():
    r = run_scenario(scenario(cluster_size=None, deadline_days=30.0))
    assert r["feasible"] and r["effective_days"] <= 30.0 + 1e-9


def test_a_price_assumption_sets_the_cost():
    r = run_scenario(scenario(price=2.0))
    assert r["cost_usd"] == pytest.approx(2.0 * r["chips"] * r["effective_days"] * 24, rel=1e-6)
    assert r["cost_usd_low"] == r["cost_usd"] == r["cost_usd_high"]


def test_a_programme_scenario_carries_the_total_and_each_phases_days():
    import json

    from accelplan.sweep.grid import parse_grid

    s = parse_grid({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64],
                    "phases": [["20B@8192:256", "1B@32K"]]}).scenarios()
    assert len(s) == 1 and s[0].tokens is None and s[0].phases == "20B@8192:256,1B@32K"
    r = run_scenario(s[0])
    assert r["feasible"] and r["tokens"] == pytest.approx(21e9) and r["chips"] == 64
    phases = json.loads(r["phase_days"])
    assert [p["seq_len"] for p in phases] == [8192, 32768]
    # the total is the phases plus the change of plan between them (minutes, not days)
    changes = r["days"] - sum(p["compute_days"] for p in phases)
    assert 60 / SECONDS_PER_DAY < changes < 3600 / SECONDS_PER_DAY
    assert r["tokens_per_s"] == pytest.approx(21e9 / (sum(p["compute_days"] for p in phases) * SECONDS_PER_DAY))
    assert r["effective_days"] >= r["days"]


def test_a_workload_grid_gives_no_models_and_no_single_phase_fields():
    from accelplan.errors import AccelplanError
    from accelplan.sweep.grid import parse_grid

    g = parse_grid({"workloads": ["openpangu-2.0"], "chips": ["h100-sxm"], "cluster_sizes": [8192]})
    (s,) = g.scenarios()
    assert s.workload == "openpangu-2.0" and s.model is None and s.request().programme == "openpangu-2.0"
    for bad, word in (({"models": ["llama3.1-8b"]}, "models"), ({"tokens": [1e12]}, "tokens")):
        with pytest.raises(AccelplanError, match=word):
            parse_grid({"workloads": ["openpangu-2.0"], "chips": ["h100-sxm"], "cluster_sizes": [64], **bad})


def test_a_mixed_cluster_grid_runs_each_mix_beside_its_parts():
    import json

    from accelplan.errors import AccelplanError
    from accelplan.sweep.grid import parse_grid

    g = parse_grid({"models": ["llama3.1-8b"], "mixes": [{"h100-sxm": 32, "ascend-910b": 64}],
                    "seq_len": [4096], "global_batch": [64], "tokens": [1e11]})
    (s,) = g.scenarios()
    assert s.mix == "ascend-910b=64,h100-sxm=32" and s.chip == "mixed" and s.cluster_size == 96
    r = run_scenario(s)
    assert set(r) == set(COLUMNS)
    assert r["feasible"] and r["mode"] == "mix" and 0 < r["mix_efficiency"] < 2
    blocks = json.loads(r["mix_blocks"])
    assert {b["chip"] for b in blocks} == {"h100-sxm", "ascend-910b"}
    if r["mix_mode"] == "pipeline":
        assert sum(b["layers"] for b in blocks) == 32
    else:
        assert r["mix_mode"] == "data" and sum(b["sequences"] for b in blocks) == 64
    assert r["tokens_per_s"] == pytest.approx(64 * 4096 / r["step_time_s"])
    for bad, word in (({"chips": ["h100-sxm"]}, "leave out chips"), ({"mixes": [{"h100-sxm": 8}]}, "2 to 4"),
                      ({"mixes": [{"h100-sxm": 8, "mi300x": 0}]}, "whole number")):
        with pytest.raises(AccelplanError, match=word):
            parse_grid({"models": ["llama3.1-8b"], "mixes": [{"h100-sxm": 8, "mi300x": 8}], **bad})
