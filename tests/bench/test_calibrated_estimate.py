"""A calibrated estimate differs from the default one only through the calibrated rates.

Plan: Llama 3.1 70B on H200, tp=8, pp=6, dp=1, full recompute. 80 layers over 6 stages puts 14 layers
on the critical stage and leaves it 2/3 of a layer spare for the head, so the calibration cannot change
which stage is critical; every term is then (work / rate) times the same count of layers and
micro-batches, and ratios are exact.
"""

import pytest

from accelplan import api
from accelplan.catalog.schema import Plan
from accelplan.errors import AccelplanError
from accelplan.perf.assumptions import DEFAULT
from accelplan.perf.kernels import Rates

BIG = (8192, 8192, 8192)
PLAN = Plan(tp=8, pp=6, dp=1, micro_batch=1, recompute="full")
COMM_TERMS = ("tp_comm", "cp_comm", "ep_comm", "pp_comm", "dp_comm", "overlap_contention")


@pytest.fixture(scope="module")
def workload():
    return api.make_workload("llama3.1-70b", global_batch=64)


def _defaults(chip):
    eff = chip.efficiency
    return eff.matmul, eff.memory


def _comm(est):
    return {k: v for k, v in est.time_breakdown_s.items() if k in COMM_TERMS}


def test_matmul_calibration_leaves_attention_and_communication(catalog, workload, make_profile):
    chip = catalog.chip("h200-sxm")
    mm0, mem0 = _defaults(chip)
    mm1 = 0.65
    # copy at the default memory efficiency: only the matmul rate changes
    prof = make_profile({(*BIG, "bf16"): mm1 * 989.4}, copy_gb_s=mem0 * 4800.0)
    base = api.estimate(workload, chip, PLAN)
    cal = api.estimate(workload, chip, PLAN, calibration=prof)
    b, c = base.time_breakdown_s, cal.time_breakdown_s
    assert b["compute_attention"] > 0
    # attention is its own kernel class (perf/kernels.py): a GEMM measurement does not change it
    assert c["compute_attention"] == pytest.approx(b["compute_attention"], rel=1e-9)
    # GEMMs are a roofline max(flops / rate, bytes / bandwidth): slower, but by no more than the matmul ratio
    assert 1.0 < c["compute_gemm"] / b["compute_gemm"] <= mm0 / mm1 * (1 + 1e-9)
    assert c["optimizer"] == pytest.approx(b["optimizer"], rel=1e-9)  # memory-bound, memory unchanged
    assert _comm(cal) == pytest.approx(_comm(base), rel=1e-12)
    assert any(v > 0 for v in _comm(base).values())  # the plan has communication to compare
    assert cal.step_time_s > base.step_time_s


def test_uniform_calibration_scales_every_roofline_term_by_the_same_ratio(catalog, workload, make_profile):
    chip = catalog.chip("h200-sxm")
    mm0, mem0 = _defaults(chip)
    f = 1.1  # 10% faster matmul and memory than the shipped defaults
    prof = make_profile({(*BIG, "bf16"): f * mm0 * 989.4}, copy_gb_s=f * mem0 * 4800.0)
    base = api.estimate(workload, chip, PLAN)
    cal = api.estimate(workload, chip, PLAN, calibration=prof)
    b, c = base.time_breakdown_s, cal.time_breakdown_s
    for term in ("compute_gemm", "optimizer"):
        assert c[term] / b[term] == pytest.approx(1 / f, rel=1e-9), term
    # the profile measured no attention, so the catalog's attention rates stay
    assert c["compute_attention"] == pytest.approx(b["compute_attention"], rel=1e-9)
    # element-wise work (and the recompute that repeats it) carries a fixed per-kernel launch gap
    for term in ("compute_elementwise", "recompute"):
        assert 1 / f < c[term] / b[term] < 1.0, term
    assert _comm(cal) == pytest.approx(_comm(base), rel=1e-12)


def test_rates_carry_the_measured_basis(catalog, make_profile):
    chip = catalog.chip("h200-sxm")
    prof = make_profile({(*BIG, "bf16"): 700.0}, copy_gb_s=4000.0)
    mm0, mem0 = _defaults(chip)
    r0, r = Rates.of(chip, "bf16", DEFAULT), Rates.of(chip, "bf16", DEFAULT, prof)
    assert r.basis == "measured on NVIDIA H200 (2025-01-02)"
    # whatever the model derates both by, the calibrated rates stand to the default ones as measured to default
    assert r.bf16_flops_per_s / r0.bf16_flops_per_s == pytest.approx((700.0 / 989.4) / mm0)
    assert r.hbm_bytes_per_s / r0.hbm_bytes_per_s == pytest.approx((4000.0 / 4800.0) / mem0)


def test_profile_for_another_chip_does_not_apply_silently(workload, make_profile):
    prof = make_profile({(*BIG, "bf16"): 700.0})
    with pytest.raises(AccelplanError, match="h200-sxm.*h100-sxm"):
        api.estimate(workload, "h100-sxm", PLAN, calibration=prof)


def _with_all_reduce(prof, busbw_gb_s: float, nodes: int, size_bytes: int = 2**30):
    from accelplan.bench.profile import CollectivePoint

    n = 8 * nodes
    point = CollectivePoint(op="all_reduce", backend="nccl", world_size=n, nodes=nodes, dtype="bf16",
                            size_bytes=size_bytes, seconds=1.0, algbw_gb_s=busbw_gb_s * n / (2 * (n - 1)),
                            busbw_gb_s=busbw_gb_s, bus_factor=2 * (n - 1) / n, verified=True)
    return prof.model_copy(update={"collectives": [*prof.collectives, point]})


