"""One-off importer: research/hardware_catalog.yaml -> src/accelplan/catalog/data/chips/*.yaml.

Kept in the repository so the conversion can be re-run and audited. Rules:
- dense peaks go to `peak_tflops`; vendor "with sparsity" figures to `sparse_tflops`;
- each figure names the sources whose `figures` text mentions its value (else all of the chip's
  sources), and keeps the research confidence; where research gave none, the importer infers it
  from the matched sources (a vendor's own site -> `vendor`, otherwise `third_party`) and records
  that in `notes.confidence_inferred`;
- matmul efficiency defaults come from measured GEMM rates (MAMF table, FlagPerf) listed below.

Usage: python tools/import_research_catalog.py ../shared/research/hardware_catalog.yaml
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parents[1] / "src/accelplan/catalog/data/chips"

PEAK_KEYS = {
    "fp32_tflops": "fp32", "tf32_dense_tflops": "tf32", "bf16_dense_tflops": "bf16",
    "fp16_dense_tflops": "fp16", "fp8_dense_tflops": "fp8", "int8_dense_tops": "int8",
    "fp4_dense_tflops": "fp4",
}
SPARSE_KEYS = {"tf32_tflops": "tf32", "bf16_tflops": "bf16", "fp16_tflops": "fp16", "fp8_tflops": "fp8",
               "int8_tops": "int8", "fp4_tflops": "fp4"}
SCALEUP_KEYS = {"scaleup_name": "name", "scaleup_gb_s_per_chip_unidir": "gb_s_unidir",
                "scaleup_gb_s_per_chip_bidir": "gb_s_bidir", "scaleup_domain_chips": "domain_chips",
                "scaleup_topology": "topology"}
SCALEOUT_KEYS = {"scaleout_gbps_per_chip": "gbps", "scaleout_gb_s_per_chip": "gb_s"}
PLAIN = ["vendor", "name", "architecture", "year", "status", "lifecycle", "process_node", "hbm_gb",
         "hbm_type", "hbm_tb_s", "tdp_w", "export_control"]
CONF_MAP = {**{k: f"peak_tflops.{v}" for k, v in PEAK_KEYS.items()},
            **{k: f"scaleup.{v}" for k, v in SCALEUP_KEYS.items()},
            **{k: f"scaleout.{v}" for k, v in SCALEOUT_KEYS.items()}}
KEYWORDS = {  # words that identify which source speaks of a figure, when the number is not found
    "hbm_gb": ["GB", "GiB", "memory", "HBM"], "hbm_tb_s": ["TB/s", "GBps", "GB/s", "bandwidth"],
    "tdp_w": [" W", "W ", "power", "TDP"], "scaleup": ["NVLink", "ICI", "HCCS", "link", "scale", "UB"],
    "scaleout": ["Gb", "NIC", "RoCE", "DCN", "network", "EFA"],
    "peak_tflops": ["TF", "PF", "FLOP", "TOP", "flops"], "sparse_tflops": ["sparsity", "sparse", "*"],
}
VENDOR_SITES = ("nvidia.com", "cloud.google.com", "amd.com", "intel.com", "habana", "hiascend.com",
                "huawei.com", "aws.amazon.com", "awsdocs", "Huawei Connect", "docs.cloud.google")

# The software runtime each vendor's training frameworks run on (CUDA, ROCm, CANN, Gaudi's SynapseAI, XLA, Neuron).
RUNTIME_OF_VENDOR = {"nvidia": "cuda", "amd": "rocm", "huawei": "cann", "intel": "habana", "google": "xla",
                     "aws": "neuron"}

# Canonical short ids: the validation alias where there is one, else the research id minus vendor.
EXTRA_ALIASES = {
    "a100-sxm-80gb": ["a100", "a100-80gb"], "h100-sxm": ["h100"], "h200-sxm": ["h200"], "b200-hgx": ["b200"],
    "b300-hgx": ["b300"], "ascend-910b": ["910b"], "ascend-910c": ["910c"], "ascend-950dt": ["950dt"],
    "ascend-950pr": ["950pr"], "tpu7x-ironwood": ["tpu-v7", "ironwood", "tpu7x"], "h800-sxm": ["h800"],
    "a800-sxm4-80gb": ["a800"], "v100-sxm2-32gb": ["v100"], "h100-pcie-80gb": ["h100-pcie"],
    "mi300x": [], "gaudi3": ["gaudi-3"], "gaudi2": ["gaudi-2"],
}

# Measured best-shape GEMM rates (MAMF: the best shape of a sweep, mean of 100 iterations), TFLOP/s. The efficiency
# stored is this rate over the chip's own catalog peak, so it always multiplies back to the measured rate.
MAMF_REF = ("stas00/ml-engineering compute/accelerator/README.md, 'Maximum Achievable Matmul FLOPS "
            "comparison table' (BF16)")
KE_REF = "docs/research/kernel_efficiency.md"
MEASURED_MATMUL_TFLOPS = {
    "a100-sxm-80gb": (271.2, f"{MAMF_REF}: A100 SXM 271.2 TF (bf16)"),
    "a100-sxm-40gb": (271.2, f"{MAMF_REF}: A100 SXM 271.2 TF (bf16; same GA100 die)"),
    "a800-sxm4-80gb": (271.2, f"{MAMF_REF}: A100 SXM 271.2 TF (bf16; same GA100 die)"),
    "h100-sxm": (794.5, f"{MAMF_REF}: H100 SXM 794.5 TF (bf16)"),
    "h800-sxm": (794.5, f"{MAMF_REF}: H100 SXM 794.5 TF (bf16; same GH100 compute)"),
    "h200-sxm": (794.5, f"{MAMF_REF}: H100 SXM 794.5 TF (bf16), 'H200 is the same'"),
    "b200-hgx": (1745.0, f"{MAMF_REF}: B200 SXM 1745 TF (bf16)"),
    "b300-hgx": (1769.0, f"{MAMF_REF}: B300 SXM 1769 TF (bf16)"),
    "gb200": (1822.0, f"{MAMF_REF}: GB200 1822 TF (bf16)"),
    "mi250x": (294.0, f"{MAMF_REF} (ROCm 6.2 edition): MI250X 147.0 TF per GCD (bf16), 294 per two-GCD module"),
    "mi300x": (708.0, "ROCm/rocm-blogs measuring-max-achievable-flops-part2/README.md Table 1: hipBLASLt with AMD's "
                      "max-achievable-FLOPS method, 708 TF bf16 at 4096x4864x32896 (the stas00 MAMF table's torch.matmul "
                      f"sweep found 668.4; the vendor-tuned figure is what tuned stacks run) ({KE_REF} sec. 2)"),
    "mi325x": (843.0, "ROCm/rocm-blogs measuring-max-achievable-flops-part2/README.md Table 1: hipBLASLt, 843 TF bf16 "
                      f"(stas00's MAMF table: 784.9) ({KE_REF} sec. 2)"),
    "mi355x": (1565.0, f"{MAMF_REF}: MI355X 1565 TF (bf16; the table divides by 2300, the catalog peak is 2516)"),
    "gaudi2": (418.7, f"{MAMF_REF}: Gaudi 2 418.7 TF (bf16)"),
    "gaudi3": (1243.0, f"{MAMF_REF}: Gaudi 3 1243 TF (bf16)"),
    "ascend-910b": (304.3, "FlagOpen/FlagPerf base/benchmarks/computation-BF16/ascend/README.md (commit 39866c04): "
                           "304.3 TF bf16 by Huawei's ascend-dmi -f diagnostic on an Atlas 800T A2, 8-card average; the "
                           "910B SKU is not stated and the README gives no nominal peak (the catalog's 313 is FlagPerf's "
                           "own measured fp16 figure), so this ratio overstates the efficiency; a 24-core 910B2 "
                           f"(CANN-derived 353.9 TF) would put it at 0.86 ({KE_REF} sec. 4)"),
    "ascend-910b3": (304.3, "FlagPerf computation-BF16/ascend README: 304.3 TF bf16 by ascend-dmi on an Atlas 800T A2 "
                            "whose SKU is not stated (assumed 910B3 by the research catalog, not by FlagPerf)"),
    "ascend-910b2": (322.5, "gameofdimension/gpu_benchmark README (2024-11-01): mamf-finder best of >1000 shapes on an "
                            f"Ascend910B2C, 322.5 TF bf16 ({KE_REF} sec. 4; torch.matmul 4096^3 reaches 315.4)"),
    "ascend-910c": (645.0, "two dies x mamf-finder 322.5 TF bf16 on an Ascend910B2C (24 cube cores), the 910B-class die "
                           f"of which a 910C package has two, each one NPU to software ({KE_REF} sec. 4)"),
}
# Chips with no published matmul measurement get the median efficiency of their own vendor's measured chips (the
# same GEMM library and compiler: cuBLAS, hipBLASLt, CANN, SynapseAI, XLA), each distinct measurement counted once;
# a vendor with none gets the median of all of them. Measured elsewhere than the MAMF table:
MEASURED_MATMUL_OTHER = {
    "tpu-v5e": (181.8, "JAX docs, Pallas TPU 'Your First Matmul' guide (docs/pallas/tpu/matmul), XLA jnp.matmul bf16 "
                       "8192^3 on TPU v5e: 181.8 TF (timed with Python dispatch, so a lower bound)"),
    "tpu-v6e": (827.47, "AI-Hypercomputer/tpu-recipes microbenchmarks/README.md (benchmark_matmul.py, XLA a @ b bf16 "
                        "8192^3 on one v6e, device trace): 827.47 TF; a third-party harness measured 727.7 on the same "
                        "shape (docs/research/kernel_efficiency_2.md sec. 1)"),
    "tpu7x-ironwood": (1912.8, "AI-Hypercomputer accelerator-microbenchmarks Ironwood README (jnp.einsum bf16, device "
                               "trace): 956.4 TF per JAX device at 32768^3, two devices (TensorCores) per chip; a "
                               "third-party harness measured up to 1113.6 per device "
                               "(docs/research/kernel_efficiency_2.md sec. 1)"),
}
MEASURED_MATMUL_ALL = {**MEASURED_MATMUL_TFLOPS, **MEASURED_MATMUL_OTHER}
MEASURED_FP8_TFLOPS = {  # same table, FP8 (float8_e4m3fn) section; AMD's MAF blog for MI300X/MI325X
    "h100-sxm": (1402.6, "H100 SXM 1402.6 TF"), "h800-sxm": (1402.6, "H100 SXM 1402.6 TF"),
    "h200-sxm": (1453.4, "H200 SXM 1453.4 TF"), "b200-hgx": (3432.5, "B200 SXM 3432.5 TF"),
    "b300-hgx": (3353.3, "B300 SXM 3353.3 TF"), "gb200": (3615.6, "GB200 3615.6 TF"),
    "gaudi2": (826.5, "Gaudi 2 826.5 TF"), "gaudi3": (1289.5, "Gaudi 3 1289.5 TF (its fp8 is about its bf16 rate)"),
    "mi300x": (1273.0, "MI300X 1273 TF by hipBLASLt (ROCm/rocm-blogs measuring-max-achievable-flops-part2 Table 1)"),
    "mi325x": (1519.0, "MI325X 1519 TF by hipBLASLt (ROCm/rocm-blogs measuring-max-achievable-flops-part2 Table 1)"),
}
# Measured fused attention, TFLOP/s, causal, head dim 128, 8k tokens, FlashAttention benchmark convention (causal
# counted at half): (forward, backward) for the chip's vendor-tuned kernel, and for FlashAttention-2 where measured.
_H100_ATTN = ((529.0, 516.0), (333.0, 318.0),
              "H100 SXM5: cuDNN fwd 529 / bwd 516 and FlashAttention-2 fwd 333 / bwd 318 TF (FA3 paper arXiv 2407.08608 "
              "Fig. 5 and its backward figure; the backward curves carry no causal label) "
              f"({KE_REF} sec. 1)")
_A100_ATTN = ((182.0, 182.0), (182.0, 182.0),
              "A100 SXM4 80GB: FlashAttention-2 causal hd128 fwd+bwd 182 TF at 8k (Dao-AILab/flash-attention "
              f"assets/flash2_a100_fwd_bwd_benchmark.png; forward and backward not given apart) ({KE_REF} sec. 1)")
_B200_ATTN = ((1091.0, 1099.0), None,
              "B200 (sm100): FlashAttention-4 causal hd128 8k fwd 1418 / bwd 1209 TF (Dao-AILab/flash-attention PR "
              "#2280); cuDNN, which Transformer Engine runs, is derived from FA4's stated margins ('up to 1.3x over "
              f"cuDNN 9.13' forward, arXiv 2603.05451; '~1.1x' backward, PR #1945) ({KE_REF} sec. 1)")
MEASURED_ATTENTION = {
    "h100-sxm": _H100_ATTN, "h800-sxm": _H100_ATTN, "h200-sxm": _H100_ATTN,
    "a100-sxm-80gb": _A100_ATTN, "a100-sxm-40gb": _A100_ATTN, "a800-sxm4-80gb": _A100_ATTN,
    "b200-hgx": _B200_ATTN, "gb200": _B200_ATTN,
    "mi355x": ((1173.0, 1034.0), None,
               "MI355X: AITER flash_attn_func MHA causal hd128 fwd 1173 / bwd 1034 TF at 8k (HazyResearch/HipKittens "
               "analysis/attn mi355x_mha_*.json, tflops_ref); grouped-query backward measured far lower (0.11-0.13 "
               f"of peak) ({KE_REF} sec. 1)"),
}
# GEMM wave quantization: streaming multiprocessors / compute units / AI cores that run GEMM tiles in parallel.
COMPUTE_UNITS = {
    **{c: (132, "132 SMs (NVIDIA H100 Tensor Core GPU Architecture whitepaper, H100 SXM5)")
       for c in ("h100-sxm", "h800-sxm", "h200-sxm")},
    **{c: (108, "108 SMs (NVIDIA A100 Tensor Core GPU Architecture whitepaper)")
       for c in ("a100-sxm-80gb", "a100-sxm-40gb", "a800-sxm4-80gb")},
    **{c: (148, "148 SMs (stas00/ml-engineering training/performance 'Do more SMs give more TFLOPS?')")
       for c in ("b200-hgx", "gb200")},
    **{c: (304, "304 compute units (AMD CDNA 3 architecture whitepaper, MI300X)") for c in ("mi300x", "mi325x")},
    **{c: (256, "256 compute units (AMD Instinct MI350 series datasheet)") for c in ("mi350x", "mi355x")},
    "v100-sxm2-32gb": (80, "80 SMs (NVIDIA Tesla V100 announcement, Table 1 'Comparison of NVIDIA Tesla GPUs': GV100 "
                           "SMs 80, 5,120 FP32 cores, 640 Tensor Cores)"),
    "ascend-910b2": (24, f"24 cube cores (CANN Ascend910B2.ini ai_core_cnt=24; {KE_REF} sec. 4)"),
    "ascend-910b3": (20, f"20 cube cores (CANN Ascend910B3.ini ai_core_cnt=20; {KE_REF} sec. 4)"),
    "ascend-910b4": (20, f"20 cube cores (CANN Ascend910B4.ini ai_core_cnt=20; {KE_REF} sec. 4)"),
}
# Systolic matrix units: every GEMM operand dimension but the streamed rows is padded to a multiple of the side.
_MXU_REF = ("jax-ml/scaling-book tpus.md ('How to Think About TPUs'), What Is a TPU?: 'TPU v6e (Trillium) has a "
            "256x256 MXU, while all previous generations use 128x128'; Key Takeaways: weight matrices are padded to at "
            "least 128 (256 on TPU v6) in all dimensions to fill the MXU")
MATRIX_UNIT_DIM = {
    **{c: (128, f"128x128 MXU ({_MXU_REF})") for c in ("tpu-v4", "tpu-v5e", "tpu-v5p")},
    "tpu-v6e": (256, f"256x256 MXU ({_MXU_REF})"),
}
MEDIAN_OF_VENDOR: dict[str, float] = {}  # set by main() from the measured chips
MEDIAN_ALL = 0.8  # set by main(): for a vendor with no measured chip
MEMORY_EFF = 0.85
MEMORY_BASIS = ("memory 0.85 is a default, not a measurement: device copy kernels typically reach "
                "80-90% of HBM peak; replace with `accelplan bench`")


def _peak(peaks: dict, dtype: str) -> float | None:
    return peaks.get(dtype) or (peaks.get("fp16") if dtype == "bf16" else None)


def _vendor_medians(peaks_of: dict[str, dict], vendor_of: dict[str, str]) -> tuple[dict[str, float], float]:
    """Median measured matmul efficiency by vendor, and over all vendors; a measurement shared by several catalog
    chips (one die under several names) counts once."""
    seen: dict[str, set[float]] = {}
    for cid, (tf, _) in MEASURED_MATMUL_ALL.items():
        if (p := _peak(peaks_of.get(cid, {}), "bf16")) and cid in vendor_of:
            seen.setdefault(vendor_of[cid], set()).add(round(tf / p, 3))
    return ({v: round(statistics.median(e), 3) for v, e in seen.items()},
            round(statistics.median([x for e in seen.values() for x in e]), 3))


def efficiency(cid: str, peaks: dict, vendor: str) -> dict:
    """Efficiency by kernel class for chip `cid`: each measured rate over the chip's own catalog peak, with its source;
    the median of its vendor's measured chips where there is no measurement."""
    bf16 = _peak(peaks, "bf16")
    if cid in MEASURED_MATMUL_ALL and bf16:
        tf, ref = MEASURED_MATMUL_ALL[cid]
        mm, basis = round(tf / bf16, 3), f"matmul measured: {ref}, over the catalog's {bf16:g} TF bf16 peak"
    elif vendor in MEDIAN_OF_VENDOR:
        mm = MEDIAN_OF_VENDOR[vendor]
        basis = (f"matmul default: no published matmul measurement; median ({mm}) of the {vendor} chips measured "
                 "in this catalog (same GEMM library and compiler)")
    else:
        mm = MEDIAN_ALL
        basis = (f"matmul default: no published matmul measurement, none for {vendor} either; median ({mm}) of "
                 "the measured chips in this catalog")
    out: dict = {"matmul": mm, "memory": MEMORY_EFF, "basis": f"{basis}; {MEMORY_BASIS}"}
    p8 = _peak(peaks, "fp8")
    if cid in MEASURED_FP8_TFLOPS and p8:
        tf, ref = MEASURED_FP8_TFLOPS[cid]
        out["matmul_fp8"] = round(tf / p8, 3)
        out["basis"] += f"; fp8 measured: {MAMF_REF.replace('(BF16)', '(FP8)')}: {ref} over the {p8:g} TF fp8 peak"
    if cid in MEASURED_ATTENTION and bf16:
        (fwd, bwd), flash2, ref = MEASURED_ATTENTION[cid]
        out["attention_fwd"], out["attention_bwd"] = round(fwd / bf16, 3), round(bwd / bf16, 3)
        if flash2:
            out["attention_flash2_fwd"], out["attention_flash2_bwd"] = round(flash2[0] / bf16, 3), round(flash2[1] / bf16, 3)
        out["attention_basis"] = f"measured: {ref}; fractions of the catalog's {bf16:g} TF bf16 peak"
    if cid in COMPUTE_UNITS:
        out["compute_units"], out["compute_units_basis"] = COMPUTE_UNITS[cid]
    if cid in MATRIX_UNIT_DIM:
        out["matrix_unit_dim"], out["matrix_unit_basis"] = MATRIX_UNIT_DIM[cid]
    return out


