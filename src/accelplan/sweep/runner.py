"""Run a grid: skip the scenarios already in the output, evaluate the rest on an engine, store each as it ends."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from accelplan.errors import AccelplanError
from accelplan.paths import output_file
from accelplan.sweep.engines import Evaluate, InlineEngine, LocalEngine, RayEngine
from accelplan.sweep.grid import Grid
from accelplan.sweep.scenario import model_fingerprint, run_scenario
from accelplan.sweep.storage import ResultStore, require_pyarrow, write_csv


@dataclass
class SweepSummary:
    out: Path
    engine: str
    scenarios: int  # in the grid, after excludes
    skipped: int  # already in the output: not evaluated again
    ran: int  # evaluated by this run
    feasible: int  # of those evaluated by this run
    rows: int  # in the output file now (it keeps rows of earlier grids too)
    seconds: float  # evaluation wall time, engine start-up included
    interrupted: bool
    stale: int = 0  # rows of this grid computed by other model code or catalog data (another fingerprint)
    csv: Path | None = None

    @property
    def scenarios_per_s(self) -> float:
        return self.ran / self.seconds if self.seconds > 0 else 0.0


def check_outputs(out: str | Path, csv: bool = False) -> tuple[Path, Path | None]:
    """The files a sweep writes (the Parquet file, its journal, the CSV beside it), refused before any work if
    one cannot be written: the folder must exist and be writable (nothing is created), none is a directory, and
    a file already at `out` is a sweep result (it is resumed, or replaced with --fresh)."""
    path = output_file(out, "--out")
    folder = path.resolve().parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise AccelplanError(f"--out {str(out)!r}: folder {str(folder)!r} is not writable")
    store = ResultStore(path)
    if path.exists():
        store.result_columns()  # a file that is not a sweep result is refused now, and never replaced
    journal = store.journal
    if journal.is_dir():
        raise AccelplanError(f"--out {str(out)!r}: its journal {str(journal)!r} is a directory; give another --out")
    if not csv:
        return path, None
    csv_path = output_file(path.with_suffix(".csv"), "--csv")
    if csv_path.resolve() == path.resolve():
        raise AccelplanError(f"--csv writes the CSV to {str(csv_path)!r}, which is --out itself; "
                             "give --out a .parquet name")
    return path, csv_path


def run_sweep(grid: Grid, out: str | Path, engine: InlineEngine | LocalEngine | RayEngine, *, fresh: bool = False,
              redo_stale: bool = False, csv: bool = False, evaluate: Evaluate = run_scenario,
              on_progress: Callable[[int, int, int], None] | None = None,
              on_warning: Callable[[str], None] | None = None) -> SweepSummary:
    """Evaluate every scenario of `grid` not yet in `out`; `on_progress(ran, to_run, skipped)` after each batch.

    `evaluate` travels to worker processes (pool, Ray) by reference: a module-level function.
    A stored row counts as done whatever code computed it, unless `redo_stale`: then rows whose model
    fingerprint differs from this process's are computed again (and replace the old ones).

    A KeyboardInterrupt stops the sweep with what finished kept (summary.interrupted); any other error
    propagates, also with what finished kept. Rerun the same command to resume. `on_warning(line)` hears of
    journal lines that are skipped as damaged (their scenarios are computed again).
    """
    out, csv_path = check_outputs(out, csv)
    require_pyarrow()
    store = ResultStore(out, on_warning)
    if fresh:
        store.clear()
    scenarios = grid.scenarios()
    current = model_fingerprint()
    index = store.index()
    done = {i for i, fp in index.items() if fp == current or not redo_stale}
    todo = [s for s in scenarios if s.id not in done]
    skipped = len(scenarios) - len(todo)
    ran = feasible = 0
    interrupted = False
    if on_progress:
        on_progress(0, len(todo), skipped)
    t0 = time.perf_counter()
    try:
        if todo:
            for rows in engine.run(evaluate, todo):
                store.append(rows)
                ran += len(rows)
                feasible += sum(bool(r.get("feasible")) for r in rows)
                if on_progress:
                    on_progress(ran, len(todo), skipped)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        seconds = time.perf_counter() - t0
        if store.journal.exists():
            store.compact()
    index = store.index()
    stale = sum(1 for s in scenarios if s.id in index and index[s.id] != current)
    if csv_path:
        write_csv(out, csv_path)
    return SweepSummary(out=out, engine=engine.name, scenarios=len(scenarios), skipped=skipped, ran=ran,
                        feasible=feasible, rows=len(index), seconds=seconds, interrupted=interrupted, stale=stale, csv=csv_path)
