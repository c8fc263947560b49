"""A self-contained HTML summary of a sweep: tables and inline SVG plots drawn by matplotlib.

Plots: chips needed (deadline sweeps) or days to train (fixed cluster sizes) against model size, one
line per chip; the time/cost frontier per model; MFU per chip. Cost is chip-hours until the economics
module adds money columns: a `cost_usd` column, when a results file has one, is used instead.
"""

from __future__ import annotations

import html
import io
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from accelplan.errors import AccelplanError
from accelplan.paths import input_file, output_file
from accelplan.sweep.scenario import COLUMNS
from accelplan.sweep.storage import require_pyarrow

MAX_PANELS = 6  # panels per figure (cluster sizes, deadlines or models); the rest are listed as left out
PANEL_COLUMNS = 3
REFERENCE_DIMS = ("tokens", "seq_len", "global_batch", "precision", "region")  # held fixed across a plot
COST_COLUMN = "cost_usd"
PLAN_COLUMNS = ("params_total", "chips", "days", "chip_hours", "mfu", "tp", "pp", "dp", "cp", "ep")  # set when feasible
REPORT_COLUMNS = ("model", "chip", "mode", "feasible", *PLAN_COLUMNS)
# A sweep's Parquet file takes ~390 bytes a row and the report holds ~3.5 kB a row in Python (measured on a
# 120-row file): 256 MiB of results is ~700,000 rows and 2.4 GiB of memory or more, past what plots can show.
MAX_RESULTS_BYTES = 256 * 2**20


def _plt() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise AccelplanError("sweep-report draws its plots with matplotlib: pip install 'accelplan[web]'") from None
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller files, searchable
    import matplotlib.pyplot as plt

    return plt


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a sweep's results file, refused in one line if it is not one (missing, not Parquet, too large,
    without the columns the report reads or with other types, a feasible row without its plan)."""
    p = Path(path)
    if not p.exists():
        raise AccelplanError(f"results file '{p}' does not exist (write one with `accelplan sweep GRID.yaml --out {p}`)")
    input_file(p, "results file", MAX_RESULTS_BYTES)
    require_pyarrow()
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(p)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise AccelplanError(f"{p}: not a readable Parquet file ({exc})") from None
    for name in REPORT_COLUMNS:
        kind = COLUMNS[name]
        if name not in schema.names:
            raise AccelplanError(f"{p}: no column {name}, so not a sweep result (the report reads "
                                 f"{', '.join(REPORT_COLUMNS)})")
        if not _arrow_is(schema.field(name).type, kind):
            raise AccelplanError(f"{p}: column {name} is {schema.field(name).type}, a sweep writes {kind}")
    try:
        rows = pq.read_table(p).to_pylist()
    except Exception as exc:
        raise AccelplanError(f"{p}: not a readable Parquet file ({exc})") from None
    for i, r in enumerate(rows):
        missing = [c for c in ("model", "chip", "mode", "feasible") if r[c] is None]
        if not missing and r["feasible"]:
            missing = [c for c in PLAN_COLUMNS if r[c] is None]
        if missing:
            raise AccelplanError(f"{p}: row {i} ({r.get('scenario_id')}) has no {', '.join(missing)}"
                                 + (" though it is feasible" if r["feasible"] else ""))
    return rows


def _arrow_is(t: Any, kind: str) -> bool:
    import pyarrow.types as pt

    return {"string": pt.is_string(t) or pt.is_large_string(t), "bool": pt.is_boolean(t), "int64": pt.is_integer(t),
            "float64": pt.is_floating(t) or pt.is_integer(t)}[kind]


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    _plt().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _colors(chips: Iterable[str]) -> dict[str, Any]:
    plt = _plt()
    cmap = plt.get_cmap("tab20")
    return {c: cmap(i % 20) for i, c in enumerate(sorted(set(chips)))}


def _reference(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The most common value of each dimension a plot holds fixed; ties go to the smallest value."""
    def pick(counts: Counter) -> Any:
        return min(counts, key=lambda v: (-counts[v], v is None, v if v is not None else 0))

    return {d: pick(Counter(r.get(d) for r in rows)) for d in REFERENCE_DIMS}


def _panels(n: int) -> tuple[Any, list[Any]]:
    """A figure with n panels (at most PANEL_COLUMNS a row) and the list of the n axes; spare ones hidden."""
    plt = _plt()
    cols = min(PANEL_COLUMNS, max(1, n))
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols + 1.5, 3.6 * rows), squeeze=False, layout="constrained")
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _log_axes(ax: Any) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="both", alpha=0.3)


