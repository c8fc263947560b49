"""The calibration profile: schema, file round trip, and the efficiencies it hands the model."""

import math

import pytest

from accelplan.bench.profile import CalibrationProfile, load_profile, save_profile
from accelplan.errors import AccelplanError

BIG = (8192, 8192, 8192)


def test_profile_round_trips_through_yaml(tmp_path, make_profile):
    p = make_profile({(*BIG, "bf16"): 700.0, (1024, 1024, 1024, "bf16"): 300.0}, copy_gb_s=4000.0)
    path = save_profile(p, tmp_path / "profile.yaml")
    back = load_profile(path)
    assert back == p
    assert isinstance(back, CalibrationProfile)
    with pytest.raises(AccelplanError, match="does not exist"):  # the one output policy: no folder is created
        save_profile(p, tmp_path / "sub" / "profile.yaml")


def test_matmul_efficiency_is_best_large_bf16_gemm_over_catalog_peak(catalog, make_profile):
    chip = catalog.chip("h200-sxm")
    # 1024^3 is fast here on purpose: shapes with a dimension under 4096 must not count
    p = make_profile({(*BIG, "bf16"): 700.0, (4096, 4096, 4096, "bf16"): 650.0, (1024, 1024, 1024, "bf16"): 950.0,
                      (*BIG, "fp8"): 1400.0}, copy_gb_s=4080.0)
    mm, mm8, mem, basis = p.efficiencies(chip, 0.5, 0.4, 0.3)
    assert mm == pytest.approx(700.0 / 989.4)
    assert mm8 == pytest.approx(1400.0 / 1978.9)
    assert mem == pytest.approx(4080.0 / 4800.0)
    assert basis == "measured on NVIDIA H200 (2025-01-02)"


def test_unmeasured_efficiencies_keep_the_defaults(catalog, make_profile):
    chip = catalog.chip("h200-sxm")
    p = make_profile({(1024, 1024, 1024, "bf16"): 500.0})  # no large GEMM, no fp8, no copy
    assert p.efficiencies(chip, 0.5, 0.4, 0.3)[:3] == (0.5, 0.4, 0.3)


def test_failed_checks_do_not_calibrate(catalog, make_profile):
    p = make_profile({(*BIG, "bf16"): 700.0}, verified=False)
    assert p.efficiencies(catalog.chip("h200-sxm"), 0.5, 0.4, 0.3)[0] == 0.5


def test_profile_of_another_chip_is_refused_naming_both(catalog, make_profile):
    p = make_profile({(*BIG, "bf16"): 700.0})
    with pytest.raises(AccelplanError, match="h200-sxm") as exc:
        p.efficiencies(catalog.chip("h100-sxm"), 0.8, 0.7, 0.85)
    assert "h100-sxm" in str(exc.value)


def test_profile_without_catalog_chip_is_refused(catalog, make_profile):
    p = make_profile({(512, 512, 512, "bf16"): 1.0}, chip=None, device_name="Intel(R) Xeon(R) Processor")
    with pytest.raises(AccelplanError, match="matches no catalog chip"):
        p.efficiencies(catalog.chip("h200-sxm"), 0.8, 0.7, 0.85)


def test_rate_above_the_catalog_peak_is_refused(catalog, make_profile):
    p = make_profile({(*BIG, "bf16"): 1200.0})  # 121% of 989.4: not an H200
    with pytest.raises(AccelplanError, match="not that chip"):
        p.efficiencies(catalog.chip("h200-sxm"), 0.8, 0.7, 0.85)


def test_gemm_efficiency_interpolates_in_log_volume(make_profile):
    p = make_profile({(1024, 1024, 1024, "bf16"): 400.0, (4096, 4096, 4096, "bf16"): 800.0})
    # 2048^3 lies halfway between 1024^3 and 4096^3 in log(m n k): (2^30 .. 2^36, 2^33)
    assert p.gemm_flops_per_s(2048, 2048, 2048, "bf16") == pytest.approx(600e12)
    assert p.gemm_efficiency(2048, 2048, 2048, "bf16") == pytest.approx(600.0 / 989.4)
    # held at the ends, not extrapolated
    assert p.gemm_flops_per_s(64, 64, 64, "bf16") == pytest.approx(400e12)
    assert p.gemm_flops_per_s(65536, 65536, 65536, "bf16") == pytest.approx(800e12)
    # a shape of the same volume as a measured one gets that rate
    assert p.gemm_flops_per_s(4096 * 4, 4096, 1024, "bf16") == pytest.approx(800e12)


