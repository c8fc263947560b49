"""The calibration profile `accelplan bench` writes is what the step model reads (accelplan.perf.calibration)."""

from accelplan.perf.calibration import Calibration


def test_a_bench_profile_is_a_calibration(make_profile):
    prof = make_profile({(8192, 8192, 8192, "bf16"): 700.0}, copy_gb_s=4000.0)
    assert isinstance(prof, Calibration)
    assert prof.gemm[0].flops_per_s == 700e12  # the members the protocol names, in SI


def test_an_object_without_the_members_is_not_one():
    assert not isinstance(object(), Calibration)
