"""Training programmes: a workload as phases (pre-training, then context extension up to 512K), each phase on its
own best plan on one cluster, with the totals a buyer needs (elapsed days after goodput, cost, energy, tCO2e) and
the stated cost of changing plans between phases."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from accelplan.api import (
    SECONDS_PER_DAY,
    best_estimate,
    chips_needed,
    cluster_sizes,
    economics_of,
    estimate_command,
    make_workload,
)
from accelplan.catalog.loader import Catalog, load_catalog
from accelplan.catalog.schema import MAX_PHASES, Chip, ModelSpec, Phase, Plan, System, Workload, WorkloadSpec
from accelplan.catalog.stack import Stack
from accelplan.errors import AccelplanError, PlanError
from accelplan.perf.assumptions import DEFAULT, Assumptions
from accelplan.perf.calibration import Calibration

if TYPE_CHECKING:
    from accelplan.economics import EconomicsOptions
from accelplan.request import (
    DEFAULT_GLOBAL_BATCH,
    DEFAULT_MODEL,
    DEFAULT_TOKENS,
    DEFAULT_WORKLOAD,
    CompareRequest,
)

PHASE_SYNTAX = "TOKENS@SEQ[:BATCH][/PRECISION], e.g. 19.5T@4096, 400B@32768:512 (sequences), 80B@131072:16M " \
               "(tokens per step), 20B@512K/fp8"

_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_PHASE = re.compile(r"^\s*(?P<tokens>[0-9.eE+]+[kKmMbBgGtT]?)\s*@\s*(?P<seq>[0-9]+[kK]?)"
                    r"(?:\s*:\s*(?P<batch>[0-9.eE+]+[kKmM]?))?(?:\s*/\s*(?P<prec>[a-z0-9]+))?\s*$")


def _number(text: str, what: str, spec: str) -> float:
    unit = text[-1].lower() if text[-1].isalpha() else ""
    try:
        v = float(text[:-1] if unit else text) * _SCALE[unit]
    except (ValueError, KeyError):
        raise AccelplanError(f"--phase '{spec}': {what} '{text}' is not a number; {PHASE_SYNTAX}") from None
    if not math.isfinite(v) or v <= 0:
        raise AccelplanError(f"--phase '{spec}': {what} must be a positive number, got '{text}'; {PHASE_SYNTAX}")
    return v


def parse_phase(spec: str) -> Phase:
    """One `--phase` value. Sequence lengths count K as 1024 (512K = 524,288); token counts are decimal (19.5T)."""
    m = _PHASE.match(spec)
    if not m:
        raise AccelplanError(f"--phase '{spec}' is not {PHASE_SYNTAX}")
    tokens = _number(m["tokens"], "tokens", spec)
    seq_text = m["seq"]
    seq = int(seq_text[:-1]) * 1024 if seq_text[-1] in "kK" else int(seq_text)
    fields: dict[str, Any] = {"tokens": tokens, "seq_len": seq}
    if m["batch"]:
        b = m["batch"]
        if b[-1].isalpha() or "." in b or "e" in b.lower():
            fields["batch_tokens"] = _number(b, "batch (tokens per step)", spec)
        else:
            fields["global_batch"] = int(b)
    if m["prec"]:
        fields["precision"] = m["prec"]
    try:
        return Phase(**fields)
    except ValidationError as err:
        e = err.errors()[0]
        where = ".".join(str(x) for x in e["loc"])
        raise AccelplanError(f"--phase '{spec}': {where}: {e['msg']}; {PHASE_SYNTAX}") from None


def workload_from_phases(model: str, specs: list[str], precision: str = "bf16") -> WorkloadSpec:
    if len(specs) > MAX_PHASES:
        raise AccelplanError(f"--phase: at most {MAX_PHASES} phases, got {len(specs)}")
    return WorkloadSpec(id="phases", model=model, precision=precision,  # type: ignore[arg-type]
                        phases=[parse_phase(s) for s in specs])


def phase_workloads(spec: WorkloadSpec, model: ModelSpec, first_batch: int) -> list[Workload]:
    """Each phase as a Workload. The first phase's batch: its own, else `first_batch` sequences; a later phase
    without a batch keeps the first phase's tokens per step (whole sequences, at least one)."""
    out: list[Workload] = []
    step_tokens = 0
    for i, p in enumerate(spec.phases):
        if p.global_batch is not None:
            gbs = p.global_batch
        elif p.batch_tokens is not None:
            gbs = max(1, round(p.batch_tokens / p.seq_len))
        elif i == 0:
            gbs = first_batch
        else:
            gbs = max(1, round(step_tokens / p.seq_len))
        if i == 0:
            step_tokens = gbs * p.seq_len
        try:
            out.append(Workload(model=model, tokens=p.tokens, seq_len=p.seq_len, global_batch=gbs,
                                precision=p.precision or spec.precision))
        except ValidationError as err:
            e = err.errors()[0]
            raise AccelplanError(f"{p.label(i)}: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}") from None
    return out


