"""Evaluate one scenario into one result row: the single place a sweep turns a scenario into figures,
the performance ones and the economics (cost, energy, goodput, availability in the scenario's region).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import accelplan
from accelplan.api import best_estimate, chips_for_deadline, economics_of, resolve_stack, search_plans
from accelplan.catalog.loader import load_catalog
from accelplan.errors import CatalogError, PlanError
from accelplan.perf.costs import model_costs
from accelplan.perf.step import MEMORY_TERMS, TIME_TERMS
from accelplan.phases import request_workloads
from accelplan.request import CompareRequest
from accelplan.sweep.grid import Scenario

MAX_CHIPS = 262144  # chips_needed's default ceiling, named in the note of a deadline that cannot be met
PLAN_FIELDS = ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "recompute", "zero", "sequence_parallel")

# Every column a row has, in output order, with its Parquet type. A row may carry more columns (they are
# stored with an inferred type); these are typed explicitly so an all-null column keeps its type.
COLUMNS: dict[str, str] = {
    "scenario_id": "string",
    # the scenario (seq_len is the context actually used)
    "model": "string", "chip": "string", "cluster_size": "int64", "deadline_days": "float64", "tokens": "float64",
    "seq_len": "int64", "global_batch": "int64", "precision": "string", "region": "string", "price": "float64",
    "framework": "string", "stack": "string",
    # context
    "mode": "string", "system": "string", "vendor": "string", "chip_status": "string",
    "params_total": "float64", "params_active": "float64",
    # the best plan and its headline figures (null when infeasible)
    "feasible": "bool", "chips": "int64", "step_time_s": "float64", "tokens_per_s": "float64",
    "tokens_per_s_low": "float64", "tokens_per_s_high": "float64", "mfu": "float64",
    "hfu": "float64", "days": "float64", "chip_hours": "float64", "memory_gb": "float64", "capacity_gb": "float64",
    "micro_batches": "int64",
    "tp": "int64", "pp": "int64", "dp": "int64", "cp": "int64", "ep": "int64", "vpp": "int64", "micro_batch": "int64",
    "recompute": "string", "zero": "int64", "sequence_parallel": "bool",
    **{f"time_{k}_s": "float64" for k in TIME_TERMS},
    **{f"memory_{k}_gb": "float64" for k in MEMORY_TERMS},
    # economics (accelplan.economics): elapsed time after failures and checkpoints, cost, energy, availability
    "effective_days": "float64", "goodput_pct": "float64", "expected_interruptions": "float64",
    "cost_usd": "float64", "cost_usd_low": "float64", "cost_usd_high": "float64", "owned_cost_usd": "float64",
    "energy_mwh": "float64", "tco2e": "float64", "availability": "string", "availability_as_of": "string",
    "note": "string",
    # a programme (a workload or phases): its preset or file, its phases, and each phase's days and plan (JSON); the
    # columns above are then the programme's totals, and the plan columns its dominant phase's (the most days)
    "workload": "string", "phases": "string", "phase_days": "string",
    # a mixed cluster (accelplan.plan.mixed): the mix, the faster way to mix it (pipeline blocks or data shares),
    # mixed tokens/s over the sum of its parts run alone, the gain over its fastest part alone, the verdict, and the
    # best plan's blocks or batch shares (JSON)
    "mix": "string", "mix_mode": "string", "mix_efficiency": "float64", "mix_gain_over_best_part": "float64",
    "mix_verdict": "string", "mix_blocks": "string",
    "accelplan_version": "string",
    "model_fingerprint": "string",
}
MODEL_CODE = ("api.py", "perf", "plan", "economics")  # the package parts that decide a row's figures


@functools.lru_cache(maxsize=1)
def model_fingerprint() -> str:
    """12 hex digits of SHA-256 over the modelling code and the catalog as loaded (user entries included).

    Rows computed by other code or data (an upgrade, a cluster node with another install, an edited
    catalog) carry another fingerprint, so a resumed sweep can tell them apart. Once per process.
    """
    root = Path(accelplan.__file__).parent
    h = hashlib.sha256()
    for part in MODEL_CODE:
        p = root / part
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.suffix in (".py", ".yaml") and f.is_file():
                h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    cat = load_catalog()
    for entries in (cat.chips, cat.systems, cat.models):
        for key in sorted(entries):
            h.update(entries[key].model_dump_json().encode())
    return h.hexdigest()[:12]


def _new_row(scenario: Scenario, costs: Any, **fields: Any) -> dict[str, Any]:
    """A row with every column: the scenario's values, its id, the model's size, the code that computed it, and
    `fields`; the figures are filled in by the caller."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(scenario.values())
    row.update(scenario_id=scenario.id, params_total=costs.params_total, params_active=costs.params_active,
               accelplan_version=accelplan.__version__, model_fingerprint=model_fingerprint(), **fields)
    return row


