"""The calibration profile: schema, file round trip, and the efficiencies it hands the model."""

import math

import pytest

from accelplan.bench.profile import CalibrationProfile, load_profile, save_profile
from accelplan.errors import AccelplanError

BIG = (8192, 8192, 8192)


def test_profile_round_trips_through_yaml(tmp_path, make_profile):
    p = make_profile({(*BIG, "bf16"): 700.0, (1024, 1024, 1024, "bf16"): 300.0}, copy_gb_s=4000.0)
    path = save_profile(p, tmp_path / "sub" / "profile.yaml")
    back = load_profile(path)
    assert back == p
    assert isinstance(back, CalibrationProfile)


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