class PhaseEstimate(BaseModel):
    """One phase of a programme on the programme's cluster: its best plan and its share of the time."""

    name: str
    tokens: float
    seq_len: int
    global_batch: int
    precision: str
    estimate: Any = None  # accelplan.api.Estimate; None where no plan fits at this size
    compute_days: float | None = None  # failure-free
    days: float | None = None  # elapsed: compute days / the programme's goodput
    estimate_command: str = ""


class ProgramResult(BaseModel):
    """A programme on one cluster: every phase, the phase changes, and the totals."""

    chips: int
    phases: list[PhaseEstimate]
    transitions: int  # phase changes (a plan change means a restart from a resharded checkpoint)
    transition_s: float  # each: write the checkpoint, restart, load it resharded
    compute_days: float  # phases + phase changes, failure-free
    tokens_per_s: float  # all tokens / all phase seconds
    mfu: float  # time-weighted over the phases
    economics: Any = None
    dominant: int = 0  # the phase with the most compute days
    transition_note: str = ""


def phase_change_s(econ: Any) -> float:
    """A phase change: the last checkpoint is written, the job restarts on the new plan and reads it back,
    resharded (distributed checkpoints reshard on load); reading is taken at the write rate."""
    return 2.0 * float(econ.checkpoint_write_s) + 60.0 * float(econ.restart_min)


def program_at(ws: list[Workload], names: list[str], chip: Chip, system: System, chips: int,
               options: EconomicsOptions | None = None,
               assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None, stack: Stack | None = None,
               memos: list[dict[int, Any]] | None = None) -> ProgramResult | None:
    """Every phase on `chips` chips, each on its best plan; None where some phase has no plan that fits."""
    memos = memos if memos is not None else [{} for _ in ws]
    ests = []
    for w, memo in zip(ws, memos, strict=True):
        if chips not in memo:
            memo[chips] = best_estimate(w, chip, system, chips, assumptions, calibration, stack)
        ests.append(memo[chips])
    if any(e is None or not e.tokens_per_s > 0 for e in ests):
        return None
    return programme_of(ws, names, chip, system, chips, ests, options, stack)


def program_with_plan(ws: list[Workload], names: list[str], chip: Chip, system: System, plan: Plan,
                      options: Any = None, assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None,
                      framework: str | Stack | None = None, framework_version: str | None = None,
                      catalog: Catalog | None = None) -> ProgramResult:
    """Every phase on one given plan (accelplan.api.estimate); a phase the plan cannot run, or does not fit, raises
    PlanError naming the phase."""
    from accelplan.api import estimate, resolve_stack

    st, _ = resolve_stack(chip, framework, framework_version, catalog)
    ests = []
    for n, w in zip(names, ws, strict=True):
        try:
            ests.append(estimate(w, chip, plan, system, assumptions=assumptions, calibration=calibration, framework=st,
                                 catalog=catalog))
        except PlanError as exc:
            raise PlanError(f"{n} (seq {w.seq_len:,}, batch {w.global_batch:,}) on this plan: {exc}") from None
    return programme_of(ws, names, chip, system, plan.chips, ests, options, st)