def test_gemm_efficiency_names_missing_dtype_and_missing_peak(make_profile):
    p = make_profile({(1024, 1024, 1024, "bf16"): 400.0})
    with pytest.raises(AccelplanError, match="'fp8'.*measured: bf16"):
        p.gemm_efficiency(1024, 1024, 1024, "fp8")
    cpu = make_profile({(512, 512, 512, "bf16"): 1.0}, chip=None, peaks={})
    with pytest.raises(AccelplanError, match="no catalog peak"):
        cpu.gemm_efficiency(512, 512, 512, "bf16")
    assert cpu.gemm_flops_per_s(512, 512, 512, "bf16") == pytest.approx(1e12)


def test_collective_busbw_interpolates_in_log_size(make_profile):
    from accelplan.bench.profile import CollectivePoint

    pts = [CollectivePoint(op="all_reduce", backend="nccl", world_size=8, nodes=1, dtype="fp32", size_bytes=s,
                           seconds=1e-3, algbw_gb_s=b / 1.75, busbw_gb_s=b, bus_factor=1.75, verified=True)
           for s, b in ((2**20, 100.0), (2**30, 400.0))]
    p = make_profile({}).model_copy(update={"collectives": pts})
    assert p.collective_busbw_bytes_per_s("all_reduce", 2**25) == pytest.approx(250e9)
    with pytest.raises(AccelplanError, match="'all_to_all'"):
        p.collective_busbw_bytes_per_s("all_to_all", 2**20)


def test_load_profile_errors_name_file_and_field(tmp_path, make_profile):
    with pytest.raises(AccelplanError, match="does not exist"):
        load_profile(tmp_path / "missing.yaml")
    path = save_profile(make_profile({(*BIG, "bf16"): 700.0}), tmp_path / "p.yaml")
    text = path.read_text().replace("tflops: 700.0", "tflops: -1.0")
    assert text != path.read_text()
    path.write_text(text)
    with pytest.raises(AccelplanError, match=r"p\.yaml', field 'gemm\.0\.tflops'"):
        load_profile(path)
    (tmp_path / "q.yaml").write_text("- a list\n")
    with pytest.raises(AccelplanError, match="expected a mapping"):
        load_profile(tmp_path / "q.yaml")


def test_gemm_point_figures_are_consistent(make_profile):
    p = make_profile({(*BIG, "bf16"): 700.0})
    g = p.gemm[0]
    assert 2 * g.m * g.n * g.k / g.seconds == pytest.approx(g.flops_per_s)
    assert g.efficiency == pytest.approx(700.0 / 989.4)
    assert math.isclose(p.large_gemm_flops_per_s("bf16"), 700e12)


# ---------------------------------------------------------------- attention: forward and backward
H100_BF16_PEAK = 989.4  # catalog dense bf16 TFLOP/s of h100-sxm


def _attn(s, d, tflops, bwd=None, *, batch=1, verified=True, bwd_verified=True, causal=True, dtype="bf16"):
    from accelplan.bench.profile import AttentionPoint

    fwd_flop = 4 * batch * 32 * s * s * d * (0.5 if causal else 1.0)
    back = {} if bwd is None else {"bwd_tflops": bwd, "bwd_seconds": 2.5 * fwd_flop / (bwd * 1e12),
                                   "bwd_max_abs_error": 2e-3, "bwd_verified": bwd_verified}
    return AttentionPoint(batch=batch, heads=32, seq_len=s, head_dim=d, causal=causal, dtype=dtype, tflops=tflops,
                          seconds=fwd_flop / (tflops * 1e12), catalog_peak_tflops=H100_BF16_PEAK, rotation_sets=2,
                          max_abs_error=1e-3, verified=verified, **back)


def _h100(make_profile, points):
    return make_profile({}, chip="h100-sxm", device_name="NVIDIA H100 80GB HBM3").model_copy(update={"attention": points})


def test_attention_efficiencies_are_the_long_causal_rates_over_the_bf16_peak(catalog, make_profile):
    chip = catalog.chip("h100-sxm")
    assert chip.peak_flops_per_s("bf16") == pytest.approx(H100_BF16_PEAK * 1e12)
    p = _h100(make_profile, [
        _attn(8192, 128, 500.0, 450.0),
        _attn(16384, 128, 480.0, 440.0),
        _attn(2048, 128, 600.0, 560.0, batch=8),  # faster, but a short sequence: does not count
        _attn(8192, 64, 650.0, 600.0),  # head dim 64: does not count
        _attn(8192, 128, 700.0, 650.0, verified=False),  # failed its check
        _attn(8192, 128, 800.0, 700.0, causal=False),  # not causal
        _attn(8192, 128, 900.0, 800.0, dtype="fp32"),  # not a 16-bit kernel
    ])
    assert p.attention_efficiencies(chip) == (pytest.approx(500.0 / 989.4), pytest.approx(450.0 / 989.4))
    assert p.attention_basis == "attention measured on NVIDIA H100 80GB HBM3 (2025-01-02): SDPA causal bf16 d=128 s=8192"


