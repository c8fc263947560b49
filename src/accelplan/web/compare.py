"""One comparison as /api/compare answers it: the status and the JSON bytes. This is the heavy work, and it
runs in a worker process (accelplan.web.work), so it takes and returns only what pickles and reaches the
catalog through $ACCELPLAN_CATALOG, as the server does."""

from __future__ import annotations

import json
from typing import Any

from accelplan.catalog.schema import ModelSpec
from accelplan.errors import AccelplanError, UnknownIdError


def warm() -> None:
    """Load what a comparison needs, so a fresh worker's first comparison does not wait for it."""
    from accelplan.catalog.loader import load_catalog
    from accelplan.report import views  # noqa: F401

    load_catalog()


def dump(obj: Any) -> bytes:
    """JSON as Starlette writes it (UTF-8, compact, no NaN)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def field_error_body(loc: list[str | int], msg: str) -> bytes:
    """A 422 body in FastAPI's shape."""
    return dump({"detail": [{"loc": ["body", *loc], "msg": msg, "type": "value_error"}]})


def error_field(exc: AccelplanError) -> list[str | int]:
    """The request field a library error is about, as far as it tells."""
    if isinstance(exc, UnknownIdError):
        where: dict[str, list[str | int]] = {"chip": ["chips"], "model": ["model"]}
        return where.get(exc.kind, [])
    text = str(exc).lower()
    found = next((f for f in ("region", "precision", "seq_len", "global_batch", "tokens", "phase") if f in text), None)
    return [] if found is None else ["phases" if found == "phase" else found]


def compare_json(model: ModelSpec | str, chips: list[str], tokens: float, days: float | None, n_chips: int | None,
                 seq_len: int | None, global_batch: int, precision: str, region: str | None,
                 prices: dict[str, float], board_power_w: dict[str, float], available_only: bool,
                 framework: str | None, framework_version: str | None,
                 workload: Any = None) -> tuple[int, bytes]:
    """(200, the answer) or (422, the field at fault); `model` is a preset id or a pasted config's spec;
    `workload` (a preset id or WorkloadSpec) is a programme of phases that replaces model, tokens, seq_len and
    global_batch."""
    from fastapi.encoders import jsonable_encoder
    from pydantic import ValidationError

    from accelplan.catalog.loader import load_catalog
    from accelplan.economics import EconomicsOptions
    from accelplan.report.views import disclaimers, jsonable, plotly_figures, run_compare, summary, table

    try:
        econ = EconomicsOptions(prices=prices, board_power_w=board_power_w)
    except ValidationError as exc:  # the request schema has the same bounds; this is the backstop
        first = exc.errors()[0]
        return 422, field_error_body([str(p) for p in first["loc"]], first["msg"])
    try:
        cat = load_catalog()
        if workload is not None:
            from accelplan.phases import resolve_workload

            workload = resolve_workload(workload, cat)
            model = workload.model
        spec = cat.model(model) if isinstance(model, str) else model
        res, notes = run_compare(spec, chips, tokens, days, n_chips, seq_len, global_batch, precision, region, econ,
                                 available_only, framework, framework_version, workload=workload)
    except AccelplanError as exc:
        return 422, field_error_body(error_field(exc), str(exc))
    out = {"summary": summary(res), "comparison": res.model_dump(mode="json"), "table": table(res),
           "figures": plotly_figures(res, spec), "notes": [*res.notes, *notes, *disclaimers(res)]}
    # Plain JSON, not re-validated: inf/NaN (no plan) become null, which the response model cannot hold.
    return 200, dump(jsonable_encoder(jsonable(out)))
