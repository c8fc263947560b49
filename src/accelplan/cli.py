"""Command line: `accelplan COMMAND`. Tables for people, `--json` for scripts.

Only typer is imported at start-up; the catalog, numpy and rich load inside the commands, so
`accelplan --help` stays fast. Bad input prints one line and exits with code 2.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from accelplan.defaults import DEFAULT_MODEL
from accelplan.flags import (
    AssumeOpt,
    AvailableOnlyOpt,
    CalibrationOpt,
    CatalogOpt,
    CheckpointOpt,
    ChipsOpt,
    CompareGbsOpt,
    CompareModelOpt,
    ComparePrecOpt,
    CompareTokensOpt,
    DaysOpt,
    FrameworkOpt,
    FrameworkVersionOpt,
    KwhOpt,
    MixOpt,
    NChipsOpt,
    PhaseOpt,
    PowerOpt,
    PriceOpt,
    PueOpt,
    RegionOpt,
    SeqOpt,
    WorkloadOpt,
    YearsOpt,
)
from accelplan.flags import assumptions as assumptions_of
from accelplan.flags import calibration as calibration_of

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Which accelerator, how many, how long: a sourced hardware catalog and an LLM training "
                       "planner for Ascend, NVIDIA, AMD, TPU and Gaudi.")

def _version(value: bool) -> None:
    if value:
        from accelplan import __version__

        sys.stdout.write(f"accelplan {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", metavar="", is_eager=True, callback=_version,
                                       help="Print the version and exit.")) -> None:
    """Which accelerator, how many, how long: a sourced hardware catalog and an LLM training planner for Ascend,
    NVIDIA, AMD, TPU and Gaudi."""


JsonOpt = typer.Option(False, "--json", metavar="", help="Print JSON instead of a table.")


def _num(default: Any, *decls: str, name: str, help: str) -> Any:  # noqa: A002
    """A numeric option whose plausible range (accelplan.limits) is checked before the command runs."""
    from accelplan.limits import option

    return option(default, *decls, name=name, help=help)


def _console():  # noqa: ANN202
    import os

    from rich.console import Console

    # a pipe or file gets a wide table rather than rich's 80-column default, unless COLUMNS says otherwise
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 230
    return Console(soft_wrap=False, width=width, highlight=False)


def _catalog(extra: list[str] | None):  # noqa: ANN202
    from accelplan.catalog.loader import load_catalog

    return load_catalog(extra or None)


def _dump(obj: Any) -> None:
    """OBJ as JSON on stdout; a figure that is not finite (an unknown written as NaN or inf) is null, so the output
    is strict JSON that every parser reads."""
    import math

    from pydantic import BaseModel

    def plain(o: Any) -> Any:
        if isinstance(o, BaseModel):
            return plain(o.model_dump(mode="json"))
        if isinstance(o, dict):
            return {k: plain(v) for k, v in o.items()}
        if isinstance(o, list | tuple):
            return [plain(v) for v in o]
        if isinstance(o, float) and not math.isfinite(o):
            return None
        return o

    sys.stdout.write(json.dumps(plain(obj), indent=2, allow_nan=False) + "\n")


def _fmt(v: float | None, unit: str = "", digits: int | None = None) -> str:
    """A figure as people read it: thousands separators, no spurious decimals, 'unknown' for null."""
    if v is None:
        return "unknown"
    if digits is not None:
        text = f"{v:,.{digits}f}"
    elif float(v).is_integer():
        text = f"{int(v):,}"
    else:
        text = f"{v:,.3f}".rstrip("0").rstrip(".")
    return f"{text}{unit}"


# ------------------------------------------------------------------------------------------- catalog
@app.command()
def assumptions(json_out: bool = JsonOpt) -> None:
    """Every modelling constant that is not a chip or model figure: its value, unit and reason."""
    from accelplan.perf.assumptions import DEFAULT, Assumptions

    rows = [{"name": name, "value": getattr(DEFAULT, name), "reason": f.description or ""}
            for name, f in Assumptions.model_fields.items()]
    if json_out:
        _dump(rows)
        return
    from rich.table import Table

    t = Table(title="modelling assumptions (perf/assumptions.py); chip and model figures are in the catalog")
    t.add_column("name")
    t.add_column("value", justify="right")
    t.add_column("reason", overflow="fold")
    for r in rows:
        t.add_row(r["name"], "the stack's" if r["value"] is None else f"{r['value']:g}", r["reason"])
    _console().print(t)


@app.command()
def chips(vendor: str = typer.Option(None, help="huawei | nvidia | amd | google | intel | aws"),
          status: str = typer.Option(None, help="shipping | announced | projected"),
          json_out: bool = JsonOpt, catalog: list[str] = CatalogOpt) -> None:
    """List the chips: dense peaks, memory, scale-up, status."""
    from accelplan.catalog.schema import STATUSES
    from accelplan.errors import AccelplanError

    cat = _catalog(catalog)
    vendors = sorted({c.vendor for c in cat.chips.values()})
    if vendor and vendor.lower() not in vendors:
        raise AccelplanError(f"--vendor '{vendor}' is not one of: {', '.join(vendors)}")
    if status and status.lower() not in STATUSES:
        raise AccelplanError(f"--status '{status}' is not one of: {', '.join(STATUSES)}")
    rows = [c for c in cat.chips.values()
            if (not vendor or c.vendor == vendor.lower()) and (not status or c.status == status.lower())]
    rows.sort(key=lambda c: (c.vendor, c.year or 0, c.id))
    if json_out:
        _dump([c.model_dump(mode="json") for c in rows])
        return
    from rich.table import Table

    t = Table(title=f"{len(rows)} chips (peaks are DENSE, no 2:4 sparsity; 'unknown' = not published)")
    for col in ("id", "vendor", "status", "year", "BF16 TF", "FP8 TF", "HBM GB", "HBM TB/s", "TDP W",
                "scale-up GB/s (1 dir)", "domain"):
        t.add_column(col, justify="right" if col not in ("id", "vendor", "status") else "left")
    for c in rows:
        t.add_row(c.id, c.vendor, c.status, str(c.year or ""), _fmt(c.peak_tflops.bf16 or c.peak_tflops.fp16),
                  _fmt(c.peak_tflops.fp8), _fmt(c.hbm_gb), _fmt(c.hbm_tb_s, digits=2), _fmt(c.tdp_w),
                  _fmt(c.scaleup.gb_s_unidir), _fmt(c.scaleup.domain_chips))
    _console().print(t)


@app.command()
def chip(chip_id: str = typer.Argument(..., help="chip id or alias, e.g. ascend-910b, h100"),
         vs: str = typer.Option(None, "--vs", help="another chip: show this chip's figures as ratios to it"),
         json_out: bool = JsonOpt, catalog: list[str] = CatalogOpt) -> None:
    """One chip: every figure with its source and confidence; --vs gives the ratios to another chip."""
    cat = _catalog(catalog)
    c = cat.chip(chip_id)
    other = cat.chip(vs) if vs else None
    figures = c.figure_paths()
    if json_out:
        out = c.model_dump(mode="json")
        out["figures"] = {p: {"value": v, "confidence": c.confidence.get(p),
                              "sources": [s.model_dump() for s in c.sources_for(p)]} for p, v in figures.items()}
        if other:
            of = other.figure_paths()
            out["vs"] = {"chip": other.id, "ratios": {p: v / of[p] for p, v in figures.items() if of.get(p)}}
        _dump(out)
        return
    from rich.table import Table

    con = _console()
    con.print(f"[bold]{c.name}[/bold]  id {c.id}  vendor {c.vendor}  status [bold]{c.status}[/bold]"
              f"{'  (' + c.lifecycle + ')' if c.lifecycle else ''}  year {c.year or 'unknown'}")
    if c.status != "shipping":
        con.print(f"[yellow]{c.status}: figures are announcements or projections, not measured products[/yellow]")
    t = Table(title=f"figures{' vs ' + other.id if other else ''}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    if other:
        t.add_column(other.id, justify="right")
        t.add_column("ratio", justify="right")
    t.add_column("confidence")
    t.add_column("source", overflow="fold", ratio=1)
    of = other.figure_paths() if other else {}
    paths = list(dict.fromkeys([*figures, *of]))
    for p in paths:
        v = figures.get(p)
        src = "; ".join(s.ref for s in c.sources_for(p)) if v is not None else ""  # wrapped, never cut
        row = [p, _fmt(v)]
        if other:
            ov = of.get(p)
            row += [_fmt(ov), f"{v / ov:.2f}x" if v is not None and ov else "n/a"]
        row += [c.confidence.get(p, "") if v is not None else "unknown", src]
        t.add_row(*row)
    con.print(t)
    if c.efficiency:
        con.print(f"efficiency: matmul {c.efficiency.matmul:.3f}, memory {c.efficiency.memory:.2f} "
                  f"({c.efficiency.basis})")
        if c.efficiency.compute_units:
            con.print(f"GEMM wave quantization: {c.efficiency.compute_units} compute units "
                      f"({c.efficiency.compute_units_basis})")
        if c.efficiency.matrix_unit_dim:
            con.print(f"GEMM padding: N and K pad to multiples of {c.efficiency.matrix_unit_dim} "
                      f"({c.efficiency.matrix_unit_basis})")
    if c.export_control:
        con.print(f"export control (information, not legal advice): {c.export_control}")
    for k, v in c.notes.items():
        con.print(f"[dim]{k}: {v}[/dim]")


@app.command()
def systems(json_out: bool = JsonOpt, catalog: list[str] = CatalogOpt) -> None:
    """List the systems: chip, scale-up domain and scale-out network."""
    cat = _catalog(catalog)
    rows = sorted(cat.systems.values(), key=lambda s: s.id)
    if json_out:
        _dump([s.model_dump(mode="json") for s in rows])
        return
    from rich.table import Table

    t = Table(title=f"{len(rows)} systems (bandwidth per chip, one direction)")
    for col in ("id", "chip", "scale-up", "domain", "GB/s", "scale-out", "GB/s ", "default for"):
        t.add_column(col)
    for s in rows:
        up, out = s.levels[0], (s.levels[1] if len(s.levels) > 1 else None)
        t.add_row(s.id, s.chip, f"{up.name} ({up.topology})", _fmt(up.size), _fmt(up.gb_s_unidir),
                  f"{out.name} ({out.topology})" if out else "none", _fmt(out.gb_s_unidir) if out else "",
                  ", ".join(s.default_for))
    _console().print(t)


@app.command()
def stacks(json_out: bool = JsonOpt, catalog: list[str] = CatalogOpt) -> None:
    """List the training stacks: what each overlaps, fuses and compiles (at its latest release)."""
    cat = _catalog(catalog)
    rows = [cat.stacks[k].at_release(None)[0] for k in sorted(cat.stacks)]
    if json_out:
        _dump([st.model_dump(mode="json") for st in rows])
        return
    from rich.table import Table

    t = Table(title=f"{len(rows)} training stacks (`accelplan stack ID` for every property with its source)")
    for col in ("id", "runtimes", "default for", "execution", "overlap tp/dp/pp/ep/cp", "attention", "grad/opt B",
                "latest"):
        t.add_column(col)
    for st in rows:
        o, ex = st.overlap, st.execution
        t.add_row(st.id, ", ".join(st.runtimes), ", ".join(st.default_for), f"{ex.mode}, graphs {ex.graphs}",
                  "/".join(f"{v:g}" for v in (o.tp, o.dp, o.pp, o.ep, o.cp)), st.kernels.attention,
                  f"{st.memory.grad_bytes:g}/{st.memory.optimizer_bytes:g}", st.version or "-")
    _console().print(t)


@app.command()
def stack(stack_id: str = typer.Argument(..., help="stack id or alias, e.g. megatron-lm, nemo, mindspeed-llm"),
          version: str = typer.Option(None, "--version", help="a release (default: the latest)"),
          json_out: bool = JsonOpt, catalog: list[str] = CatalogOpt) -> None:
    """Every property of one training stack with its source and confidence, and its release history."""
    st, note = _catalog(catalog).stack(stack_id).at_release(version)
    if json_out:
        _dump(st.model_dump(mode="json"))
        return
    from rich.table import Table

    con = _console()
    con.print(f"[bold]{st.name}[/bold] ({note})")
    t = Table()
    for col in ("property", "value", "confidence", "source"):
        t.add_column(col, overflow="fold")
    data = st.model_dump()
    for path in st.figure_paths():
        group, key = path.split(".", 1)
        src = "; ".join(s.ref for s in st.sources_for(path))
        t.add_row(path, str(data[group][key]), st.confidence.get(path, ""), src)
    con.print(t)
    for r in st.releases:
        con.print(f"release {r.version} ({r.date or 'undated'}): {r.changes or 'base'} [dim]{r.source}[/dim]")
    for rt, rc in st.by_runtime.items():
        con.print(f"on {rt}: {rc.changes} [dim]{rc.source}[/dim]")
    if st.notes:
        con.print(f"[dim]{st.notes}[/dim]")


@app.command()
def models(json_out: bool = JsonOpt, catalog: list[str] = CatalogOpt) -> None:
    """List the model presets with total and active parameters."""
    from accelplan.perf.costs import model_costs

    cat = _catalog(catalog)
    rows = []
    for m in sorted(cat.models.values(), key=lambda m: m.id):
        c = model_costs(m)
        rows.append({"id": m.id, "name": m.name, "params_b": c.params_total / 1e9, "active_b": c.params_active / 1e9,
                     "layers": m.layers, "hidden": m.hidden, "moe": m.moe is not None, "illustrative": m.illustrative})
    if json_out:
        _dump(rows)
        return
    from rich.table import Table

    t = Table(title=f"{len(rows)} model presets")
    for col in ("id", "total B", "active B", "layers", "hidden", "kind"):
        t.add_column(col, justify="right" if col not in ("id", "kind") else "left")
    for r in rows:
        kind = ("MoE" if r["moe"] else "dense") + (" (illustrative)" if r["illustrative"] else "")
        t.add_row(r["id"], f"{r['params_b']:.1f}", f"{r['active_b']:.1f}", str(r["layers"]), str(r["hidden"]), kind)
    _console().print(t)


@app.command()
def model(model_id: str = typer.Argument(..., help="preset id, or a path to a ModelSpec YAML / HF config.json"),
          seq_len: int = _num(None, "--seq-len", name="seq_len", help="sequence length (default: the preset's)"),
          json_out: bool = JsonOpt, catalog: list[str] = CatalogOpt) -> None:
    """One model: total and active parameters, FLOPs per token (convention stated)."""
    from accelplan.perf.costs import ATTENTION_CONVENTION, model_costs

    m = _catalog(catalog).model(model_id)
    c = model_costs(m, seq_len)
    out = {"id": m.id, "name": m.name, "params_total": c.params_total, "params_active": c.params_active,
           "params_embedding": c.params_embedding + c.params_logits, "seq_len": c.seq_len,
           "forward_flops_per_token": c.forward_flops_per_token(),
           "training_flops_per_token": c.model_flops_per_token(),
           "six_n_active": 6 * c.params_active, "convention": ATTENTION_CONVENTION,
           "illustrative": m.illustrative, "illustrative_note": m.illustrative_note,
           "published": m.published.model_dump() if m.published else None, "spec": m.model_dump(mode="json")}
    if json_out:
        _dump(out)
        return
    con = _console()
    con.print(f"[bold]{m.name}[/bold] ({m.id})" + ("  [yellow]illustrative[/yellow]" if m.illustrative else ""))
    if m.illustrative:
        con.print(f"[yellow]{m.illustrative_note}[/yellow]")
    con.print(f"parameters: {c.params_total / 1e9:.2f} B total, {c.params_active / 1e9:.2f} B active"
              + (f" (published: {m.published.total_b} B / {m.published.active_b or m.published.total_b} B)"
                 if m.published else ""))
    con.print(f"layers {m.layers}, hidden {m.hidden}, heads {m.heads} (kv {m.n_kv_heads}), ffn {m.ffn_hidden}, "
              f"vocab {m.vocab}" + (f", MoE {m.moe.experts} experts top-{m.moe.top_k}" if m.moe else ""))
    con.print(f"training FLOPs per token at seq {c.seq_len}: {c.model_flops_per_token() / 1e9:,.1f} GFLOP "
              f"(6N_active = {6 * c.params_active / 1e9:,.1f} GFLOP)")
    con.print(f"[dim]convention: {ATTENTION_CONVENTION}[/dim]")


# ------------------------------------------------------------------------------------------- planning
def _workload(model_id: str, tokens: float | None, seq_len: int | None, global_batch: int | None, precision: str,
              cat: Any):  # noqa: ANN202
    from accelplan.api import DEFAULT_GLOBAL_BATCH, DEFAULT_TOKENS, make_workload

    return make_workload(model_id, DEFAULT_TOKENS if tokens is None else tokens, seq_len,
                         DEFAULT_GLOBAL_BATCH if global_batch is None else global_batch, precision, cat)


ModelOpt = typer.Option(DEFAULT_MODEL, "--model", "-m", help="preset id or path to a HF config.json")
TokensOpt = _num(None, "--tokens", name="tokens", help="training tokens (default 20T)")
GbsOpt = _num(None, "--global-batch", name="global_batch", help="sequences per step (default 4096)")
PrecOpt = typer.Option("bf16", "--precision", help="bf16 | fp16 | fp8")


_SHORT_STATUS = {"available": "yes", "licence_required": "licence", "prohibited": "no", "high_risk": "risky",
                 "restricted_by_importer": "restricted", "unknown": "?"}


def _rc(p: Any) -> str:
    """Recompute as shown in tables: 'full:2' is full recompute of 2 layers per virtual pipeline stage."""
    return f"full:{p.recompute_layers}" if p.recompute_layers else p.recompute


def _positive_chips(n: int) -> None:
    from accelplan.errors import AccelplanError

    if n < 1:
        raise AccelplanError(f"--chips must be a positive number of chips, got {n}")


def _scale(v: float) -> tuple[float, str]:
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return scale, suffix
    return 1.0, ""


def _money(v: float) -> str:
    """Dollars at the scale of the figure: $1.2B, $12.7M, $41k, $850."""
    scale, suffix = _scale(v)
    return f"${v / scale:,.1f}{suffix}" if suffix else f"${v:,.0f}"


def _usd(r: Any) -> str:
    """A UsdRange as '$12.7M (6.3-29.5M)' (the range in the unit of its high end), or '-' when there is none."""
    if r is None:
        return "-"
    if abs(r.high - r.low) < 0.005 * max(r.typical, 1.0):
        return _money(r.typical)
    scale, suffix = _scale(r.high)
    digits = 1 if suffix else 0
    return f"{_money(r.typical)} ({r.low / scale:,.{digits}f}-{r.high / scale:,.{digits}f}{suffix})"


def _small(v: float | None) -> str:
    """A quantity with no decimals when it is large, two significant ones when it is small: 5,892 or 0.041."""
    if v is None:
        return "unknown"
    return _fmt(v, digits=0) if abs(v) >= 10 else f"{v:.2g}"


def _tokens(n: float) -> str:
    """A token count as people say it: 20T, 500B, 1.5M."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:,.3g}{suffix}"
    return f"{n:,.0f}"


