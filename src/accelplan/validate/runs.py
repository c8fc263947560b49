"""Validation against published training runs (the interchange format of shared/validation/README.md).

Each run is predicted with the shipped defaults; nothing is tuned per run. Null plan fields are
filled the way the source's framework would have run: the fastest plan that fits memory among
those consistent with every published field (the authors tuned what they did not publish), and the
output lists each such assumption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from accelplan import paths, yamlio
from accelplan.catalog.loader import Catalog, load_catalog
from accelplan.catalog.refusal import explain, number_not_bool
from accelplan.catalog.schema import (
    Attention,
    Chip,
    Chips,
    FfnWidth,
    GlobalBatch,
    HeadDim,
    Heads,
    Layers,
    ModelSpec,
    MoE,
    PeakTflops,
    SeqLen,
    System,
    Vocab,
    Width,
    Workload,
)
from accelplan.catalog.stack import Stack
from accelplan.errors import AccelplanError, CatalogError
from accelplan.perf.assumptions import DEFAULT, Assumptions
from accelplan.perf.calibration import Calibration
from accelplan.perf.collectives import Fabric
from accelplan.perf.step import PlanArrays, evaluate

ASSUMED_TOKENS_PER_STEP = 4 * 1024 * 1024
# the largest published rate in the runs is 8.5M tokens/s (16,384 GPUs); a billion is a hundred times that
MAX_TOKENS_PER_S = 1e9


class _Entry(BaseModel):
    """A part of a run: unknown keys are kept out (sources add their own), numbers must be finite."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _number_not_bool(cls, v: Any, info: ValidationInfo) -> Any:
        return number_not_bool(cls, v, info)


class RunModel(_Entry):
    preset: str | None = None
    layers: Layers
    hidden: Width
    heads: Heads
    kv_heads: Heads | None = None
    head_dim: HeadDim | None = None
    ffn_hidden: FfnWidth
    gated_mlp: bool = False
    vocab: Vocab
    seq_len: SeqLen
    moe: MoE | None = None
    attention: Attention | None = None
    tied_embeddings: bool = False  # accelplan's addition (docs/runs-format.md): output layer = the word embedding
    # accelplan's addition: attention and MLP side by side on one norm (PaLM, GPT-J); null: the preset's, if the run
    # names a catalog model of the same shape, else false (a sequential block)
    parallel_block: bool | None = None


class RunPlan(_Entry):
    tp: Chips | None = None
    pp: Chips | None = None
    dp: Chips | None = None
    ep: Chips | None = None
    cp: Chips | None = None
    vpp: int | None = Field(default=None, ge=1, le=1_024)
    micro_batch: GlobalBatch | None = None
    global_batch: GlobalBatch | None = None
    recompute: Literal["none", "selective", "full"] | None = None
    zero: int | None = Field(default=None, ge=0, le=3)
    sequence_parallel: bool | None = None
    precision: Literal["bf16", "fp16", "fp8"] | None = None
    framework: str | None = None
    framework_version: str | None = None
    optimizer_dtype: Literal["fp32", "bf16"] | None = None  # Adam moments (docs/runs-format.md)
    offload_activations: bool | None = None
    offload_optimizer: bool | None = None


class Measured(_Entry):
    tokens_per_s: float | None = Field(default=None, gt=0, le=MAX_TOKENS_PER_S)
    mfu: float | None = Field(default=None, gt=0, le=1)  # a fraction: 0.38, not 38
    mfu_peak_tflops: PeakTflops | None = None
    mfu_convention: Literal["6N", "6N+attn", "megatron-72", "megatron-96-hfu"] | None = None
    reported: str | None = None


class Run(_Entry):
    id: str
    source: str = ""
    source_group: str | None = None  # the document family; leave-one-source-out holds it out whole
    chip: str
    chips: Chips
    system: str | None = None
    model: RunModel
    plan: RunPlan
    measured: Measured
    notes: str | None = None

    @property
    def group(self) -> str:
        """The run's source family: `source_group`, or its source text where a file gives none."""
        return self.source_group or self.source or self.id


