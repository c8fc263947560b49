"""The plots of a comparison as PNG files (matplotlib, no display needed).

Draws from the same data as the web page and the HTML report (accelplan.report.views).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accelplan.errors import AccelplanError
from accelplan.paths import output_dir

DPI = 120
SIZE_IN = (8.0, 5.0)


def _figure() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise AccelplanError("--png needs matplotlib: pip install 'accelplan[web]'") from None
    fig = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def _usd_tick(v: float, _: Any) -> str:
    return f"${v / 1e6:,.3g}M" if abs(v) >= 1e6 else f"${v:,.0f}"


def _pareto(comparison: Any, path: Path) -> None:
    from accelplan.report.views import colours, pareto_data

    d, col = pareto_data(comparison), colours(comparison)
    fig, ax = _figure()
    front = sorted((p for p in d["points"] if p["chip"] in d["front"]), key=lambda p: p["days"])
    ax.plot([p["days"] for p in front], [p["cost"] for p in front], ":", color="#888", label="Pareto front")
    for i, p in enumerate(sorted(d["points"], key=lambda p: p["days"])):
        on = p["chip"] in d["front"]
        ax.scatter([p["days"]], [p["cost"]], s=80 if on else 45, color=col[p["chip"]] if on else "none",
                   edgecolors=col[p["chip"]], linewidths=1.5, zorder=3)
        # labels alternate above and below, so chips close in time do not print over each other
        ax.annotate(p["chip"], (p["days"], p["cost"]), textcoords="offset points", xytext=(0, -14 if i % 2 else 8),
                    ha="center", fontsize=8)
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(_usd_tick if d["cost_is_usd"] else lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel(d["days_label"])
    ax.set_ylabel(d["cost_label"])
    ax.set_title("Time vs cost (filled: Pareto front)")
    ax.grid(alpha=0.3)
    fig.savefig(path)


def _breakdown(comparison: Any, kind: str, path: Path) -> None:
    from accelplan.report.views import breakdown_data

    d = breakdown_data(comparison, kind)
    fig, ax = _figure()
    bottom = [0.0] * len(d["chips"])
    for term, vals in d["terms"].items():
        ax.bar(d["chips"], vals, bottom=bottom, label=term.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    if kind == "memory":
        ax.scatter(d["chips"], d["capacity_gb"], marker="_", s=900, color="black", linewidths=2.5, label="capacity",
                   zorder=3)
        ax.set_ylabel("GB per device")
        ax.set_title("Memory per device")
    else:
        ax.set_ylabel("seconds per step")
        ax.set_title("Step-time breakdown")
    fig.legend(loc="outside lower center", fontsize=8, ncols=4)
    ax.tick_params(axis="x", labelrotation=20)
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path)


def _roofline(comparison: Any, model: Any, path: Path, catalog: Any = None) -> None:
    from accelplan.report.views import colours, roofline_data

    d, col = roofline_data(comparison, model, catalog), colours(comparison)
    fig, ax = _figure()
    for c in d["chips"]:
        xs = [1.0, c["ridge"], max(1e4, c["ridge"] * 20)]
        ax.plot(xs, [min(c["peak_flops_per_s"], x * c["hbm_bytes_per_s"]) / 1e12 for x in xs], color=col[c["chip"]],
                label=c["chip"])
        ax.scatter([p["intensity"] for p in c["points"]], [p["flops_per_s"] / 1e12 for p in c["points"]],
                   color=col[c["chip"]], edgecolors="white", zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("TFLOP/s")
    ax.set_title("Roofline per chip; points: main forward GEMMs of one micro-batch")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.savefig(path)


def _phases(comparison: Any, path: Path) -> None:
    from accelplan.report.views import phase_data

    d = phase_data(comparison)
    fig, ax = _figure()
    bottom = [0.0] * len(d["chips"])
    for name in d["phases"]:
        days = [v or 0.0 for v in d["days"][name]]
        ax.bar(d["chips"], days, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, days, strict=True)]
    ax.set_ylabel("elapsed days")
    ax.set_title("Days per phase (each phase on its own best plan)")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", labelrotation=30)
    ax.grid(alpha=0.3, axis="y")
    fig.savefig(path)


def write(comparison: Any, model: Any, folder: str | Path, catalog: Any = None) -> list[Path]:
    """pareto.png, step_time.png, memory.png and roofline.png in `folder` (created if it is a new leaf), and
    phases.png for a programme of several phases."""
    out = output_dir(folder, "--png")
    out.mkdir(exist_ok=True)
    paths = [out / "pareto.png", out / "step_time.png", out / "memory.png", out / "roofline.png"]
    _pareto(comparison, paths[0])
    _breakdown(comparison, "time", paths[1])
    _breakdown(comparison, "memory", paths[2])
    _roofline(comparison, model, paths[3], catalog)
    if len(getattr(comparison, "phases", None) or []) > 1 and any(r.phases for r in comparison.rows):
        paths.append(out / "phases.png")
        _phases(comparison, paths[-1])
    return paths
