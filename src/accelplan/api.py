"""Python API: the same questions as the CLI, answered as data (pydantic models), never as text."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from accelplan.catalog.loader import Catalog, load_catalog
from accelplan.catalog.schema import Chip, ModelSpec, Plan, System, Workload
from accelplan.catalog.stack import Stack
from accelplan.defaults import (
    DEFAULT_COMPARE_CHIPS,
    DEFAULT_DAYS,
    DEFAULT_GLOBAL_BATCH,
    DEFAULT_MODEL,
    DEFAULT_SEQ,
    DEFAULT_TOKENS,
)
from accelplan.errors import AccelplanError, PlanError
from accelplan.perf.assumptions import DEFAULT, Assumptions
from accelplan.perf.calibration import Calibration
from accelplan.perf.collectives import Fabric
from accelplan.perf.costs import ATTENTION_CONVENTION, model_costs
from accelplan.perf.kernels import Rates, modelling_gap, stack_on
from accelplan.perf.step import MEMORY_TERMS, TIME_TERMS, PlanArrays, StepArrays, evaluate
from accelplan.plan import sizing
from accelplan.plan.search import SearchResult, search
from accelplan.plan.sizing import SECONDS_PER_DAY, check_plan, check_system, cluster_sizes
from accelplan.request import CompareRequest

if TYPE_CHECKING:
    from accelplan.economics import Economics, EconomicsOptions

    EconomicsRecord = Economics
else:  # a row takes its economics as given: the class loads the price and rule tables' models, which estimates skip
    EconomicsRecord = Any


class Estimate(BaseModel):
    chip: str
    system: str
    chips: int
    plan: Plan
    step_time_s: float
    time_breakdown_s: dict[str, float]
    memory_breakdown_gb: dict[str, float]
    memory_gb: float
    capacity_gb: float
    fits: bool
    tokens_per_s: float
    tokens_per_s_low: float | None = None  # the 80% range (cross-validated residuals of the vendor and stack)
    tokens_per_s_high: float | None = None
    range_basis: str = ""
    mfu: float
    hfu: float
    micro_batches: int
    days: float | None = None
    chip_hours: float | None = None
    efficiency_basis: str = ""
    attention_basis: str = ""
    stack: str = ""  # the training stack and release the estimate assumes, and why
    assumptions: list[str] = Field(default_factory=list)  # figures the catalog lacks and the model assumed
    conventions: str = ATTENTION_CONVENTION


class CompareRow(BaseModel):
    chip: str
    name: str
    vendor: str
    status: str
    system: str
    chips: int | None
    days: float | None
    tokens_per_s: float | None
    mfu: float | None
    chip_hours: float | None
    plan: Plan | None
    note: str = ""
    estimate: Estimate | None = None
    economics: EconomicsRecord | None = None  # cost, energy, goodput, availability
    estimate_command: str = ""  # the `accelplan estimate` line that reproduces this row's plan and throughput
    # a programme of several phases: each phase's plan and days (accelplan.phases.PhaseEstimate); plan, estimate and
    # estimate_command above are then those of the phase with the most compute days, and days/tokens_per_s/mfu totals
    phases: list[Any] = Field(default_factory=list)
    phase_change_note: str = ""  # what a change of plan between phases costs, and how it is counted
    phase_change_s: float | None = None  # each change of plan between phases, seconds


def estimate_command(w: Workload, chip: str, system: System, plan: Plan, stack_id: str | None,
                     stack_version: str | None) -> str:
    """The `accelplan estimate` command line that evaluates PLAN on this workload, chip, system and stack."""
    parts = ["accelplan estimate", f"-c {chip}", f"-n {plan.chips}", f"-m {w.model.id}", f"--tokens {w.tokens:g}",
             f"--seq-len {w.seq_len}", f"--global-batch {w.global_batch}", f"--precision {w.precision}",
             f"--system {system.id}", f"--tp {plan.tp}", f"--pp {plan.pp}", f"--cp {plan.cp}",
             *([f"--cp-algo {plan.cp_algo}"] if plan.cp > 1 and plan.cp_algo else []), f"--ep {plan.ep}",
             f"--vpp {plan.vpp}", f"--micro-batch {plan.micro_batch}", f"--recompute {plan.recompute}",
             f"--zero {plan.zero}", "--sp" if plan.sequence_parallel else "--no-sp"]
    if plan.recompute_layers:
        parts.append(f"--recompute-layers {plan.recompute_layers}")
    if plan.optimizer_dtype:
        parts.append(f"--optimizer-dtype {plan.optimizer_dtype}")
    if plan.offload_activations:
        parts.append("--offload-activations")
    if plan.offload_optimizer:
        parts.append("--offload-optimizer")
    if stack_id:
        parts.append(f"--framework {stack_id}")
    if stack_version:
        parts.append(f"--framework-version {stack_version}")
    return " ".join(parts)


class Comparison(BaseModel):
    model: str
    model_illustrative: bool
    tokens: float  # all phases
    seq_len: int  # the first phase's
    global_batch: int  # the first phase's
    precision: str
    workload: str | None = None  # the programme's id (a preset, a workload file, or "phases" from --phase)
    phases: list[dict[str, Any]] = Field(default_factory=list)  # name, tokens, seq_len, global_batch, precision
    phase_change_note: str = ""
    mode: str  # "deadline" or "chips"
    days: float | None
    chips: int | None
    rows: list[CompareRow]
    conventions: str = ATTENTION_CONVENTION
    notes: list[str] = Field(default_factory=list)
    region: str | None = None
    dropped: list[str] = Field(default_factory=list)  # chips left out with --available-only, with the reason
    disclaimer: str = ""


def economics_of(workload: Workload, chip: Chip, system: System, e: Estimate,
                 options: EconomicsOptions | None = None) -> Economics:
    """Cost, energy, goodput and availability of finishing `workload` at estimate `e` (accelplan.economics)."""
    from accelplan.economics import assess

    state = model_costs(workload.model, workload.seq_len).params_total * DEFAULT.checkpoint_bytes_per_param
    return assess(chip, system, e.chips, e.days or 0.0, state_bytes=state, mfu=e.mfu, options=options)


def resolve_stack(chip: Chip, framework: str | Stack | None = None, version: str | None = None,
                  catalog: Catalog | None = None) -> tuple[Stack, str]:
    """The training stack a request runs on, at the release it names, and a note saying which and why: a named stack
    (checked to run on the chip), or, with none named, the catalog's default for the chip's runtime."""
    if isinstance(framework, Stack):
        return framework, f"stack: {framework.id} {framework.version or ''}".rstrip()
    return (catalog or load_catalog()).resolve_stack(chip, framework, version)


def chips_for_deadline(workload: Workload, chip: Chip, system: System, days: float,
                       options: EconomicsOptions | None = None, assumptions: Assumptions = DEFAULT,
                       calibration: Calibration | None = None,
                       stack: Stack | None = None) -> tuple[Estimate, Economics] | None:
    """Fewest chips that finish within `days` of elapsed time, after failures, restarts and checkpoints
    (accelplan.plan.sizing.chips_for_deadline), each size on its best plan. Returns the estimate and its economics,
    or None when no size on the ladder makes it."""
    return sizing.chips_for_deadline(system, workload.tokens, days,
                                     _best_at(workload, chip, system, assumptions, calibration, stack),
                                     lambda e: economics_of(workload, chip, system, e, options))


def check_price_keys(options: EconomicsOptions | None, catalog: Catalog | None = None) -> None:
    """A price or power override for a chip the catalog does not know is a typo, not a no-op."""
    if options is None:
        return
    cat = catalog or load_catalog()
    for key in (*options.prices, *options.purchase_usd, *options.board_power_w):
        cat.chip(key)  # raises UnknownIdError with a did-you-mean


def make_workload(model: ModelSpec | str, tokens: float = DEFAULT_TOKENS, seq_len: int | None = None,
                  global_batch: int = DEFAULT_GLOBAL_BATCH, precision: str = "bf16",
                  catalog: Catalog | None = None) -> Workload:
    cat = catalog or load_catalog()
    m = cat.model(model) if isinstance(model, str) else model
    seq = seq_len if seq_len is not None else min(m.seq_len, DEFAULT_SEQ)
    return Workload(model=m, tokens=tokens, seq_len=seq, global_batch=global_batch,
                    precision=precision)  # type: ignore[arg-type]


def estimate_from(arr: StepArrays, i: int, chip: Chip, system: System, workload: Workload,
                   calibration: Calibration | None = None, assumptions: Assumptions = DEFAULT, stack: Stack | None = None,
                   stack_note: str = "") -> Estimate:
    """Plan `i` of evaluated arrays as an Estimate; `assumptions`, `calibration` and `stack` must be those it was
    evaluated with."""
    tps = float(arr.tokens_per_s[i])
    n = int(arr.chips[i])
    st = stack if stack is not None else resolve_stack(chip)[0]
    st, attention_note = stack_on(st, chip, workload.model)
    stack_note = "; ".join(x for x in (stack_note, attention_note) if x)
    rates = Rates.of(chip, workload.precision, assumptions, calibration, st.kernels.attention)
    from accelplan.validate.fit import estimate_range

    rng = estimate_range(chip.vendor, st.id)
    days = workload.tokens / tps / SECONDS_PER_DAY if tps > 0 else None
    return Estimate(
        chip=chip.id, system=system.id, chips=n, plan=arr.plans.plan(i), step_time_s=float(arr.step_time_s[i]),
        time_breakdown_s={k: float(arr.time[k][i]) for k in TIME_TERMS},
        memory_breakdown_gb={k: float(arr.memory[k][i]) / 1e9 for k in MEMORY_TERMS},
        memory_gb=float(arr.memory_bytes[i]) / 1e9, capacity_gb=arr.capacity_bytes / 1e9, fits=bool(arr.fits[i]),
        tokens_per_s=tps, tokens_per_s_low=tps * rng[0] if rng else None,
        tokens_per_s_high=tps * rng[1] if rng else None, range_basis=rng[2] if rng else "",
        mfu=float(arr.mfu[i]), hfu=float(arr.hfu[i]), micro_batches=int(arr.micro_batches[i]),
        days=days, chip_hours=None if days is None else days * 24 * n,
        efficiency_basis=rates.basis, attention_basis=rates.attention_basis, stack=stack_note,
        assumptions=Fabric.assumptions(system, assumptions, calibration),
    )


def estimate(workload: Workload, chip: Chip | str, plan: Plan, system: System | str | None = None,
             assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None,
             framework: str | Stack | None = None, framework_version: str | None = None,
             catalog: Catalog | None = None) -> Estimate:
    """One plan, one system, one training stack (`framework`; None = the default for the chip, stated in the
    estimate). A plan that does not fit raises PlanError saying by how much. `catalog`: where ids are looked up
    (default: the built-in catalog plus $ACCELPLAN_CATALOG)."""
    cat = catalog or load_catalog()
    c = cat.chip(chip) if isinstance(chip, str) else chip
    s = (cat.system(system) if isinstance(system, str) else system) if system else cat.default_system(c)
    check_system(c, s)
    gap = modelling_gap(c, workload.precision)
    if gap:
        raise PlanError(gap)
    st, note = resolve_stack(c, framework, framework_version, cat)
    check_plan(workload, s, plan, stack=st)
    if plan.cp > 1 and plan.cp_algo is None:  # say which algorithm was assumed: the stack's default
        plan = plan.model_copy(update={"cp_algo": st.context_parallel.algorithms[0]})
    arr = evaluate(workload, s, c, PlanArrays.from_plans([plan]), assumptions, calibration, stack=st)
    est = estimate_from(arr, 0, c, s, workload, calibration, assumptions, st, note)
    if not est.fits:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in est.memory_breakdown_gb.items() if v > 0.05)
        raise PlanError(f"plan does not fit: needs {est.memory_gb:.1f} GB per device, {c.id} has "
                        f"{est.capacity_gb:.1f} GB ({est.memory_gb - est.capacity_gb:.1f} GB over; {parts}); shard or "
                        "recompute more (tp, pp, zero, recompute), or let `accelplan plan` search the plans that fit")
    if not math.isfinite(est.step_time_s):
        raise PlanError(f"plan needs a network level that system '{s.id}' does not have (a group spans beyond "
                        f"its {s.domain_chips}-chip scale-up domain and no scale-out bandwidth is known)")
    return est


def search_plans(workload: Workload, chip: Chip | str, chips: int, system: System | str | None = None,
                 assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None,
                 fixed: dict[str, Any] | None = None, framework: str | Stack | None = None,
                 framework_version: str | None = None, catalog: Catalog | None = None) -> SearchResult:
    cat = catalog or load_catalog()
    c = cat.chip(chip) if isinstance(chip, str) else chip
    s = (cat.system(system) if isinstance(system, str) else system) if system else cat.default_system(c)
    check_system(c, s)
    gap = modelling_gap(c, workload.precision)
    if gap:
        raise PlanError(gap)
    st, _ = resolve_stack(c, framework, framework_version, cat)
    return search(workload, s, c, chips, fixed=fixed, assumptions=assumptions, calibration=calibration, stack=st)


def best_estimate(workload: Workload, chip: Chip, system: System, chips: int, assumptions: Assumptions = DEFAULT,
                  calibration: Calibration | None = None, stack: Stack | None = None) -> Estimate | None:
    st, note = resolve_stack(chip, stack)
    res = search(workload, system, chip, chips, assumptions=assumptions, calibration=calibration, stack=st,
                 best_only=True)
    if res.best is None or res.arrays is None:
        return None
    return estimate_from(res.arrays, res.best, chip, system, workload, calibration, assumptions, st, note)


def _best_at(workload: Workload, chip: Chip, system: System, assumptions: Assumptions,
             calibration: Calibration | None, stack: Stack | None) -> sizing.BestAt[Estimate]:
    """The best plan at a cluster size, for the sizing walks."""
    return lambda n: best_estimate(workload, chip, system, n, assumptions, calibration, stack)


def chips_needed(workload: Workload, chip: Chip, system: System, days: float, max_chips: int = sizing.MAX_CHIPS,
                 assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None,
                 memo: dict[int, Estimate | None] | None = None, stack: Stack | None = None) -> Estimate | None:
    """Fewest chips on the cluster-size ladder whose best plan trains the workload within `days` of failure-free
    compute (accelplan.plan.sizing.chips_needed). `memo`: best plan per size, shared by a caller asking twice."""
    return sizing.chips_needed(system, workload.tokens, days,
                               _best_at(workload, chip, system, assumptions, calibration, stack), max_chips, memo)


def _empty_row(c: Chip, s: System, note: str) -> CompareRow:
    """A chip the comparison could not place, with the reason."""
    return CompareRow(chip=c.id, name=c.name, vendor=c.vendor, status=c.status, system=s.id, chips=None, days=None,
                      tokens_per_s=None, mfu=None, chip_hours=None, plan=None, note=note)


def compare(chips: list[str] | CompareRequest | None = None, *, model: ModelSpec | str | None = None,
            tokens: float | None = None, days: float | None = None, n_chips: int | None = None,
            seq_len: int | None = None, global_batch: int | None = None, precision: str | None = None,
            assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None, region: str | None = None,
            economics: EconomicsOptions | None = None, available_only: bool = False, framework: str | None = None,
            framework_version: str | None = None, catalog: Catalog | None = None,
            workload: Any = None) -> Comparison:
    """Several chips on one workload: `compare(CompareRequest(...))`, or the request's fields as keywords
    (accelplan.request.CompareRequest says what each means and its default). `days` is ignored with `n_chips`."""
    if isinstance(chips, CompareRequest):
        return compare_request(chips, catalog)
    req = CompareRequest(chips=list(chips or DEFAULT_COMPARE_CHIPS), model=model, tokens=tokens,
                         days=None if n_chips else days, n_chips=n_chips, seq_len=seq_len, global_batch=global_batch,
                         precision=precision, assumptions=assumptions, calibration=calibration, region=region,
                         economics=economics, available_only=available_only, framework=framework,
                         framework_version=framework_version, workload=workload)  # type: ignore[arg-type]
    return compare_request(req, catalog)


def compare_request(req: CompareRequest, catalog: Catalog | None = None) -> Comparison:
    """Several chips on one workload: chips needed to finish within the request's deadline, or time on `n_chips`.

    Every row carries its economics (cost, energy, goodput, availability in `region`). In deadline mode the deadline
    is met in elapsed days, after failures and checkpoints, not only in failure-free compute days. `available_only`
    drops chips that the rules for `region` prohibit. `catalog`: where ids are looked up (default: the built-in
    catalog plus $ACCELPLAN_CATALOG).
    """
    from accelplan.economics import availability, load_tables, resolve_region
    from accelplan.phases import request_workloads

    cat = catalog or load_catalog()
    spec, ws, names = request_workloads(req, cat)
    w = ws[0]
    programme = len(ws) > 1
    opts = req.economics_options()
    check_price_keys(opts, cat)
    tables = load_tables()
    n_chips, days = req.n_chips, req.deadline_days
    assumptions, calibration = req.assumptions, req.calibration_profile()
    framework, framework_version = req.framework, req.framework_version
    chips_cat = [cat.chip(cid) for cid in req.chips]  # unknown ids fail here, before any search
    if opts.region is not None:
        resolve_region(opts.region, tables)  # an unknown region fails here, naming the allowed ones
    dropped: list[str] = []
    if req.available_only and opts.region is not None:
        keep = []
        for c in chips_cat:
            av = availability(c.id, opts.region, tables)
            if av.status == "prohibited":
                dropped.append(f"{c.id}: prohibited in {av.region} ({av.rule}; as of {av.as_of})")
            else:
                keep.append(c)
        chips_cat = keep

    def row(c: Chip) -> CompareRow:
        s = cat.default_system(c)
        try:
            st, _ = resolve_stack(c, framework, framework_version, cat)
        except AccelplanError as exc:
            return _empty_row(c, s, str(exc))
        gap = modelling_gap(c, w.precision)
        if gap:
            return _empty_row(c, s, gap)
        note = "" if c.status == "shipping" else f"{c.status}: figures are not measured products"
        if any("unknown" in x for x in Fabric.assumptions(s, assumptions, calibration)):
            note = "; ".join(x for x in (note, "network bandwidth assumed (not in the catalog)") if x)
        if programme:
            return _programme_row(ws, names, c, s, st, note, n_chips, days, opts, assumptions, calibration)
        try:
            econ = None
            if n_chips:
                e = best_estimate(w, c, s, n_chips, assumptions, calibration, st)
            else:
                found = chips_for_deadline(w, c, s, float(days or DEFAULT_DAYS), opts, assumptions, calibration, st)
                e, econ = found if found else (None, None)
        except PlanError as exc:
            return _empty_row(c, s, str(exc))
        if e is None:
            why = "no plan fits" if n_chips else "no cluster size on the ladder meets the deadline"
            return _empty_row(c, s, "; ".join(x for x in (note, why) if x))
        return CompareRow(chip=c.id, name=c.name, vendor=c.vendor, status=c.status, system=s.id, chips=e.chips,
                          days=e.days, tokens_per_s=e.tokens_per_s, mfu=e.mfu, chip_hours=e.chip_hours, plan=e.plan,
                          note=note, estimate=e, economics=econ or economics_of(w, c, s, e, opts),
                          estimate_command=estimate_command(w, c.id, s, e.plan, st.id, st.version))

    # chips are independent and numpy releases the GIL inside the big array operations
    with ThreadPoolExecutor(max_workers=max(1, min(len(chips_cat), os.cpu_count() or 1, 4))) as pool:
        rows = list(pool.map(row, chips_cat))
    notes = []
    if spec is not None and spec.illustrative:
        notes.append(f"workload {spec.id} is illustrative: {spec.illustrative_note}")
    if w.model.illustrative:
        notes.append(f"{w.model.id} is illustrative: {w.model.illustrative_note}")
    secs = [r.phase_change_s for r in rows if r.phase_change_s]
    change = ""
    if secs:
        lo, hi = min(secs) / 60, max(secs) / 60
        span = f"{lo:.0f} min" if round(lo) == round(hi) else f"{lo:.0f}-{hi:.0f} min"
        change = (f"{len(ws) - 1} phase change{'s' if len(ws) > 2 else ''} of {span} each (write the checkpoint, "
                  "restart, read it back resharded for the next plan; per chip in rows[].phase_change_note), counted "
                  "in the compute days")
    return Comparison(model=w.model.id, model_illustrative=w.model.illustrative, tokens=sum(x.tokens for x in ws),
                      seq_len=w.seq_len, global_batch=w.global_batch, precision=w.precision, mode=req.mode,
                      days=days, chips=n_chips, rows=rows, notes=notes, region=opts.region,
                      dropped=dropped, workload=spec.id if spec is not None else None,
                      phases=[{"name": n, "tokens": x.tokens, "seq_len": x.seq_len, "global_batch": x.global_batch,
                               "precision": x.precision} for n, x in zip(names, ws, strict=True)],
                      phase_change_note=change,
                      disclaimer=tables.availability.disclaimer.replace("{as_of}", tables.availability.as_of))


def _programme_row(ws: list[Workload], names: list[str], c: Chip, s: System, st: Stack, note: str,
                   n_chips: int | None, days: float | None, opts: EconomicsOptions, assumptions: Assumptions,
                   calibration: Calibration | None) -> CompareRow:
    """A compare row for a programme of several phases: one cluster, each phase on its own best plan."""
    from accelplan.phases import program_at, program_for_deadline

    try:
        if n_chips:
            res = program_at(ws, names, c, s, n_chips, opts, assumptions, calibration, st)
        else:
            res = program_for_deadline(ws, names, c, s, float(days or DEFAULT_DAYS), opts, assumptions, calibration,
                                       st)
    except PlanError as exc:
        return _empty_row(c, s, str(exc))
    if res is None:
        why = ("some phase has no plan that fits" if n_chips
               else "no cluster size on the ladder runs every phase within the deadline")
        return _empty_row(c, s, "; ".join(x for x in (note, why) if x))
    dom = res.phases[res.dominant]
    return CompareRow(chip=c.id, name=c.name, vendor=c.vendor, status=c.status, system=s.id, chips=res.chips,
                      days=res.compute_days, tokens_per_s=res.tokens_per_s, mfu=res.mfu,
                      chip_hours=res.compute_days * 24 * res.chips, plan=dom.estimate.plan, note=note,
                      estimate=dom.estimate, economics=res.economics, estimate_command=dom.estimate_command,
                      phases=res.phases, phase_change_note=res.transition_note,
                      phase_change_s=res.transition_s if res.transitions else None)


def equivalent(workload: Workload, chip_x: str, n_x: int, chip_y: str, assumptions: Assumptions = DEFAULT,
               calibration: Calibration | None = None, framework_x: str | None = None,
               framework_y: str | None = None, catalog: Catalog | None = None) -> dict[str, Any]:
    """How many chips of Y match N chips of X on this workload (best plans on both sides), each on its training
    stack (None = the default for its runtime)."""
    cat = catalog or load_catalog()
    cx, cy = cat.chip(chip_x), cat.chip(chip_y)
    sx, sy = cat.default_system(cx), cat.default_system(cy)
    stx, _ = resolve_stack(cx, framework_x, None, cat)
    sty, _ = resolve_stack(cy, framework_y, None, cat)
    ex = best_estimate(workload, cx, sx, n_x, assumptions, calibration, stx)
    if ex is None:
        raise PlanError(f"no plan of {workload.model.id} fits on {n_x} x {cx.id}")
    ey, exact = sizing.matching_chips(sy, ex.tokens_per_s, _best_at(workload, cy, sy, assumptions, calibration, sty))
    return {"x": ex.model_dump(), "y": None if exact is None else exact.model_dump(),
            "y_ladder": None if ey is None else ey.model_dump(),
            "chips_exact": None if exact is None else exact.chips, "chips_ladder": None if ey is None else ey.chips,
            "ratio": None if exact is None else exact.chips / n_x,
            "note": "Y's count is the fewest whole nodes whose best plan is at least as fast as X's best plan, found "
                    "by narrowing between the planner's ladder sizes (whole nodes x 2^k or 3 x 2^k); throughput is not "
                    "monotone in chips (the batch must divide evenly), so a count between the scanned ones may also "
                    "match"}


__all__ = ["Estimate", "Comparison", "CompareRow", "CompareRequest", "compare", "compare_request", "estimate",
           "estimate_from", "estimate_command", "search_plans", "equivalent", "chips_needed", "chips_for_deadline",
           "economics_of", "make_workload", "check_plan", "check_system", "resolve_stack", "best_estimate",
           "cluster_sizes",
           # the request's defaults (accelplan.request), where callers found them before
           "DEFAULT_COMPARE_CHIPS", "DEFAULT_DAYS", "DEFAULT_GLOBAL_BATCH", "DEFAULT_MODEL", "DEFAULT_SEQ",
           "DEFAULT_TOKENS"]
