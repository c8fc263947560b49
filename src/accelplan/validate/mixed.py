"""Validation on measured mixed-cluster runs (`accelplan validate --mixed`; format in docs/runs-format.md).

A mixed run lists its devices in rank order and gives its plan stage by stage. Every rank gets a chip type from that
order (DeepSpeed's pipe/data/model rank order: rank = stage x dp x tp + replica x tp + tensor rank), so a stage's
data-parallel replicas may sit on different types, as in AMP's trials. The prediction composes the same pieces as the
mixed planner (`accelplan.plan.mixed`): per-layer times of each chip type on its stack (`perf.step.stage_rates`), a
1F1B pipeline per replica (sum of stage cycles + (micro - 1) x the slowest), blocking sends between stages on the
link the two ranks share (the node's scale-up fabric, or the slower scale-out of the two nodes), then each stage's
gradient all-reduce over its replicas (on the slowest fabric among them) and the optimizer step. Memory is checked
for every rank's stage on its chip.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from accelplan.catalog.loader import Catalog
from accelplan.catalog.schema import Chip, System, Workload
from accelplan.catalog.stack import Stack
from accelplan.errors import PlanError
from accelplan.perf.assumptions import DEFAULT, Assumptions
from accelplan.perf.collectives import Fabric, all_reduce_s, send_recv_s
from accelplan.perf.costs import model_costs
from accelplan.perf.memory import stage_memory_bytes
from accelplan.perf.plans import RECOMPUTE_CODE, PlanArrays
from accelplan.perf.step import StageRates, stage_rates
from accelplan.plan.mixed import cross_link
from accelplan.validate.runs import RunModel, load_entries, model_spec

SHIPPED = Path(__file__).parent / "data" / "mixed_runs.yaml"


REDUCE_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0}


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class MixedDevice(_Entry):
    chip: str
    count: int = Field(ge=1, le=1_048_576)
    system: str | None = None  # None: the chip's default system


class MixedStage(_Entry):
    layers: int = Field(ge=0, le=1_024)
    embedding: bool = False
    logits: bool = False


class MixedModel(RunModel):
    linear_bias: Literal["none", "qkv", "all"] = "none"


class MixedPlan(_Entry):
    tp: int = Field(ge=1, le=1_024)
    pp: int = Field(ge=1, le=1_024)
    dp: int = Field(ge=1, le=1_048_576)
    micro_batch: int = Field(ge=1, le=65_536)
    global_batch: int = Field(ge=1, le=16_777_216)
    precision: Literal["bf16", "fp16", "fp8"] = "bf16"
    recompute: Literal["none", "selective", "full"] = "none"
    zero: int = Field(default=0, ge=0, le=1)
    # the gradients' dtype in the data-parallel all-reduce where the job sets one (DeepSpeed "fp32_allreduce": fp32);
    # None: the stack's gradient bytes
    grad_reduce_dtype: Literal["fp32", "bf16", "fp16"] | None = None
    framework: str | None = None
    framework_version: str | None = None
    placement: Literal["pipe_data_model"] = "pipe_data_model"
    stages: list[MixedStage]


class MixedMeasured(_Entry):
    iteration_time_s: float | None = Field(default=None, gt=0)
    tokens_per_s: float | None = Field(default=None, gt=0)
    status: Literal["ok", "failed"] = "ok"
    reported: str | None = None


class MixedRun(_Entry):
    id: str
    source: str = ""
    source_group: str | None = None
    devices: list[MixedDevice] = Field(min_length=1)
    model: MixedModel
    plan: MixedPlan
    measured: MixedMeasured
    baseline_predicted_s: float | None = Field(default=None, gt=0)  # another planner's prediction, for comparison
    notes: str | None = None


class MixedRunResult(BaseModel):
    id: str
    devices: str
    plan: str
    status: str  # measured: ok or failed
    predicted_s: float | None = None
    measured_s: float | None = None
    error_pct: float | None = None  # on iteration time
    baseline_error_pct: float | None = None
    fits: bool | None = None  # every rank's stage within its chip's memory
    worst_memory: str = ""  # the rank type and stage closest to (or over) its capacity
    error: str | None = None


class MixedValidation(BaseModel):
    file: str
    runs: list[MixedRunResult]
    mape_pct: float | None
    baseline_mape_pct: float | None  # the source planner's own predictions, on the same runs
    spearman: float | None  # predicted vs measured time, runs that ran
    baseline_spearman: float | None
    failed_predicted_not_to_fit: int
    failed: int
    ran_predicted_not_to_fit: int


def load_mixed_runs(path: str | Path) -> list[MixedRun]:
    return load_entries(path, MixedRun, "mixed runs file")


class _Type:
    """One chip type of a run: its system, stack, fabric and per-layer rates."""

    def __init__(self, chip: Chip, system: System, stack: Stack, rates: StageRates, a: Assumptions) -> None:
        self.chip, self.system, self.stack, self.rates = chip, system, stack, rates
        self.fab = Fabric.of(system, a)


def predict_mixed_run(run: MixedRun, cat: Catalog, assumptions: Assumptions = DEFAULT) -> MixedRunResult:
    """The run's iteration time and memory fit, or an error naming what the model cannot place."""
    p = run.plan
    devices = " + ".join(f"{d.count} x {d.chip}" for d in run.devices)
    label = f"tp{p.tp} pp{p.pp} dp{p.dp} mb{p.micro_batch}"
    res = MixedRunResult(id=run.id, devices=devices, plan=label, status=run.measured.status,
                         measured_s=run.measured.iteration_time_s)
    try:
        predicted, fits, worst = _predict(run, cat, assumptions)
    except PlanError as exc:
        res.error = str(exc)
        return res
    res.predicted_s, res.fits, res.worst_memory = predicted, fits, worst
    if res.measured_s:
        res.error_pct = (predicted / res.measured_s - 1.0) * 100.0
        if run.baseline_predicted_s:
            res.baseline_error_pct = (run.baseline_predicted_s / res.measured_s - 1.0) * 100.0
    return res


