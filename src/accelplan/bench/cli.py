"""`accelplan bench`: measure the device at hand against its catalog chip and write a calibration profile.

Only typer is imported here at start-up; torch, pydantic and rich load inside the command.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(device: str = typer.Option(None, "--device", help="cpu | cuda | npu | xpu | mps (default: the first present)"),
              quick: bool = typer.Option(False, "--quick", help="Fewer shapes and repeats: seconds on a CPU, under a "
                                                                "minute on a GPU."),
              json_out: bool = typer.Option(False, "--json", help="Print the profile as JSON instead of tables."),
              out: Path = typer.Option(None, "--out", help="Write the calibration profile (YAML) here."),
              chip: str = typer.Option(None, "--chip", help="Catalog chip to measure against, when the device name "
                                                            "maps to none (see `accelplan chips`).")) -> None:
        """Measure GEMM, memory bandwidth and attention (forward and backward) on this device; compare with the
        catalog peak."""
        from accelplan.bench.profile import save_profile
        from accelplan.bench.run import run_bench

        if out is not None:
            _check_out(out)  # before the benchmark, not after minutes of it
        profile = _run_with_progress(run_bench, device, quick, chip)
        if out is not None:
            try:
                save_profile(profile, out)
            except OSError as exc:
                from accelplan.errors import AccelplanError

                raise AccelplanError(f"--out {str(out)!r}: cannot be written ({exc.strerror or exc})") from None
        if json_out:
            sys.stdout.write(json.dumps(profile.model_dump(mode="json"), indent=2) + "\n")
            return
        _print(profile, out)


def _check_out(out: Path) -> None:
    """--out as the paths policy has it (its folder exists, it is no directory), and a folder we may write in."""
    import os

    from accelplan.errors import AccelplanError
    from accelplan.paths import output_file

    folder = output_file(out, "--out").resolve().parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise AccelplanError(f"--out {str(out)!r}: folder {str(folder)!r} is not writable")


def _run_with_progress(run_bench: Any, device: str | None, quick: bool, chip: str | None) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)
    state: dict[str, Any] = {}

    def on_start(dev: Any, steps: int) -> None:
        state["task"] = bar.add_task(f"{dev.kind}: {dev.name}", total=steps)

    def step(description: str) -> None:
        if state.get("running"):
            bar.advance(state["task"])
        bar.update(state["task"], description=description)
        state["running"] = True

    with bar:
        profile = run_bench(device=device, quick=quick, chip=chip, progress=step, on_start=on_start)
        if "task" in state:
            bar.advance(state["task"])
    return profile


def _pct(value: float, peak: float | None) -> str:
    return f"{value / peak:.1%}" if peak else "-"


def _peak(peak: float | None, unit: str) -> str:
    return f"{peak:,.1f} {unit}" if peak else "no catalog peak"


def _print(profile: Any, out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from accelplan.bench.run import low_references

    con = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
    ref = profile.references
    low = low_references(ref, profile.llc_bytes)
    chip = profile.chip or "no catalog chip (figures are absolute; no catalog peak to compare with)"
    con.print(f"[bold]{profile.device}[/bold]: {profile.device_name} -> {chip}   [dim]{profile.chip_match}[/dim]")
    con.print(f"[dim]torch {profile.versions.get('torch')}, {profile.date}, host {profile.host}, "
              f"{'quick' if profile.quick else 'full'} run, median of {int(profile.settings['repeats'])} repeats, "
              f"inputs rotated past a {profile.llc_bytes / 2**20:,.0f} MiB last-level cache[/dim]")

    t = Table(title="GEMM  C = A @ B  (2mnk FLOP)", title_justify="left")
    for col in ("m x n x k", "dtype", "TFLOP/s", "catalog peak", "of peak", "check"):
        t.add_column(col, justify="left" if col in ("m x n x k", "dtype") else "right")
    mm = ref.plain_matmul
    for p in profile.gemm:
        check = "ok" if p.verified else f"FAILED {p.max_rel_error:.1e}"
        if "matmul" in low and mm and (p.m, p.n, p.k, p.dtype) == (mm.m, mm.n, mm.k, mm.dtype):
            check = _low(check, low["matmul"], "matmul")
        t.add_row(f"{p.m}x{p.n}x{p.k}", p.dtype, _tflops(p.tflops), _peak(p.catalog_peak_tflops, "TFLOP/s"),
                  _pct(p.tflops, p.catalog_peak_tflops), check)
    con.print(t)

    t = Table(title="Memory bandwidth  (copy: 2 x bytes, triad: 3 x bytes)", title_justify="left")
    for col in ("kernel", "buffer", "rotated over", "GB/s", "catalog HBM", "of peak", "check"):
        t.add_column(col, justify="left" if col == "kernel" else "right")
    for p in profile.bandwidth:
        check = "ok" if p.verified else "FAILED"
        if "copy" in low and ref.plain_copy and (p.kernel, p.buffer_bytes) == ("copy", ref.plain_copy.buffer_bytes):
            check = _low(check, low["copy"], "copy")
        t.add_row(p.kernel, f"{p.buffer_bytes / 2**20:,.0f} MiB", f"{p.rotation_bytes / 2**20:,.0f} MiB",
                  f"{p.gb_s:,.1f}", _peak(p.catalog_peak_gb_s, "GB/s"), _pct(p.gb_s, p.catalog_peak_gb_s), check)
    con.print(t)

    t = Table(title="Attention  SDPA causal  (forward 2bhs²d FLOP, backward 2.5 x forward)", title_justify="left")
    for col in ("batch x heads x seq x d", "dtype", "fwd TFLOP/s", "of peak", "bwd TFLOP/s", "of peak", "catalog peak",
                "check"):
        t.add_column(col, justify="left" if col in ("batch x heads x seq x d", "dtype") else "right")
    for p in profile.attention:
        bwd = "-" if p.bwd_tflops is None else _tflops(p.bwd_tflops)
        bwd_pct = "-" if p.bwd_tflops is None else _pct(p.bwd_tflops, p.catalog_peak_tflops)
        t.add_row(f"{p.batch}x{p.heads}x{p.seq_len}x{p.head_dim}", p.dtype, _tflops(p.tflops),
                  _pct(p.tflops, p.catalog_peak_tflops), bwd, bwd_pct, _peak(p.catalog_peak_tflops, "TFLOP/s"),
                  _attention_check(p))
    con.print(t)

    if ref.plain_matmul:
        r = ref.plain_matmul
        con.print(f"plain torch.matmul {r.m}x{r.n}x{r.k} {r.dtype}: best {_tflops(r.best_tflops)} TFLOP/s; bench "
                  f"{_tflops(r.bench_tflops)} ({r.bench_tflops / r.best_tflops:.1%} of it"
                  + (": [yellow]low[/yellow], see the warning below)" if "matmul" in low else ")"))
    if ref.plain_copy:
        r = ref.plain_copy
        con.print(f"plain dst.copy_(src) {r.buffer_bytes / 2**20:,.0f} MiB: best {r.best_gb_s:,.1f} GB/s; bench copy "
                  f"{r.bench_gb_s:,.1f} ({r.bench_gb_s / r.best_gb_s:.1%} of it"
                  + (": [yellow]low[/yellow], see the warning below)" if "copy" in low else ")"))
    for line in _model_efficiencies(profile):
        con.print(line)
    for u in profile.unsupported:
        con.print(f"[yellow]unsupported[/yellow] {u.what}: {u.reason}")
    for w in profile.warnings:
        con.print(f"[yellow]warning[/yellow] {w}")
    if out is not None:
        con.print(f"wrote {out}")


def _low(check: str, ratio: float, plain: str) -> str:
    """The check column of the point measured against a plain reference that came out low: never a bare "ok"."""
    low = f"LOW: {ratio:.1%} of plain {plain}"
    return low if check == "ok" else f"{check}, {low}"


def _tflops(value: float) -> str:
    """Two decimals, or two significant figures below 0.1 (a CPU's attention backward)."""
    return f"{value:,.2f}" if value >= 0.1 else f"{value:.2g}"


def _attention_check(p: Any) -> str:
    """'ok', or what failed: the forward output and/or the backward dQ (a point without a backward: forward only)."""
    out = [] if p.verified else [f"fwd FAILED {p.max_abs_error:.1e}"]
    if p.bwd_verified is False:
        out.append("bwd FAILED " + ("non-finite" if p.bwd_max_abs_error is None else f"{p.bwd_max_abs_error:.1e}"))
    return ", ".join(out) or "ok"


def _model_efficiencies(profile: Any) -> list[str]:
    """What the model will use from this profile, next to the chip's shipped defaults."""
    if profile.chip is None:
        return []
    from accelplan.catalog.loader import load_catalog
    from accelplan.errors import AccelplanError

    c = load_catalog().chip(profile.chip)
    eff = c.efficiency
    mm, mem = (eff.matmul, eff.memory) if eff else (0.8, 0.85)
    mm8 = eff.matmul_fp8 if eff and eff.matmul_fp8 else mm
    try:
        got = profile.efficiencies(c, mm, mm8, mem)
    except AccelplanError as exc:
        return [f"[red]model efficiencies not usable:[/red] {exc}"]
    measured = (profile.large_gemm_flops_per_s("bf16"), profile.large_gemm_flops_per_s("fp8"), profile.copy_bytes_per_s())
    from accelplan.bench.run import low_references

    low = low_references(profile.references, profile.llc_bytes)
    suspect = {"matmul": "matmul" in low, "memory": "copy" in low}  # a figure the same run's plain loop beat by far
    parts = [f"{name} {value:.3f}" + (" (not measured: default kept)" if rate is None else
                                      " (measured, but low against its plain reference: see the warning)"
                                      if suspect.get(name) else " (measured)")
             for name, value, rate in zip(("matmul", "matmul_fp8", "memory"), got[:3], measured, strict=True)]
    lines = [f"model efficiencies for {c.id}: " + ", ".join(parts)
             + "  [dim](matmul: best bf16 GEMM with all dims >= 4096 / catalog bf16 peak; memory: best copy / catalog HBM)[/dim]"]
    try:
        fwd, bwd = profile.attention_efficiencies(c)
    except AccelplanError as exc:
        return [*lines, f"[red]model attention efficiencies not usable:[/red] {exc}"]
    if fwd is None:
        lines.append(f"model attention for {c.id}: not measured (no verified causal bf16/fp16 point): catalog figures kept")
    else:
        b = f"bwd {bwd:.3f}" if bwd is not None else "bwd not measured (the catalog's bwd/fwd ratio applied)"
        lines.append(f"model attention for {c.id}: fwd {fwd:.3f}, {b} of the bf16 peak  [dim]({profile.attention_basis}; "
                     "best verified causal point with d >= 128 and s >= 4096, else the largest)[/dim]")
    return lines
