"""What the published runs are allowed to decide, and how well that holds on sources they did not see.

A constant in `FITTED` is one the step model takes from the published runs rather than from a datasheet, a paper or
a stack's documentation. Validation refits each of them without one source family at a time (grouped
leave-one-source-out, LOSO) and scores that family with the refitted value: the figure that tells how the model
does on runs nobody has shown it. Refitting is a search over a grid, every run's resolved plan evaluated at every
grid value once; constants are refitted one at a time, the others at their shipped values.

The 80% range of a prediction comes from the same out-of-source residuals: conformal 10th and 90th percentiles of
the signed errors of runs on the same vendor and stack, else the same stack, else the same vendor, else all runs
(the first with at least `MIN_POOL` runs), none of them from the run's own source family.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from accelplan.perf.assumptions import Assumptions
from accelplan.perf.calibration import Calibration

if TYPE_CHECKING:
    from accelplan.validate.runs import Prepared

FITTED: dict[str, tuple[float, ...]] = {
    "gemm_sustained_fraction": (0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 1.0),
}
# the smallest pool whose conformal 10th and 90th percentile ranks (floor(0.1 (n+1)), ceil(0.9 (n+1))) fall inside it
# rather than on its extremes
MIN_POOL = 19
RANGE_QUANTILES = (0.10, 0.90)
RESIDUALS_FILE = Path(__file__).parent / "data" / "residuals.yaml"


@dataclass
class CrossValidation:
    loso_mape_pct: float | None
    constants: dict[str, dict[str, Any]] = field(default_factory=dict)


def cross_validate(preps: list[Prepared], assumptions: Assumptions, calibration: Calibration | None = None) -> CrossValidation:
    """Fill each run's `loso_error_pct`, 80% range and `in_range`; return the LOSO MAPE and the refitted values."""
    idx = [i for i, p in enumerate(preps) if p.result.error_pct is not None]
    groups = np.array([preps[i].result.source_group for i in idx])
    loso = np.array([preps[i].result.error_pct for i in idx], dtype=float)
    constants: dict[str, dict[str, Any]] = {}
    for name, grid in FITTED.items():
        if name == "gemm_sustained_fraction":  # it acts through the compute rates only: one evaluation per run
            errs = np.array([[np.nan if (e := preps[i].error_pct(t)) is None else e
                              for t in preps[i].predict_at(list(grid), assumptions, calibration)] for i in idx],
                            dtype=float)
        else:
            errs = np.array([[_err(preps[i], assumptions.model_copy(update={name: v}), calibration) for v in grid]
                             for i in idx], dtype=float)  # runs x grid values
        abs_errs = np.abs(errs)
        # the shipped value where there is nothing to fit on: a file of one source family (a user's own runs) is
        # then scored with the constant fitted on the published runs, which it did not take part in either
        shipped = int(np.argmin(np.abs(np.asarray(grid, dtype=float) - getattr(assumptions, name))))
        overall = _best(abs_errs, shipped)
        picked: dict[str, float] = {}
        for g in np.unique(groups):
            train = groups != g
            j = _best(abs_errs[train], shipped)
            picked[str(g)] = grid[j]
            loso[groups == g] = errs[groups == g, j]
        constants[name] = {"shipped": getattr(assumptions, name), "best_on_all_runs": grid[overall],
                           "grid": list(grid), "refitted_without_each_source": picked}
    for k, i in enumerate(idx):
        preps[i].result.loso_error_pct = float(loso[k])
    _ranges(preps, idx, groups, loso)
    mape = float(np.mean(np.abs(loso))) if len(idx) else None
    return CrossValidation(loso_mape_pct=mape, constants=constants)


def _best(abs_errs: np.ndarray, fallback: int) -> int:
    """The grid column with the smallest mean absolute error over these runs; FALLBACK when no run has one."""
    if abs_errs.size == 0 or np.all(np.isnan(abs_errs)):
        return fallback
    with warnings.catch_warnings():  # a grid column no run has a figure for is NaN, and is never picked
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(abs_errs, axis=0)
    return int(np.nanargmin(means))