def _print_estimate(e: Any, title: str) -> None:
    from rich.table import Table

    con = _console()
    con.print(f"[bold]{title}[/bold]")
    p = e.plan
    algo = f" ({p.cp_algo})" if p.cp > 1 and p.cp_algo else ""
    con.print(f"plan: tp {p.tp} pp {p.pp} dp {p.dp} cp {p.cp}{algo} ep {p.ep} vpp {p.vpp} micro-batch {p.micro_batch} "
              f"recompute {_rc(p)} zero {p.zero} sp {p.sequence_parallel}")
    rng = (f" (80% range {e.tokens_per_s_low:,.0f}-{e.tokens_per_s_high:,.0f})" if e.tokens_per_s_low else "")
    con.print(f"step {e.step_time_s:.3f} s   tokens/s {e.tokens_per_s:,.0f}{rng}   MFU {e.mfu:.1%}   HFU {e.hfu:.1%}   "
              f"memory {e.memory_gb:.1f} / {e.capacity_gb:.1f} GB" + (f"   {e.days:,.1f} days" if e.days else ""))
    t = Table(title="step time breakdown (sums to the step)")
    t.add_column("term")
    t.add_column("s", justify="right")
    t.add_column("%", justify="right")
    for k, v in e.time_breakdown_s.items():
        if v > 0:
            t.add_row(k, f"{v:.3f}", f"{v / e.step_time_s:.1%}")
    m = Table(title="memory per device")
    m.add_column("term")
    m.add_column("GB", justify="right")
    for k, v in e.memory_breakdown_gb.items():
        m.add_row(k, f"{v:.1f}")
    con.print(t, m)
    for note in e.assumptions:  # network rates the catalog lacks, or measured ones from a calibration profile
        con.print(f"[yellow]network: {note}[/yellow]")
    con.print(f"[dim]{e.stack}[/dim]")
    con.print(f"[dim]{e.conventions}; efficiency: {e.efficiency_basis}[/dim]")


