"""What the page and the report show, checked against hand-worked figures and invariants."""

from typing import Any

import pytest

from accelplan.api import CompareRow, Comparison
from accelplan.catalog.schema import Plan
from accelplan.perf.costs import model_costs
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
    assert g["qkv_proj"] == (8192, (32 + 2 * 8) * 128, 4096)
    assert g["mlp_in"] == (8192, 2 * 14336, 4096)
    assert g["logits"] == (8192, 128256, 4096)
    g_tp = {name: (mm, n, k) for name, mm, n, k in main_gemms(m, Plan(tp=4, micro_batch=2), 4096)}
    assert g_tp["mlp_out"] == (8192, 4096, 14336 // 4)


def test_moe_expert_gemm_sees_top_k_over_experts_of_the_tokens(catalog):
    m = catalog.model("mixtral-8x7b")  # 8 experts, top-2
    g = {name: (mm, n, k) for name, mm, n, k in main_gemms(m, Plan(micro_batch=1, ep=1), 4096)}
    assert g["expert_in"][0] == 4096 * 2 // 8


def test_mla_gemms_are_the_cost_models_down_and_up_projections(catalog):
    # DeepSeek-V3 (arXiv 2412.19437, sec. 4.2): hidden 7168, 128 heads, q_lora 1536, kv_lora 512, qk nope 128 + rope 64,
    # v 128; 256 routed experts (top 8) of width 2048 and one shared; the first 3 layers dense (width 18432)
    m = catalog.model("deepseek-v3")
    g = {name: (mm, n, k) for name, mm, n, k in main_gemms(m, Plan(tp=2, ep=8, micro_batch=1), 4096)}
    assert g["q_down"] == (4096, 1536, 7168)  # not split by TP
    assert g["q_up"] == (4096, 128 * (128 + 64) // 2, 1536)
    assert g["kv_down"] == (4096, 512 + 64, 7168)
    assert g["kv_up"] == (4096, 128 * (128 + 128) // 2, 512)
    assert g["out_proj"] == (4096, 7168, 128 * 128 // 2)
    assert g["expert_in"] == (4096 * 8 * 8 // 256, 2 * 2048, 7168)
    assert g["mlp_in"] == (4096, 2 * 18432 // 2, 7168)
    assert "qkv_proj" not in g  # MLA has no fused QKV projection
    costs = model_costs(m, 4096)
    assert set(g) == {x.name for x in (*costs.dense_layer_gemms, *costs.moe_layer_gemms, *costs.head_gemms)}


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


@pytest.fixture(scope="module")
def real():  # noqa: ANN201
    """A comparison as accelplan.api.compare produces it, economics and all (not a hand-made dict shape)."""
    from accelplan.api import compare

    return compare(chips=["h100-sxm", "mi300x", "ascend-910b"], model="llama3.1-8b", tokens=1e11, n_chips=64,
                   seq_len=2048, global_batch=256)


def test_the_table_of_a_real_comparison_shows_its_economics(real):
    t = table(real)
    keys = [c["key"] for c in t["columns"]]
    # the economics fields worth a column; lists and long text (rules, disclaimers) stay in the JSON
    assert {"economics.effective_days", "economics.goodput_pct", "economics.cloud_cost_usd",
            "economics.availability"} <= set(keys)
    assert keys[-1] == "note"
    by_chip = {r["chip"]: r for r in t["rows"]}
    h100 = next(r for r in real.rows if r.chip == "h100-sxm")
    cost = h100.economics.cloud_cost_usd
    assert by_chip["h100-sxm"]["economics.cloud_cost_usd"].startswith("$")
    assert cost.low <= cost.typical <= cost.high
    assert by_chip["ascend-910b"]["economics.cloud_cost_usd"] == "-"  # no public price: shown as unknown, not 0
    status = by_chip["h100-sxm"]["economics.availability"]
    assert status and "_" not in status  # a readable status word, not a dict


def test_pareto_of_a_real_comparison_prices_every_chip_or_says_which_is_unpriced(real):
    d = pareto_data(real)
    priced = [r.chip for r in real.rows if r.economics is not None and r.economics.cloud_cost_usd is not None]
    unpriced = sorted({r.chip for r in real.rows if r.chips} - set(priced))
    if unpriced:  # chip-hours for everyone, naming the chips without a price
        assert not d["cost_is_usd"] and sorted(d["unpriced"]) == unpriced
    else:
        assert d["cost_is_usd"]
    h100 = next(r for r in real.rows if r.chip == "h100-sxm")
    assert typical_cloud_cost_usd(h100.economics.model_dump()) == pytest.approx(h100.economics.cloud_cost_usd.typical)
    assert disclaimers(real)  # the availability disclaimer travels with every comparison


def test_table_without_new_fields_has_the_base_columns_only():
    t = table(comparison([row("a", 10.0, 300.0), row("b", None, None)]))
    assert [c["key"] for c in t["columns"]] == ["chip", "status", "system", "chips", "days", "tokens_per_s", "mfu",
                                                "chip_hours", "plan", "stack", "note"]
    assert t["rows"][1]["days"] == "-"


def test_the_report_states_price_kinds_and_what_the_economics_rest_on(real):
    t = table(real)
    keys = [c["key"] for c in t["columns"]]
    assert {"economics.cloud_price_kind", "economics.cloud_price_as_of"} <= set(keys)
    h100 = next(r for r in t["rows"] if r["chip"] == "h100-sxm")
    assert h100["economics.cloud_price_kind"] == "on_demand" and h100["economics.cloud_price_as_of"].startswith("20")
    notes = disclaimers(real)
    assert any(n.startswith("prices as of 20") for n in notes)
    assert len(notes) == len(set(notes))  # each once, however many rows carry it
