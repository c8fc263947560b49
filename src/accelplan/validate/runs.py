"""Validation against published training runs (the interchange format of shared/validation/README.md).

Each run is predicted with the shipped defaults; nothing is tuned per run. Null plan fields are
filled the way the source's framework would have run: the fastest plan that fits memory among
those consistent with every published field (the authors tuned what they did not publish), and the
output lists each such assumption.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accelplan.catalog.loader import Catalog, load_catalog
from accelplan.catalog.schema import Attention, ModelSpec, MoE, Workload
from accelplan.errors import AccelplanError, CatalogError
from accelplan.perf.assumptions import DEFAULT, Assumptions
from accelplan.perf.collectives import Fabric

ASSUMED_TOKENS_PER_STEP = 4 * 1024 * 1024


class RunModel(BaseModel):
    model_config = ConfigDict(extra="ignore")
    preset: str | None = None
    layers: int
    hidden: int
    heads: int
    kv_heads: int | None = None
    head_dim: int | None = None
    ffn_hidden: int
    gated_mlp: bool = False
    vocab: int
    seq_len: int
    moe: MoE | None = None
    attention: Attention | None = None


class RunPlan(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tp: int | None = None
    pp: int | None = None
    dp: int | None = None
    ep: int | None = None
    cp: int | None = None
    vpp: int | None = None
    micro_batch: int | None = None
    global_batch: int | None = None
    recompute: Literal["none", "selective", "full"] | None = None
    zero: int | None = Field(default=None, ge=0, le=3)
    sequence_parallel: bool | None = None
    precision: Literal["bf16", "fp16", "fp8"] | None = None


class Measured(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tokens_per_s: float | None = None
    mfu: float | None = None
    mfu_peak_tflops: float | None = None
    mfu_convention: Literal["6N", "6N+attn", "megatron-72", "megatron-96-hfu"] | None = None
    reported: str | None = None


class Run(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    source: str = ""
    chip: str
    chips: int = Field(gt=0)
    system: str | None = None
    model: RunModel
    plan: RunPlan
    measured: Measured
    notes: str | None = None


class RunResult(BaseModel):
    id: str
    chip: str
    vendor: str
    chips: int
    predicted_tokens_per_s: float | None = None
    measured_tokens_per_s: float | None = None
    predicted_mfu: float | None = None
    measured_mfu: float | None = None
    error_pct: float | None = None
    plan: dict[str, Any] | None = None
    published_plan_fits: bool | None = None
    best_plan_tokens_per_s: float | None = None
    assumptions: list[str] = Field(default_factory=list)
    error: str | None = None


def load_runs(path: str | Path) -> list[Run]:
    p = Path(path)
    if not p.exists():
        raise CatalogError(str(p), None, None, "file not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(str(p), None, None, f"not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, list):
        raise CatalogError(str(p), None, None, "expected a YAML list of runs")
    runs = []
    for i, entry in enumerate(data):
        try:
            runs.append(Run.model_validate(entry))
        except ValidationError as err:
            e = err.errors()[0]
            rid = entry.get("id", f"#{i}") if isinstance(entry, dict) else f"#{i}"
            raise CatalogError(str(p), str(rid), ".".join(map(str, e["loc"])), e["msg"]) from None
    return runs


def run_model(run: Run) -> ModelSpec:
    rm = run.model
    return ModelSpec(id=run.model.preset or run.id, name=f"{run.id} model", layers=rm.layers, hidden=rm.hidden,
                     heads=rm.heads, kv_heads=rm.kv_heads, head_dim=rm.head_dim, ffn_hidden=rm.ffn_hidden,
                     gated_mlp=rm.gated_mlp, vocab=rm.vocab, seq_len=rm.seq_len, moe=rm.moe, attention=rm.attention)


def mfu_under_convention(convention: str, run: Run, m: ModelSpec, tokens_per_s: float, peak_flops: float) -> float:
    """Model FLOPs per token under the source's convention (shared/validation/README.md), as MFU."""
    from accelplan.perf.costs import model_costs

    c = model_costs(m, run.model.seq_len)
    s, L, h, V = run.model.seq_len, m.layers, m.hidden, m.vocab
    if convention == "6N":
        f = 6.0 * c.params_active
    elif convention == "6N+attn":
        f = 6.0 * c.params_active + 12.0 * L * m.heads * m.d_head * s
    elif convention == "megatron-72":  # Korthikanti et al. 2022, per token (B*s factored out)
        f = 72.0 * L * h**2 * (1 + s / (6 * h) + V / (12 * L * h))
    else:  # megatron-96-hfu, Narayanan et al. 2021, per token; counts the recompute forward
        f = 96.0 * L * h**2 * (1 + s / (6 * h) + V / (16 * L * h))
    return f * tokens_per_s / (run.chips * peak_flops)