def programme_of(ws: list[Workload], names: list[str], chip: Chip, system: System, chips: int, ests: list[Any],
                 options: Any = None, stack: Stack | None = None) -> ProgramResult:
    """The programme's totals from each phase's estimate on `chips` chips: compute days (phases + phase changes),
    the goodput of the whole programme (from its dominant phase's economics), elapsed days per phase."""
    days = [w.tokens / e.tokens_per_s / SECONDS_PER_DAY for w, e in zip(ws, ests, strict=True)]
    dom = max(range(len(ws)), key=lambda i: days[i])
    first = economics_of(ws[dom], chip, system, ests[dom], options)
    trans = len(ws) - 1
    t_s = phase_change_s(first) if trans else 0.0
    compute = sum(days) + trans * t_s / SECONDS_PER_DAY
    econ = economics_of(ws[dom], chip, system, ests[dom].model_copy(update={"days": compute}), options)
    goodput = (econ.goodput_pct or 100.0) / 100.0
    seconds = [d * SECONDS_PER_DAY for d in days]
    phases = [PhaseEstimate(name=n, tokens=w.tokens, seq_len=w.seq_len, global_batch=w.global_batch,
                            precision=w.precision, estimate=e, compute_days=d, days=d / goodput if goodput > 0 else None,
                            estimate_command=estimate_command(w, chip.id, system, e.plan, stack.id if stack else None,
                                                              stack.version if stack else None))
              for n, w, e, d in zip(names, ws, ests, days, strict=True)]
    note = ""
    if trans:
        note = (f"{trans} phase change{'s' if trans > 1 else ''} of {t_s / 60:.0f} min each: write the checkpoint "
                f"({first.checkpoint_write_s / 60:.1f} min), restart ({first.restart_min:.0f} min), read it back "
                "resharded for the next plan (at the write rate); counted in the compute days")
    return ProgramResult(chips=chips, phases=phases, transitions=trans, transition_s=t_s, compute_days=compute,
                         tokens_per_s=sum(w.tokens for w in ws) / sum(seconds),
                         mfu=sum(e.mfu * s for e, s in zip(ests, seconds, strict=True)) / sum(seconds),
                         economics=econ, dominant=dom, transition_note=note)


def program_for_deadline(ws: list[Workload], names: list[str], chip: Chip, system: System, days: float,
                         options: EconomicsOptions | None = None, assumptions: Assumptions = DEFAULT,
                         calibration: Calibration | None = None,
                         stack: Stack | None = None, max_chips: int = 262144) -> ProgramResult | None:
    """Fewest chips on the cluster-size ladder whose programme finishes within `days` elapsed (after goodput and
    the phase changes). Starts where the phase with the most tokens alone would meet the deadline and walks up."""
    memos: list[dict[int, Any]] = [{} for _ in ws]
    dom = max(range(len(ws)), key=lambda i: ws[i].tokens)
    lower = chips_needed(ws[dom], chip, system, days, max_chips=max_chips, assumptions=assumptions,
                         calibration=calibration, memo=memos[dom], stack=stack)
    if lower is None:
        return None
    ladder = cluster_sizes(system, system.chips_per_node, max_chips)
    for n in ladder[ladder.index(lower.chips):]:  # chips_needed answers a size on this same ladder
        res = program_at(ws, names, chip, system, n, options, assumptions, calibration, stack, memos)
        if res is None:
            continue
        elapsed = res.economics.effective_days
        if elapsed is not None and elapsed <= days:
            return res
    return None


class ProgrammeEquivalence(BaseModel):
    """How many chips of Y match N chips of X on a whole programme: Y's programme days (each phase on its best plan,
    phase changes included, failure-free) at most X's."""

    x: ProgramResult
    y: ProgramResult | None  # None: no size up to the ladder's top matches X
    chips_exact: int | None  # the fewest whole nodes of Y found to match
    chips_ladder: int | None  # the planner's ladder size (whole nodes x 2^k or 3 x 2^k) that matched first
    ratio: float | None  # chips_exact / N
    note: str


NARROW_POINTS = 12  # programme evaluations per narrowing round in `programme_equivalent`


