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

# Canonical short ids: the validation alias where there is one, else the research id minus vendor.
EXTRA_ALIASES = {
    "a100-sxm-80gb": ["a100", "a100-80gb"], "h100-sxm": ["h100"], "h200-sxm": ["h200"], "b200-hgx": ["b200"],
    "b300-hgx": ["b300"], "ascend-910b": ["910b"], "ascend-910c": ["910c"], "ascend-950dt": ["950dt"],
    "ascend-950pr": ["950pr"], "tpu7x-ironwood": ["tpu-v7", "ironwood", "tpu7x"], "h800-sxm": ["h800"],
    "a800-sxm4-80gb": ["a800"], "v100-sxm2-32gb": ["v100"], "h100-pcie-80gb": ["h100-pcie"],
    "mi300x": [], "gaudi3": ["gaudi-3"], "gaudi2": ["gaudi-2"],
}

# Measured GEMM efficiency (MAMF / theoretical dense bf16, mean of 100 iterations at the best shape).
MAMF_REF = ("stas00/ml-engineering compute/accelerator/README.md, 'Maximum Achievable Matmul FLOPS "
            "comparison table' (BF16)")
MEASURED_MATMUL = {
    "a100-sxm-80gb": (0.869, f"measured: {MAMF_REF}: A100 SXM 271.2 of 312"),
    "a100-sxm-40gb": (0.869, f"measured: {MAMF_REF}: A100 SXM 271.2 of 312 (same GA100 die)"),
    "a800-sxm4-80gb": (0.869, f"measured: {MAMF_REF}: A100 SXM 271.2 of 312 (same GA100 die)"),
    "h100-sxm": (0.803, f"measured: {MAMF_REF}: H100 SXM 794.5 of 989"),
    "h800-sxm": (0.803, f"measured: {MAMF_REF}: H100 SXM 794.5 of 989 (same GH100 compute)"),
    "h200-sxm": (0.803, f"measured: {MAMF_REF}: H100 SXM 794.5 of 989, 'H200 is the same'"),
    "b200-hgx": (0.776, f"measured: {MAMF_REF}: B200 SXM 1745 of 2250"),
    "b300-hgx": (0.786, f"measured: {MAMF_REF}: B300 SXM 1769 of 2250"),
    "gb200": (0.729, f"measured: {MAMF_REF}: GB200 1822 of 2500"),
    "mi250x": (0.767, f"measured: {MAMF_REF} (ROCm 6.2 edition): MI250X 147.0 of 191.5 per GCD"),
    "mi300x": (0.514, f"measured: {MAMF_REF}: MI300X 668.4 of 1300"),
    "mi325x": (0.604, f"measured: {MAMF_REF}: MI325X 784.9 of 1300"),
    "mi355x": (0.680, f"measured: {MAMF_REF}: MI355X 1565 of 2300"),
    "gaudi2": (0.969, f"measured: {MAMF_REF}: Gaudi 2 418.7 of 432"),
    "gaudi3": (0.741, f"measured: {MAMF_REF}: Gaudi 3 1243 of 1677"),
    "ascend-910b": (0.972, "measured: FlagPerf computation-BF16/ascend README: 304.3 of 313 TF (8-card average)"),
    "ascend-910b3": (0.972, "measured: FlagPerf computation-BF16/ascend README: 304.3 of 313 TF (Atlas 800T A2)"),
    "ascend-910b2": (0.839, "measured: zzc0721/torch-performance-test-data issue #109: bf16 GEMM 315.4 of 376 TF"),
    "ascend-910c": (0.972, "measured on the 910B die: FlagPerf BF16 304.3 of 313 TF (910C = two 910B-class dies)"),
}
# Chips with no published matmul measurement get the median of the measured ones above.
_MEASURED_MEDIAN = sorted(v for v, _ in MEASURED_MATMUL.values())[len(MEASURED_MATMUL) // 2]
# Measured elsewhere than the MAMF table; kept out of the median so the defaults above stay as they were.
MEASURED_MATMUL["tpu-v5e"] = (0.923, "measured: JAX docs, Pallas TPU 'Your First Matmul' guide (docs/pallas/tpu/"
                                     "matmul), XLA jnp.matmul bf16 8192^3 on TPU v5e: 181.8 of 197 TFLOP/s "
                                     "(timed with Python dispatch, so a lower bound)")
MEASURED_FP8 = {  # same table, FP8 (float8_e4m3fn) section
    "h100-sxm": (0.709, "H100 SXM 1402.6 of 1979"), "h800-sxm": (0.709, "H100 SXM 1402.6 of 1979"),
    "h200-sxm": (0.734, "H200 SXM 1453.4 of 1979"), "b200-hgx": (0.763, "B200 SXM 3432.5 of 4500"),
    "b300-hgx": (0.745, "B300 SXM 3353.3 of 4500"), "gb200": (0.723, "GB200 3615.6 of 5000"),
    "gaudi2": (0.955, "Gaudi 2 826.5 of 865"), "gaudi3": (0.769, "Gaudi 3 1289.5 of 1677"),
}
MEMORY_EFF = 0.85
MEMORY_BASIS = ("memory 0.85 is a default, not a measurement: device copy kernels typically reach "
                "80-90% of HBM peak; replace with `accelplan bench`")


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
    out["peak_tflops"] = {v: entry.get(k) for k, v in PEAK_KEYS.items()}
    if entry.get("sparse"):
        out["sparse_tflops"] = {SPARSE_KEYS[k]: v for k, v in entry["sparse"].items() if k in SPARSE_KEYS}
    out["unsupported"] = entry.get("unsupported", [])
    for k in ("hbm_gb", "hbm_type", "hbm_tb_s", "tdp_w"):
        out[k] = entry.get(k)
    out["scaleup"] = {v: entry.get(k) for k, v in SCALEUP_KEYS.items() if entry.get(k) is not None}
    out["scaleout"] = {v: entry.get(k) for k, v in SCALEOUT_KEYS.items() if entry.get(k) is not None}

    eff, basis = MEASURED_MATMUL.get(cid, (_MEASURED_MEDIAN, (
        f"default: no published matmul measurement; median ({_MEASURED_MEDIAN}) of the measured chips "
        f"in this catalog")))
    out["efficiency"] = {"matmul": eff, "memory": MEMORY_EFF, "basis": f"matmul {basis}; {MEMORY_BASIS}"}
    if cid in MEASURED_FP8:
        out["efficiency"]["matmul_fp8"] = MEASURED_FP8[cid][0]
        out["efficiency"]["basis"] += f"; fp8 measured: {MAMF_REF.replace('(BF16)', '(FP8)')}: {MEASURED_FP8[cid][1]}"

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
    data = yaml.safe_load(Path(path).read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    for entry in data["chips"]:
        chip = convert(entry)
        (OUT / f"{chip['id']}.yaml").write_text(
            f"# Imported from shared/research/hardware_catalog.yaml ({entry['id']}) by "
            "tools/import_research_catalog.py\n" + yaml.safe_dump(chip, sort_keys=False, allow_unicode=True, width=110))
    print(f"wrote {len(data['chips'])} chips to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/research/hardware_catalog.yaml")