def _legend(fig: Any, axes: list[Any]) -> None:
    """One legend for the figure: every chip drawn in any panel, once."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside right center", fontsize=8)


def scaling_plot(rows: list[dict[str, Any]], mode: str) -> tuple[str, str]:
    """Chips needed (deadline mode) or days (chips mode) vs model size, a line per chip, a panel per size value."""
    size_key, y_key = ("deadline_days", "chips") if mode == "deadline" else ("cluster_size", "days")
    ref = _reference(rows)
    sel = [r for r in rows if r["feasible"] and all(r.get(d) == v for d, v in ref.items())]
    sizes = sorted({r[size_key] for r in rows})
    colors = _colors(r["chip"] for r in rows)
    fig, axes = _panels(min(len(sizes), MAX_PANELS))
    for ax, size in zip(axes, sizes, strict=False):
        by_chip: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for r in sel:
            if r[size_key] == size:
                by_chip[r["chip"]].append((r["params_total"] / 1e9, r[y_key]))
        for chip, pts in sorted(by_chip.items()):
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=colors[chip], label=chip, ms=4)
        _log_axes(ax)
        ax.set_xlabel("model size (B parameters, total)")
        ax.set_ylabel("chips needed" if mode == "deadline" else "days to train")
        ax.set_title(f"deadline {size:g} days" if mode == "deadline" else f"{size:,} chips")
    _legend(fig, axes)
    fixed = ", ".join(f"{d} = {_fmt(v)}" for d, v in ref.items())
    left = f"; not drawn: {', '.join(_fmt(s) for s in sizes[MAX_PANELS:])}" if len(sizes) > MAX_PANELS else ""
    caption = f"Held fixed at the most common values: {fixed}{left}. Infeasible scenarios have no point."
    return _svg(fig), caption


def pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats on both axes (lower is better on both), sorted by the first."""
    front: list[tuple[float, float]] = []
    for x, y in sorted(points):
        if not front or y < front[-1][1]:
            front.append((x, y))
    return front


def frontier_plot(rows: list[dict[str, Any]]) -> tuple[str, str]:
    """Time to train vs cost of the feasible scenarios that do the same work (tokens, context, batch,
    precision held fixed), a panel per model, the Pareto front in black."""
    feasible = [r for r in rows if r["feasible"]]
    unpriced = sorted({r["chip"] for r in feasible if r.get(COST_COLUMN) is None})
    # dollars only when every feasible chip has a price: otherwise unpriced chips (Ascend) would vanish from the plot
    money = bool(feasible) and not unpriced
    cost_key = COST_COLUMN if money else "chip_hours"
    ref = _reference(rows)
    sel = [r for r in rows if r["feasible"] and r.get(cost_key) is not None and r.get("days") is not None
           and all(r.get(d) == v for d, v in ref.items())]
    size = {r["model"]: r["params_total"] for r in sel}
    models = sorted(size, key=lambda m: (size[m], m))
    colors = _colors(r["chip"] for r in rows)
    fig, axes = _panels(max(1, min(len(models), MAX_PANELS)))
    for ax, model in zip(axes, models, strict=False):
        pts = [r for r in sel if r["model"] == model]
        for chip in sorted({r["chip"] for r in pts}):
            mine = [r for r in pts if r["chip"] == chip]
            ax.scatter([r["days"] for r in mine], [r[cost_key] for r in mine], s=14, color=colors[chip], label=chip)
        front = pareto([(r["days"], r[cost_key]) for r in pts])
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="black", lw=1)
        _log_axes(ax)
        ax.set_title(model)
        ax.set_xlabel("days to train")
        ax.set_ylabel("cost (USD)" if money else "chip-hours (cost proxy)")
    _legend(fig, axes)
    fixed = ", ".join(f"{d} = {_fmt(v)}" for d, v in ref.items())
    caption = ("Cost is the typical cloud cost in USD (the cost_usd column)." if money else
               "Cost is chip-hours, which ignore price differences between chips: "
               + (f"no public cloud price for {', '.join(unpriced)}." if unpriced else "the results have no cost column."))
    caption += f" Held fixed at the most common values: {fixed}."
    if len(models) > MAX_PANELS:
        caption += f" Not drawn: {', '.join(models[MAX_PANELS:])}."
    return _svg(fig), caption + " Black steps: the Pareto front (no other scenario is both faster and cheaper)."


