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


def _with_references(profile, matmul=None, copy=None, llc_bytes=32 * 2**20):
    from accelplan.bench.profile import CopyReference, MatmulReference, References

    refs = References(plain_matmul=None if matmul is None else MatmulReference(**matmul),
                      plain_copy=None if copy is None else CopyReference(**copy))
    settings = {"warmup_calls": 2, "repeats": 5, "min_repeat_s": 0.005}
    return profile.model_copy(update={"references": refs, "llc_bytes": llc_bytes, "settings": settings})


def test_a_gemm_far_below_its_plain_reference_is_not_reported_ok(make_profile, capsys):
    from accelplan.bench.cli import _print
    from accelplan.bench.run import low_references

    # the bench's 8192^3 GEMM ran at 38 TFLOP/s while a plain torch.matmul on the same shape ran at 1,000:
    # 38 / 1000 = 3.8%, far under any timing difference between the two methods
    prof = _with_references(make_profile({(8192, 8192, 8192, "bf16"): 38.0, (4096, 4096, 4096, "bf16"): 500.0}),
                            matmul={"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16", "best_tflops": 1000.0,
                                    "bench_tflops": 38.0})
    assert low_references(prof.references, prof.llc_bytes) == {"matmul": pytest.approx(0.038)}
    _print(prof, None)
    lines = capsys.readouterr().out.splitlines()
    row = next(ln for ln in lines if "8192x8192x8192" in ln)
    assert "LOW: 3.8% of plain matmul" in row and not row.rstrip(" │").endswith("ok")
    assert next(ln for ln in lines if "4096x4096x4096" in ln).rstrip(" │").endswith("ok")  # its check is its own
    footer = next(ln for ln in lines if ln.startswith("plain torch.matmul"))
    assert "3.8% of it: low" in footer
    text = " ".join(" ".join(lines).split())  # the console wraps long lines
    # the matmul efficiency is the best large GEMM, 500 / 989.4 (h200-sxm bf16 peak) = 0.505, from the same suspect run
    assert "matmul 0.505 (measured, but low against its plain reference" in text


def test_reference_warnings_name_the_shortfall_and_spare_a_copy_that_fits_in_the_cache():
    from accelplan.bench.profile import CopyReference, MatmulReference, References
    from accelplan.bench.run import REFERENCE_FLOOR, _reference_warnings, low_references

    close = MatmulReference(m=512, n=512, k=512, dtype="bf16", best_tflops=1.08, bench_tflops=0.99)  # 92%: docs/bench.md
    mib = 2**20
    slow_copy = CopyReference(buffer_bytes=64 * mib, best_gb_s=43.0, bench_gb_s=23.3)  # 54%
    refs = References(plain_matmul=close, plain_copy=slow_copy)
    assert 0.99 / 1.08 > REFERENCE_FLOOR > 23.3 / 43.0
    # a 64 MiB pair (128 MiB) in a 480 MiB cache: the plain loop measured the cache, so the copy is not judged
    assert low_references(refs, 480 * mib) == {}
    # past a 32 MiB cache both loops read memory, and 54% is low
    assert low_references(refs, 32 * mib) == {"copy": pytest.approx(23.3 / 43.0)}
    (warning,) = _reference_warnings(refs, 32 * mib)
    assert warning.startswith("copy 64 MiB: the bench measured 54.2% of a plain dst.copy_(src)")
    assert low_references(refs, None) == {}  # cache size unknown: no judgement


@pytest.mark.parametrize("where", ["dir", "missing_folder"])
def test_bench_out_is_refused_before_the_benchmark_runs(tmp_path, monkeypatch, where):
    import accelplan.bench.run
    from accelplan.errors import AccelplanError

    ran = []
    monkeypatch.setattr(accelplan.bench.run, "run_bench", lambda **kw: ran.append(kw))
    out = tmp_path if where == "dir" else tmp_path / "no" / "such" / "p.yaml"
    r = CliRunner().invoke(app, ["bench", "--device", "cpu", "--quick", "--out", str(out)])
    assert isinstance(r.exception, AccelplanError) and not ran
    assert ("is a directory" if where == "dir" else "does not exist (create it first)") in str(r.exception)
    assert not (tmp_path / "no").exists()  # nothing created behind the user's back


def test_bench_out_directory_is_one_line_exit_2(tmp_path):
    r = _main("bench", "--device", "cpu", "--quick", "--out", str(tmp_path))
    assert r.returncode == 2 and "--out" in r.stderr and "is a directory" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
