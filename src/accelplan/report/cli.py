"""`accelplan report`: the comparison of `accelplan compare` as a self-contained HTML file and/or PNG plots.

Registered by accelplan.web.cli (the main CLI loads that module). Only typer at the top level.
"""

from __future__ import annotations

import typer

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


def report(chip_ids: list[str] = ChipsOpt, model_id: str = CompareModelOpt, tokens: float = CompareTokensOpt,
           days: float = DaysOpt, chips: int = NChipsOpt, seq_len: int = SeqOpt, global_batch: int = CompareGbsOpt,
           precision: str = ComparePrecOpt, phase: list[str] = PhaseOpt, workload: str = WorkloadOpt,
           region: str = RegionOpt, available_only: bool = AvailableOnlyOpt, price: list[str] = PriceOpt,
           power: list[str] = PowerOpt, kwh_price: float = KwhOpt, pue: float = PueOpt, years: float = YearsOpt,
           checkpoint: str = CheckpointOpt, framework: str = FrameworkOpt,
           framework_version: str = FrameworkVersionOpt, calibration: str = CalibrationOpt,
           assume: list[str] = AssumeOpt,
           html_out: str = typer.Option(None, "--html", help="write a self-contained HTML report to this file"),
           png_dir: str = typer.Option(None, "--png", help="write the plots as PNG files into this folder"),
           catalog: list[str] = CatalogOpt,
           mix: list[str] = MixOpt) -> None:
    """The comparison of `compare` as one HTML file (tables and plots, opens offline) and/or PNG plots: the same
    flags, the same request (accelplan.request.CompareRequest)."""
    import sys

    from accelplan.errors import AccelplanError
    from accelplan.flags import compare_request

    if not html_out and not png_dir:
        raise AccelplanError("report needs --html FILE and/or --png FOLDER")
    if mix:
        _report_mixed(mix, html_out, png_dir, model_id, tokens, seq_len, global_batch, precision, region, price,
                      power, kwh_price, pue, years, checkpoint, framework, framework_version, assume, catalog)
        return
    req = compare_request(chips=chip_ids, model=model_id, tokens=tokens, days=days, n_chips=chips, seq_len=seq_len,
                          global_batch=global_batch, precision=precision, phase=phase, workload=workload, region=region,
                          available_only=available_only, price=price, power=power, kwh_price=kwh_price, pue=pue,
                          years=years, checkpoint=checkpoint, framework=framework,
                          framework_version=framework_version, calibration_path=calibration, assume=assume)
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
    from accelplan.report.views import request_model, run_compare

    cat = load_catalog(catalog or None)
    err = Console(stderr=True)
    with err.status(f"comparing {len(req.chips)} chips (one plan search per chip and phase)"):
        res, notes = run_compare(req, cat)
    model = request_model(req, cat)
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


def _report_mixed(mix: list[str], html_out: str | None, png_dir: str | None, model_id: str | None,
                  tokens: float | None, seq_len: int | None, global_batch: int | None, precision: str | None,
                  region: str | None, price: list[str] | None, power: list[str] | None, kwh_price: float | None,
                  pue: float | None, years: float | None, checkpoint: str, framework: str | None,
                  framework_version: str | None, assume: list[str] | None, catalog: list[str] | None) -> None:
    """`report --mix`: the mixed job beside its parts as one HTML file."""
    from accelplan.api import make_workload
    from accelplan.catalog.loader import load_catalog
    from accelplan.defaults import DEFAULT_GLOBAL_BATCH, DEFAULT_MODEL, DEFAULT_TOKENS
    from accelplan.errors import AccelplanError
    from accelplan.flags import assumptions, economics_options
    from accelplan.paths import output_file
    from accelplan.plan.mixed import compare_mixed, parse_mix, parts_of
    from accelplan.report.html import plotly_js_path, render_mixed

    if png_dir or not html_out:
        raise AccelplanError("report --mix writes --html FILE only (no --png)")
    plotly_js_path()
    out = output_file(html_out, "--html")
    cat = load_catalog(catalog or None)
    w = make_workload(model_id or DEFAULT_MODEL, tokens or DEFAULT_TOKENS, seq_len, global_batch or DEFAULT_GLOBAL_BATCH,
                      precision or "bf16", cat)
    parts = parts_of(parse_mix(mix), cat, framework, framework_version)
    res = compare_mixed(w, parts, economics_options(region, price, kwh_price, pue, years, checkpoint, power),
                        assumptions(assume))
    out.write_text(render_mixed(res, w), encoding="utf-8")
    print(out)