class RunResult(BaseModel):
    id: str
    chip: str
    vendor: str
    chips: int
    framework: str | None = None  # as the run names it
    stack: str | None = None  # the stack it was predicted on (the framework's, or the default for its chip)
    source_group: str = ""
    predicted_tokens_per_s: float | None = None
    predicted_low_tokens_per_s: float | None = None  # the 80% range (cross-validated residuals)
    predicted_high_tokens_per_s: float | None = None
    measured_tokens_per_s: float | None = None
    predicted_mfu: float | None = None
    measured_mfu: float | None = None
    error_pct: float | None = None  # on tokens/s, or on MFU where the source gives only MFU
    loso_error_pct: float | None = None  # the same with every fitted constant refitted without this run's source
    in_range: bool | None = None
    plan: dict[str, Any] | None = None
    published_plan_fits: bool | None = None
    memory_gb: float | None = None
    capacity_gb: float | None = None
    memory_over_gb: float | None = None  # > 0 where the plan ran although the memory model says it does not fit
    best_plan_tokens_per_s: float | None = None
    assumptions: list[str] = Field(default_factory=list)
    error: str | None = None


E = TypeVar("E", bound=BaseModel)


def load_entries(path: str | Path, model: type[E], what: str = "runs file") -> list[E]:
    """The entries of a YAML list of runs, each validated as `model`; one-line CatalogError (file, entry id, field,
    allowed values) for the first bad one."""
    p = Path(path)
    if not p.exists():
        raise CatalogError(str(p), None, None, "file not found")
    text = paths.read_text(p, what)
    try:
        data = yamlio.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(str(p), None, None, yamlio.describe(exc)) from None
    if not isinstance(data, list):
        raise CatalogError(str(p), None, None, f"expected a YAML list of runs, got {type(data).__name__}")
    out = []
    for i, entry in enumerate(data):
        try:
            out.append(model.model_validate(entry))
        except ValidationError as err:
            loc, msg = explain(err, model)
            rid = entry.get("id", f"#{i}") if isinstance(entry, dict) else f"#{i}"
            raise CatalogError(str(p), str(rid)[:80], loc or None, _kind_hint(entry, model) or msg) from None
    return out


def _kind_hint(entry: object, model: type[BaseModel]) -> str | None:
    """A run of the other kind (one chip type vs a mixed cluster) fails on its first field; say which command reads it."""
    if not isinstance(entry, dict):
        return None
    if "devices" in entry and "chip" not in entry and "chip" in model.model_fields:
        return "lists `devices` (a mixed-cluster run): validate it with `accelplan validate --mixed FILE`"
    if "chip" in entry and "devices" not in entry and "devices" in model.model_fields:
        return "names one `chip`, not `devices` (a single-chip-type run): validate it without --mixed"
    return None


def load_runs(path: str | Path) -> list[Run]:
    """The runs of a runs file; one-line CatalogError (file, run, field, allowed values) for the first bad one."""
    return load_entries(path, Run)


def run_model(run: Run, cat: Catalog | None = None) -> ModelSpec:
    """The run's architecture. What the runs format cannot state (a parallel attention+MLP block) comes from the
    catalog model the run names as its preset, where that model has the run's shape."""
    return model_spec(run.model, run.id, parallel_block=_parallel_block(run.model, cat))


def _parallel_block(rm: RunModel, cat: Catalog | None) -> bool:
    if rm.parallel_block is not None:
        return rm.parallel_block
    preset = cat.models.get(rm.preset) if cat is not None and rm.preset else None
    same_shape = preset is not None and (preset.layers, preset.hidden, preset.heads) == (rm.layers, rm.hidden, rm.heads)
    return bool(same_shape and preset.parallel_block)  # type: ignore[union-attr]


def model_spec(rm: RunModel, run_id: str, **extra: Any) -> ModelSpec:
    """The architecture a run's `model` block describes (EXTRA: fields a format extension adds)."""
    extra.setdefault("parallel_block", bool(rm.parallel_block))
    return ModelSpec(id=rm.preset or run_id, name=f"{run_id} model", layers=rm.layers, hidden=rm.hidden,
                     heads=rm.heads, kv_heads=rm.kv_heads, head_dim=rm.head_dim, ffn_hidden=rm.ffn_hidden,
                     gated_mlp=rm.gated_mlp, vocab=rm.vocab, seq_len=rm.seq_len, moe=rm.moe, attention=rm.attention,
                     tied_embeddings=rm.tied_embeddings, **extra)


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