def _why_no_plan(workload: Any, chip: Any, system: Any, n: int, stack: Any) -> str:
    res = search_plans(workload, chip, n, system, framework=stack)
    why = ", ".join(f"{reason} ({count:,} plans)" for reason, count in sorted(res.reasons.items(), key=lambda r: -r[1]))
    return f"no feasible plan on {n} chips" + (f": {why}" if why else "")


def run_scenario(scenario: Scenario) -> dict[str, Any]:
    """Best plan for the scenario (fixed cluster size) or the fewest chips that meet its deadline.

    Bad combinations (a plan the frameworks cannot run, no plan that fits) give a row with
    feasible=False and the reason in `note`; anything else is a bug and propagates.
    """
    if scenario.mix:
        return _run_mixed(scenario)
    cat = load_catalog()
    request = scenario.request()
    if request.programme is not None:
        return _run_programme(scenario, request)
    chip = cat.chip(scenario.chip)
    system = cat.default_system(chip)
    workload = request_workloads(request, cat)[1][0]
    model = workload.model
    costs = model_costs(model, workload.seq_len)
    row = _new_row(scenario, costs, seq_len=workload.seq_len, system=system.id, vendor=chip.vendor,
                   chip_status=chip.status, mode="chips" if scenario.cluster_size else "deadline")
    notes = [] if chip.status == "shipping" else [f"{chip.status}: figures are not measured products"]
    econ_options = request.economics_options()
    e = None
    try:
        stack, stack_note = resolve_stack(chip, scenario.framework, None, cat)
        row["stack"] = stack_note
        if scenario.cluster_size:
            est = best_estimate(workload, chip, system, scenario.cluster_size, stack=stack)
            if est is None:
                notes.append(_why_no_plan(workload, chip, system, scenario.cluster_size, stack))
        else:
            found = chips_for_deadline(workload, chip, system, float(scenario.deadline_days or 0), econ_options,
                                       stack=stack)
            est, e = found if found else (None, None)
            if est is None:
                notes.append(f"no cluster size up to {MAX_CHIPS:,} chips finishes in {scenario.deadline_days:g} days")
    except (PlanError, CatalogError) as exc:  # a plan the stack cannot run, a stack the chip does not run
        est = None
        notes.append(str(exc))
    row["feasible"] = est is not None
    row["note"] = "; ".join(notes)
    if est is None:
        return row
    row.update(chips=est.chips, tokens_per_s=est.tokens_per_s, tokens_per_s_low=est.tokens_per_s_low,
               tokens_per_s_high=est.tokens_per_s_high, mfu=est.mfu, days=est.days, chip_hours=est.chip_hours)
    _estimate_row(row, est)
    _economics_row(row, e or economics_of(workload, chip, system, est, econ_options))
    return row


def _economics_row(row: dict[str, Any], e: Any) -> None:
    cloud = e.cloud_cost_usd
    row.update(effective_days=e.effective_days, goodput_pct=e.goodput_pct, expected_interruptions=e.expected_interruptions,
               cost_usd=cloud.typical if cloud else None, cost_usd_low=cloud.low if cloud else None,
               cost_usd_high=cloud.high if cloud else None,
               owned_cost_usd=e.owned_cost_usd.typical if e.owned_cost_usd else None, energy_mwh=e.energy_mwh,
               tco2e=e.tco2e, availability=e.availability.status if e.availability else None,
               availability_as_of=e.availability_as_of)


def _estimate_row(row: dict[str, Any], est: Any) -> None:
    """The plan, time and memory columns of one estimate."""
    row.update({f: getattr(est.plan, f) for f in PLAN_FIELDS})
    row.update({f"time_{k}_s": v for k, v in est.time_breakdown_s.items()})
    row.update({f"memory_{k}_gb": v for k, v in est.memory_breakdown_gb.items()})
    row.update(step_time_s=est.step_time_s, memory_gb=est.memory_gb, capacity_gb=est.capacity_gb,
               micro_batches=est.micro_batches, hfu=est.hfu)


