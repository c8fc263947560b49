"""The published runs shipped with accelplan: the public validation set, so every accuracy figure in the README can
be reproduced from a `pip install` (`accelplan validate` with no file) and browsed (`accelplan runs`).

`data/runs.yaml` is a copy of the project's `shared/validation/runs.yaml`; a test keeps the two identical where that
folder is present. Held-out runs in the same format exist and are not shipped: they are how the model is judged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHIPPED_RUNS = Path(__file__).resolve().parent / "data" / "runs.yaml"


def shipped_runs_path() -> Path:
    return SHIPPED_RUNS


def run_rows(path: str | Path | None = None, vendor: str | None = None,
             framework: str | None = None) -> list[dict[str, Any]]:
    """One summary row per run of PATH (default: the shipped runs), optionally only one vendor or training stack.

    An unknown vendor or stack filter is refused with the values the file has."""
    from accelplan.catalog.loader import load_catalog
    from accelplan.errors import AccelplanError
    from accelplan.paths import input_file
    from accelplan.validate.runs import load_runs

    runs = load_runs(SHIPPED_RUNS if path is None else input_file(path, "RUNS_FILE"))
    cat = load_catalog()
    rows: list[dict[str, Any]] = []
    for r in runs:
        chip = cat.chips.get(r.chip)
        m = r.measured
        rows.append({
            "id": r.id, "source_group": r.source_group, "source": r.source,
            "vendor": chip.vendor if chip else "unknown", "chip": r.chip, "chips": r.chips,
            "framework": r.plan.framework or "", "framework_version": r.plan.framework_version,
            "model_layers": r.model.layers, "model_hidden": r.model.hidden, "moe": r.model.moe is not None,
            "seq_len": r.model.seq_len, "global_batch": r.plan.global_batch, "precision": r.plan.precision,
            "measured_tokens_per_s": m.tokens_per_s, "measured_mfu": m.mfu,
        })
    for key, want in (("vendor", vendor), ("framework", framework)):
        if want is None:
            continue
        have = sorted({str(row[key]) for row in rows if row[key]})
        if want.lower() not in have:
            flag = "--vendor" if key == "vendor" else "--framework"
            raise AccelplanError(f"{flag} '{want}': the runs have {', '.join(have)}")
        rows = [row for row in rows if row[key] == want.lower()]
    return rows
