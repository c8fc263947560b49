"""Convert the measured mixed-cluster runs of shared/validation/mixed_runs.yaml into the format
`accelplan validate --mixed` reads (docs/runs-format.md, "Mixed clusters"), written to
src/accelplan/validate/data/mixed_runs.yaml.

Only the runs a model can predict are converted: AMP's 53 trials on 12 V100 + 4 T4 (the plan, the layer partition,
the rank placement and the measured iteration time, or the failure). FlashFlex's MFU points give no plan and the
headline figures no run, so they stay in the research file.

    python tools/convert_mixed_runs.py [path/to/shared/validation/mixed_runs.yaml]
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SRC = ROOT.parent / "shared" / "validation" / "mixed_runs.yaml"
OUT = ROOT / "src" / "accelplan" / "validate" / "data" / "mixed_runs.yaml"

# AMP's 30 pseudo-layers: [embed, noop, 24 transformer layers, noop, noop, lm_head (tied embedding), noop]
AMP_EMBED, AMP_FIRST, AMP_LAST, AMP_HEAD = 0, 2, 25, 28


def amp_stages(bounds: list[int]) -> list[dict]:
    stages = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        layers = sum(1 for i in range(lo, hi) if AMP_FIRST <= i <= AMP_LAST)
        stages.append({"layers": layers, "embedding": lo <= AMP_EMBED < hi, "logits": lo <= AMP_HEAD < hi})
    return stages


def convert_amp(r: dict) -> dict:
    p, m, meas = r["plan"], r["model"], r["measured"]
    ok = meas.get("status") == "ok"
    return {
        "id": r["id"],
        "source": r["source"],
        "source_group": "amp-neurips22",
        "devices": [  # in rank order: node i holds ranks 4i..4i+3, the T4 node last (AMP's layer_partition_note)
            {"chip": "v100-sxm2-16gb", "count": 12, "system": "aws-p3-8xlarge"},
            {"chip": "t4", "count": 4, "system": "aws-g4dn-12xlarge"},
        ],
        "model": {"layers": m["layers"], "hidden": m["hidden"], "heads": m["heads"], "ffn_hidden": m["ffn_hidden"],
                  "vocab": m["vocab"], "seq_len": m["seq_len"], "gated_mlp": False, "tied_embeddings": True,
                  "linear_bias": "all"},
        "plan": {"tp": p["tp"], "pp": p["pp"], "dp": p["dp"], "micro_batch": p["micro_batch_size"],
                 "global_batch": p["global_batch_seqs"], "precision": "fp16", "recompute": "none", "zero": 0,
                 "grad_reduce_dtype": "fp32",  # its ds_config.json: "fp32_allreduce": true
                 "framework": "megatron-deepspeed", "framework_version": "Megatron-LM v1.1.5 (DeepSpeedExamples)",
                 "placement": "pipe_data_model", "stages": amp_stages(p["layer_partition_boundaries"])},
        "measured": {"iteration_time_s": meas.get("iteration_time_s") if ok else None,
                     "tokens_per_s": meas.get("tokens_per_s") if ok else None,
                     "status": "ok" if ok else "failed",
                     "reported": meas.get("verbatim")},
        "baseline_predicted_s": p.get("amp_predicted_iteration_s"),  # AMP's own prediction, for comparison
        "notes": ("converted by tools/convert_mixed_runs.py; the AMP launch script "
                  "(DeepSpeedExamples Megatron-LM-v1.1.5-3D_parallelism/examples/ds_pretrain_gpt2_pipe.sh in "
                  "DachengLi1/AMP) passes --fp16 and no --checkpoint-activations (recompute none); its DeepSpeed "
                  "config (examples/ds_config.json @ 49afb8baf829) enables fp16, sets \"fp32_allreduce\": true "
                  "(gradients all-reduced in fp32) and has no zero_optimization section (ZeRO stage 0); placement: "
                  "DeepSpeed's pipe/data/model rank order. " + str(r.get("notes", ""))),
    }


def main(src: Path) -> None:
    runs = yaml.safe_load(src.read_text())
    out = [convert_amp(r) for r in runs if r["id"].startswith("amp_het_cluster_rank")]
    header = ("# Mixed-cluster runs in the format `accelplan validate --mixed` reads (docs/runs-format.md). Generated "
              "by tools/convert_mixed_runs.py\n# from shared/validation/mixed_runs.yaml; do not edit by hand.\n")
    OUT.write_text(header + yaml.safe_dump(out, sort_keys=False, width=120, allow_unicode=True))
    print(f"wrote {len(out)} runs to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SRC)
