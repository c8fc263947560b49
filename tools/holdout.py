"""How well does the one fitted constant (Assumptions.gemm_sustained_fraction) transfer to runs it was not fitted on?

Run: python tools/holdout.py [RUNS.yaml]   (default: the runs shipped with accelplan)

Validates the runs at a grid of fractions, then
- leave-one-vendor-out: picks the fraction that is best on four vendors and reports the fifth's MAPE at it;
- leave-one-run-out: the same per run, averaged (an out-of-sample MAPE for the whole file).
"""

from __future__ import annotations

import sys
from pathlib import Path
from statistics import mean

from accelplan.perf.assumptions import Assumptions
from accelplan.validate.runs import validate
from accelplan.validate.shipped import shipped_runs_path

FRACTIONS = (0.75, 0.8, 0.85, 0.9, 0.95, 1.0)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else shipped_runs_path()
    errs: dict[float, dict[str, tuple[str, float]]] = {}
    for f in FRACTIONS:
        res = validate(path, assumptions=Assumptions(gemm_sustained_fraction=f))
        errs[f] = {r["id"]: (r["vendor"], abs(r["error_pct"])) for r in res["runs"] if r["error_pct"] is not None}
    ids = sorted(set.intersection(*(set(e) for e in errs.values())))

    def mape(f: float, sel: list[str]) -> float:
        return mean(errs[f][i][1] for i in sel)

    print("MAPE by fraction:", ", ".join(f"{f:g}: {mape(f, ids):.1f}%" for f in FRACTIONS))
    vendors = sorted({errs[1.0][i][0] for i in ids})
    for v in vendors:
        train = [i for i in ids if errs[1.0][i][0] != v]
        test = [i for i in ids if errs[1.0][i][0] == v]
        best = min(FRACTIONS, key=lambda f: mape(f, train))
        print(f"hold out {v}: fraction fitted on the rest {best:g}; {v} MAPE {mape(best, test):.1f}% "
              f"(without the fraction: {mape(1.0, test):.1f}%)")
    loo = [errs[min(FRACTIONS, key=lambda f: mape(f, [j for j in ids if j != i]))][i][1] for i in ids]
    print(f"leave-one-run-out MAPE: {mean(loo):.1f}% over {len(ids)} runs")


if __name__ == "__main__":
    main()