def canonical_id(entry: dict) -> str:
    if entry.get("aliases"):
        return entry["aliases"][0]
    return re.sub(r"^(huawei|nvidia|amd|google|intel|aws)-", "", entry["id"])


def number_forms(v: float) -> list[str]:
    forms = {f"{v:g}"}
    if float(v).is_integer():
        iv = int(v)
        forms |= {str(iv), f"{iv:,}"}
    else:
        forms.add(f"{v:.1f}")
    return [f for f in forms if len(f) >= 2]


def match_sources(sources: list[dict], value: float, field: str) -> list[int]:
    """Sources that mention this figure's value, among those that speak of its kind of figure."""
    text = [f"{s.get('ref', '')} {s.get('figures', '')}" for s in sources]
    by_number = {i for i, t in enumerate(text)
                 if any(re.search(rf"(?<![\d.]){re.escape(f)}(?![\d])", t) for f in number_forms(value))}
    words = KEYWORDS.get(field.split(".")[0], [])
    by_word = {i for i, t in enumerate(text) if any(w in t for w in words)}
    for hits in (by_number & by_word, by_number if not words else set(), by_word, by_number):
        if hits:
            return sorted(hits)
    return list(range(len(sources)))


def convert(entry: dict) -> dict:
    cid = canonical_id(entry)
    out: dict = {"id": cid}
    aliases = [a for a in [entry["id"], *entry.get("aliases", []), *EXTRA_ALIASES.get(cid, [])] if a != cid]
    out["aliases"] = aliases
    for k in PLAIN:
        if k in entry and k not in ("hbm_gb", "hbm_tb_s", "tdp_w"):
            out[k] = entry[k]
            if k == "vendor":
                out["runtime"] = RUNTIME_OF_VENDOR[entry[k]]
    out["peak_tflops"] = {v: entry.get(k) for k, v in PEAK_KEYS.items()}
    if entry.get("sparse"):
        out["sparse_tflops"] = {SPARSE_KEYS[k]: v for k, v in entry["sparse"].items() if k in SPARSE_KEYS}
    out["unsupported"] = entry.get("unsupported", [])
    for k in ("hbm_gb", "hbm_type", "hbm_tb_s", "tdp_w"):
        out[k] = entry.get(k)
    out["scaleup"] = {v: entry.get(k) for k, v in SCALEUP_KEYS.items() if entry.get(k) is not None}
    out["scaleout"] = {v: entry.get(k) for k, v in SCALEOUT_KEYS.items() if entry.get(k) is not None}

    out["efficiency"] = efficiency(cid, out["peak_tflops"], entry["vendor"])

    notes = {k: str(v) for k, v in entry.items() if k.endswith("_note") or k == "note"}
    handled = set(PLAIN) | set(PEAK_KEYS) | set(SCALEUP_KEYS) | set(SCALEOUT_KEYS) | set(notes) | {
        "id", "aliases", "sparse", "unsupported", "sources", "confidence", "hbm_type"}
    out["extra"] = {k: v for k, v in entry.items() if k not in handled}

    sources = entry.get("sources", [])
    out["sources"] = [{"ref": s.get("ref", ""), "figures": str(s.get("figures", ""))} for s in sources]
    research_conf = {CONF_MAP.get(k, k): v for k, v in (entry.get("confidence") or {}).items()}
    field_sources: dict[str, list[int]] = {}
    confidence: dict[str, str] = {}
    inferred: list[str] = []
    figures: dict[str, float] = {}
    for group in ("peak_tflops", "sparse_tflops", "scaleup", "scaleout"):
        for k, v in (out.get(group) or {}).items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                figures[f"{group}.{k}"] = v
    for k in ("hbm_gb", "hbm_tb_s", "tdp_w"):
        if out.get(k) is not None:
            figures[k] = out[k]
    for path, value in figures.items():
        idx = match_sources(sources, value, path)
        field_sources[path] = idx
        if path in research_conf:
            confidence[path] = research_conf[path]
        elif path.startswith("sparse_tflops") or (
            path.startswith("peak_tflops") and research_conf.get("peak_tflops.bf16") == "derived"
            and entry.get("sparsity_2to4_in_vendor_figures")
        ):
            confidence[path] = "derived" if path.startswith("peak_tflops") else "vendor"
            inferred.append(path)
        else:
            refs = " ".join(sources[i].get("ref", "") for i in idx)
            confidence[path] = "vendor" if any(s in refs for s in VENDOR_SITES) else "third_party"
            inferred.append(path)
    for k, v in research_conf.items():
        if k not in confidence:
            confidence[k] = v  # non-figure confidences (process node, SKU attribution) kept as given
    out["field_sources"] = field_sources
    out["confidence"] = confidence
    if inferred:
        notes["confidence_inferred"] = (
            "research gave no confidence for " + ", ".join(inferred)
            + "; the importer inferred it from the sources named for each figure")
    out["notes"] = notes
    return out


def main(path: str) -> None:
    global MEDIAN_OF_VENDOR, MEDIAN_ALL
    data = yaml.safe_load(Path(path).read_text())
    peaks_of = {canonical_id(e): {v: e.get(k) for k, v in PEAK_KEYS.items()} for e in data["chips"]}
    vendor_of = {canonical_id(e): e["vendor"] for e in data["chips"]}
    MEDIAN_OF_VENDOR, MEDIAN_ALL = _vendor_medians(peaks_of, vendor_of)
    OUT.mkdir(parents=True, exist_ok=True)
    for entry in data["chips"]:
        chip = convert(entry)
        (OUT / f"{chip['id']}.yaml").write_text(
            f"# Imported from shared/research/hardware_catalog.yaml ({entry['id']}) by "
            "tools/import_research_catalog.py\n" + yaml.safe_dump(chip, sort_keys=False, allow_unicode=True, width=110))
    print(f"wrote {len(data['chips'])} chips to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/research/hardware_catalog.yaml")
