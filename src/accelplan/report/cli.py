"""`accelplan report`: the comparison of `accelplan compare` as a self-contained HTML file and/or PNG plots.

Registered by accelplan.web.cli (the main CLI loads that module). Only typer at the top level.
"""

from __future__ import annotations

import typer

from accelplan.limits import option

PRECISIONS = ("bf16", "fp16", "fp8")


def report(chip_ids: list[str] = typer.Option(None, "--chip", "-c", help="repeat for several chips"),
           model_id: str = typer.Option(None, "--model", "-m", help="preset id or path to a HF config.json (one "
                                                                     "phase; default: the openpangu-2.0 programme)"),
           tokens: float = option(None, "--tokens", name="tokens", help="training tokens (one phase; default 20T)"),
           days: float = option(None, "--days", name="days", help="deadline: chips needed to finish within it "
                                                                  "(default 90; not with --chips)"),
           chips: int = option(None, "--chips", "-n", name="chips", help="fixed chip count: time to train instead"),
           seq_len: int = option(None, "--seq-len", name="seq_len", help="sequence length (default: min(preset, 4096))"),
           global_batch: int = option(None, "--global-batch", name="global_batch", help="sequences per step (one "
                                                                                          "phase; default 4096)"),
           precision: str = typer.Option(None, "--precision", help="bf16 | fp16 | fp8 (default: the workload's, "
                                                                  "else bf16)"),
           phase: list[str] = typer.Option(None, "--phase", metavar="TOKENS@SEQ[:BATCH][/PREC]",
                                           help="a phase of the programme (repeat, in order), as for compare"),
           workload: str = typer.Option(None, "--workload", help="a training programme: preset id (openpangu-2.0) "
                                                                 "or workload YAML"),
           region: str = typer.Option(None, "--region", help="region for prices and availability, where supported"),
           available_only: bool = typer.Option(False, "--available-only", metavar="", help="drop chips prohibited in --region"),
           price: list[str] = typer.Option(None, "--price", help="cloud $/chip-hour override, CHIP=USD (repeat)"),
           power: list[str] = typer.Option(None, "--power", help="board power override in W, CHIP=W (repeat)"),
           kwh_price: float = option(None, "--kwh-price", name="kwh_price", help="electricity $/kWh"),
           pue: float = option(None, "--pue", name="pue", help="data-centre PUE"),
           years: float = option(None, "--years", name="years", help="years over which owned hardware is amortised"),
           checkpoint: str = typer.Option("async", "--checkpoint", help="async | sync checkpoint writes"),
           framework: str = typer.Option(None, "--framework", help="training stack id (default: the stack of each "
                                                                    "chip's runtime)"),
           framework_version: str = typer.Option(None, "--framework-version", help="the stack's release or a date"),
           html_out: str = typer.Option(None, "--html", help="write a self-contained HTML report to this file"),
           png_dir: str = typer.Option(None, "--png", help="write the plots as PNG files into this folder"),
           catalog: list[str] = typer.Option(None, "--catalog", help="Extra catalog directory (chips/, systems/, "
                                                                      "models/ YAML).")) -> None:
    """The comparison of `compare` as one HTML file (tables and plots, opens offline) and/or PNG plots."""
    import sys

    from accelplan.errors import AccelplanError

    if days is not None and chips is not None:
        raise AccelplanError("--days and --chips ask different questions (chips needed for a deadline, or time on a "
                             "fixed count): give one")
    days = 90.0 if days is None and chips is None else days
    if not html_out and not png_dir:
        raise AccelplanError("report needs --html FILE and/or --png FOLDER")
    if available_only and not region:
        raise AccelplanError("--available-only needs --region (e.g. --region CN)")
    from accelplan.flags import economics_options

    econ = economics_options(region, price, kwh_price, pue, years, checkpoint, power)
    if precision is not None and precision not in PRECISIONS:
        raise AccelplanError(f"--precision '{precision}' is not one of: {', '.join(PRECISIONS)}")
    if tokens is not None and tokens <= 0:
        raise AccelplanError(f"--tokens must be > 0, got {tokens:g}")
    from accelplan.paths import output_dir, output_file

    if html_out:
        from accelplan.report.html import plotly_js_path

        plotly_js_path()  # fail before the slow part when plotly is missing
        output_file(html_out, "--html")
    if png_dir:
        output_dir(png_dir, "--png")
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise AccelplanError("--png needs matplotlib: pip install 'accelplan[web]'")

    from rich.console import Console

    from accelplan.catalog.loader import load_catalog
    from accelplan.flags import workload_spec
    from accelplan.phases import DEFAULT_WORKLOAD, resolve_workload
    from accelplan.report.views import run_compare

    cat = load_catalog(catalog or None)
    spec = workload_spec(phase, workload, model_id, tokens, seq_len, global_batch, precision or "bf16")
    if spec is None and all(x is None for x in (model_id, tokens, seq_len, global_batch)):
        spec = DEFAULT_WORKLOAD  # as `accelplan compare` with no arguments
    if spec is not None:
        spec = resolve_workload(spec, cat)
    model = cat.model(spec.model if spec is not None else model_id or "openpangu-505b-moe")
    chip_list = [cat.chip(c).id for c in chip_ids] if chip_ids else None
    err = Console(stderr=True)
    with err.status(f"comparing {len(chip_list) if chip_list else 'the default'} chips on {model.id} "
                    "(one plan search per chip and phase)"):
        res, notes = run_compare(model, chip_list, tokens, None if chips else days, chips, seq_len, global_batch,
                                 precision, region, econ, available_only, framework, framework_version, cat,
                                 workload=spec)
    for n in notes:
        err.print(f"[yellow]note: {n}[/yellow]")
    if html_out:
        from accelplan.report.html import write as write_html

        path = write_html(res, model, html_out, notes, cat)
        sys.stdout.write(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, opens offline)\n")
    if png_dir:
        from accelplan.report.png import write as write_png

        for p in write_png(res, model, png_dir, cat):
            sys.stdout.write(f"wrote {p}\n")
