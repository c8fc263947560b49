"""Write the cross-validated residuals that every estimate's 80% range is drawn from.

Run: python tools/fit_ranges.py [RUNS.yaml]   (default: the runs shipped with accelplan)

Validates the runs (each with every fitted constant refitted without its source family) and stores, per run, its
vendor, stack and leave-one-source-out error in src/accelplan/validate/data/residuals.yaml. `accelplan` reads that
file when it puts a range on an estimate (validate/fit.py: pool_for, range_factors); tests check that it matches a
fresh validation, so a model change that moves the residuals must rerun this.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from accelplan.validate.fit import RESIDUALS_FILE
from accelplan.validate.runs import validate
from accelplan.validate.shipped import shipped_runs_path


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else shipped_runs_path()
    res = validate(path)
    rows = [{"id": r["id"], "vendor": r["vendor"], "stack": r["stack"], "source_group": r["source_group"],
             "loso_error_pct": round(r["loso_error_pct"], 4)}
            for r in res["runs"] if r["loso_error_pct"] is not None]
    doc = {"about": "leave-one-source-out signed errors of the published runs; every estimate's 80% range is drawn "
                    "from those of its vendor or stack (accelplan.validate.fit). Written by tools/fit_ranges.py.",
           "runs_file": path.name, "runs": len(res["runs"]), "loso_mape_pct": round(res["loso_mape_pct"], 2),
           "residuals": rows}
    RESIDUALS_FILE.write_text(yaml.safe_dump(doc, sort_keys=False, width=120), encoding="utf-8")
    print(f"wrote {len(rows)} residuals to {RESIDUALS_FILE} (leave-one-source-out MAPE {res['loso_mape_pct']:.1f}%)")


if __name__ == "__main__":
    main()