@dataclass
class Prepared:
    """A run made ready to predict: its workload, hardware and the plan the published fields resolve to."""

    run: Run
    result: RunResult
    workload: Workload | None = None
    chip: Chip | None = None
    system: System | None = None
    plans: PlanArrays | None = None  # the resolved plan, one row
    stack: Stack | None = None
    mfu_peak_flops_per_s: float = 0.0

    def predict(self, assumptions: Assumptions, calibration: Calibration | None = None) -> float | None:
        """Whole-job tokens/s of the resolved plan under `assumptions`; None where there is no plan."""
        if self.plans is None or self.workload is None or self.chip is None or self.system is None or self.stack is None:
            return None
        arr = evaluate(self.workload, self.system, self.chip, self.plans, assumptions, calibration, stack=self.stack)
        tps = float(arr.tokens_per_s[0])
        return tps if math.isfinite(tps) and tps > 0 else None

    def predict_at(self, sustained: list[float], assumptions: Assumptions,
                   calibration: Calibration | None = None) -> list[float | None]:
        """Tokens/s of the resolved plan at each in-step compute fraction, in one evaluation."""
        if self.plans is None or self.workload is None or self.chip is None or self.system is None or self.stack is None:
            return [None] * len(sustained)
        k = len(sustained)
        plans = self.plans.take(np.zeros(k, dtype=int))
        arr = evaluate(self.workload, self.system, self.chip, plans, assumptions, calibration, stack=self.stack,
                       sustained=np.asarray(sustained, dtype=float))
        return [float(t) if math.isfinite(t) and t > 0 else None for t in arr.tokens_per_s]

    def error_pct(self, tps: float | None) -> float | None:
        """Signed error of a predicted rate against the measurement, on tokens/s or on the source's MFU."""
        if tps is None:
            return None
        m = self.run.measured
        if m.tokens_per_s is not None:
            return 100.0 * (tps - m.tokens_per_s) / m.tokens_per_s
        if m.mfu is not None and self.workload is not None:
            conv = m.mfu_convention or "6N+attn"
            mfu = mfu_under_convention(conv, self.run, self.workload.model, tps, self.mfu_peak_flops_per_s)
            return 100.0 * (mfu - m.mfu) / m.mfu
        return None


