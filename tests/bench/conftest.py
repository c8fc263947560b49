import pytest


@pytest.fixture()
def make_profile():
    """A hand-written profile: GEMM rates in TFLOP/s by (m, n, k, dtype), copy bandwidths in GB/s."""
    from accelplan.bench.profile import BandwidthPoint, CalibrationProfile, GemmPoint

    def make(gemm: dict[tuple[int, int, int, str], float], copy_gb_s: float | None = None, chip: str | None = "h200-sxm",
             peaks: dict[str, float] | None = None, hbm_gb_s: float | None = 4800.0, verified: bool = True,
             device_name: str = "NVIDIA H200") -> CalibrationProfile:
        peaks = {"bf16": 989.4, "fp16": 989.4, "fp8": 1978.9, "fp32": 67.0} if peaks is None else peaks
        points = [GemmPoint(m=m, n=n, k=k, dtype=d, tflops=tf, seconds=2 * m * n * k / (tf * 1e12),  # type: ignore[arg-type]
                            catalog_peak_tflops=peaks.get(d), rotation_sets=2, rotation_bytes=1, max_rel_error=1e-3,
                            verified=verified)
                  for (m, n, k, d), tf in gemm.items()]
        bw = [] if copy_gb_s is None else [
            BandwidthPoint(kernel="copy", buffer_bytes=2**30, gb_s=copy_gb_s, seconds=2 * 2**30 / (copy_gb_s * 1e9),
                           catalog_peak_gb_s=hbm_gb_s, rotation_buffers=6, rotation_bytes=6 * 2**30, exceeds_llc=True,
                           verified=True)]
        return CalibrationProfile(device="cuda", device_name=device_name, chip=chip, chip_match="test", host="test-host",
                                  date="2025-01-02", timestamp_utc="2025-01-02T03:04:05+00:00",
                                  versions={"torch": "2.13.0"}, gemm=points, bandwidth=bw)

    return make