@app.command()
def estimate(chip_id: str = typer.Option(None, "--chip", "-c", help="chip id; required without --mix"),
             chips: int = _num(None, "--chips", "-n", name="chips", help="chips in the job; required without --mix"),
             model_id: str = ModelOpt, tokens: float = TokensOpt, seq_len: int = SeqOpt, global_batch: int = GbsOpt,
             precision: str = PrecOpt, tp: int = _num(1, "--tp", name="tp", help="tensor parallel"),
             pp: int = _num(1, "--pp", name="pp", help="pipeline stages"),
             cp: int = _num(1, "--cp", name="cp", help="context parallel"),
             cp_algo: str = typer.Option(None, "--cp-algo", help="ring | all_gather | ulysses | hybrid: how context "
                                                                  "parallelism exchanges K, V (default: the stack's)"),
             ep: int = _num(1, "--ep", name="ep", help="expert parallel"),
             vpp: int = _num(1, "--vpp", name="vpp", help="virtual pipeline stages per stage"),
             micro_batch: int = _num(1, "--micro-batch", name="micro_batch", help="sequences per micro-batch"),
             recompute: str = typer.Option("selective", "--recompute", help="none | selective | full"),
             recompute_layers: int = _num(None, "--recompute-layers", name="recompute_layers",
                                          help="with --recompute full: layers per virtual stage that recompute "
                                               "(Megatron's block method); default all"),
             zero: int = _num(1, "--zero", name="zero", help="ZeRO stage"),
             sequence_parallel: bool = typer.Option(None, "--sp/--no-sp", metavar="",
                                                    help="sequence parallel (default: on when tp > 1)"),
             system: str = typer.Option(None, help="system id (default: the chip's default system)"),
             optimizer_dtype: str = typer.Option(None, "--optimizer-dtype", help="fp32 | bf16 Adam moments (default: "
                                                                                   "the stack's)"),
             offload_activations: bool = typer.Option(False, "--offload-activations", metavar="",
                                                      help="saved activations to host"),
             offload_optimizer: bool = typer.Option(False, "--offload-optimizer", metavar="",
                                                    help="optimizer state in host memory"),
             framework: str = FrameworkOpt, framework_version: str = FrameworkVersionOpt,
             calibration: str = CalibrationOpt, assume: list[str] = AssumeOpt, json_out: bool = JsonOpt,
             catalog: list[str] = CatalogOpt, phase: list[str] = PhaseOpt, workload: str = WorkloadOpt,
             mix: list[str] = MixOpt,
             block: list[str] = typer.Option(None, "--block", metavar="CHIP:tpT:sS:lL[:epE]",
                                             help="with --mix: one pipeline block per chip type, in order (tensor "
                                                  "parallel, stages, layers, expert parallel), e.g. --block "
                                                  "h100-sxm:tp8:s1:l32"),
             dp: int = _num(None, "--dp", name="dp", help="with --mix: pipeline replicas")) -> None:
    """Predict one given plan: step time and its breakdown, tokens/s, MFU, memory per device. With --phase or
    --workload: each phase on that plan and the programme's total, or the phase the plan cannot run."""
    from accelplan.api import estimate as run_estimate
    from accelplan.catalog.schema import Plan
    from accelplan.errors import PlanError

    if mix or block:
        if chip_id or chips:
            raise PlanError("--mix gives the chips and their counts: leave out --chip and --chips")
        if not (mix and block and dp):
            raise PlanError("a mixed plan needs --mix CHIP=COUNT per type, --block per type and --dp")
        _estimate_mixed(mix, block, dp, model_id, tokens, seq_len, global_batch, precision, micro_batch, recompute,
                        framework, framework_version, calibration, assume, json_out, catalog)
        return
    if chip_id is None or chips is None:
        raise PlanError(f"estimate needs {'--chip' if chip_id is None else '--chips'} (or --mix with --block)")
    _positive_chips(chips)
    cat = _catalog(catalog)
    tpcp = tp * pp * cp
    if chips % tpcp:
        raise PlanError(f"--chips {chips} is not a multiple of tp*pp*cp = {tpcp}")
    plan = Plan(tp=tp, pp=pp, dp=chips // tpcp, cp=cp, cp_algo=cp_algo, ep=ep, vpp=vpp,  # type: ignore[arg-type]
                micro_batch=micro_batch,
                recompute=recompute, recompute_layers=recompute_layers, zero=zero,  # type: ignore[arg-type]
                sequence_parallel=tp > 1 if sequence_parallel is None else sequence_parallel,
                optimizer_dtype=optimizer_dtype, offload_activations=offload_activations,  # type: ignore[arg-type]
                offload_optimizer=offload_optimizer)
    if phase or workload:
        from accelplan.flags import workload_spec

        spec = workload_spec(phase, workload, None if model_id == ModelOpt.default else model_id, tokens, seq_len,
                             global_batch, precision)
        _plan_programme(spec, chip_id, chips, system, None, framework, framework_version, calibration, assume,
                        json_out, cat, plan=plan)
        return
    w = _workload(model_id, tokens, seq_len, global_batch, precision, cat)
    e = run_estimate(w, chip_id, plan, system, assumptions=assumptions_of(assume), calibration=calibration_of(calibration),
                     framework=framework, framework_version=framework_version, catalog=cat)
    if json_out:
        _dump(e)
        return
    _print_estimate(e, f"{w.model.id} on {chips} x {e.chip} ({e.system})")


def _compare_mixed(mix: list[str], chip_ids: list[str] | None, model_id: str | None, tokens: float | None,
                   days: float | None, chips: int | None, seq_len: int | None, global_batch: int | None,
                   precision: str | None, phase: list[str] | None, workload: str | None, region: str | None,
                   price: list[str] | None, power: list[str] | None, kwh_price: float | None, pue: float | None,
                   years: float | None, checkpoint: str, framework: str | None, framework_version: str | None,
                   calibration: str | None, assume: list[str] | None, json_out: bool, catalog: list[str] | None) -> None:
    """`compare --mix`: the mixed job beside each part alone and the sum of the parts, with time, cost and energy;
    on the same workload `compare` takes (a programme of phases by default, each phase on its own best plan)."""
    from rich.markup import escape
    from rich.table import Table

    from accelplan.errors import PlanError
    from accelplan.flags import compare_request as request_of
    from accelplan.phases import request_workloads
    from accelplan.plan.mixed import compare_mixed

    for flag, given in (("--chips/-c", chip_ids), ("--n-chips", chips), ("--days", days)):
        if given:
            raise PlanError(f"--mix gives the cluster and its size: leave out {flag}")
    cat = _catalog(catalog)
    req = request_of(chips=None, model=model_id, tokens=tokens, days=None, n_chips=None, seq_len=seq_len,
                     global_batch=global_batch, precision=precision, phase=phase, workload=workload, region=region,
                     available_only=False, price=price, power=power, kwh_price=kwh_price, pue=pue, years=years,
                     checkpoint=checkpoint, framework=framework, framework_version=framework_version,
                     calibration_path=calibration, assume=assume)
    spec, ws, names = request_workloads(req, cat)
    parts = _mix_parts(mix, framework, framework_version, cat)
    res = compare_mixed(ws, parts, req.economics_options(), req.assumptions, req.calibration_profile(), names=names)
    w = ws[0]
    if json_out:
        _dump({"model": w.model.id, "workload": spec.id if spec is not None else None, "tokens": res.tokens,
               "seq_len": w.seq_len, "global_batch": w.global_batch,
               "efficiency": res.result.efficiency, "gain_over_best_part": res.result.gain_over_best_part,
               "verdict": res.result.verdict, "assumptions": res.result.assumptions, "caveats": res.result.caveats,
               "rows": res.rows, "notes": res.notes, "phases": res.phases, "mixed": res.result})
        return
    con = _console()
    if res.phases:
        steps = " -> ".join(f"{_tokens(p.tokens)}@{_seq(p.seq_len)}" for p in res.phases)
        con.print(f"{spec.id if spec is not None else 'phases'} ({w.model.id}, {w.precision}): {_tokens(res.tokens)} "
                  f"tokens in {steps}: one mixed job beside each part alone, each phase on its own best plan")
    else:
        con.print(f"{w.model.id} on {_tokens(w.tokens)} tokens, seq {w.seq_len}, global batch {w.global_batch}, "
                  f"{w.precision}: one mixed job beside each part alone")
    t = Table()
    for col in ("cluster", "tokens/s", "days", "goodput", "cloud $ on-demand", "MWh", "plan"):
        t.add_column(col, justify="left" if col in ("cluster", "plan") else "right")
    for r in res.rows:
        t.add_row(escape(r.cluster), f"{r.tokens_per_s:,.0f}" if r.tokens_per_s else "-",
                  f"{r.elapsed_days:,.1f}" if r.elapsed_days else "-",
                  f"{r.goodput_pct:.1f}%" if r.goodput_pct else "-",
                  f"${r.cloud_cost_usd / 1e6:,.1f}M" if r.cloud_cost_usd else "unknown",
                  f"{r.energy_mwh:,.0f}" if r.energy_mwh else "unknown", escape(r.plan))
    m = res.result
    if m.sum_of_parts_tokens_per_s:
        t.add_row("sum of the parts (run separately)", f"{m.sum_of_parts_tokens_per_s:,.0f}", "", "", "", "", "")
    con.print(t)
    if res.phases:
        pt = Table(title="per phase: tokens/s of the mixed job (its mode) and of each part alone")
        chips_in = [p.chip.id for p in parts]
        for col in ("phase", "mixed", *chips_in, "mixed plan"):
            pt.add_column(col, justify="left" if col in ("phase", "mixed plan") else "right", overflow="fold")
        for ph in res.phases:
            pt.add_row(f"{escape(ph.name)} ({_tokens(ph.tokens)} @ {_seq(ph.seq_len)})",
                       f"{ph.mixed_tokens_per_s:,.0f} {ph.mode}" if ph.mixed_tokens_per_s else "-",
                       *[f"{v:,.0f}" if (v := ph.alone_tokens_per_s.get(c)) else "-" for c in chips_in],
                       escape(ph.plan))
        con.print(pt)
    if m.efficiency is not None:
        con.print(f"efficiency: the mix runs at {m.efficiency:.0%} of the sum of its parts run alone")
    con.print(f"[bold]{escape(m.verdict)}[/bold]")
    for x in (*m.assumptions, *res.notes):
        con.print(f"[dim]assumed: {escape(x)}[/dim]")
    for x in m.caveats:
        con.print(f"[yellow]caveat: {escape(x)}[/yellow]")