def prepare_run(run: Run, cat: Catalog, calibration: Calibration | None = None, assumptions: Assumptions = DEFAULT,
                best_plan: bool = False) -> Prepared:
    """Resolve a run's plan (published fields pinned, the rest chosen as its framework would) and predict it."""
    from accelplan.plan.search import search

    chip = cat.chip(run.chip)
    res = RunResult(id=run.id, chip=chip.id, vendor=chip.vendor, chips=run.chips, framework=run.plan.framework,
                    source_group=run.group)
    prep = Prepared(run=run, result=res, chip=chip)
    system = cat.system(run.system) if run.system else cat.default_system(chip)
    prep.system = system
    m = run_model(run, cat)
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
    prep.workload = w
    stack, note = cat.resolve_stack(chip, p.framework, p.framework_version)
    stack = stack.model_copy(update={"as_published": True})  # what the run leaves unstated is the stack's default
    prep.stack = stack
    res.stack = stack.id
    res.assumptions.append(note)
    fixed: dict[str, Any] = {"tp": p.tp, "pp": p.pp, "cp": p.cp, "ep": p.ep, "vpp": p.vpp, "micro_batch": p.micro_batch,
             "recompute": p.recompute, "zero": p.zero, "sequence_parallel": p.sequence_parallel, "dp": p.dp}
    default_mb = _stack_micro_batch(stack, run, gbs)
    if default_mb is not None:
        fixed["micro_batch"], why = default_mb
        res.assumptions.append(f"micro_batch: {fixed['micro_batch']} (not published; {why})")
    # the virtual stages the stack builds when a job names none, one count per schedule kind
    stages = stack.plan_defaults.pipeline_virtual_stages if p.vpp is None and (p.pp or 0) > 1 else None
    if stages:
        res.assumptions.append(f"vpp: one of {stages} (not published; the virtual stages {stack.id} builds by "
                               "default, one per schedule kind), the faster")
    for k, v in fixed.items():
        if v is None and not (k == "vpp" and stages):
            res.assumptions.append(f"{k}: chosen by the planner (not published)")
    fixed.update({"optimizer_dtype": p.optimizer_dtype, "offload_activations": p.offload_activations,
                  "offload_optimizer": p.offload_optimizer})
    res.assumptions.extend(Fabric.assumptions(system, assumptions, calibration))
    if stages:  # which schedule ran is not published either: the faster
        tries = [search(w, system, chip, run.chips, fixed={**fixed, "vpp": v}, assumptions=assumptions,
                        calibration=calibration, require_fit=False, stack=stack) for v in stages]
        found = max(tries, key=lambda t: -1.0 if t.best is None or t.arrays is None
                    else float(t.arrays.tokens_per_s[t.best]))
    else:
        found = search(w, system, chip, run.chips, fixed=fixed, assumptions=assumptions, calibration=calibration,
                       require_fit=False, stack=stack)
    if found.best is None or found.arrays is None:
        why = "; ".join(f"{n} {r}" for r, n in found.reasons.items()) or "no candidate"
        res.error = f"no plan consistent with the published fields ({why})"
        return prep
    arr, i = found.arrays, found.best
    plan = arr.plans.plan(i)
    prep.plans = arr.plans.take(np.array([i]))
    res.plan = plan.model_dump()
    res.memory_gb = float(arr.memory_bytes[i]) / 1e9
    res.capacity_gb = arr.capacity_bytes / 1e9
    res.published_plan_fits = bool(arr.fits[i])
    res.memory_over_gb = max(0.0, res.memory_gb - res.capacity_gb)
    if not res.published_plan_fits:
        res.assumptions.append(f"memory: the published plan needs {res.memory_gb:.1f} GB per device in this model, "
                               f"{res.memory_over_gb:.1f} GB over the {res.capacity_gb:.1f} GB it has; it ran, so "
                               "its throughput is predicted anyway")
    if best_plan:
        best_any = search(w, system, chip, run.chips, fixed={"sequence_parallel": None}, assumptions=assumptions,
                          calibration=calibration, stack=stack)
        if best_any.best is not None and best_any.arrays is not None:
            res.best_plan_tokens_per_s = float(best_any.arrays.tokens_per_s[best_any.best])
    tps = float(arr.tokens_per_s[i])
    meas = run.measured
    if meas.tokens_per_s is not None:
        res.predicted_tokens_per_s = tps
        res.measured_tokens_per_s = meas.tokens_per_s
    elif meas.mfu is not None:
        peak = (meas.mfu_peak_tflops * 1e12 if meas.mfu_peak_tflops
                else chip.peak_flops_per_s(precision) or chip.peak_flops_per_s("bf16") or 0.0)
        if not meas.mfu_peak_tflops:
            res.assumptions.append(f"MFU peak: catalog {precision} dense peak of {chip.id} ({peak / 1e12:g} TFLOP/s)")
        prep.mfu_peak_flops_per_s = peak
        res.predicted_tokens_per_s = tps
        res.predicted_mfu = mfu_under_convention(meas.mfu_convention or "6N+attn", run, m, tps, peak)
        res.measured_mfu = meas.mfu
    else:
        res.error = "measured carries neither tokens_per_s nor mfu"
        return prep
    res.error_pct = prep.error_pct(tps)
    return prep


def _stack_micro_batch(stack: Stack, run: Run, global_batch: int) -> tuple[int, str] | None:
    """The micro-batch a published pipeline-parallel run ran with when it does not state one: its stack's documented
    default (`plan_defaults.pipeline_microbatches`), or None where the stack documents none or the run leaves the
    pipeline or data-parallel degree open (the planner then chooses, as for any unpublished field)."""
    p, rule = run.plan, stack.plan_defaults.pipeline_microbatches
    if rule is None or p.micro_batch is not None or p.pp is None or p.pp <= 1:
        return None
    dp = p.dp
    if dp is None and None not in (p.tp, p.cp):
        dp = run.chips // (p.tp * p.pp * p.cp)  # type: ignore[operator]
    if not dp:
        return None
    local = global_batch // dp
    name = f"{stack.id}{' ' + stack.version if stack.version else ''}"
    if rule == "size_1":
        return 1, f"{name} runs pipeline micro-batches of one sequence by default"
    if local % p.pp:
        return None
    return local // p.pp, (f"{name} splits the local batch of {local} into as many micro-batches as pipeline "
                           f"stages ({p.pp}) by default")


