"""What a person sees of a comparison, as plain data: the table and the data behind the four plots
(time vs cost Pareto, step-time breakdown, memory per device, roofline per chip).

The web page, the HTML report and the PNG files all draw from these functions, so they show the same
numbers. Every figure comes from `accelplan.api.compare` and the catalog; the only arithmetic here is
the arithmetic intensity of the main GEMMs for the roofline plot (see `main_gemms`).

Rows are read through `model_dump()`, so fields added to `CompareRow` later (costs, energy,
availability) appear as table columns without a change here.
"""

from __future__ import annotations

import math
from typing import Any

from accelplan.catalog.schema import ModelSpec, Plan
from accelplan.perf.costs import model_costs

# CompareRow fields shown in fixed columns (the estimate command is in the plan cell's title and the JSON); any other
# scalar field becomes a column of its own.
BASE_FIELDS = ("chip", "name", "vendor", "status", "system", "chips", "days", "tokens_per_s", "mfu", "chip_hours",
               "plan", "note", "estimate", "estimate_command", "phases", "phase_change_note", "phase_change_s")
# plotly's default qualitative colours (D3 category10): one colour per chip, the same in every plot
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#ad494a")
BYTES_PER_ELEMENT = {"bf16": 2, "fp16": 2, "fp8": 1}
HOURS_PER_DAY = 24.0