def _validate_mixed(runs_file: str | None, assume: list[str] | None, json_out: bool,
                    catalog: list[str] | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    from accelplan.validate.mixed import validate_mixed

    res = validate_mixed(runs_file, _catalog(catalog), assumptions_of(assume))
    if json_out:
        _dump(res)
        return
    t = Table(title=f"mixed-cluster validation: {res.file}")
    for col in ("run", "devices", "plan", "predicted s", "measured s", "error %", "source planner %", "fits"):
        t.add_column(col, justify="left" if col in ("run", "devices", "plan") else "right")
    for r in res.runs:
        measured = f"{r.measured_s:.2f}" if r.measured_s else r.status
        t.add_row(r.id, escape(r.devices), r.plan, f"{r.predicted_s:.2f}" if r.predicted_s else escape(r.error or "-"),
                  measured, f"{r.error_pct:+.0f}" if r.error_pct is not None else "-",
                  f"{r.baseline_error_pct:+.0f}" if r.baseline_error_pct is not None else "-",
                  "yes" if r.fits else ("no" if r.fits is False else "-"))
    con = _console()
    con.print(t)

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.1f}%"

    def rho(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}"

    con.print(f"MAPE on iteration time {pct(res.mape_pct)} (the source planner's own: {pct(res.baseline_mape_pct)}); "
              f"Spearman rank correlation {rho(res.spearman)} (source planner: {rho(res.baseline_spearman)})")
    con.print(f"failed runs predicted not to fit: {res.failed_predicted_not_to_fit} of {res.failed}; runs that ran "
              f"but are predicted not to fit: {res.ran_predicted_not_to_fit}")


def _estimate_mixed(mix: list[str], block: list[str], dp: int, model_id: str, tokens: float | None,
                    seq_len: int | None, global_batch: int | None, precision: str, micro_batch: int, recompute: str,
                    framework: str | None, framework_version: str | None, calibration: str | None,
                    assume: list[str] | None, json_out: bool, catalog: list[str] | None) -> None:
    """`estimate --mix ... --block ...`: one given mixed plan."""
    from rich.markup import escape

    from accelplan.plan.mixed import estimate_mixed, parse_block

    cat = _catalog(catalog)
    w = _workload(model_id, tokens, seq_len, global_batch, precision, cat)
    parts = _mix_parts(mix, framework, framework_version, cat)
    e = estimate_mixed(w, parts, [parse_block(b) for b in block], dp, micro_batch, recompute, assumptions_of(assume),
                       calibration_of(calibration))
    if json_out:
        _dump(e)
        return
    con = _console()
    con.print(f"{w.model.id} at {w.seq_len:,} x {w.global_batch:,} on " + " + ".join(
        f"{p.count:,} x {p.chip.id}" for p in parts))
    con.print(f"step {e.step_time_s:.3f} s   tokens/s {e.tokens_per_s:,.0f}   {e.micro_batches} micro-batches   "
              f"bubble {e.bubble_s:.3f} s   cross-type sends {e.boundary_s * 1e3:.1f} ms per micro-batch   "
              f"gradient exchange + optimizer {e.dp_exposed_s:.3f} s")
    for b in e.blocks:
        con.print(escape(f"  {b.chip}: tp{b.tp} ep{b.ep} x {b.stages} stages, {b.layers} layers, {b.chips:,} chips "
                         f"({b.idle_chips:,} idle); stage {b.stage_time_s * 1e3:.1f} ms per micro-batch, busy "
                         f"{b.busy_share:.0%}; memory {b.memory_gb:.1f} of {b.capacity_gb:.1f} GB"))


def _mix_parts(mix: list[str], framework: str | None, framework_version: str | None, cat: Any) -> list[Any]:
    """The parts of a --mix: each chip on its default system and its stack (--framework where it runs there)."""
    from accelplan.plan.mixed import parse_mix, parts_of

    return parts_of(parse_mix(mix), cat, framework, framework_version)


def _plan_mixed(w: Any, mix: list[str], top: int, framework: str | None, framework_version: str | None,
                calibration: str | None, assume: list[str] | None, json_out: bool, cat: Any) -> None:
    """`plan --mix`: the fastest mixed plans, each part alone, efficiency and verdict."""
    import time

    from accelplan.plan.mixed import plan_mixed

    parts = _mix_parts(mix, framework, framework_version, cat)
    t0 = time.perf_counter()
    res = plan_mixed(w, parts, assumptions_of(assume), calibration_of(calibration), top=top)
    dt = time.perf_counter() - t0
    if json_out:
        _dump({"model": w.model.id, "seq_len": w.seq_len, "global_batch": w.global_batch, "seconds": dt,
               **res.model_dump()})
        return
    _print_mixed(res, w, dt)


def _print_mixed(res: Any, w: Any, seconds: float | None = None) -> None:
    from rich.markup import escape
    from rich.table import Table

    con = _console()
    mix = " + ".join(f"{n:,} x {c}" for c, n in res.parts.items())
    took = f" ({res.candidates:,} mixed plans in {seconds:.2f} s)" if seconds is not None else ""
    con.print(f"{w.model.id} at {w.seq_len:,} tokens x {w.global_batch:,} sequences on {mix}{took}")
    t = Table(title="fastest mixed plans: pipeline blocks in order (chip: tp/ep x stages, layers)")
    for col in ("#", "blocks", "dp", "mb", "recompute", "tokens/s", "step s", "bubble s", "cross-type ms",
                "busy %", "mem GB"):
        t.add_column(col, justify="left" if col in ("blocks", "recompute") else "right")
    for i, e in enumerate(res.top, 1):
        blocks = " | ".join(f"{b.chip}: tp{b.tp}/ep{b.ep} x{b.stages}, {b.layers}L" for b in e.blocks)
        t.add_row(str(i), escape(blocks), str(e.dp), str(e.micro_batch), e.recompute, f"{e.tokens_per_s:,.0f}",
                  f"{e.step_time_s:.2f}", f"{e.bubble_s:.2f}", f"{e.boundary_s * 1e3:.1f}",
                  " / ".join(f"{b.busy_share:.0%}" for b in e.blocks),
                  " / ".join(f"{b.memory_gb:.0f}/{b.capacity_gb:.0f}" for b in e.blocks))
    con.print(t)
    a = Table(title="each part alone (its own best plan) and the mix")
    for col in ("cluster", "tokens/s", "plan"):
        a.add_column(col, justify="right" if col == "tokens/s" else "left")
    for c, n in res.parts.items():
        v = res.alone_tokens_per_s.get(c)
        a.add_row(f"{n:,} x {c}", f"{v:,.0f}" if v else "no plan fits", res.alone_plans.get(c, "-"))
    if res.sum_of_parts_tokens_per_s:
        a.add_row("sum of the parts", f"{res.sum_of_parts_tokens_per_s:,.0f}", "run separately")
    if res.best:
        a.add_row("mixed: pipeline blocks", f"{res.best.tokens_per_s:,.0f}", "the fastest plan above")
    if res.data_split:
        d = res.data_split
        a.add_row("mixed: batch shares", f"{d.tokens_per_s:,.0f}", escape(
            " | ".join(f"{x.chip}: {x.sequences:,} seq, {x.plan}" for x in d.shares)
            + f"; cross-type all-reduce {d.exchange_s:.2f} s"))
    if res.efficiency:
        a.add_row("efficiency", f"{res.efficiency:.0%}", "the faster mix over the sum of the parts")
    con.print(a)
    con.print(f"[bold]{escape(res.verdict)}[/bold]")
    for x in res.assumptions:
        con.print(f"[dim]assumed: {escape(x)}[/dim]")
    for x in res.caveats:
        con.print(f"[yellow]caveat: {escape(x)}[/yellow]")