def validate_run(run: Run, cat: Catalog, calibration: Calibration | None = None,
                 assumptions: Assumptions = DEFAULT, best_plan: bool = False) -> RunResult:
    return prepare_run(run, cat, calibration, assumptions, best_plan).result


def _mape(errors: list[float]) -> float | None:
    return sum(abs(e) for e in errors) / len(errors) if errors else None


def _by(results: list[RunResult], key: str, field: str = "error_pct") -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for r in results:
        e = getattr(r, field)
        if e is not None:
            groups.setdefault(getattr(r, key) or "unknown", []).append(e)
    return {k: _mape(v) for k, v in sorted(groups.items())}  # type: ignore[misc]


def validate(path: str | Path, calibration: Calibration | None = None, assumptions: Assumptions = DEFAULT,
             best_plan: bool = False, catalog: Catalog | None = None) -> dict[str, Any]:
    """Predict every run in `path` with the shipped defaults (DESIGN.md sec. 6), JSON-ready.

    Besides each run's error: MAPE overall, by vendor and by framework; the signed bias; the share of published
    plans that fit the memory model; grouped leave-one-source-out MAPE (every fitted constant refitted without
    the run's source family, `validate.fit`); the 80% range of every run from the cross-validated residuals of
    other sources, and how many runs fall inside it. `best_plan` also searches every plan of each run (slow)."""
    from accelplan.validate.fit import cross_validate

    cat = catalog or load_catalog()
    preps: list[Prepared] = []
    for run in load_runs(path):
        try:
            preps.append(prepare_run(run, cat, calibration, assumptions, best_plan))
        except AccelplanError as exc:
            res = RunResult(id=run.id, chip=run.chip, vendor="?", chips=run.chips, framework=run.plan.framework,
                            source_group=run.group, error=str(exc))
            preps.append(Prepared(run=run, result=res))
    cv = cross_validate(preps, assumptions, calibration)
    results = [p.result for p in preps]
    errs = [r.error_pct for r in results if r.error_pct is not None]
    fitted = [r.published_plan_fits for r in results if r.published_plan_fits is not None]
    covered = [r.in_range for r in results if r.in_range is not None]
    return {
        "file": str(path),
        "runs": [r.model_dump() for r in results],
        "mape_pct": _mape(errs),
        "loso_mape_pct": cv.loso_mape_pct,
        "bias_pct": sum(errs) / len(errs) if errs else None,
        "fit_rate": sum(fitted) / len(fitted) if fitted else None,
        "interval_coverage": sum(covered) / len(covered) if covered else None,
        "mape_by_vendor_pct": _by(results, "vendor"),
        "mape_by_framework_pct": _by(results, "framework"),
        "bias_by_vendor_pct": {k: sum(v) / len(v) for k, v in _signed(results, "vendor").items()},
        "loso_mape_by_vendor_pct": _by(results, "vendor", "loso_error_pct"),
        "loso_mape_by_framework_pct": _by(results, "framework", "loso_error_pct"),
        "fitted_constants": cv.constants,
        "max_abs_error_pct": max((abs(e) for e in errs), default=None),
        "long_context": _long_context(preps),
        "failed": [r.id for r in results if r.error_pct is None],
        "calibration": "default" if calibration is None else str(calibration),
    }


LONG_CONTEXT_SEQ = 32768  # issue 14: a long-context run has sequences of 32K or more, or context parallelism


def _long_context(preps: list[Prepared]) -> dict[str, Any]:
    """The long-context runs on their own: where CP, attention at length and activation memory decide."""
    res = [p.result for p in preps if p.run.model.seq_len >= LONG_CONTEXT_SEQ or (p.run.plan.cp or 1) > 1]
    errs = [r.error_pct for r in res if r.error_pct is not None]
    loso = [r.loso_error_pct for r in res if r.loso_error_pct is not None]
    return {"definition": f"sequence >= {LONG_CONTEXT_SEQ:,} or cp > 1", "runs": len(res), "predicted": len(errs),
            "mape_pct": _mape(errs), "loso_mape_pct": _mape(loso),
            "bias_pct": sum(errs) / len(errs) if errs else None}


def _signed(results: list[RunResult], key: str) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = {}
    for r in results:
        if r.error_pct is not None:
            groups.setdefault(getattr(r, key) or "unknown", []).append(r.error_pct)
    return dict(sorted(groups.items()))