def _run_programme(scenario: Scenario, request: CompareRequest) -> dict[str, Any]:
    """A programme on the scenario's chip: every phase on its best plan at the cluster size, or the fewest chips that
    run the whole programme within the deadline (accelplan.phases)."""
    from accelplan.phases import program_at, program_for_deadline

    cat = load_catalog()
    chip = cat.chip(scenario.chip)
    system = cat.default_system(chip)
    spec, ws, names = request_workloads(request, cat)
    model = ws[0].model
    costs = model_costs(model, ws[0].seq_len)
    row = _new_row(scenario, costs, model=model.id, tokens=sum(w.tokens for w in ws), seq_len=ws[0].seq_len,
                   global_batch=ws[0].global_batch, system=system.id, vendor=chip.vendor, chip_status=chip.status,
                   mode="chips" if scenario.cluster_size else "deadline")
    notes = [] if chip.status == "shipping" else [f"{chip.status}: figures are not measured products"]
    econ = request.economics_options()
    res = None
    try:
        stack, row["stack"] = resolve_stack(chip, scenario.framework, None, cat)
        if scenario.cluster_size:
            res = program_at(ws, names, chip, system, scenario.cluster_size, econ, stack=stack)
            if res is None:
                notes.append(f"some phase has no feasible plan on {scenario.cluster_size} chips")
        else:
            res = program_for_deadline(ws, names, chip, system, float(scenario.deadline_days or 0), econ,
                                       stack=stack)
            if res is None:
                notes.append(f"no cluster size up to {MAX_CHIPS:,} chips runs every phase in "
                             f"{scenario.deadline_days:g} days")
    except (PlanError, CatalogError) as exc:
        notes.append(str(exc))
    row["feasible"] = res is not None
    if res is not None and res.transition_note:
        notes.append(res.transition_note)
    row["note"] = "; ".join(notes)
    if res is None:
        return row
    dom = res.phases[res.dominant].estimate
    row.update(chips=res.chips, tokens_per_s=res.tokens_per_s, mfu=res.mfu, days=res.compute_days,
               chip_hours=res.compute_days * 24 * res.chips)
    _estimate_row(row, dom)
    row["phase_days"] = json.dumps([{"name": p.name, "seq_len": p.seq_len, "global_batch": p.global_batch,
                                     "compute_days": p.compute_days, "days": p.days,
                                     **{f: getattr(p.estimate.plan, f) for f in ("tp", "pp", "dp", "cp", "ep")}}
                                    for p in res.phases])
    _economics_row(row, res.economics)
    return row


def _run_mixed(scenario: Scenario) -> dict[str, Any]:
    """A mixed cluster: the best plan over its chip types, beside each part alone (accelplan.plan.mixed)."""
    from accelplan.api import make_workload
    from accelplan.economics.options import EconomicsOptions
    from accelplan.plan.mixed import compare_mixed, parse_mix, parts_of

    cat = load_catalog()
    workload = make_workload(str(scenario.model), float(scenario.tokens or 0), scenario.seq_len,
                             int(scenario.global_batch or 0), scenario.precision, cat)
    costs = model_costs(workload.model, workload.seq_len)
    row = _new_row(scenario, costs, seq_len=workload.seq_len, mode="mix")
    notes: list[str] = []
    try:
        parts = parts_of(parse_mix(str(scenario.mix).split(",")), cat, scenario.framework)
        res = compare_mixed(workload, parts, EconomicsOptions(region=scenario.region))
    except (PlanError, CatalogError) as exc:
        row.update(feasible=False, note=str(exc))
        return row
    m = res.result
    mixed = res.rows[-1] if m.mixed_tokens_per_s else None
    row.update(feasible=mixed is not None, mix_efficiency=m.efficiency, mix_gain_over_best_part=m.gain_over_best_part,
               mix_verdict=m.verdict, mix_mode=m.mode, note="; ".join([*notes, *res.notes]))
    if mixed is None:
        return row
    row.update(chips=mixed.chips, tokens_per_s=mixed.tokens_per_s, days=mixed.compute_days,
               effective_days=mixed.elapsed_days, goodput_pct=mixed.goodput_pct, cost_usd=mixed.cloud_cost_usd,
               energy_mwh=mixed.energy_mwh)
    if m.mode == "data" and m.data_split is not None:
        row.update(step_time_s=m.data_split.step_time_s,
                   mix_blocks=json.dumps([x.model_dump() for x in m.data_split.shares]))
    elif m.best is not None:
        b = m.best
        row.update(step_time_s=b.step_time_s, dp=b.dp, micro_batch=b.micro_batch, recompute=b.recompute,
                   micro_batches=b.micro_batches, mix_blocks=json.dumps([blk.model_dump() for blk in b.blocks]))
    return row