def _plan_programme(spec: Any, chip_id: str, chips: int, system: str | None, region: str | None,
                    framework: str | None, framework_version: str | None, calibration: str | None,
                    assume: list[str] | None, json_out: bool, cat: Any, plan: Any = None) -> None:
    """`plan` for a programme: each phase's best plan on the same chips, and the totals; `estimate` for a programme
    (`plan` given): each phase on that plan, or the phase it cannot run."""
    from accelplan.api import check_system, resolve_stack
    from accelplan.errors import PlanError
    from accelplan.flags import economics_options
    from accelplan.perf.kernels import modelling_gap
    from accelplan.phases import program_at, program_with_plan, request_workloads
    from accelplan.request import CompareRequest

    spec, ws, names = request_workloads(CompareRequest(workload=spec), cat)
    c = cat.chip(chip_id)
    s = cat.system(system) if system else cat.default_system(c)
    check_system(c, s)
    gap = modelling_gap(c, ws[0].precision)
    if gap:
        raise PlanError(gap)
    st, note = resolve_stack(c, framework, framework_version, cat)
    econ = economics_options(region, None, None, None, None, "async")
    if plan is None:
        res = program_at(ws, names, c, s, chips, econ, assumptions_of(assume), calibration_of(calibration), st)
    else:
        res = program_with_plan(ws, names, c, s, plan, econ, assumptions_of(assume), calibration_of(calibration), st,
                                catalog=cat)
    if json_out:
        _dump({"chip": c.id, "system": s.id, "chips": chips, "workload": spec.id, "model": spec.model,
               "stack": note, "programme": res})
        if res is None:
            raise typer.Exit(1)
        return
    con = _console()
    if res is None:
        con.print(f"[red]some phase of {spec.id} has no plan that fits on {chips} x {c.id}[/red] (`accelplan plan` "
                  "with that phase's --seq-len and --global-batch says why)")
        raise typer.Exit(1)
    which = "each phase's best plan" if plan is None else f"each phase on the plan {_plan_cell(plan)}"
    _print_programme(con, res, f"{spec.id} ({spec.model}) on {chips:,} x {c.id} ({s.id}): {which}")
    con.print(f"[dim]{note}; each phase's `accelplan estimate` line in --json programme.phases[].estimate_command"
              "[/dim]")


def _day_text(d: float | None) -> str:
    """Days with one decimal, or two significant digits under a day (a short phase is not '0.0')."""
    return "-" if d is None else f"{d:,.1f}" if d >= 1 else f"{d:.2g}"


def _print_programme(con: Any, res: Any, title: str) -> None:
    """A programme on one cluster: each phase's plan, rate and days, then the totals."""
    from rich.table import Table

    t = Table(title=title)
    for col in ("phase", "tokens", "seq", "batch", "plan", "tokens/s", "MFU", "mem GB", "days"):
        t.add_column(col, justify="left" if col in ("phase", "plan") else "right")
    for ph in res.phases:
        e = ph.estimate
        t.add_row(ph.name, _tokens(ph.tokens), _seq(ph.seq_len), f"{ph.global_batch:,}", _plan_cell(e.plan),
                  f"{e.tokens_per_s:,.0f}", f"{e.mfu:.1%}", f"{e.memory_gb:.0f}", _day_text(ph.days))
    con.print(t)
    ec = res.economics
    cost = _usd(ec.cloud_cost_usd) if ec.cloud_cost_usd else "no public price"
    con.print(f"programme: {_day_text(ec.effective_days)} elapsed days ({_day_text(res.compute_days)} failure-free) at "
              f"{ec.goodput_pct:.1f}% goodput, {res.tokens_per_s:,.0f} tokens/s overall, MFU {res.mfu:.1%}; cloud "
              f"{cost}; energy {_fmt(ec.energy_mwh, ' MWh', 0)}")
    if res.transition_note:
        con.print(f"[dim]{res.transition_note}[/dim]")


TEXT_TOP_MAX = 100  # plan rows printed as a table (rendering thousands takes rich a minute); --json has all


@app.command("plan")
def plan_cmd(chip_id: str = typer.Option(None, "--chip", "-c", help="chip id (`accelplan chips`); required without "
                                                                       "--mix"),
             chips: int = _num(None, "--chips", "-n", name="chips", help="chips in the job; required without --mix"),
             model_id: str = ModelOpt, tokens: float = TokensOpt, seq_len: int = SeqOpt, global_batch: int = GbsOpt,
             precision: str = PrecOpt, top: int = _num(10, "--top", "-k", name="top", help="plans to show"),
             system: str = typer.Option(None), region: str = RegionOpt, framework: str = FrameworkOpt,
             framework_version: str = FrameworkVersionOpt, calibration: str = CalibrationOpt,
             assume: list[str] = AssumeOpt, json_out: bool = JsonOpt, catalog: list[str] = CatalogOpt,
             phase: list[str] = PhaseOpt, workload: str = WorkloadOpt, mix: list[str] = MixOpt) -> None:
    """Search every valid plan for N chips; show the fastest and why the rest were dropped. With --phase or
    --workload: the best plan of each phase on the N chips, and the programme's total. With --mix: one job over
    several chip types (pipeline blocks per type), beside each type alone."""
    import time

    from accelplan.api import check_system, economics_of, estimate_from, resolve_stack, search
    from accelplan.errors import PlanError
    from accelplan.perf.kernels import modelling_gap

    cat = _catalog(catalog)
    if mix:
        if chip_id or chips:
            raise PlanError("--mix gives the chips and their counts: leave out --chip and --chips")
        if phase or workload:
            raise PlanError("--mix plans one phase: give --seq-len/--global-batch instead of --phase/--workload")
        w = _workload(model_id, tokens, seq_len, global_batch, precision, cat)
        _plan_mixed(w, mix, top, framework, framework_version, calibration, assume, json_out, cat)
        return
    if chip_id is None or chips is None:
        raise PlanError(f"plan needs {'--chip' if chip_id is None else '--chips'} (or --mix CHIP=COUNT ...)")
    _positive_chips(chips)
    if phase or workload:
        from accelplan.flags import workload_spec

        spec = workload_spec(phase, workload, None if model_id == ModelOpt.default else model_id, tokens, seq_len,
                             global_batch, precision)
        _plan_programme(spec, chip_id, chips, system, region, framework, framework_version, calibration, assume,
                        json_out, cat)
        return
    w = _workload(model_id, tokens, seq_len, global_batch, precision, cat)
    c = cat.chip(chip_id)
    s = cat.system(system) if system else cat.default_system(c)
    check_system(c, s)
    gap = modelling_gap(c, w.precision)
    if gap:
        raise PlanError(gap)
    t0 = time.perf_counter()
    cal = calibration_of(calibration)
    from accelplan.flags import economics_options

    econ = economics_options(region, None, None, None, None, "async")
    assumed = assumptions_of(assume)
    st, note = resolve_stack(c, framework, framework_version, cat)
    res = search(w, s, c, chips, assumptions=assumed, calibration=cal, stack=st)
    dt = time.perf_counter() - t0
    ests = [] if res.arrays is None else [estimate_from(res.arrays, int(i), c, s, w, cal, assumed, st, note)
                                          for i in res.order[:top]]
    economics = economics_of(w, c, s, ests[0], econ) if ests else None
    out = {"chip": c.id, "system": s.id, "chips": chips, "model": w.model.id, "candidates": res.candidates,
           "dominated_skipped": res.dominated, "feasible": res.feasible, "dropped": res.reasons, "search_s": dt,
           "top": ests, "economics_of_best": economics}
    if json_out:
        _dump(out)
        if not ests:
            raise typer.Exit(1)  # no feasible plan: scripts see it in the exit code too
        return
    from rich.table import Table

    con = _console()
    con.print(f"[bold]{w.model.id}[/bold] on {chips} x {c.id} ({s.id}): {res.candidates:,} candidates evaluated in "
              f"{dt * 1000:.0f} ms, {res.feasible:,} feasible")
    for why, n in res.reasons.items():
        con.print(f"  dropped {n:,}: {why}")
    if res.dominated:
        con.print(f"  skipped {res.dominated:,} ZeRO-0 plans: ZeRO-1 moves the same bytes with less memory")
    if not ests:
        con.print("[red]no feasible plan[/red]")
        raise typer.Exit(1)
    t = Table()
    for col in ("#", "tp", "pp", "dp", "cp", "ep", "vpp", "mb", "recompute", "zero", "tokens/s", "MFU", "step s",
                "mem GB", "days"):
        t.add_column(col, justify="right")
    # plans that differ only in the ZeRO stage and run at the same speed are one row ("1|3"): the table shows
    # --top distinct choices, and the memory column is the smallest of the twins
    shown = min(top, TEXT_TOP_MAX)
    rows: list[tuple[Any, list[int], float]] = []
    # plan without its ZeRO stage -> the rows of that plan (a dict: --top may be 10,000); the stages of one plan can
    # run at two speeds (ZeRO-1 beside ZeRO-2 and a ZeRO-3 that keeps its gathered weights), each its own row
    twins: dict[tuple, list[int]] = {}
    assert res.arrays is not None  # there are estimates
    for k, i in enumerate(res.order):
        e = ests[k] if k < len(ests) else estimate_from(res.arrays, int(i), c, s, w, cal, assumed, st, note)
        key = tuple(sorted(e.plan.model_copy(update={"zero": 0}).model_dump().items()))
        at = next((j for j in twins.get(key, [])
                   if abs(rows[j][0].tokens_per_s - e.tokens_per_s) <= 1e-9 * e.tokens_per_s), None)
        if at is not None:
            first, zeros, mem = rows[at]
            zeros.append(e.plan.zero)
            rows[at] = (first, zeros, min(mem, e.memory_gb))
        elif len(rows) < shown:
            twins.setdefault(key, []).append(len(rows))
            rows.append((e, [e.plan.zero], e.memory_gb))
        else:
            break
    for n, (e, zeros, mem) in enumerate(rows, 1):
        p = e.plan
        t.add_row(str(n), str(p.tp), str(p.pp), str(p.dp),
                  f"{p.cp} {CP_SHORT[p.cp_algo]}" if p.cp > 1 and p.cp_algo else str(p.cp), str(p.ep), str(p.vpp),
                  str(p.micro_batch),
                  _rc(p), "|".join(str(z) for z in sorted(zeros)), f"{e.tokens_per_s:,.0f}", f"{e.mfu:.1%}",
                  f"{e.step_time_s:.2f}", f"{mem:.0f}", f"{e.days:,.1f}" if e.days else "")
    con.print(t)
    if top > shown:
        con.print(f"[dim]showing the best {shown} of --top {top}: a table longer than that is not read; --json lists "
                  "them all[/dim]")
    for note in ests[0].assumptions:
        con.print(f"[yellow]network: {note}[/yellow]")
    con.print(f"[dim]{ests[0].stack}; efficiencies: {ests[0].efficiency_basis}[/dim]")
    if economics is not None:
        ec = economics
        cost = _usd(ec.cloud_cost_usd) if ec.cloud_cost_usd else "no public price"
        con.print(f"best plan, elapsed: {ec.effective_days:,.1f} days at {ec.goodput_pct:.1f}% goodput "
                  f"(~{ec.expected_interruptions:,.0f} interruptions); cloud {cost}; energy "
                  f"{_fmt(ec.energy_mwh, ' MWh', 0)}")
        if ec.availability is not None:
            av = ec.availability
            con.print(f"{c.id} in {av.region}: {av.status} (as of {av.as_of}; {av.rule}). [dim]{av.disclaimer}[/dim]")