def jsonable(obj: Any) -> Any:
    """`obj` with non-finite floats replaced by None (JSON has no inf or NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj


def compare_accepts(name: str) -> bool:
    """Whether a comparison request (accelplan.request.CompareRequest) has the field `name` (e.g. region)."""
    from accelplan.request import CompareRequest

    return name in CompareRequest.model_fields


def request_model(request: Any, catalog: Any = None) -> ModelSpec:
    """The model a comparison request trains (its programme's, or its one phase's)."""
    from accelplan.phases import request_workloads

    return request_workloads(request, catalog)[1][0].model


def run_compare(request: Any, catalog: Any = None) -> tuple[Any, list[str]]:
    """`accelplan.api.compare_request` on a CompareRequest; returns the Comparison and notes for the reader (the chips
    left out by `available_only`)."""
    from accelplan.api import compare_request

    res = compare_request(request, catalog)
    return res, [f"left out: {d}" for d in res.dropped]


# ------------------------------------------------------------------------------------------- table
LONG_TEXT_CHARS = 80  # longer strings (disclaimers, rationales) stay in the JSON, out of the table
RANGE_KEYS = ("low", "typical", "high")


def _num(v: float, digits: int = 3) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _usd(v: float) -> str:
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= max(scale, 1e4):
            return f"${v / scale:.3g}{suffix}"
    return f"${v:,.0f}" if abs(v) >= 100 else f"${v:,.2f}"


def _scalar(key: str, v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float):
        if "usd" in key:
            return _usd(v)
        if key.endswith("fraction") and abs(v) <= 1:
            return f"{v:.1%}"
        return _num(float(v))
    return str(v)


def _summary(key: str, v: Any) -> str | None:
    """One cell for a nested value: a range as 'typical (low-high)', a status object as its status, a
    small flat mapping as 'k v; ...'. None when it does not fit one cell."""
    if isinstance(v, dict):
        if all(k in v for k in RANGE_KEYS):
            lo, typ, hi = (_scalar(key, v[k]) for k in RANGE_KEYS)
            return f"{typ} ({lo} - {hi})"
        if isinstance(v.get("status"), str):
            return v["status"].replace("_", " ")
        if v and len(v) <= 4 and all(isinstance(x, str | int | float | bool) or x is None for x in v.values()):
            return "; ".join(f"{k} {_scalar(f'{key}_{k}', x)}" for k, x in v.items())
        return None
    if isinstance(v, list):
        if len(v) <= 4 and all(isinstance(x, str | int | float) for x in v):
            return ", ".join(_scalar(key, x) for x in v) or "-"
        return None
    if isinstance(v, str) and len(v) > LONG_TEXT_CHARS:
        return None
    return _scalar(key, v)


def _label(key: str) -> str:
    return key.replace("_usd", " ($)").replace("_pct", " (%)").replace("_", " ").replace(".", ": ")


# The fields of an economics record (accelplan.economics.Economics) worth a column; the rest stay in the JSON.
ECONOMICS_COLUMNS = {"effective_days": "days incl. failures", "goodput_pct": "goodput %",
                     "cloud_cost_usd": "cloud cost", "cloud_price_kind": "price kind",
                     "cloud_price_as_of": "price as of", "owned_cost_usd": "owned cost", "energy_mwh": "energy MWh",
                     "tco2e": "tCO2e", "availability": "availability"}


def _extra_columns(dumps: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """Columns for fields CompareRow has beyond the base ones, in field order.

    A nested record that does not fit one cell gives columns one level down: the ECONOMICS_COLUMNS
    where it has any of them, else each of its fields that fits a cell."""
    cols: dict[str, tuple[str, bool]] = {}
    for d in dumps:
        for k, v in d.items():
            if k in BASE_FIELDS or v is None:
                continue
            if _summary(k, v) is not None:
                cols.setdefault(k, (_label(k), isinstance(v, int | float) and not isinstance(v, bool)))
            elif isinstance(v, dict):
                curated = [sub for sub in ECONOMICS_COLUMNS if sub in v]
                for sub in curated or list(v):
                    x = v[sub]
                    if curated or (x is not None and _summary(sub, x) is not None):
                        label = ECONOMICS_COLUMNS.get(sub) if curated else _label(f"{k}.{sub}")
                        cols.setdefault(f"{k}.{sub}", (label or sub, isinstance(x, int | float)))
    return [(k, label, numeric) for k, (label, numeric) in cols.items()]


def _with_range(tokens_per_s: float | None, est: Any) -> str:
    """Tokens/s with its 80% range (cross-validated on published runs), e.g. '59,272 (43,399-74,901)'."""
    if not tokens_per_s:
        return "-"
    text = f"{tokens_per_s:,.0f}"
    if est is not None and est.tokens_per_s_low and est.tokens_per_s_high:
        text += f" ({est.tokens_per_s_low:,.0f}-{est.tokens_per_s_high:,.0f})"
    return text


def table(comparison: Any) -> dict[str, Any]:
    """Columns [{key, label, numeric}] and rows [{key: text}] of a comparison, formatted for people."""
    base = [("chip", "chip", False), ("status", "status", False), ("system", "system", False),
            ("chips", "chips", True), ("days", "days", True), ("tokens_per_s", "tokens/s (80% range)", True),
            ("mfu", "MFU", True), ("chip_hours", "chip-hours", True),
            ("plan", "plan (tp/pp/dp/cp/ep, vpp, micro-batch, recompute, ZeRO)", False),
            ("stack", "training stack", False)]
    dumps = [jsonable(r.model_dump(mode="json")) for r in comparison.rows]
    extra = _extra_columns(dumps)
    programme = len(getattr(comparison, "phases", None) or []) > 1
    if programme:  # each phase's days and plan, and the row's plan is the longest phase's
        base.insert(base.index(("stack", "training stack", False)),
                    ("phases", "days and plan per phase", False))
        base[base.index(("plan", "plan (tp/pp/dp/cp/ep, vpp, micro-batch, recompute, ZeRO)", False))] = (
            "plan", "plan of the longest phase (tp/pp/dp/cp/ep, vpp, micro-batch, recompute, ZeRO)", False)
    columns = [*base, *extra, ("note", "note", False)]
    rows = []
    for r, d in zip(comparison.rows, dumps, strict=True):
        p = r.plan
        cells = {
            "chip": r.chip, "status": r.status, "system": r.system,
            "chips": _num(r.chips) if r.chips else "-",
            "days": f"{r.days:,.1f}" if r.days else "-",
            "tokens_per_s": _with_range(r.tokens_per_s, r.estimate),
            "mfu": f"{r.mfu:.1%}" if r.mfu else "-",
            "chip_hours": f"{r.chip_hours:,.0f}" if r.chip_hours else "-",
            "plan": (f"{p.tp}/{p.pp}/{p.dp}/{p.cp}/{p.ep}, vpp {p.vpp}, mb {p.micro_batch}, {p.recompute}, "
                     f"ZeRO-{p.zero}") if p else "-",
            "stack": r.estimate.stack.removeprefix("stack: ").split(" (")[0] if r.estimate is not None else "-",
            "note": r.note or "",
        }
        if programme:
            cells["phases"] = "; ".join(
                f"{ph.name}: {ph.days:,.1f} d, {ph.estimate.plan.tp}/{ph.estimate.plan.pp}/{ph.estimate.plan.dp}/"
                f"{ph.estimate.plan.cp}/{ph.estimate.plan.ep}" if ph.estimate is not None and ph.days else f"{ph.name}: -"
                for ph in r.phases) or "-"
        for key, _, _ in extra:
            head, _, sub = key.partition(".")
            v = d.get(head)
            if sub:
                v = v.get(sub) if isinstance(v, dict) else None
            cells[key] = _summary(sub or head, v) or "-"
        rows.append(cells)
    return {"columns": [{"key": k, "label": lbl, "numeric": n} for k, lbl, n in columns], "rows": rows}


# ------------------------------------------------------------------------------------------- plot data
def typical_cloud_cost_usd(row: dict[str, Any], depth: int = 2) -> float | None:
    """A row's typical cloud cost in dollars, if the row carries one (fields added by the economics work).

    Looks, here and in nested records down to `depth`, for a field whose name has 'cost' but not
    'owned': a number when the name also has 'typical' (cost_typical_usd), or a range {low, typical,
    high}. Fields with 'cloud' in the name win. None when there is none.
    """
    found: list[tuple[bool, float]] = []
    for key in sorted(row):
        v = row[key]
        if "cost" in key and "owned" not in key and "per_" not in key:
            if isinstance(v, int | float) and not isinstance(v, bool) and "typical" in key:
                found.append(("cloud" in key, float(v)))
            elif isinstance(v, dict) and isinstance(v.get("typical"), int | float):
                found.append(("cloud" in key, float(v["typical"])))
        elif isinstance(v, dict) and depth > 1:
            x = typical_cloud_cost_usd(v, depth - 1)
            if x is not None:
                found.append((False, x))
    found.sort(key=lambda f: not f[0])  # stable: a 'cloud' field first
    return found[0][1] if found else None


def colours(comparison: Any) -> dict[str, str]:
    return {r.chip: PALETTE[i % len(PALETTE)] for i, r in enumerate(comparison.rows)}


def pareto_data(comparison: Any) -> dict[str, Any]:
    """One point per placed chip: days to train vs cost; `front` lists the chips no other chip beats on both."""
    placed = [r for r in comparison.rows if r.days and r.chip_hours]
    dumps = {r.chip: jsonable(r.model_dump(mode="json")) for r in placed}
    dollars = {c: typical_cloud_cost_usd(d) for c, d in dumps.items()}
    unpriced = [c for c, v in dollars.items() if v is None]
    elapsed = {c: (d.get("economics") or {}).get("effective_days") for c, d in dumps.items()}
    use_elapsed = bool(placed) and all(isinstance(v, int | float) for v in elapsed.values())
    # dollars only when every chip has a price: dropping an unpriced chip would hide it from the comparison
    use_dollars = bool(placed) and not unpriced
    points = [{"chip": r.chip, "chips": r.chips, "days": elapsed[r.chip] if use_elapsed else r.days,
               "cost": dollars[r.chip] if use_dollars else r.chip_hours} for r in placed]
    front = [p["chip"] for p in points
             if not any(q["days"] <= p["days"] and q["cost"] <= p["cost"] and (q["days"], q["cost"]) != (p["days"], p["cost"])
                        for q in points)]
    front.sort(key=lambda c: next(p["days"] for p in points if p["chip"] == c))
    if use_dollars:
        label = "typical cloud cost ($)"
    elif len(unpriced) < len(dollars):
        label = f"cost in chip-hours (no cloud price for {', '.join(unpriced)})"
    else:
        label = "cost in chip-hours (no cloud prices)"
    days_label = "days to train (elapsed: failures and checkpoints included)" if use_elapsed else "days to train"
    return {"points": points, "front": front, "cost_label": label, "cost_is_usd": use_dollars, "unpriced": unpriced,
            "days_label": days_label}


def breakdown_data(comparison: Any, kind: str) -> dict[str, Any]:
    """Stacked terms per placed chip: kind 'time' (seconds per step) or 'memory' (GB per device)."""
    placed = [r for r in comparison.rows if r.estimate is not None]
    attr = "time_breakdown_s" if kind == "time" else "memory_breakdown_gb"
    terms: list[str] = []
    for r in placed:
        terms += [k for k in getattr(r.estimate, attr) if k not in terms]
    values = {t: [float(getattr(r.estimate, attr).get(t, 0.0)) for r in placed] for t in terms}
    values = {t: v for t, v in values.items() if any(x > 0 for x in v)}
    out: dict[str, Any] = {"chips": [r.chip for r in placed], "terms": values}
    if kind == "memory":
        out["capacity_gb"] = [r.estimate.capacity_gb for r in placed]
    else:
        out["step_time_s"] = [r.estimate.step_time_s for r in placed]
    return jsonable(out)


def main_gemms(model: ModelSpec, plan: Plan, seq_len: int) -> list[tuple[str, int, int, int]]:
    """(name, m, n, k) per device for each distinct forward GEMM of the cost model (accelplan.perf.costs: MLA's down
    and up projections, the router, routed and shared experts, logits), one micro-batch.

    m = micro_batch x seq_len / cp tokens; the dimension the cost model splits by TP (n column-parallel, k
    row-parallel) is divided by tp. A routed expert sees m x top_k x ep / experts tokens on average.
    """
    costs = model_costs(model, seq_len)
    m = max(1, plan.micro_batch * seq_len // plan.cp)
    gemms = ((costs.dense_layer_gemms if costs.n_dense_layers else ())
             + (costs.moe_layer_gemms if costs.n_moe_layers else ()) + costs.head_gemms)
    out: dict[str, tuple[str, int, int, int]] = {}
    for g in gemms:
        rows = m
        if g.kind == "expert" and model.moe is not None:
            rows = max(1, m * model.moe.top_k * plan.ep // model.moe.experts)
        n = g.n // plan.tp if g.split == "n" else g.n
        k = g.k // plan.tp if g.split == "k" else g.k
        out.setdefault(g.name, (g.name, rows, max(1, n), max(1, k)))  # attention GEMMs repeat in dense and MoE layers
    return list(out.values())


def arithmetic_intensity(m: int, n: int, k: int, bytes_per_element: int) -> float:
    """FLOP per byte of one GEMM that reads A (m x k) and B (k x n) and writes C (m x n) once:
    2mnk / (bytes x (mk + kn + mn)) (the scaling book's roofline chapter)."""
    return 2.0 * m * n * k / (bytes_per_element * (m * k + k * n + m * n))


def roofline_data(comparison: Any, model: ModelSpec, catalog: Any = None) -> dict[str, Any]:
    """Per chip: peak FLOP/s, HBM bytes/s, ridge point, and the workload's GEMMs as operating points
    (intensity, attainable FLOP/s = min(peak, intensity x bandwidth)) under that chip's best plan."""
    from accelplan.catalog.loader import load_catalog

    cat = catalog or load_catalog()
    bpe = BYTES_PER_ELEMENT.get(comparison.precision, 2)
    chips = []
    for r in comparison.rows:
        c = cat.chip(r.chip)
        peak = c.peak_flops_per_s(comparison.precision) or c.peak_flops_per_s("bf16") or c.peak_flops_per_s("fp16")
        bw = c.hbm_bytes_per_s
        if not peak or not bw:
            continue
        points = []
        if r.plan is not None:
            for name, m, n, k in main_gemms(model, r.plan, comparison.seq_len):
                ai = arithmetic_intensity(m, n, k, bpe)
                points.append({"gemm": name, "m": m, "n": n, "k": k, "intensity": ai, "flops_per_s": min(peak, ai * bw)})
        chips.append({"chip": r.chip, "peak_flops_per_s": peak, "hbm_bytes_per_s": bw, "ridge": peak / bw,
                      "points": points})
    return {"chips": chips, "bytes_per_element": bpe}


# ------------------------------------------------------------------------------------------- plotly
def _layout(x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    layout = {"xaxis": {"title": {"text": x_title}, "gridcolor": "#e5e5e5", "zeroline": False},
              "yaxis": {"title": {"text": y_title}, "gridcolor": "#e5e5e5", "zeroline": False},
              "margin": {"l": 70, "r": 20, "t": 20, "b": 60}, "height": 420, "plot_bgcolor": "white",
              "paper_bgcolor": "white", "legend": {"orientation": "h", "y": -0.2}, "font": {"size": 12}}
    layout.update(extra)
    return layout


def phase_data(comparison: Any) -> dict[str, Any]:
    """Elapsed days of each phase per chip (a programme of several phases), for a stacked bar."""
    names = [p["name"] for p in getattr(comparison, "phases", None) or []]
    rows = [r for r in comparison.rows if r.phases]
    return {"phases": names, "chips": [r.chip for r in rows],
            "days": {n: [r.phases[i].days for r in rows] for i, n in enumerate(names)}}


def plotly_figures(comparison: Any, model: ModelSpec, catalog: Any = None) -> list[dict[str, Any]]:
    """The plots as plotly.js figure specs: [{id, title, caption, data, layout}]; a programme of several phases
    adds days per phase, stacked per chip."""
    col = colours(comparison)
    figs = []
    ph = phase_data(comparison)
    if len(ph["phases"]) > 1 and ph["chips"]:
        figs.append({"id": "phases", "title": "Days per phase", "caption": (
            "Elapsed days of each phase of the programme, stacked per chip, on the cluster the comparison chose for "
            "that chip; each phase runs on its own best plan. " + (comparison.phase_change_note or "")),
            "data": [{"type": "bar", "name": n, "x": ph["chips"], "y": ph["days"][n],
                      "hovertemplate": f"{n}: %{{y:.1f}} days<extra>%{{x}}</extra>"} for n in ph["phases"]],
            "layout": _layout("chip", "elapsed days", barmode="stack")})

    par = pareto_data(comparison)
    front_pts = sorted((p for p in par["points"] if p["chip"] in par["front"]), key=lambda p: p["days"])
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "name": "Pareto front", "x": [p["days"] for p in front_pts],
         "y": [p["cost"] for p in front_pts], "line": {"color": "#888", "dash": "dot"}, "hoverinfo": "skip"}]
    # labels alternate above and below in order of days, so chips close in time do not print over each other
    by_days = [p["chip"] for p in sorted(par["points"], key=lambda p: p["days"])]
    data += [{"type": "scatter", "mode": "markers+text", "name": p["chip"], "x": [p["days"]], "y": [p["cost"]],
              "text": [p["chip"]], "textposition": "bottom center" if by_days.index(p["chip"]) % 2 else "top center",
              "marker": {"size": 13 if p["chip"] in par["front"] else 9, "color": col[p["chip"]],
                         "symbol": "circle" if p["chip"] in par["front"] else "circle-open"},
              "hovertemplate": f"{p['chip']}: {p['chips']:,} chips<br>%{{x:.1f}} days<br>%{{y:,.0f}}<extra></extra>"}
             for p in par["points"]]
    figs.append({"id": "pareto", "title": "Time vs cost (Pareto)", "data": data,
                 "caption": "One point per chip, each at the size and plan the comparison chose. Filled points are on "
                            "the Pareto front: no other chip is both faster and cheaper. "
                            + ("Cost is the typical (median) cloud price for the elapsed time, failures included."
                               if par["cost_is_usd"] else
                               "Cost is in chip-hours: " + (", ".join(par["unpriced"]) or "no chip")
                               + " has no public cloud price, and plotting dollars would leave it out."),
                 "layout": _layout(par["days_label"], par["cost_label"], showlegend=False)})

    for kind, fid, title, unit, caption in (
            ("time", "step_time", "Step-time breakdown", "seconds per step",
             "Where one training step goes, per chip; the terms add up to the step time (exposed communication "
             "only: overlapped traffic is not counted)."),
            ("memory", "memory", "Memory per device", "GB per device",
             "What one device holds under its best plan; the black mark is the device's HBM capacity.")):
        b = breakdown_data(comparison, kind)
        data = [{"type": "bar", "name": t.replace("_", " "), "x": b["chips"], "y": v,
                 "hovertemplate": f"{t}: %{{y:.3g}} {'s' if kind == 'time' else 'GB'}<extra>%{{x}}</extra>"}
                for t, v in b["terms"].items()]
        if kind == "memory":
            data.append({"type": "scatter", "mode": "markers", "name": "capacity", "x": b["chips"],
                         "y": b["capacity_gb"], "marker": {"symbol": "line-ew-open", "size": 40, "color": "black",
                                                           "line": {"width": 3}}})
        figs.append({"id": fid, "title": title, "caption": caption, "data": data,
                     "layout": _layout("chip", unit, barmode="stack")})

    roof = roofline_data(comparison, model, catalog)
    data = []
    for c in roof["chips"]:
        lo, hi = 1.0, max(1e4, c["ridge"] * 20)
        xs = [lo, c["ridge"], hi]
        data.append({"type": "scatter", "mode": "lines", "name": c["chip"], "legendgroup": c["chip"],
                     "x": xs, "y": [min(c["peak_flops_per_s"], x * c["hbm_bytes_per_s"]) / 1e12 for x in xs],
                     "line": {"color": col[c["chip"]]},
                     "hovertemplate": f"{c['chip']} roof<br>%{{x:.0f}} FLOP/B: %{{y:.0f}} TFLOP/s<extra></extra>"})
        if c["points"]:
            data.append({"type": "scatter", "mode": "markers", "name": f"{c['chip']} GEMMs", "legendgroup": c["chip"],
                         "showlegend": False, "x": [p["intensity"] for p in c["points"]],
                         "y": [p["flops_per_s"] / 1e12 for p in c["points"]],
                         "text": [f"{p['gemm']} m={p['m']} n={p['n']} k={p['k']}" for p in c["points"]],
                         "marker": {"color": col[c["chip"]], "size": 9, "line": {"color": "white", "width": 1}},
                         "hovertemplate": f"{c['chip']}: %{{text}}<br>%{{x:.0f}} FLOP/B<extra></extra>"})
    figs.append({"id": "roofline", "title": "Roofline per chip", "data": data,
                 "caption": "Lines: attainable rate = min(dense peak, intensity x HBM bandwidth) from the catalog. Points: "
                            "the workload's main forward GEMMs (QKV, attention output, MLP or expert, logits) for one "
                            "micro-batch under each chip's chosen plan, at intensity 2mnk / (bytes x (mk + kn + mn)); "
                            "points left of a chip's ridge are memory-bound. Datasheet peaks, not measured rates.",
                 "layout": _layout("arithmetic intensity (FLOP/byte)", "TFLOP/s",
                                   xaxis={"type": "log", "title": {"text": "arithmetic intensity (FLOP/byte)"},
                                          "gridcolor": "#e5e5e5", "dtick": 1},
                                   yaxis={"type": "log", "title": {"text": "TFLOP/s"}, "gridcolor": "#e5e5e5",
                                          "dtick": 1})})
    return jsonable(figs)