def mfu_plot(rows: list[dict[str, Any]]) -> str:
    """MFU of every feasible scenario per chip, chips ordered by median MFU."""
    import numpy as np

    plt = _plt()
    by_chip: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["feasible"] and r.get("mfu") is not None:
            by_chip[r["chip"]].append(r["mfu"])
    chips = sorted(by_chip, key=lambda c: float(np.median(by_chip[c])))
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(chips) + 1.2), layout="constrained")
    colors = _colors(r["chip"] for r in rows)
    rng = np.random.default_rng(0)  # jitter only spreads overlapping dots; seeded so the report is reproducible
    for i, c in enumerate(chips):
        v = np.array(by_chip[c]) * 100
        ax.scatter(v, i + rng.uniform(-0.2, 0.2, len(v)), s=8, color=colors[c], alpha=0.6)
        ax.plot([np.median(v)] * 2, [i - 0.3, i + 0.3], color="black", lw=2)
    ax.set_yticks(range(len(chips)), chips)
    ax.set_xlabel("MFU of the best plan (%)  |  black bar: median")
    ax.grid(True, axis="x", alpha=0.3)
    return _svg(fig)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e5 else f"{v:.3g}".replace("e+", "e")
    return str(v)


def _table(header: list[str], body: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def best_by_model_chip(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Per model and chip: feasible count and the scenario with the fewest chip-hours."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["model"], r["chip"])].append(r)
    out = []
    for (model, chip), rs in sorted(groups.items()):
        ok = [r for r in rs if r["feasible"] and r.get("chip_hours") is not None]
        b = min(ok, key=lambda r: r["chip_hours"]) if ok else None
        out.append([model, chip, f"{len(ok)}/{len(rs)}"] + (
            [b["chips"], round(b["days"], 1), f"{b['chip_hours'] / 1e6:.3f}", f"{b['mfu']:.1%}",
             f"{b['tp']}/{b['pp']}/{b['dp']}/{b['cp']}/{b['ep']}"] if b else [None] * 5))
    return out


def infeasible_reasons(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Why scenarios had no plan, by reason (numbers stripped so like reasons group together)."""
    import re

    count: Counter[str] = Counter()
    for r in rows:
        if not r["feasible"]:
            count[re.sub(r"[\d,.]+", "N", (r.get("note") or "no reason recorded").split("; ")[-1])] += 1
    return [[why, n] for why, n in count.most_common(12)]


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1300px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td:first-child,td:nth-child(2){text-align:left}.cap{color:#555;font-size:13px;max-width:1000px}
svg{max-width:100%;height:auto}"""


def build_report(rows: list[dict[str, Any]], title: str) -> str:
    if not rows:
        raise AccelplanError(f"{title}: no rows to report")
    feasible = sum(bool(r["feasible"]) for r in rows)
    dims = [(d, sorted({_fmt(r.get(d)) for r in rows}))
            for d in ("model", "chip", "cluster_size", "deadline_days", *REFERENCE_DIMS)]
    parts = [f"<h1>Sweep report: {html.escape(title)}</h1>",
             f"<p>{len(rows):,} scenarios, {feasible:,} feasible, {len(rows) - feasible:,} without a plan.</p>",
             _table(["dimension", "values"], [[d, ", ".join(v)] for d, v in dims])]
    for mode in ("chips", "deadline"):
        sel = [r for r in rows if r["mode"] == mode]
        if sel:
            svg, cap = scaling_plot(sel, mode)
            head = "Chips needed vs model size" if mode == "deadline" else "Days to train vs model size"
            parts += [f"<h2>{head}</h2>", svg, f"<p class=cap>{html.escape(cap)}</p>"]
    svg, cap = frontier_plot(rows)
    parts += ["<h2>Time vs cost</h2>", svg, f"<p class=cap>{html.escape(cap)}</p>",
              "<h2>MFU per chip</h2>", mfu_plot(rows),
              "<h2>Cheapest scenario per model and chip (fewest chip-hours)</h2>",
              _table(["model", "chip", "feasible", "chips", "days", "chip-hours (M)", "MFU", "tp/pp/dp/cp/ep"],
                     best_by_model_chip(rows))]
    reasons = infeasible_reasons(rows)
    if reasons:
        parts += ["<h2>Why scenarios had no plan</h2>", _table(["reason (numbers as N)", "scenarios"], reasons)]
    versions = sorted({str(r.get("accelplan_version")) for r in rows})
    parts.append(f"<p class=cap>Computed by accelplan {', '.join(versions)}. Every figure is a model prediction.</p>")
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")


def write_report(results: str | Path, out: str | Path) -> Path:
    p = output_file(out, "--html")  # refused before the results are read
    if p.resolve() == Path(results).expanduser().resolve():
        raise AccelplanError(f"--html {str(out)!r} is the results file itself; give another name")
    rows = read_rows(results)
    _plt()  # say how to install matplotlib before any work is done
    text = build_report(rows, Path(results).name)
    try:
        p.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise AccelplanError(f"--html {str(out)!r}: cannot be written ({exc.strerror or exc})") from None
    return p
