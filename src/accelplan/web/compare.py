"""One comparison as /api/compare answers it: the status and the JSON bytes. This is the heavy work, and it
runs in a worker process (accelplan.web.work), so it takes and returns only what pickles and reaches the
catalog through $ACCELPLAN_CATALOG, as the server does."""

from __future__ import annotations

import json
from typing import Any

from accelplan.errors import AccelplanError, UnknownIdError
from accelplan.request import CompareRequest


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


def compare_json(request: CompareRequest) -> tuple[int, bytes]:
    """(200, the answer) or (422, the field at fault) for one comparison request (its model is a preset id or a pasted
    config's spec, its workload a preset id or a WorkloadSpec)."""
    from fastapi.encoders import jsonable_encoder

    from accelplan.catalog.loader import load_catalog
    from accelplan.report.views import (
        disclaimers,
        jsonable,
        plotly_figures,
        request_model,
        run_compare,
        summary,
        table,
    )

    try:
        cat = load_catalog()
        spec = request_model(request, cat)
        res, notes = run_compare(request, cat)
    except AccelplanError as exc:
        return 422, field_error_body(error_field(exc), str(exc))
    out = {"summary": summary(res), "comparison": res.model_dump(mode="json"), "table": table(res),
           "figures": plotly_figures(res, spec), "notes": [*res.notes, *notes, *disclaimers(res)]}
    # Plain JSON, not re-validated: inf/NaN (no plan) become null, which the response model cannot hold.
    return 200, dump(jsonable_encoder(jsonable(out)))


def mixed_json(body: dict[str, Any]) -> tuple[int, bytes]:
    """(200, the answer) or (422, the field at fault) for one mixed cluster (/api/mixed): the best plan over its
    chip types beside each part alone (accelplan.plan.mixed.compare_mixed)."""
    from fastapi.encoders import jsonable_encoder

    from accelplan.api import make_workload
    from accelplan.catalog.loader import load_catalog
    from accelplan.defaults import DEFAULT_GLOBAL_BATCH, DEFAULT_TOKENS
    from accelplan.economics.options import EconomicsOptions
    from accelplan.plan.mixed import compare_mixed, parts_of

    try:
        cat = load_catalog()
        w = make_workload(body["model"], body.get("tokens") or DEFAULT_TOKENS, body.get("seq_len"),
                          body.get("global_batch") or DEFAULT_GLOBAL_BATCH, body.get("precision") or "bf16", cat)
        parts = parts_of([(c, int(n)) for c, n in body["mix"].items()], cat)
        res = compare_mixed(w, parts, EconomicsOptions(region=body.get("region")))
    except AccelplanError as exc:
        return 422, field_error_body(error_field(exc) or ["mix"], str(exc))
    m = res.result
    out = {"model": w.model.id, "tokens": w.tokens, "seq_len": w.seq_len, "global_batch": w.global_batch,
           "efficiency": m.efficiency, "gain_over_best_part": m.gain_over_best_part, "verdict": m.verdict,
           "mode": m.mode, "rows": [r.model_dump() for r in res.rows],
           "best": None if m.best is None else m.best.model_dump(),
           "data_split": None if m.data_split is None else m.data_split.model_dump(),
           "assumptions": m.assumptions, "caveats": m.caveats, "notes": res.notes}
    return 200, dump(jsonable_encoder(out))