def disclaimers(comparison: Any) -> list[str]:
    """Each distinct `disclaimer` the rows carry (e.g. availability is information, not legal advice),
    found down to two levels of nesting, for the notes above the table."""
    out: list[str] = []

    def walk(d: Any, depth: int) -> None:
        if not isinstance(d, dict) or depth < 0:
            return
        text = d.get("disclaimer")
        if isinstance(text, str) and text and text not in out:
            out.append(text)
        for v in d.values():
            walk(v, depth - 1)

    for r in comparison.rows:
        walk(r.model_dump(mode="json"), 2)
    return out + [n for n in economics_notes(comparison) if n not in out]


def economics_notes(comparison: Any) -> list[str]:
    """What the economics rest on, once each: the data's dates, figures older than the staleness limit, price notes
    and the availability caveats."""
    out: list[str] = []
    for r in comparison.rows:
        e = r.economics
        if e is None:
            continue
        items = [e.data_as_of]
        items += [f"older than {e.stale_after_months} months: {w}" for w in e.stale]
        items += [f"price note: {n}" for n in e.price_notes]
        items += [f"caveat: {c}" for c in e.availability_caveats]
        out += [x for x in items if x and x not in out]
    return out


def summary(comparison: Any) -> str:
    """One line naming the workload and the question asked."""
    c = comparison
    ask = f"chips needed to finish in {c.days:g} days" if c.mode == "deadline" else f"time on {c.chips:,} chips"
    region = getattr(c, "region", None)
    tokens = next(f"{c.tokens / k:,.3g}{u}" for k, u in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1.0, "")) if c.tokens >= k)
    phases = getattr(c, "phases", None) or []
    if len(phases) > 1:
        steps = ", ".join(f"{p['name']} ({p['seq_len']:,})" for p in phases)
        return (f"{c.workload} ({c.model}) on {tokens} tokens in {len(phases)} phases: {steps}; {c.precision}: {ask}"
                + (f", region {region}" if region else ""))
    return (f"{c.model} on {tokens} tokens, sequence {c.seq_len}, global batch {c.global_batch}, "
            f"{c.precision}: {ask}" + (f", region {region}" if region else ""))