@app.command()
def compare(chip_ids: list[str] = ChipsOpt, model_id: str = CompareModelOpt, tokens: float = CompareTokensOpt,
            days: float = DaysOpt, chips: int = NChipsOpt, seq_len: int = SeqOpt, global_batch: int = CompareGbsOpt,
            precision: str = ComparePrecOpt, phase: list[str] = PhaseOpt, workload: str = WorkloadOpt,
            region: str = RegionOpt, available_only: bool = AvailableOnlyOpt, price: list[str] = PriceOpt,
            power: list[str] = PowerOpt, kwh_price: float = KwhOpt, pue: float = PueOpt, years: float = YearsOpt,
            checkpoint: str = CheckpointOpt, framework: str = FrameworkOpt,
            framework_version: str = FrameworkVersionOpt, calibration: str = CalibrationOpt,
            assume: list[str] = AssumeOpt, json_out: bool = JsonOpt, catalog: list[str] = CatalogOpt,
            wide: bool = typer.Option(False, "--wide", metavar="", help="every column (system, goodput, interruptions, tCO2e, "
                                                            "notes) in one wide table"),
            mix: list[str] = MixOpt) -> None:
    """Several chips on one workload: how many, how long, how much, and can it be bought.

    With no arguments: the openpangu-2.0 programme (a 505B MoE: 19.5T tokens at 4K, then 400B at 32K, 80B at
    128K and 20B at 512K; illustrative) within 90 days on Ascend 910B/910C, H100, H200, B200, MI300X, TPU v5p and
    Gaudi 3, each phase on its own best plan. The deadline is met in elapsed days, after failures, checkpoints and
    the changes of plan between phases. --model/--seq-len/--global-batch/--tokens give one phase instead.
    """
    if mix:
        _compare_mixed(mix, chip_ids, model_id, tokens, days, chips, seq_len, global_batch, precision, phase,
                       workload, region, price, power, kwh_price, pue, years, checkpoint, framework, framework_version,
                       calibration, assume, json_out, catalog)
        return
    from accelplan.api import compare_request
    from accelplan.flags import compare_request as request_of

    req = request_of(chips=chip_ids, model=model_id, tokens=tokens, days=days, n_chips=chips, seq_len=seq_len,
                     global_batch=global_batch, precision=precision, phase=phase, workload=workload, region=region,
                     available_only=available_only, price=price, power=power, kwh_price=kwh_price, pue=pue,
                     years=years, checkpoint=checkpoint, framework=framework, framework_version=framework_version,
                     calibration_path=calibration, assume=assume)
    res = compare_request(req, _catalog(catalog))
    if json_out:
        _dump(res)
        return
    from rich.markup import escape
    from rich.table import Table

    con = _console()
    goal = f"chips needed to finish in {res.days:g} days" if res.mode == "deadline" else f"time on {res.chips} chips"
    if len(res.phases) > 1:
        steps = " -> ".join(f"{_tokens(p['tokens'])}@{_seq(p['seq_len'])}" for p in res.phases)
        head = f"{res.workload} ({res.model}, {res.precision}): {_tokens(res.tokens)} tokens in {steps}: {goal}"
    else:
        head = (f"{res.model} on {_tokens(res.tokens)} tokens, seq {res.seq_len}, global batch {res.global_batch}, "
                f"{res.precision}: {goal}")
    # narrow by default (readable in 100 columns: cells wrap, never cut); --wide adds system, goodput, interruptions,
    # tCO2e and puts notes in the table
    t = Table(title=head)
    money = ("chips", "days", "MFU", "goodput", "interrupts", "cloud $", "owned $", "MWh", "tCO2e")
    wide = wide or con.width >= 170
    shown = [c for c in ("chip", "system", *money, "avail", "plan", "note")
             if (wide or c not in ("system", "goodput", "interrupts", "owned $", "tCO2e", "note"))
             and not (c == "plan" and len(res.phases) > 1)]  # a programme's plans are in the per-phase table
    label = {"avail": f"in {res.region}" if res.region else "US / CN", "cloud $": "cloud $ on-demand",
             "plan": "plan tp/pp/dp/cp/ep" if wide else "plan"}
    for col in shown:
        t.add_column(label.get(col, col), justify="right" if col in money else "left", overflow="fold",
                     no_wrap=col in ("chip", "system") or (wide and col == "plan"),
                     min_width=10 if col == "avail" else None)
    notes: list[str] = []
    for r in res.rows:
        p, e = r.plan, r.economics
        avail = "-"
        if e is not None:
            by = e.availability_by_group
            avail = (e.availability.status if e.availability is not None
                     else f"{_SHORT_STATUS.get(by.get('US', ''), '?')} / {_SHORT_STATUS.get(by.get('CN_MO', ''), '?')}")
        elapsed = e.effective_days if e is not None and e.effective_days else r.days
        chip = r.chip
        if r.note and not wide:
            notes.append(f"[{len(notes) + 1}] {r.chip}: {r.note}")
            chip = f"{r.chip} [{len(notes)}]"
        cells = {"chip": chip, "system": r.system, "chips": _fmt(r.chips) if r.chips else "-",
                 "days": _days_range(elapsed, r.estimate), "MFU": f"{r.mfu:.1%}" if r.mfu else "-",
                 "goodput": f"{e.goodput_pct:.1f}%" if e else "-",
                 "interrupts": f"{e.expected_interruptions:,.0f}" if e and e.expected_interruptions is not None else "-",
                 "cloud $": _cloud_cell(e),
                 "owned $": (_usd(e.owned_cost_usd) if e.owned_cost_usd else "unknown") if e else "-",
                 "MWh": _small(e.energy_mwh) if e else "-", "tCO2e": _small(e.tco2e) if e else "-",
                 "avail": avail, "plan": _plan_cell(p, compact=wide), "note": r.note}
        t.add_row(*(escape(cells[c]) for c in shown))  # cells are text, not markup: '[1]', '[reserved]'
    con.print(t)
    for n in notes:
        con.print(f"[yellow]{escape(n)}[/yellow]")
    if len(res.phases) > 1:
        _print_phases(con, res, wide)
    if any(r.estimate_command for r in res.rows):
        con.print("[dim]each row's plan, reproduced (step breakdown, memory): "
                  "`accelplan estimate` with the line in --json rows[].estimate_command, e.g.[/dim]")
        first = next(r for r in res.rows if r.estimate_command)
        con.print(f"[dim]  {first.estimate_command}[/dim]", soft_wrap=True)
    _print_economics_sources(con, res)
    no_price = [r.chip for r in res.rows if r.economics is not None and r.economics.cloud_cost_usd is None]
    if no_price:
        con.print(f"[yellow]no public cloud price: {', '.join(no_price)} (--price CHIP=USD sets one; --json says why)"
                  "[/yellow]")
    no_power = [r.chip for r in res.rows if r.economics is not None and r.economics.energy_mwh is None]
    if no_power:
        con.print(f"[yellow]board power unknown, so energy and owned cost are unknown: {', '.join(no_power)} "
                  "(--power CHIP=W sets one)[/yellow]")
    stacks = sorted({(r.estimate.stack.removeprefix("stack: ").split(" (")[0]) for r in res.rows if r.estimate})
    if stacks:
        con.print(f"[dim]training stacks: {', '.join(stacks)} "
                  f"({'as named' if framework else 'the default of each chip runtime'}; --framework to choose)[/dim]")
    for d in res.dropped:
        con.print(f"[yellow]dropped: {d}[/yellow]")
    for n in res.notes:
        con.print(f"[yellow]note: {n}[/yellow]")
    con.print(f"[dim]days are elapsed days: failure-free compute / goodput (interruptions, restarts, checkpoints); "
              "in brackets the 80% range from the model's cross-validated error on published runs of that vendor or "
              "stack. "
              f"Costs for the elapsed time; 'unknown' where no figure is published (see docs/economics.md). "
              f"{res.conventions}. Cluster sizes are whole nodes x 2^k or 3 x 2^k. Efficiencies: measured GEMM rates "
              f"where published (see `accelplan chip ID`), else defaults.[/dim]")
    if not res.region:
        con.print("[dim]US / CN: can it be bought there (yes, licence, no, risky, restricted by the importer, ?); "
                  "--region R for one region group with the rule and its date.[/dim]")
    con.print(f"[dim]{res.disclaimer}[/dim]")