def test_measured_all_reduce_sets_the_scale_up_bandwidth_of_tp_traffic(catalog, workload, make_profile):
    chip = catalog.chip("h200-sxm")
    mm0, mem0 = _defaults(chip)
    plain = make_profile({(*BIG, "bf16"): mm0 * 989.4}, copy_gb_s=mem0 * 4800.0)  # compute as the defaults
    system = catalog.default_system(chip)
    default_up = system.levels[0].bytes_per_s * DEFAULT.link_efficiency
    measured = default_up / 2 / 1e9  # a fabric measured at half the modelled rate
    slow = _with_all_reduce(plain, measured, nodes=1)
    exposed = DEFAULT.model_copy(update={"tp_overlap": 0.0})  # TP traffic in the open, to see its time

    def est(prof):
        return api.estimate(workload, chip, PLAN, calibration=prof, assumptions=exposed)

    a, b = est(plain), est(slow)
    assert b.time_breakdown_s["compute_gemm"] == pytest.approx(a.time_breakdown_s["compute_gemm"], rel=1e-12)
    # TP traffic is bandwidth-bound at this size: half the bandwidth, nearly twice the time (latency terms stay)
    assert 1.9 < b.time_breakdown_s["tp_comm"] / a.time_breakdown_s["tp_comm"] <= 2.0 + 1e-9
    assert any("scaleup bandwidth per chip and direction measured" in x for x in b.assumptions)
    # small all-reduces (latency-bound) and multi-node ones do not set the scale-up figure
    tiny = _with_all_reduce(plain, measured, nodes=1, size_bytes=2**20)
    assert est(tiny).time_breakdown_s["tp_comm"] == pytest.approx(a.time_breakdown_s["tp_comm"], rel=1e-12)
    assert slow.link_bandwidths() == (pytest.approx(measured * 1e9), None)
    assert _with_all_reduce(plain, 40.0, nodes=4).link_bandwidths() == (None, pytest.approx(40e9))


def _with_attention(prof, fwd_tflops: float, bwd_tflops: float | None):
    from accelplan.bench.profile import AttentionPoint

    b, h, s, d = 2, 32, 8192, 128
    fwd_s = 4 * b * h * s * s * d * 0.5 / (fwd_tflops * 1e12)
    point = AttentionPoint(batch=b, heads=h, seq_len=s, head_dim=d, causal=True, dtype="bf16", tflops=fwd_tflops,
                           seconds=fwd_s, catalog_peak_tflops=989.4, rotation_sets=2, max_abs_error=1e-3, verified=True,
                           bwd_tflops=bwd_tflops, bwd_seconds=None if bwd_tflops is None else 2.5 * fwd_s * fwd_tflops
                           / bwd_tflops, bwd_max_abs_error=None if bwd_tflops is None else 1e-3,
                           bwd_verified=None if bwd_tflops is None else True)
    return prof.model_copy(update={"attention": [*prof.attention, point]})


def test_measured_attention_replaces_the_catalog_attention_pass_by_pass(catalog, workload, make_profile):
    # the bench measures the class the model uses: forward and backward fused attention over the bf16 peak
    chip = catalog.chip("h200-sxm")
    mm0, mem0 = _defaults(chip)
    plain = make_profile({(*BIG, "bf16"): mm0 * 989.4}, copy_gb_s=mem0 * 4800.0)
    r = Rates.of(chip, "bf16", DEFAULT, _with_attention(plain, 400.0, 300.0))
    sustained = DEFAULT.gemm_sustained_fraction
    assert r.attention_fwd_flops_per_s == pytest.approx(400e12 * sustained)
    assert r.attention_bwd_flops_per_s == pytest.approx(300e12 * sustained)
    assert "attention measured on NVIDIA H200" in r.attention_basis
    # a forward alone keeps the catalog's backward-to-forward ratio
    eff = chip.efficiency
    r1 = Rates.of(chip, "bf16", DEFAULT, _with_attention(plain, 400.0, None))
    assert r1.attention_bwd_flops_per_s == pytest.approx(400e12 * sustained * eff.attention_bwd / eff.attention_fwd)
    base = api.estimate(workload, chip, PLAN)
    slow = api.estimate(workload, chip, PLAN, calibration=_with_attention(plain, 0.5 * eff.attention_fwd * 989.4,
                                                                           0.5 * eff.attention_bwd * 989.4))
    assert slow.time_breakdown_s["compute_attention"] == pytest.approx(2 * base.time_breakdown_s["compute_attention"],
                                                                       rel=1e-6)


def test_a_profile_with_gemm_shapes_sets_the_shape_factor(catalog, make_profile):
    # measured rates at two volumes: the model interpolates in log(m n k) instead of using its wave model
    chip = catalog.chip("h200-sxm")
    prof = make_profile({(1024, 1024, 1024, "bf16"): 200.0, (8192, 8192, 8192, "bf16"): 800.0})
    r = Rates.of(chip, "bf16", DEFAULT, prof)
    import numpy as np

    f = r.shape_factor(np.array([1024.0, 8192.0]), np.array([1024.0, 8192.0]), np.array([1024.0, 8192.0]), DEFAULT)
    assert f == pytest.approx([0.25, 1.0])
