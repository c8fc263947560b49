"""Single-phase answers recorded before the phase/request-model refactor (issue 14): the refactor must leave them
unchanged to 0.1%. A deliberate model change regenerates the file in its own commit, saying why:

    python -m tests.golden.cases --write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).with_name("single_phase.json")

# (chip, chips, model, seq, global batch, precision, plan fields): the plan families the step model treats
# differently, on every vendor's default system: TP+PP+VPP, full-mesh TP, CP, MoE EP, ZeRO-3, partial recompute
ESTIMATES: list[tuple[str, int, str, int, int, str, dict[str, Any]]] = [
    ("h100-sxm", 64, "llama3.1-70b", 8192, 128, "bf16",
     dict(tp=4, pp=4, dp=4, vpp=5, micro_batch=1, recompute="selective", zero=1)),
    ("h100-sxm", 8, "llama3.1-8b", 65536, 8, "fp8", dict(tp=2, pp=1, dp=2, cp=2, micro_batch=1, recompute="full")),
    ("h100-sxm", 64, "llama3.1-70b", 8192, 128, "bf16",
     dict(tp=4, pp=4, dp=4, vpp=5, micro_batch=1, recompute="full", zero=1)),
    ("mi300x", 64, "llama3.1-70b", 4096, 512, "bf16",
     dict(tp=2, pp=2, dp=16, micro_batch=1, recompute="none", zero=1)),
    ("ascend-910b", 64, "mixtral-8x7b", 32768, 64, "bf16",
     dict(tp=8, pp=1, dp=4, cp=2, ep=8, micro_batch=1, recompute="full", zero=1)),
    ("ascend-910c", 256, "deepseek-v3", 4096, 512, "bf16",
     dict(tp=1, pp=8, dp=32, ep=32, vpp=1, micro_batch=1, recompute="full", zero=1)),
    ("gb200", 256, "deepseek-v3", 4096, 2048, "fp8",
     dict(tp=1, pp=4, dp=64, ep=64, micro_batch=1, recompute="selective", zero=1)),
    ("tpu-v5p", 256, "llama3.1-70b", 8192, 256, "bf16", dict(tp=8, pp=1, dp=32, micro_batch=1, recompute="full",
                                                               zero=3)),
    ("gaudi3", 64, "llama3.1-8b", 8192, 256, "bf16",
     dict(tp=1, pp=2, dp=32, micro_batch=2, recompute="full", recompute_layers=4, zero=1)),
]
# (chip, chips, model, seq, global batch): the best plan the search finds
SEARCHES: list[tuple[str, int, str, int, int]] = [
    ("h100-sxm", 1024, "llama3.1-405b", 8192, 1024),
    ("ascend-910b", 512, "pangu-ultra-135b", 4096, 1024),
    ("b200-hgx", 512, "deepseek-v3", 4096, 4096),
]
# compare in deadline mode on the built-in single-phase defaults of issue 13 (model, tokens, seq 4096, batch 4096)
DEADLINE_CHIPS = ("h100-sxm", "ascend-910c")


def compute() -> dict[str, Any]:
    from accelplan.api import compare, estimate, make_workload, search_plans
    from accelplan.catalog.schema import Plan
    from accelplan.errors import PlanError

    out: dict[str, Any] = {"estimates": [], "searches": [], "deadline": []}
    for chip, n, model, seq, gbs, prec, fields in ESTIMATES:
        w = make_workload(model, 1e12, seq, gbs, prec)
        try:
            e = estimate(w, chip, Plan(**fields))
        except PlanError as exc:  # a refusal is an answer too, and must stay the same
            out["estimates"].append({"case": [chip, n, model, seq, gbs, prec, fields], "error": str(exc)})
            continue
        assert e.chips == n, (chip, model)
        out["estimates"].append({"case": [chip, n, model, seq, gbs, prec, fields], "tokens_per_s": e.tokens_per_s,
                                 "step_time_s": e.step_time_s, "memory_gb": e.memory_gb, "mfu": e.mfu})
    for chip, n, model, seq, gbs in SEARCHES:
        w = make_workload(model, 1e12, seq, gbs)
        res = search_plans(w, chip, n)
        assert res.best is not None and res.arrays is not None, (chip, model)
        out["searches"].append({"case": [chip, n, model, seq, gbs],
                                "plan": res.arrays.plans.plan(res.best).model_dump(),
                                "tokens_per_s": float(res.arrays.tokens_per_s[res.best])})
    cmp = compare(list(DEADLINE_CHIPS), seq_len=4096, global_batch=4096)
    for r in cmp.rows:
        out["deadline"].append({"chip": r.chip, "chips": r.chips, "days": r.days, "tokens_per_s": r.tokens_per_s,
                                "plan": None if r.plan is None else r.plan.model_dump()})
    return out


if __name__ == "__main__":
    if "--write" not in sys.argv:
        print(json.dumps(compute(), indent=1))
    else:
        GOLDEN.write_text(json.dumps(compute(), indent=1) + "\n")
        print(f"wrote {GOLDEN}")