def _seq(n: int) -> str:
    return f"{n // 1024}K" if n % 1024 == 0 and n >= 1024 else str(n)


def _print_phases(con: Any, res: Any, wide: bool) -> None:
    """Days and plan of each phase, per chip: where a programme's time goes, and how the plan changes with context."""
    from rich.markup import escape
    from rich.table import Table

    t = Table(title="per phase: elapsed days and plan on the row's cluster")
    t.add_column("chip", no_wrap=True)
    for p in res.phases:
        t.add_column(f"{p['name']}\n{_tokens(p['tokens'])} @ {_seq(p['seq_len'])}, batch {p['global_batch']:,}",
                     overflow="fold")
    for r in res.rows:
        if not r.phases:
            continue
        t.add_row(r.chip, *(escape(f"{ph.days:,.1f} d  {_plan_cell(ph.estimate.plan, compact=wide)}")
                            if ph.estimate is not None and ph.days is not None else "-" for ph in r.phases))
    con.print(t)
    if res.phase_change_note:
        con.print(f"[dim]{escape(res.phase_change_note)}; each phase's `accelplan estimate` line in --json "
                  "rows[].phases[].estimate_command[/dim]")


_KIND = {"on_demand": "on-demand", "reserved": "reserved", "committed_use": "committed-use", "spot": "spot",
         "market_index": "market index", "given": "--price"}


def _cloud_cell(e: Any) -> str:
    """The cloud cost, tagged with its price kind where it is not on-demand (the column's kind)."""
    if e is None:
        return "-"
    if not e.cloud_cost_usd:
        return "no price"
    kind = getattr(e, "cloud_price_kind", None)
    return _usd(e.cloud_cost_usd) + (f" [{_KIND.get(kind, kind)}]" if kind and kind != "on_demand" else "")


def _print_economics_sources(con: Any, res: Any) -> None:
    """Which prices and rules the economics rest on, their dates, what is stale, and the rules' own words."""
    from rich.markup import escape

    econ = [(r.chip, r.economics) for r in res.rows if r.economics is not None]
    if not econ:
        return
    first = econ[0][1]
    dated = [f"{chip} {_KIND.get(e.cloud_price_kind, e.cloud_price_kind)} as of {e.cloud_price_as_of}"
             for chip, e in econ if getattr(e, "cloud_price_kind", None) and e.cloud_price_as_of]
    con.print(f"[dim]{escape(getattr(first, 'data_as_of', ''))}. Cloud prices: {escape('; '.join(dated) or 'none')} "
              "(reserved, spot and market-index ranges in --json economics.cloud_by_kind).[/dim]")
    stale = list(dict.fromkeys(w for _, e in econ for w in (getattr(e, "stale", None) or [])))
    if stale:
        con.print(f"[yellow]older than {getattr(first, 'stale_after_months', 6)} months ({len(stale)}): "
                  + escape("; ".join(stale[:6])) + (" ... (all in --json economics.stale)" if len(stale) > 6 else "")
                  + "[/yellow]")
    for n in dict.fromkeys(n for _, e in econ for n in (getattr(e, "price_notes", None) or [])):
        con.print(f"[dim]price note: {escape(n)}[/dim]")
    if res.region:
        for chip, e in econ:
            av = e.availability
            for line in (getattr(av, "lines", None) or []) if av is not None else []:
                con.print(f"{chip} in {res.region}: {escape(line)}")
        for c in dict.fromkeys(c for _, e in econ for c in (getattr(e, "availability_caveats", None) or [])):
            con.print(f"[dim]caveat: {escape(c)}[/dim]")


CP_SHORT = {"ring": "ring", "all_gather": "ag", "ulysses": "uly", "hybrid": "hyb"}  # context-parallel algorithms


def _plan_cell(p: Any, compact: bool = False) -> str:
    """Every dimension of a plan (tp x pp x dp x cp is the chip count): in words that wrap at spaces, or compact
    ('4/12/128/1/256 v4 mb1 none z1', tp/pp/dp/cp/ep) for the wide table."""
    if p is None:
        return "-"
    algo = f" {CP_SHORT.get(p.cp_algo, p.cp_algo)}" if p.cp > 1 and getattr(p, "cp_algo", None) else ""
    if compact:
        return f"{p.tp}/{p.pp}/{p.dp}/{p.cp}/{p.ep}{algo} v{p.vpp} mb{p.micro_batch} {_rc(p)} z{p.zero}"
    return (f"tp{p.tp} pp{p.pp} dp{p.dp} cp{p.cp}{algo} ep{p.ep} vpp{p.vpp} mb{p.micro_batch} "
            f"{_rc(p)} zero{p.zero}")


def _days_range(days: float | None, est: Any) -> str:
    """Elapsed days with the 80% range the throughput's range gives, e.g. '72.5 (58-99)'."""
    if not days:
        return "-"
    if est is None or not est.tokens_per_s_low:
        return f"{days:.1f}"
    fast, slow = days * est.tokens_per_s / est.tokens_per_s_high, days * est.tokens_per_s / est.tokens_per_s_low
    d = 0 if slow >= 10 else 1 if slow >= 1 else 2
    return f"{days:.{max(d, 1)}f} ({fast:.{d}f}-{slow:.{d}f})"


@app.command()
def equiv(x: str = typer.Option(..., "--from", help="chip X"),
          n: int = _num(..., "--chips", "-n", name="chips", help="chips of X"),
          y: str = typer.Option(..., "--to", help="chip Y"), model_id: str = ModelOpt, tokens: float = TokensOpt,
          seq_len: int = SeqOpt, global_batch: int = GbsOpt, precision: str = PrecOpt, region: str = RegionOpt,
          framework: str = typer.Option(None, "--framework", help="training stack of X (default: its runtime's)"),
          framework_to: str = typer.Option(None, "--framework-to", help="training stack of Y (default: its runtime's)"),
          calibration: str = CalibrationOpt, assume: list[str] = AssumeOpt, json_out: bool = JsonOpt,
          catalog: list[str] = CatalogOpt, phase: list[str] = PhaseOpt, workload: str = WorkloadOpt) -> None:
    """How many chips of Y match N chips of X on this workload. With --phase or --workload: on the whole programme
    (Y's programme days, each phase on its best plan, at most X's)."""
    from accelplan.api import equivalent

    _positive_chips(n)
    cat = _catalog(catalog)
    if phase or workload:
        from accelplan.flags import workload_spec

        spec = workload_spec(phase, workload, None if model_id == ModelOpt.default else model_id, tokens, seq_len,
                             global_batch, precision)
        _equiv_programme(spec, x, n, y, region, framework, framework_to, calibration, assume, json_out, cat)
        return
    w = _workload(model_id, tokens, seq_len, global_batch, precision, cat)
    res = equivalent(w, x, n, y, assumptions=assumptions_of(assume), calibration=calibration_of(calibration),
                     framework_x=framework, framework_y=framework_to, catalog=cat)
    if region:
        res["availability"] = _availability(cat, region, x, y)
    if json_out:
        _dump(res)
        return
    con = _console()
    ex, ey = res["x"], res["y"]
    con.print(f"{n} x {ex['chip']}: {ex['tokens_per_s']:,.0f} tokens/s (MFU {ex['mfu']:.1%}), {ex['days']:.1f} days")
    if ey is None:
        con.print(f"[red]no cluster of {y} up to the search limit matches it[/red]")
        raise typer.Exit(1)
    con.print(f"{ey['chips']:,} x {ey['chip']}: {ey['tokens_per_s']:,.0f} tokens/s (MFU {ey['mfu']:.1%}), "
              f"{ey['days']:.1f} days  ->  {res['ratio']:.2f} {ey['chip']} per {ex['chip']}")
    if res["chips_ladder"] != ey["chips"]:
        con.print(f"(the planner's ladder size above it: {res['chips_ladder']:,} x {ey['chip']})")
    con.print(f"[dim]{res['note']}[/dim]")
    _print_availability(con, res.get("availability", {}))


def _availability(cat: Any, region: str, *chip_ids: str) -> dict[str, Any]:
    from accelplan.economics import availability

    return {cid: availability(cat.chip(cid).id, region).model_dump(mode="json") for cid in chip_ids}


def _print_availability(con: Any, avs: dict[str, Any]) -> None:
    for cid, av in avs.items():
        con.print(f"{cid} in {av['region']}: {av['status']} (as of {av['as_of']})")
    if avs:
        con.print(f"[dim]{next(iter(avs.values()))['disclaimer']}[/dim]")