def validate_run(run: Run, cat: Catalog, calibration: object | None = None,
                 assumptions: Assumptions = DEFAULT) -> RunResult:
    from accelplan.plan.search import search

    chip = cat.chip(run.chip)
    res = RunResult(id=run.id, chip=chip.id, vendor=chip.vendor, chips=run.chips)
    system = cat.system(run.system) if run.system else cat.default_system(chip)
    m = run_model(run)
    p = run.plan
    precision = p.precision or "bf16"
    if p.precision is None:
        res.assumptions.append("precision: bf16 (not published)")
    gbs = p.global_batch
    if gbs is None:
        dp = p.dp or run.chips // max((p.tp or 1) * (p.pp or 1) * (p.cp or 1), 1)
        per_dp = max(1, -(-ASSUMED_TOKENS_PER_STEP // (dp * run.model.seq_len)))
        gbs = dp * per_dp
        res.assumptions.append(f"global_batch: {gbs} sequences (not published; ~4M tokens per step, as Llama 2 "
                               "and most open pretraining runs use)")
    w = Workload(model=m, tokens=1e12, seq_len=run.model.seq_len, global_batch=gbs, precision=precision)
    fixed = {"tp": p.tp, "pp": p.pp, "cp": p.cp, "ep": p.ep, "vpp": p.vpp, "micro_batch": p.micro_batch,
             "recompute": p.recompute, "zero": p.zero, "sequence_parallel": p.sequence_parallel, "dp": p.dp}
    for k, v in fixed.items():
        if v is None:
            res.assumptions.append(f"{k}: chosen by the planner (not published)")
    res.assumptions.extend(Fabric.assumptions(system, assumptions, calibration))
    found = search(w, system, chip, run.chips, fixed=fixed, assumptions=assumptions, calibration=calibration)
    if found.best is None:
        why = "; ".join(f"{n} {r}" for r, n in found.reasons.items()) or "no candidate"
        # report how the published plan fails (memory), the most useful diagnosis
        res.error = f"no feasible plan consistent with the published fields ({why})"
        res.published_plan_fits = False
        return res
    arr = found.arrays
    assert arr is not None
    i = found.best
    plan = arr.plans.plan(i)
    res.plan = plan.model_dump()
    res.published_plan_fits = True
    tps = float(arr.tokens_per_s[i])
    best_any = search(w, system, chip, run.chips, fixed={"sequence_parallel": None}, assumptions=assumptions,
                      calibration=calibration)
    if best_any.best is not None and best_any.arrays is not None:
        res.best_plan_tokens_per_s = float(best_any.arrays.tokens_per_s[best_any.best])
    if run.measured.tokens_per_s is not None:
        res.predicted_tokens_per_s = tps
        res.measured_tokens_per_s = run.measured.tokens_per_s
        res.error_pct = 100.0 * (tps - run.measured.tokens_per_s) / run.measured.tokens_per_s
    elif run.measured.mfu is not None:
        peak = (run.measured.mfu_peak_tflops * 1e12 if run.measured.mfu_peak_tflops
                else chip.peak_flops_per_s(precision) or chip.peak_flops_per_s("bf16") or 0.0)
        if not run.measured.mfu_peak_tflops:
            res.assumptions.append(f"MFU peak: catalog {precision} dense peak of {chip.id} ({peak / 1e12:g} TFLOP/s)")
        conv = run.measured.mfu_convention or "6N+attn"
        res.predicted_mfu = mfu_under_convention(conv, run, m, tps, peak)
        res.measured_mfu = run.measured.mfu
        res.error_pct = 100.0 * (res.predicted_mfu - run.measured.mfu) / run.measured.mfu
    else:
        res.error = "measured carries neither tokens_per_s nor mfu"
    return res


def validate(path: str | Path, calibration: object | None = None, assumptions: Assumptions = DEFAULT) -> dict[str, Any]:
    """Predict every run in `path`; JSON-ready: runs, mape_pct, per-vendor MAPE (DESIGN.md sec. 6)."""
    cat = load_catalog()
    results: list[RunResult] = []
    for run in load_runs(path):
        try:
            results.append(validate_run(run, cat, calibration, assumptions))
        except AccelplanError as exc:
            results.append(RunResult(id=run.id, chip=run.chip, vendor="?", chips=run.chips, error=str(exc)))
    errs = [abs(r.error_pct) for r in results if r.error_pct is not None]
    per_vendor: dict[str, list[float]] = {}
    for r in results:
        if r.error_pct is not None:
            per_vendor.setdefault(r.vendor, []).append(abs(r.error_pct))
    return {
        "file": str(path),
        "runs": [r.model_dump() for r in results],
        "mape_pct": sum(errs) / len(errs) if errs else None,
        "mape_by_vendor_pct": {v: sum(e) / len(e) for v, e in sorted(per_vendor.items())},
        "max_abs_error_pct": max(errs) if errs else None,
        "failed": [r.id for r in results if r.error_pct is None],
        "calibration": "default" if calibration is None else str(calibration),
    }