def programme_equivalent(ws: list[Workload], names: list[str], chip_x: Chip, n_x: int, chip_y: Chip,
                         options: Any = None, assumptions: Assumptions = DEFAULT, calibration: Calibration | None = None,
                         stack_x: Stack | None = None, stack_y: Stack | None = None, catalog: Catalog | None = None,
                         max_chips: int = 262144) -> ProgrammeEquivalence:
    """Chips of Y whose programme takes at most the compute days of X's programme on `n_x` chips.

    Starts where Y's phase with the most tokens alone would take X's programme days (chips_needed), walks up the
    cluster-size ladder to the first size whose whole programme makes it, then narrows between that size and the
    ladder size below in whole nodes (throughput is not monotone in chips, so a count between those scanned may also
    match)."""
    cat = catalog or load_catalog()
    sx, sy = cat.default_system(chip_x), cat.default_system(chip_y)
    x = program_at(ws, names, chip_x, sx, n_x, options, assumptions, calibration, stack_x)
    if x is None:
        raise PlanError(f"some phase of the programme has no plan that fits on {n_x} x {chip_x.id}")
    memos: list[dict[int, Any]] = [{} for _ in ws]

    def at(n: int) -> ProgramResult | None:
        return program_at(ws, names, chip_y, sy, n, options, assumptions, calibration, stack_y, memos)

    dom = max(range(len(ws)), key=lambda i: ws[i].tokens)
    lower = chips_needed(ws[dom], chip_y, sy, x.compute_days, max_chips=max_chips, assumptions=assumptions,
                         calibration=calibration, memo=memos[dom], stack=stack_y)
    ladder = cluster_sizes(sy, sy.chips_per_node, max_chips)
    start = ladder.index(lower.chips) if lower is not None else len(ladder)
    found, below = None, ladder[start - 1] if start > 0 else 0
    for n in ladder[start:]:
        r = at(n)
        if r is not None and r.compute_days <= x.compute_days:
            found = r
            break
        below = n
    note = ("Y's count is the fewest whole nodes found whose programme (each phase on its best plan, phase changes "
            "included, failure-free) takes at most X's programme days, narrowing between the planner's ladder sizes; "
            "throughput is not monotone in chips, so a count between the scanned ones may also match")
    if found is None:
        return ProgrammeEquivalence(x=x, y=None, chips_exact=None, chips_ladder=None, ratio=None, note=note)
    ladder_chips = found.chips
    node = sy.chips_per_node
    lo_n, hi_n = below // node, found.chips // node
    while hi_n - lo_n > 1:
        step = max(1, -(-(hi_n - lo_n) // NARROW_POINTS))
        for k in range(lo_n + step, hi_n, step):
            r = at(k * node)
            if r is not None and r.compute_days <= x.compute_days:
                found, hi_n = r, k
                break
            lo_n = k
    return ProgrammeEquivalence(x=x, y=found, chips_exact=found.chips, chips_ladder=ladder_chips,
                                ratio=found.chips / n_x, note=note)


def resolve_workload(workload: WorkloadSpec | str, catalog: Catalog | None = None) -> WorkloadSpec:
    cat = catalog or load_catalog()
    return cat.workload(workload) if isinstance(workload, str) else workload


def request_workloads(req: CompareRequest, catalog: Catalog | None = None
                      ) -> tuple[WorkloadSpec | None, list[Workload], list[str]]:
    """The request's workload as (its programme or None for one phase, each phase's Workload, the phases' names);
    the request's precision replaces the programme's (validated like any field)."""
    cat = catalog or load_catalog()
    programme = req.programme
    if programme is None:
        w = make_workload(req.model if req.model is not None else DEFAULT_MODEL,
                          req.tokens if req.tokens is not None else DEFAULT_TOKENS, req.seq_len,
                          req.global_batch if req.global_batch is not None else DEFAULT_GLOBAL_BATCH,
                          req.precision or "bf16", cat)
        return None, [w], ["phase 1"]
    spec = resolve_workload(programme, cat)
    if req.precision is not None:
        spec = type(spec).model_validate({**spec.model_dump(), "precision": req.precision})
    ws = phase_workloads(spec, cat.model(spec.model), DEFAULT_GLOBAL_BATCH)
    return spec, ws, [p.label(i) for i, p in enumerate(spec.phases)]


__all__ = ["PHASE_SYNTAX", "DEFAULT_WORKLOAD", "parse_phase", "workload_from_phases", "phase_workloads",
           "PhaseEstimate", "ProgramResult", "ProgrammeEquivalence", "program_at", "program_with_plan",
           "programme_of", "programme_equivalent", "program_for_deadline", "resolve_workload", "request_workloads",
           "phase_change_s",
           "PlanError"]