def _err(p: Prepared, a: Assumptions, calibration: Calibration | None) -> float:
    e = p.error_pct(p.predict(a, calibration))
    return np.nan if e is None else e


def pool_for(vendor: str, framework: str | None, rows: list[tuple[str, str | None, float]]) -> tuple[list[float], str]:
    """Signed residuals (%) to draw a range from, and which runs they are: those on the same vendor and stack, else on
    the same stack, else on the same vendor, else all of them, taking the first pool with at least MIN_POOL runs."""
    for keep, which in ((lambda v, f: v == vendor and f == framework, f"{vendor} with {framework}"),
                        (lambda v, f: f == framework, f"{framework}"), (lambda v, f: v == vendor, f"{vendor}")):
        pool = [e for v, f, e in rows if keep(v, f)]
        if len(pool) >= MIN_POOL:
            return pool, f"the published runs on {which}"
    return [e for _, _, e in rows], "all published runs"


def range_factors(residuals_pct: list[float]) -> tuple[float, float]:
    """Multipliers on a predicted rate that bound the measured one with 80% probability: a prediction that runs
    e% high means the truth is prediction / (1 + e/100). The bounds are split-conformal order statistics of the
    residuals (the floor(0.1 (n + 1))-th and ceil(0.9 (n + 1))-th of n; Vovk et al. 2005, Lei et al. 2018), which
    cover a new run at least 80% of the time when it is exchangeable with the pool."""
    e = np.sort(np.asarray(residuals_pct, dtype=float) / 100.0)
    n = len(e)
    lo_k = max(int(np.floor(RANGE_QUANTILES[0] * (n + 1))), 1)
    hi_k = min(int(np.ceil(RANGE_QUANTILES[1] * (n + 1))), n)
    lo_q, hi_q = e[lo_k - 1], e[hi_k - 1]
    return 1.0 / (1.0 + hi_q), 1.0 / (1.0 + lo_q)


def _ranges(preps: list[Prepared], idx: list[int], groups: np.ndarray, loso: np.ndarray) -> None:
    rows = [(preps[i].result.vendor, preps[i].result.stack, float(loso[k])) for k, i in enumerate(idx)]
    for k, i in enumerate(idx):
        r = preps[i].result
        others = [row for row, g in zip(rows, groups, strict=True) if g != groups[k]]
        if not others or r.predicted_tokens_per_s is None:
            continue
        lo, hi = range_factors(pool_for(r.vendor, r.stack, others)[0])
        r.predicted_low_tokens_per_s = r.predicted_tokens_per_s * lo
        r.predicted_high_tokens_per_s = r.predicted_tokens_per_s * hi
        # the run is inside its range when its own error lies between the pool's 10th and 90th percentiles
        r.in_range = bool(1.0 / hi - 1.0 <= r.error_pct / 100.0 <= 1.0 / lo - 1.0)  # type: ignore[operator]


@functools.lru_cache(maxsize=1)
def shipped_residuals() -> tuple[tuple[str, str | None, float], ...]:
    """(vendor, stack, leave-one-source-out error %) of every published run, as tools/fit_ranges.py wrote them."""
    from accelplan import yamlio

    if not RESIDUALS_FILE.exists():
        return ()
    doc = yamlio.safe_load(RESIDUALS_FILE.read_text(encoding="utf-8"))
    return tuple((r["vendor"], r["stack"], float(r["loso_error_pct"])) for r in doc["residuals"])


def estimate_range(vendor: str, stack: str | None) -> tuple[float, float, str] | None:
    """Multipliers for an estimate's 80% range on `vendor` and `stack`, and where they come from; None when no
    residuals are shipped."""
    rows = list(shipped_residuals())
    if not rows:
        return None
    pool, whose = pool_for(vendor, stack, rows)
    lo, hi = range_factors(pool)
    return lo, hi, (f"80% range from the leave-one-source-out errors of {len(pool)} of {whose} "
                    "(conformal 10th-90th percentile; accelplan validate)")