def _predict(run: MixedRun, cat: Catalog, a: Assumptions) -> tuple[float, bool, str]:
    p = run.plan
    if p.tp * p.pp * p.dp != sum(d.count for d in run.devices):
        raise PlanError(f"tp x pp x dp = {p.tp * p.pp * p.dp}, but the devices number {sum(d.count for d in run.devices)}")
    if len(p.stages) != p.pp:
        raise PlanError(f"plan.stages lists {len(p.stages)} stages, pp is {p.pp}")
    m = model_spec(run.model, run.id, linear_bias=run.model.linear_bias)
    if sum(s.layers for s in p.stages) != m.layers:
        raise PlanError(f"plan.stages hold {sum(s.layers for s in p.stages)} layers, the model has {m.layers}")
    w = Workload(model=m, tokens=1e9, seq_len=m.seq_len, global_batch=p.global_batch, precision=p.precision)
    if p.global_batch % (p.dp * p.micro_batch):
        raise PlanError(f"global_batch {p.global_batch} is not a multiple of dp x micro_batch = {p.dp * p.micro_batch}")
    micro = p.global_batch // (p.dp * p.micro_batch)
    costs = model_costs(m, m.seq_len)
    one = np.ones(1, dtype=int)
    plans = PlanArrays(tp=one * p.tp, pp=one, dp=one, ep=one, cp=one, vpp=one, mb=one * p.micro_batch,
                       recompute=one * RECOMPUTE_CODE[p.recompute], zero=one * p.zero, sp=one * 0 > 0)
    types: list[_Type] = []
    rank_type: list[int] = []
    rank_node: list[tuple[int, int]] = []
    for i, d in enumerate(run.devices):
        c = cat.chip(d.chip)
        system = cat.system(d.system) if d.system else cat.default_system(c)
        st, _ = cat.resolve_stack(c, p.framework, p.framework_version)
        types.append(_Type(c, system, st, stage_rates(w, system, c, plans, st, a, None, costs), a))
        for j in range(d.count):
            rank_type.append(i)
            rank_node.append((i, j // max(system.chips_per_node, 1)))

    def rank(stage: int, replica: int) -> int:
        return stage * p.dp * p.tp + replica * p.tp

    for stg in range(p.pp):
        for rep in range(p.dp):
            r = rank(stg, rep)
            if len({rank_type[r + t] for t in range(p.tp)}) > 1:
                raise PlanError(f"stage {stg} replica {rep}: its tensor-parallel group spans two chip types")
    send_bytes = float(types[0].rates.send_bytes[0])
    step = 0.0
    for rep in range(p.dp):
        cycle, fill = [], 0.0
        links = [_link_s(types, rank_type, rank_node, rank(s, rep), rank(s + 1, rep), send_bytes)
                 for s in range(p.pp - 1)]
        for s, stage in enumerate(p.stages):
            ty = types[rank_type[rank(s, rep)]]
            t = stage.layers * float(ty.rates.layer_s[0]) + (float(ty.rates.head_s[0]) if stage.logits else 0.0)
            around = (links[s - 1] if s > 0 else 0.0) + (links[s] if s < p.pp - 1 else 0.0)
            cycle.append(t + around)
            fill += t
        fill += sum(links)
        step = max(step, fill + (micro - 1) * max(cycle))
    # the tied word embedding's gradient all-reduced between the stages holding its two copies, then each stage's
    # gradient all-reduce over its replicas, then the optimizer step; the slowest stage ends the step
    tied = _tied_reduce_s(run, types, rank_type, rank_node, rank, costs.params_embedding)
    tail = 0.0
    per_layer = costs.params_dense_layer
    worst, fits, worst_share = "", True, 0.0
    for s, stage in enumerate(p.stages):
        params = (stage.layers * per_layer + costs.params_embedding * stage.embedding
                  + (costs.params_logits or costs.params_embedding) * stage.logits) / p.tp
        members = [rank_type[rank(s, rep)] for rep in range(p.dp)]
        slow = min((types[i] for i in set(members)), key=lambda ty: ty.fab.out_bytes_per_s or math.inf)
        nodes = {rank_node[rank(s, rep)] for rep in range(p.dp)}
        fab = slow.fab if len(nodes) > 1 else types[members[0]].fab
        grad = REDUCE_BYTES[p.grad_reduce_dtype] if p.grad_reduce_dtype else slow.stack.memory.grad_bytes
        sync = float(all_reduce_s(fab, np.array([params * grad]), np.array([float(p.dp)]),
                                  np.array([float(p.tp)]))[0]) if p.dp > 1 else 0.0
        sync += tied if s in (0, p.pp - 1) else 0.0
        opt = max(a.optimizer_traffic_bytes_per_param * params / float(types[i].rates.hbm_bytes_per_s)
                  for i in set(members))
        tail = max(tail, sync + opt)
        in_flight = np.array([float(min(micro, p.pp - s))])
        for i in set(members):
            ty = types[i]
            mem = float(stage_memory_bytes(w, ty.chip, plans, a, costs, ty.stack, np.array([float(stage.layers)]),
                                           in_flight, embedding=stage.embedding, logits=stage.logits)[0])
            cap = ty.chip.hbm_bytes or math.inf
            share = mem / cap
            if share > worst_share:
                worst_share, worst = share, f"stage {s} on {ty.chip.id}: {mem / 1e9:.1f} of {cap / 1e9:.0f} GB"
            fits &= mem <= cap
    return step + tail, fits, worst


def _tied_reduce_s(run: MixedRun, types: list[_Type], rank_type: list[int], rank_node: list[tuple[int, int]],
                   rank: Callable[[int, int], int], params_embedding: float) -> float:
    """The all-reduce of a tied word embedding's gradient between its copies on the first and the last pipeline
    stage, one two-rank group per replica and tensor-parallel rank, all at once (Megatron-LM
    `_allreduce_word_embedding_grads` over its embedding group; DeepSpeed's pipeline engine `ReduceTiedGrads`,
    executed before `ReduceGrads`), in the gradients' own dtype (DeepSpeed all-reduces `weight.grad`; its
    `fp32_allreduce` applies to the data-parallel reduction only). A two-rank ring all-reduce moves the whole buffer
    each way. Pairs on different nodes share their nodes' scale-out links; 0 when the embedding is untied or one
    stage holds both copies."""
    p = run.plan
    if not run.model.tied_embeddings or p.pp < 2 or not (p.stages[0].embedding and p.stages[-1].logits):
        return 0.0
    pairs = [(rank(0, rep) + t, rank(p.pp - 1, rep) + t) for rep in range(p.dp) for t in range(p.tp)]
    crossing: dict[tuple[int, int], int] = {}
    for a, b in pairs:
        if rank_node[a] != rank_node[b]:
            for r in (a, b):
                crossing[rank_node[r]] = crossing.get(rank_node[r], 0) + 1
    worst = 0.0
    for a, b in pairs:
        ta, tb = types[rank_type[a]], types[rank_type[b]]
        nbytes = params_embedding / p.tp * ta.stack.memory.grad_bytes
        if rank_node[a] == rank_node[b]:
            t = float(all_reduce_s(ta.fab, np.array([nbytes]), np.array([2.0]), np.array([1.0]))[0])
        else:
            # each node's scale-out links (per-chip rate x chips per node) split over the pairs leaving it
            bw = min(ty.fab.out_bytes_per_s * ty.system.chips_per_node / crossing[rank_node[r]]
                     for ty, r in ((ta, a), (tb, b)))
            t = nbytes / bw + 2.0 * max(ta.fab.out_alpha_s, tb.fab.out_alpha_s) if bw else math.inf
        worst = max(worst, t)
    return worst


def _link_s(types: list[_Type], rank_type: list[int], rank_node: list[tuple[int, int]], a: int, b: int,
            nbytes: float) -> float:
    """A blocking send of `nbytes` forward and its gradient back between ranks a and b (per micro-batch)."""
    ta, tb = types[rank_type[a]], types[rank_type[b]]
    if rank_node[a] == rank_node[b]:
        return 2.0 * float(send_recv_s(ta.fab, np.array([nbytes]), np.array([1.0]))[0])
    bw, alpha = cross_link(ta.fab, tb.fab)
    return 2.0 * (nbytes / bw + alpha) if bw else math.inf


def _spearman(x: list[float], y: list[float]) -> float | None:
    if len(x) < 3:
        return None
    rx = np.argsort(np.argsort(x)).astype(float)
    ry = np.argsort(np.argsort(y)).astype(float)
    return float(np.corrcoef(rx, ry)[0, 1])


def validate_mixed(path: str | Path | None, cat: Catalog, assumptions: Assumptions = DEFAULT) -> MixedValidation:
    """Predict every run of a mixed-runs file (the shipped AMP set by default) and score the model and the source
    planner's own predictions on the same runs."""
    runs = load_mixed_runs(path or SHIPPED)
    results = [predict_mixed_run(r, cat, assumptions) for r in runs]
    ran = [(r, x) for r, x in zip(runs, results, strict=True) if x.error_pct is not None]
    errs = [abs(x.error_pct) for _, x in ran if x.error_pct is not None]
    base = [abs(x.baseline_error_pct) for _, x in ran if x.baseline_error_pct is not None]
    with_base = [(r, x) for r, x in ran if r.baseline_predicted_s]
    failed = [x for x in results if x.status == "failed"]
    return MixedValidation(
        file=str(path or SHIPPED), runs=results,
        mape_pct=float(np.mean(errs)) if errs else None,
        baseline_mape_pct=float(np.mean(base)) if base else None,
        spearman=_spearman([x.predicted_s or 0.0 for _, x in ran], [x.measured_s or 0.0 for _, x in ran]),
        baseline_spearman=_spearman([r.baseline_predicted_s or 0.0 for r, _ in with_base],
                                    [x.measured_s or 0.0 for _, x in with_base]),
        failed_predicted_not_to_fit=sum(1 for x in failed if x.fits is False),
        failed=len(failed),
        ran_predicted_not_to_fit=sum(1 for _, x in ran if x.fits is False),
    )