def _equiv_programme(spec: Any, x: str, n: int, y: str, region: str | None, framework: str | None,
                     framework_to: str | None, calibration: str | None, assume: list[str] | None, json_out: bool,
                     cat: Any) -> None:
    """`equiv` on a programme: each phase's plan and days on both sides, and the totals."""
    from accelplan.api import resolve_stack
    from accelplan.flags import economics_options
    from accelplan.phases import programme_equivalent, request_workloads
    from accelplan.request import CompareRequest

    spec, ws, names = request_workloads(CompareRequest(workload=spec), cat)
    cx, cy = cat.chip(x), cat.chip(y)
    stx, _ = resolve_stack(cx, framework, None, cat)
    sty, _ = resolve_stack(cy, framework_to, None, cat)
    res = programme_equivalent(ws, names, cx, n, cy, economics_options(region, None, None, None, None, "async"),
                               assumptions_of(assume), calibration_of(calibration), stx, sty, cat)
    avs = _availability(cat, region, x, y) if region else {}
    if json_out:
        _dump({"workload": spec.id, "model": spec.model, **res.model_dump(mode="json"), "availability": avs or None})
        if res.y is None:
            raise typer.Exit(1)
        return
    con = _console()
    _print_programme(con, res.x, f"X: {spec.id} ({spec.model}) on {n:,} x {cx.id}: each phase's best plan")
    if res.y is None:
        con.print(f"[red]no cluster of {cy.id} up to the search limit runs the programme in "
                  f"{res.x.compute_days:,.1f} days[/red]")
        raise typer.Exit(1)
    _print_programme(con, res.y, f"Y: {res.y.chips:,} x {cy.id}: each phase's best plan")
    con.print(f"{res.y.chips:,} x {cy.id} ({_day_text(res.y.compute_days)} failure-free days) match {n:,} x {cx.id} "
              f"({_day_text(res.x.compute_days)})  ->  {res.ratio:.2f} {cy.id} per {cx.id}")
    if res.chips_ladder != res.y.chips:
        con.print(f"(the planner's ladder size above it: {res.chips_ladder:,} x {cy.id})")
    con.print(f"[dim]{res.note}[/dim]")
    _print_availability(con, avs)


@app.command()
def validate(runs_file: str | None = typer.Argument(None, help="runs YAML in the interchange format (docs/runs-format.md); "
                                                               "default: the 163 published runs shipped with accelplan"),
             calibration: str = CalibrationOpt, assume: list[str] = AssumeOpt, json_out: bool = JsonOpt,
             best_plan: bool = typer.Option(False, "--best-plan", metavar="", help="also search every plan of each run (slow)"),
             mixed: bool = typer.Option(False, "--mixed", metavar="", help="mixed-cluster runs (devices of several "
                                                                           "chip types; default: the 53 AMP trials)"),
             catalog: list[str] = CatalogOpt) -> None:
    """Predict published training runs with the shipped defaults; per-run error, MAPE, leave-one-source-out MAPE.
    With --mixed: runs on clusters that mix chip types, scored beside the source planner's own predictions."""
    from accelplan.paths import input_file
    from accelplan.validate.runs import validate as run_validate
    from accelplan.validate.shipped import shipped_runs_path

    if mixed:
        if runs_file is not None:
            input_file(runs_file, "RUNS_FILE")
        _validate_mixed(runs_file, assume, json_out, catalog)
        return
    if runs_file is None:
        runs_file = str(shipped_runs_path())
    input_file(runs_file, "RUNS_FILE")
    res = run_validate(runs_file, calibration=calibration_of(calibration), assumptions=assumptions_of(assume),
                       best_plan=best_plan, catalog=_catalog(catalog))
    if json_out:
        _dump(res)
        return
    from rich.table import Table

    t = Table(title=f"validation: {runs_file}")
    for col in ("run", "chip", "chips", "predicted", "measured", "error %", "plan (tp/pp/dp/cp/ep vpp mb rc z)"):
        t.add_column(col, justify="right" if col in ("chips", "predicted", "measured", "error %") else "left")
    for r in res["runs"]:
        if r["measured_tokens_per_s"] is not None and r["predicted_tokens_per_s"] is not None:
            pred, meas = f"{r['predicted_tokens_per_s']:,.0f} tok/s", f"{r['measured_tokens_per_s']:,.0f} tok/s"
        elif r["measured_mfu"] is not None and r["predicted_mfu"] is not None:
            pred, meas = f"MFU {r['predicted_mfu']:.1%}", f"MFU {r['measured_mfu']:.1%}"
        else:
            pred, meas = "-", "-"
        p = r["plan"]
        plan = (f"{p['tp']}/{p['pp']}/{p['dp']}/{p['cp']}/{p['ep']} {p['vpp']} {p['micro_batch']} "
                f"{p['recompute'][:3]} {p['zero']}") if p else (r["error"] or "")
        err = f"{r['error_pct']:+.1f}" if r["error_pct"] is not None else "-"
        t.add_row(r["id"], r["chip"], str(r["chips"]), pred, meas, err, plan)
    con = _console()
    con.print(t)
    if res["mape_pct"] is not None:
        def by(key: str) -> str:
            return ", ".join(f"{k} {e:.1f}%" for k, e in res[key].items())

        n = len(res["runs"]) - len(res["failed"])
        con.print(f"MAPE {res['mape_pct']:.1f}% over {n} runs (bias {res['bias_pct']:+.1f}%, worst "
                  f"{res['max_abs_error_pct']:.1f}%); leave-one-source-out {res['loso_mape_pct']:.1f}%")
        con.print(f"by vendor: {by('mape_by_vendor_pct')}")
        con.print(f"by stack: {by('mape_by_framework_pct')}")
        lc = res.get("long_context") or {}
        if lc.get("mape_pct") is not None:
            con.print(f"long context ({lc['definition']}): MAPE {lc['mape_pct']:.1f}% over {lc['predicted']} runs "
                      f"(bias {lc['bias_pct']:+.1f}%), leave-one-source-out {lc['loso_mape_pct']:.1f}%")
        cov = res["interval_coverage"]
        con.print(f"published plans that fit the memory model: {res['fit_rate']:.0%}; runs inside their 80% range: "
                  + (f"{cov:.0%}" if cov is not None else "-"))
    assumed = [(r["id"], a) for r in res["runs"] for a in r["assumptions"]]
    if assumed:
        con.print(f"[dim]assumptions for unpublished fields ({len(assumed)}): "
                  + "; ".join(f"{i}: {a}" for i, a in assumed[:3]) + (" ..." if len(assumed) > 3 else "")
                  + " (all in --json)[/dim]")
    if res["failed"]:
        sys.stderr.write(f"error: {len(res['failed'])} run(s) could not be predicted: {', '.join(res['failed'][:10])}\n")
        raise typer.Exit(1)


@app.command("runs")
def runs_cmd(runs_file: str | None = typer.Argument(None, help="runs YAML (default: the published runs shipped "
                                                                "with accelplan)"),
             vendor: str | None = typer.Option(None, "--vendor", help="only this vendor's chips (nvidia, huawei, ...)"),
             framework: str | None = typer.Option(None, "--framework", help="only runs of this training stack"),
             json_out: bool = JsonOpt) -> None:
    """List published training runs: the validation set `accelplan validate` scores the model on."""
    from accelplan.validate.shipped import run_rows

    rows = run_rows(runs_file, vendor=vendor, framework=framework)
    if json_out:
        _dump(rows)
        return
    from rich.table import Table

    t = Table(title=f"{len(rows)} published runs" + (f" ({runs_file})" if runs_file else " (shipped)"))
    for col in ("run", "source family", "chip", "chips", "stack", "layers x hidden", "seq", "measured"):
        t.add_column(col, justify="right" if col in ("chips", "seq", "measured") else "left", overflow="fold")
    for r in rows:
        meas = (f"{r['measured_tokens_per_s']:,.0f} tok/s" if r["measured_tokens_per_s"]
                else f"MFU {r['measured_mfu']:.1%}" if r["measured_mfu"] else "-")
        shape = f"{r['model_layers']} x {r['model_hidden']}" + (" MoE" if r["moe"] else "")
        t.add_row(r["id"], r["source_group"] or "-", r["chip"], f"{r['chips']:,}", r["framework"] or "-", shape,
                  f"{r['seq_len']:,}", meas)
    _console().print(t)


# Capabilities that live in their own packages add their commands here. Each module below imports
# only typer at its top level (heavy parts load inside the command) and defines register(app).
_EXTENSIONS = ("accelplan.bench.cli", "accelplan.port.cli", "accelplan.web.cli", "accelplan.sweep.cli",
               "accelplan.economics.cli")


def _register_extensions() -> None:
    import importlib

    for name in _EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that capability is not in this build
            raise
        module.register(app)


_register_extensions()


def main() -> None:
    from accelplan.errors import AccelplanError

    try:
        code = _run_app()
        if code:
            sys.exit(code)
    except AccelplanError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    except ImportError as exc:
        sys.stderr.write(f"error: missing optional dependency: {exc}\n")
        sys.exit(2)
    except Exception as exc:
        line = _validation_line(exc)
        if line is not None:
            sys.stderr.write(f"error: {line}\n")
            sys.exit(2)
        # a defect, not bad input: one line by default, the traceback on request
        import os

        if os.environ.get("ACCELPLAN_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        sys.stderr.write(f"internal error: {type(exc).__name__}: {first} (a bug: please report it; "
                         "ACCELPLAN_DEBUG=1 shows the traceback)\n")
        sys.exit(1)


def _run_app() -> int:
    """Run the command; a usage error (unknown flag, a value of the wrong type) is one line, exit code 2."""
    from typer._click import exceptions as click_exc

    try:
        rv = app(standalone_mode=False)
    except click_exc.NoArgsIsHelpError as exc:
        exc.show()  # `accelplan` or a group with no arguments: its help
        return 0
    except click_exc.ClickException as exc:
        sys.stderr.write(f"error: {' '.join(exc.format_message().split())}\n")
        return 2 if isinstance(exc, click_exc.UsageError) else exc.exit_code
    except typer.Abort:
        sys.stderr.write("aborted\n")
        return 1
    return rv if isinstance(rv, int) else 0


def _validation_line(exc: Exception) -> str | None:
    """A pydantic ValidationError from a flag's value as one line naming the flag; None for anything else."""
    if type(exc).__name__ != "ValidationError" or not hasattr(exc, "errors"):
        return None
    err = exc.errors()[0]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if not err.get("loc"):  # a rule across fields: its message names them
        return msg
    return f"--{str(err['loc'][-1]).replace('_', '-')} {err.get('input')!r}: {msg}"


if __name__ == "__main__":
    main()