def test_attention_backward_is_the_best_verified_backward(catalog, make_profile):
    chip = catalog.chip("h100-sxm")
    p = _h100(make_profile, [_attn(8192, 128, 500.0, 470.0, bwd_verified=False), _attn(16384, 128, 480.0, 440.0)])
    assert p.attention_efficiencies(chip) == (pytest.approx(500.0 / 989.4), pytest.approx(440.0 / 989.4))
    assert p.attention_basis.endswith("SDPA causal bf16 d=128 s=8192, backward d=128 s=16384")


def test_attention_falls_back_to_the_largest_verified_causal_point(catalog, make_profile):
    chip = catalog.chip("h100-sxm")
    p = _h100(make_profile, [_attn(1024, 64, 300.0, 250.0, batch=8), _attn(2048, 64, 200.0, 180.0, batch=4),
                             _attn(4096, 128, 900.0, 800.0, verified=False)])
    # the 2048-token point, though the 1024-token one is faster
    assert p.attention_efficiencies(chip) == (pytest.approx(200.0 / 989.4), pytest.approx(180.0 / 989.4))
    assert "d=64 s=2048" in p.attention_basis


def test_attention_not_measured_is_none(catalog, make_profile):
    chip = catalog.chip("h100-sxm")
    assert _h100(make_profile, []).attention_efficiencies(chip) == (None, None)
    assert _h100(make_profile, [_attn(8192, 128, 500.0, verified=False)]).attention_efficiencies(chip) == (None, None)
    assert _h100(make_profile, [_attn(8192, 128, 500.0)]).attention_efficiencies(chip) == \
        (pytest.approx(500.0 / 989.4), None)


def test_attention_of_another_chip_is_refused_as_efficiencies_are(catalog, make_profile):
    p = make_profile({(*BIG, "bf16"): 700.0}).model_copy(update={"attention": [_attn(8192, 128, 500.0, 450.0)]})
    h100 = catalog.chip("h100-sxm")
    with pytest.raises(AccelplanError) as attn_exc:
        p.attention_efficiencies(h100)
    with pytest.raises(AccelplanError) as eff_exc:
        p.efficiencies(h100, 0.8, 0.7, 0.85)
    assert str(attn_exc.value) == str(eff_exc.value)
    assert "'h200-sxm'" in str(attn_exc.value) and "'h100-sxm'" in str(attn_exc.value)
    cpu = make_profile({}, chip=None, device_name="Intel(R) Xeon(R) Processor")
    with pytest.raises(AccelplanError, match="matches no catalog chip"):
        cpu.attention_efficiencies(h100)


def test_attention_rate_above_the_catalog_peak_is_refused(catalog, make_profile):
    p = _h100(make_profile, [_attn(8192, 128, 500.0, 1100.0)])  # backward at 111% of 989.4: not an H100
    with pytest.raises(AccelplanError, match="attention backward rate .* not that chip"):
        p.attention_efficiencies(catalog.chip("h100-sxm"))


def test_attention_backward_round_trips_and_old_profiles_load(tmp_path, catalog, make_profile):
    chip = catalog.chip("h100-sxm")
    p = _h100(make_profile, [_attn(8192, 128, 500.0, 450.0)])
    assert load_profile(save_profile(p, tmp_path / "new.yaml")) == p
    # a profile written before the backward was measured: no bwd_* fields
    old = _h100(make_profile, [_attn(8192, 128, 500.0)])
    path = save_profile(old, tmp_path / "old.yaml")
    text = path.read_text()
    path.write_text("\n".join(line for line in text.splitlines() if "bwd_" not in line) + "\n")
    assert "bwd" not in path.read_text() and "seq_len: 8192" in path.read_text()
    back = load_profile(path)
    assert back.schema_version == 1 and back.attention[0].bwd_tflops is None
    assert back.attention_efficiencies(chip) == (pytest.approx(500.0 / 989.4), None)
    assert back.attention_basis.endswith("d=128 s=8192 (backward not measured)")


def test_report_shows_the_attention_the_model_takes(make_profile):
    from accelplan.bench.cli import _model_efficiencies

    lines = _model_efficiencies(_h100(make_profile, [_attn(8192, 128, 500.0, 450.0)]))
    assert lines[1].startswith("model attention for h100-sxm: fwd 0.505, bwd 0.455 of the bf16 peak")
    assert "SDPA causal bf16 d=128 s=8192" in lines[1]
    assert "not measured" in _model_efficiencies(_h100(make_profile, []))[1]
