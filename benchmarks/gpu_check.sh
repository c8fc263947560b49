#!/usr/bin/env bash
# Acceptance check of `accelplan bench` on an NVIDIA GPU (written for an H200; not yet run, see docs/bench.md).
#   bf16 8192^3 GEMM figure within 5% of the best plain torch.matmul rate measured in the same run
#   copy bandwidth within 10% of a plain dst.copy_(src) in the same run
# Usage: benchmarks/gpu_check.sh [OUT_DIR]     (needs accelplan and a CUDA build of torch in $PYTHON)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
OUT=${1:-benchmarks/results}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv || true
start=$(date +%s)
# full mode: every shape, 15 repeats; the whole run is bounded to 5 minutes
timeout 300 "$PYTHON" -m accelplan bench --device cuda --json --out "$OUT/gpu_profile.yaml" > "$OUT/gpu_profile.json"
echo "bench took $(( $(date +%s) - start )) s; profile in $OUT/gpu_profile.yaml"
"$PYTHON" - "$OUT/gpu_profile.json" <<'PY'
import json
import sys

d = json.load(open(sys.argv[1]))
ok = True
print(f"{d['device_name']} -> {d['chip']}  torch {d['versions'].get('torch')}  cuda {d['versions'].get('cuda')}  "
      f"driver {d['versions'].get('driver')}")
gemm = {(p["m"], p["n"], p["k"], p["dtype"]): p for p in d["gemm"]}
g = gemm.get((8192, 8192, 8192, "bf16"))
ref = d["references"]["plain_matmul"]
if g is None or ref is None or (ref["m"], ref["n"], ref["k"], ref["dtype"]) != (8192, 8192, 8192, "bf16"):
    print("FAIL: no bf16 8192^3 GEMM or no plain matmul reference at that shape")
    ok = False
else:
    ratio = g["tflops"] / ref["best_tflops"]
    good = ratio >= 0.95 and g["verified"]
    ok &= good
    peak = g["catalog_peak_tflops"]
    of_peak = f", {g['tflops'] / peak:.1%} of the catalog peak {peak} TFLOP/s" if peak else ", no catalog peak"
    print(f"{'PASS' if good else 'FAIL'} GEMM bf16 8192^3: bench {g['tflops']:.1f} TFLOP/s, plain torch.matmul best "
          f"{ref['best_tflops']:.1f} ({ratio:.1%}; need >= 95%){of_peak}")
c = d["references"]["plain_copy"]
if c is None:
    print("FAIL: no plain copy reference")
    ok = False
else:
    ratio = c["bench_gb_s"] / c["best_gb_s"]
    good = abs(ratio - 1.0) <= 0.10
    ok &= good
    print(f"{'PASS' if good else 'FAIL'} copy {c['buffer_bytes'] / 2**20:.0f} MiB: bench {c['bench_gb_s']:.0f} GB/s, plain "
          f"dst.copy_(src) best {c['best_gb_s']:.0f} GB/s ({ratio:.1%}; need within 10%)")
for p in d["bandwidth"]:
    peak = p["catalog_peak_gb_s"]
    print(f"  {p['kernel']:5} {p['buffer_bytes'] / 2**20:6.0f} MiB  {p['gb_s']:8.0f} GB/s" + (f"  {p['gb_s'] / peak:.1%} of HBM" if peak else ""))
for p in d["attention"]:
    print(f"  SDPA {p['batch']}x{p['heads']}x{p['seq_len']}x{p['head_dim']} {p['dtype']}: {p['tflops']:.1f} TFLOP/s")
for w in d["warnings"]:
    print("warning:", w)
for u in d["unsupported"]:
    print("unsupported:", u["what"], "-", u["reason"])
failed = [k for k, p in gemm.items() if not p["verified"]]
if failed:
    print("FAIL: result checks failed for", failed)
    ok = False
sys.exit(0 if ok else 1)
PY
