"""`accelplan bench` end to end on the CPU (quick mode), and its errors without torch or with a bad device."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from accelplan.cli import app


def _main(*args: str, block_torch: bool = False) -> subprocess.CompletedProcess:
    pre = "import sys; sys.modules['torch'] = None; " if block_torch else "import sys; "
    code = pre + f"sys.argv = ['accelplan', *{list(args)!r}]; from accelplan.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_without_torch_bench_says_how_to_install_it():
    r = _main("bench", "--device", "cpu", "--quick", block_torch=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "pip install 'accelplan[bench]'" in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_device_names_the_allowed_ones():
    r = _main("bench", "--device", "tpu")
    assert r.returncode == 2
    assert "--device 'tpu' is not one of: cuda, npu, xpu, mps, cpu" in r.stderr


def test_absent_device_says_so():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    r = _main("bench", "--device", "cuda", "--quick")
    assert r.returncode == 2
    assert "--device cuda: not present" in r.stderr and "present here: cpu" in r.stderr


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("bench") / "cpu.yaml"
    r = CliRunner().invoke(app, ["bench", "--device", "cpu", "--quick", "--json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout), out


def test_cpu_quick_bench_measures_every_kernel(cpu_run):
    data, _ = cpu_run
    assert data["device"] == "cpu" and data["quick"] is True
    assert data["chip"] is None  # no catalog chip for a CPU ...
    assert any("no catalog peak" in w for w in data["warnings"])  # ... and the report says so
    dtypes = {p["dtype"] for p in data["gemm"]}
    assert {"bf16", "fp32"} <= dtypes
    for p in data["gemm"]:
        assert p["verified"], p
        assert p["catalog_peak_tflops"] is None
        assert p["tflops"] * 1e12 * p["seconds"] == pytest.approx(2 * p["m"] * p["n"] * p["k"])
    assert {"gemm fp8"} <= {u["what"] for u in data["unsupported"]}
    kernels = {p["kernel"] for p in data["bandwidth"]}
    assert kernels == {"copy", "triad"}
    for p in data["bandwidth"]:
        assert p["verified"] and p["exceeds_llc"] and p["rotation_bytes"] > data["llc_bytes"]
        assert p["gb_s"] > 0.1  # any memory system moves more than 100 MB/s
    assert data["attention"] and all(p["verified"] for p in data["attention"])
    ref = data["references"]
    assert ref["plain_matmul"]["best_tflops"] > 0 and ref["plain_copy"]["best_gb_s"] > 0
    assert data["versions"]["torch"]


def test_cpu_profile_file_loads_and_refuses_to_calibrate_a_chip(cpu_run, catalog):
    from accelplan.bench.profile import load_profile
    from accelplan.errors import AccelplanError

    data, out = cpu_run
    prof = load_profile(out)
    assert prof.model_dump(mode="json") == data
    assert prof.gemm_flops_per_s(512, 512, 512, "bf16") > 0
    with pytest.raises(AccelplanError, match="matches no catalog chip"):
        prof.efficiencies(catalog.chip("h200-sxm"), 0.8, 0.7, 0.85)


def test_cpu_table_shows_no_catalog_peak_and_the_references(cpu_run, capsys):
    from accelplan.bench.cli import _print
    from accelplan.bench.profile import load_profile

    _print(load_profile(cpu_run[1]), None)
    out = capsys.readouterr().out
    for text in ("no catalog peak", "GEMM", "copy", "triad", "Attention", "plain torch.matmul", "plain dst.copy_(src)"):
        assert text in out


def test_report_says_which_efficiencies_were_measured(make_profile):
    from accelplan.bench.cli import _model_efficiencies

    line = _model_efficiencies(make_profile({(8192, 8192, 8192, "bf16"): 760.0}, copy_gb_s=4000.0))[0]
    assert "matmul 0.768 (measured)" in line
    assert "matmul_fp8 0.734 (not measured: default kept)" in line  # the catalog's fp8 default for h200-sxm
    assert "memory 0.833 (measured)" in line
