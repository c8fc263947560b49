"""What the page and the report show, checked against hand-worked figures and invariants."""

from typing import Any

import pytest

from accelplan.api import CompareRow, Comparison
from accelplan.catalog.schema import Plan
from accelplan.report.views import (
    arithmetic_intensity,
    disclaimers,
    main_gemms,
    pareto_data,
    roofline_data,
    table,
    typical_cloud_cost_usd,
)


def row(chip: str, days: float | None, chip_hours: float | None, cls: type = CompareRow, **extra: Any) -> CompareRow:
    return cls(chip=chip, name=chip, vendor="nvidia", status="shipping", system="s", chips=64 if days else None,
               days=days, tokens_per_s=1.0 if days else None, mfu=0.4 if days else None, chip_hours=chip_hours,
               plan=None, **extra)


def comparison(rows: list[CompareRow]) -> Comparison:
    return Comparison(model="llama3.1-8b", model_illustrative=False, tokens=1e12, seq_len=4096, global_batch=4096,
                      precision="bf16", mode="chips", days=None, chips=64, rows=rows)


def test_gemm_intensity_matches_the_square_case_by_hand():
    # m = n = k = 4096 in bf16: 2 * 4096^3 flops / (2 bytes * 3 * 4096^2) = 4096 / 3
    assert arithmetic_intensity(4096, 4096, 4096, 2) == pytest.approx(4096 / 3)
    # a matrix-vector product (m = 1) reads the whole weight once: about 1 flop per byte in bf16
    assert arithmetic_intensity(1, 8192, 8192, 2) == pytest.approx(1.0, rel=1e-3)


def test_llama3_8b_gemm_shapes_follow_the_published_dimensions(catalog):
    # Llama 3 8B: hidden 4096, 32 heads of 128, 8 KV heads, SwiGLU width 14336, vocab 128256
    m = catalog.model("llama3.1-8b")
    g = {name: (mm, n, k) for name, mm, n, k in main_gemms(m, Plan(micro_batch=2), 4096)}
    assert g["QKV projection"] == (8192, (32 + 2 * 8) * 128, 4096)
    assert g["MLP up"] == (8192, 2 * 14336, 4096)
    assert g["logits"] == (8192, 128256, 4096)
    g_tp = {name: (mm, n, k) for name, mm, n, k in main_gemms(m, Plan(tp=4, micro_batch=2), 4096)}
    assert g_tp["MLP down"] == (8192, 4096, 14336 // 4)


def test_moe_expert_gemm_sees_top_k_over_experts_of_the_tokens(catalog):
    m = catalog.model("mixtral-8x7b")  # 8 experts, top-2
    g = {name: (mm, n, k) for name, mm, n, k in main_gemms(m, Plan(micro_batch=1, ep=1), 4096)}
    assert g["expert up"][0] == 4096 * 2 // 8


def test_roofline_ridge_is_peak_over_bandwidth(catalog):
    rows = [row("h100-sxm", 10.0, 1e4)]
    h100 = catalog.chip("h100-sxm")
    d = roofline_data(comparison(rows), catalog.model("llama3.1-8b"))["chips"][0]
    assert d["ridge"] == pytest.approx(h100.peak_tflops.bf16 / h100.hbm_tb_s)
    assert d["points"] == []  # no plan, no operating points


def test_pareto_front_drops_the_chip_that_is_slower_and_dearer():
    rows = [row("a", 10.0, 300.0), row("b", 20.0, 100.0), row("c", 25.0, 400.0), row("d", None, None)]
    d = pareto_data(comparison(rows))
    assert d["front"] == ["a", "b"]
    assert {p["chip"] for p in d["points"]} == {"a", "b", "c"}
    assert "chip-hours" in d["cost_label"] and not d["cost_is_usd"]


class PricedRow(CompareRow):
    cost_usd: dict[str, float] | None = None
    owned_cost_usd: dict[str, float] | None = None
    availability: str | None = None


def test_pareto_switches_to_dollars_when_rows_carry_a_typical_cloud_cost():
    rows = [row("a", 10.0, 300.0, PricedRow, cost_usd={"low": 1.0, "typical": 900.0, "high": 2.0},
                owned_cost_usd={"typical": 5.0}),
            row("b", 20.0, 100.0, PricedRow, cost_usd={"low": 1.0, "typical": 800.0, "high": 2.0})]
    d = pareto_data(comparison(rows))
    assert d["cost_is_usd"] and "$" in d["cost_label"]
    assert [p["cost"] for p in d["points"]] == [900.0, 800.0]
    assert typical_cloud_cost_usd({"owned_cost_usd": {"typical": 5.0}}) is None
    assert typical_cloud_cost_usd({"cost_typical_usd": 7.0}) == 7.0


def test_table_grows_a_column_for_each_field_rows_gain():
    rows = [row("a", 10.0, 300.0, PricedRow, cost_usd={"low": 100.0, "typical": 1234.4, "high": 2.5e6},
                availability="available")]
    t = table(comparison(rows))
    keys = [c["key"] for c in t["columns"]]
    assert keys[-3:] == ["cost_usd", "availability", "note"]
    assert t["rows"][0]["cost_usd"] == "$1,234 ($100 - $2.5M)"
    assert t["rows"][0]["availability"] == "available"


class AssessedRow(CompareRow):
    economics: dict[str, Any] | None = None


def test_a_nested_record_gives_its_readable_fields_one_level_down():
    econ = {"cloud_cost_usd": {"low": 1e6, "typical": 2e6, "high": 3e6}, "goodput_pct": 93.5, "effective_days": 12.0,
            "availability": {"status": "licence_required", "rules": [{"x": 1}], "disclaimer": "not legal advice"},
            "disclaimer": "information, not legal advice " * 5, "assumptions": ["a", "b", "c", "d", "e"]}
    t = table(comparison([row("a", 10.0, 300.0, AssessedRow, economics=econ)]))
    keys = [c["key"] for c in t["columns"]]
    # the economics fields worth a column, in a fixed order; the rest (lists, long text) stay in the JSON
    assert keys[-5:] == ["economics.effective_days", "economics.goodput_pct", "economics.cloud_cost_usd",
                         "economics.availability", "note"]
    cells = t["rows"][0]
    assert cells["economics.availability"] == "licence required"
    assert cells["economics.cloud_cost_usd"] == "$2M ($1M - $3M)"
    pareto = pareto_data(comparison([row("a", 10.0, 300.0, AssessedRow, economics=econ)]))
    assert pareto["points"][0]["cost"] == 2e6 and pareto["points"][0]["days"] == 12.0  # elapsed days, as priced
    assert disclaimers(comparison([row("a", 10.0, 300.0, AssessedRow, economics=econ)])) == [
        econ["disclaimer"], "not legal advice"]


def test_table_without_new_fields_has_the_base_columns_only():
    t = table(comparison([row("a", 10.0, 300.0), row("b", None, None)]))
    assert [c["key"] for c in t["columns"]] == ["chip", "status", "system", "chips", "days", "tokens_per_s", "mfu",
                                                "chip_hours", "plan", "stack", "note"]
    assert t["rows"][1]["days"] == "-"


def test_pareto_stays_in_chip_hours_and_names_a_chip_without_a_price():
    rows = [row("a", 10.0, 300.0, PricedRow, cost_usd={"low": 1.0, "typical": 900.0, "high": 2.0}),
            row("b", 20.0, 100.0, PricedRow)]
    d = pareto_data(comparison(rows))
    assert not d["cost_is_usd"] and d["unpriced"] == ["b"] and "b" in d["cost_label"]
    assert [p["cost"] for p in d["points"]] == [300.0, 100.0]
