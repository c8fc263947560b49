"""`accelplan sweep GRID.yaml` and `accelplan sweep-report RESULTS.parquet`. Only typer loads at start-up."""

from __future__ import annotations

import sys

import typer


def sweep(grid_file: str = typer.Argument(..., help="grid YAML: a list of values per dimension (see docs/sweep.md)"),
          engine: str = typer.Option("local", "--engine", "-e", help="local (process pool) | ray"),
          address: str = typer.Option(None, "--address", help="Ray cluster address (default: start a local Ray runtime)"),
          out: str = typer.Option("results.parquet", "--out", "-o", help="Parquet output; a rerun resumes it"),
          csv: bool = typer.Option(False, "--csv", help="also write the results as CSV beside the Parquet file"),
          workers: int = typer.Option(None, "--workers", "-w", help="processes / Ray CPUs (default: all cores)"),
          fresh: bool = typer.Option(False, "--fresh", help="discard earlier results in --out instead of resuming"),
          redo_stale: bool = typer.Option(False, "--redo-stale",
                                          help="recompute rows that other model code or catalog data computed"),
          progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar with ETA on stderr"),
          catalog: list[str] = typer.Option(None, "--catalog", metavar="DIR",
                                            help="Extra catalog directory (chips/, systems/, models/ YAML).")) -> None:
    """Run every scenario of a grid (model x chip x cluster size or deadline x ...): best plan and headline figures."""
    import os

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from accelplan.errors import AccelplanError
    from accelplan.sweep.engines import make_engine
    from accelplan.sweep.grid import load_grid
    from accelplan.sweep.runner import check_outputs, run_sweep

    if catalog:
        # the workers (processes, Ray tasks) read the catalog themselves: through the environment they inherit, the
        # same way $ACCELPLAN_CATALOG already works; checked here first, so a bad directory is one line
        from accelplan.catalog.loader import ENV_VAR, load_catalog

        load_catalog(catalog)
        os.environ[ENV_VAR] = os.pathsep.join([*filter(None, os.environ.get(ENV_VAR, "").split(os.pathsep)), *catalog])
    eng = make_engine(engine, workers, address)  # every flag and file is checked before the grid is expanded
    check_outputs(out, csv)
    grid = load_grid(grid_file)
    err = Console(stderr=True, highlight=False)
    bar = Progress(TextColumn("[bold]sweep[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                   console=err, disable=not progress)
    task = bar.add_task("", total=None, rate="")

    def on_progress(ran: int, total: int, skipped: int) -> None:
        elapsed = bar.tasks[task].elapsed or 0.0
        rate = f"{ran / elapsed:.1f}/s" if ran and elapsed else ""
        bar.update(task, completed=ran, total=total, rate=rate,
                   description=f"{eng.name}" + (f", {skipped} done before" if skipped else ""))

    def on_warning(line: str) -> None:
        err.print(f"warning: {line}", markup=False, soft_wrap=True)  # one line, however long

    try:
        with bar:
            res = run_sweep(grid, out, eng, fresh=fresh, redo_stale=redo_stale, csv=csv, on_progress=on_progress,
                            on_warning=on_warning)
    except OSError as exc:  # disk full, or permissions changed during the run: what finished is kept
        raise AccelplanError(f"--out {out}: cannot write results ({exc.strerror or exc}); what finished is kept, "
                             "rerun to resume") from None
    ran = (f"{res.ran} run on {res.engine} in {res.seconds:.1f} s ({res.scenarios_per_s:.1f}/s), {res.feasible} of "
           "them feasible" if res.ran else "0 run")
    line = f"{res.scenarios} scenarios: {res.skipped} already in {res.out}, {ran}; {res.out} has {res.rows} rows"
    typer.echo(line + (f"; CSV: {res.csv}" if res.csv else ""))
    if res.stale:
        typer.echo(f"warning: {res.stale} rows of this grid were computed by other model code or catalog data "
                   "(model_fingerprint differs); --redo-stale recomputes them", err=True)
    if res.interrupted:
        typer.echo(f"interrupted: {res.scenarios - res.skipped - res.ran} scenarios left; rerun the same command "
                   "to resume", err=True)
        sys.exit(130)


def sweep_report(results: str = typer.Argument(..., help="Parquet file written by `accelplan sweep`"),
                 html: str = typer.Option("sweep-report.html", "--html", help="self-contained HTML output")) -> None:
    """Summary plots of a sweep: chips or days vs model size per chip, chip-hours vs days frontier, MFU per chip."""
    from accelplan.sweep.report import write_report

    path = write_report(results, html)  # checks both paths before reading the results
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
    app.command("sweep-report")(sweep_report)
