"""A pydantic refusal as one line: the field, the value, and what is allowed there.

Pydantic says only which bound a value crossed ("Input should be less than or equal to 3"). The files a user writes
(catalog entries, runs, economics tables) are answered with the field's whole plausible range instead, read from the
same `Field(ge=..., le=...)` constraints that refused it, so the range is stated once, in the model.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, ValidationError, ValidationInfo

_RANGE_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number")


def _strip(tp: Any) -> tuple[Any, list[Any]]:
    """(the type inside Optional / Annotated, the constraint objects found on the way)."""
    found: list[Any] = []
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            args = get_args(tp)
            for meta in args[1:]:
                found.extend(getattr(meta, "metadata", [meta]))
            tp = args[0]
        elif origin in (Union, types.UnionType):
            inner = [a for a in get_args(tp) if a is not type(None)]
            if len(inner) != 1:
                return tp, found
            tp = inner[0]
        else:
            return tp, found


def constraints(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[Any]:
    """The annotated-types constraints (Gt, Ge, Lt, Le) on the value at `loc` inside `model`; [] where unknown."""
    tp: Any = model
    found: list[Any] = []
    for part in loc:
        tp, _ = _strip(tp)
        origin = get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
            field = tp.model_fields.get(part)
            if field is None:
                field = next((f for f in tp.model_fields.values() if f.alias == part), None)
            if field is None:
                return []
            tp, found = field.annotation, list(field.metadata)
        elif origin in (list, tuple) and isinstance(part, int):
            tp, found = get_args(tp)[0], []
        elif origin is dict:
            tp, found = get_args(tp)[-1], []
        else:
            return []
    _, inner = _strip(tp)
    return [c for c in found + inner if isinstance(c, at.Gt | at.Ge | at.Lt | at.Le)]


def _num(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def allowed_range(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """The plausible range of the value at `loc`, written out: '1 <= pue <= 3', 'tdp_w > 0'; None where unbounded."""
    name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "value")
    lo = hi = ""
    for c in constraints(model, loc):
        if isinstance(c, at.Gt):
            lo = f"{_num(c.gt)} < "
        elif isinstance(c, at.Ge):
            lo = f"{_num(c.ge)} <= "
        elif isinstance(c, at.Lt):
            hi = f" < {_num(c.lt)}"
        elif isinstance(c, at.Le):
            hi = f" <= {_num(c.le)}"
    return f"{lo}{name}{hi}" if lo or hi else None


def _upper(model: type[BaseModel], loc: tuple[int | str, ...]) -> float | None:
    for c in constraints(model, loc):
        if isinstance(c, at.Le):
            return float(typing.cast(float, c.le))
    return None


def explain(err: ValidationError, model: type[BaseModel]) -> tuple[str, str]:
    """(dotted field path, one-line message) for the first error of `err`, raised by validating `model`."""
    e = err.errors()[0]
    loc = tuple(e["loc"])
    where = ".".join(str(x) for x in loc)
    msg = str(e["msg"]).removeprefix("Value error, ")
    kind = e["type"]
    if kind == "extra_forbidden":
        allowed = _field_names(model, loc[:-1])
        msg = "unknown field" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    elif kind in _RANGE_ERRORS:
        rng = allowed_range(model, loc)
        value = e.get("input")
        if rng is not None:
            shown = repr(value) if isinstance(value, str) else value
            what = "is not a finite number" if kind == "finite_number" else "is outside the plausible range"
            msg = f"{shown} {what}; allowed {rng}"
            top = _upper(model, loc)
            if (top == 1 and isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
                    and 1 < value <= 100):
                msg += f" (a fraction, not a percent: {value:g}% is {value / 100:g})"
    return where, msg


def _field_names(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    tp: Any = model
    for part in loc:
        tp, _ = _strip(tp)
        origin = get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        elif origin in (list, tuple, dict):
            tp = get_args(tp)[-1] if origin is dict else get_args(tp)[0]
        else:
            return []
    tp, _ = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or name for name, f in tp.model_fields.items()]
    return []


@functools.cache
def _numeric(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    return field is not None and _strip(field.annotation)[0] in (int, float)


def number_not_bool(model: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    """A before-validator for every field: refuse true/false where a number belongs. Pydantic reads them as 1 and 0,
    and YAML reads yes, no, on and off as booleans, so `hbm_tb_s: yes` would be a silent 1 TB/s."""
    if isinstance(value, bool) and info.field_name is not None and _numeric(model, info.field_name):
        raise ValueError(f"must be a number, got {str(value).lower()} (YAML reads yes, no, on, off, true and false as "
                         "booleans)")
    return value
