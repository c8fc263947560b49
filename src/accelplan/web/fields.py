"""422 answers that name the field at fault and the values it allows, read from the request's JSON schema
(the same schema /openapi.json publishes), and the refusal of numbers JSON cannot carry back.

Python's json reads NaN, Infinity and -Infinity, and a literal beyond the float range (1e400) as
infinity; none of them is a number a request may hold, and an error that echoed one could not be
written as JSON. They are found before validation and answered with a 422 at their place.
"""

from __future__ import annotations

import json
import math
from typing import Any

NOT_FINITE = ("is not a finite number: NaN, Infinity and literals beyond the float range "
              "(about 1.8e308, such as 1e400) are refused")


class _NotFinite(str):
    """A number literal that does not read as a finite float, kept as its text."""


def _read_float(text: str) -> float | _NotFinite:
    value = float(text)
    return value if math.isfinite(value) else _NotFinite(text)


def non_finite_numbers(body: bytes) -> list[tuple[list[str | int], str]]:
    """(path, literal) of each number in a JSON body that is not finite; empty when there is none or the
    body is not JSON (the framework's parser answers that)."""
    try:
        doc = json.loads(body, parse_constant=_NotFinite, parse_float=_read_float)
    except (ValueError, RecursionError):
        return []
    found: list[tuple[list[str | int], str]] = []
    stack: list[tuple[list[str | int], Any]] = [([], doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, _NotFinite):
            found.append((path, str(value)))
        elif isinstance(value, dict):
            stack.extend(([*path, k], v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(([*path, i], v) for i, v in reversed(list(enumerate(value))))
    return found


def _number(x: float) -> str:
    return f"{x:g}"


def allowed(schema: dict[str, Any]) -> str:
    """The values a JSON schema allows, in words: "a number from 1e+06 to 1e+16", "'bf16', 'fp16' or 'fp8'"."""
    if "anyOf" in schema:
        return " or ".join(allowed(option) for option in schema["anyOf"])
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        values = [repr(v) for v in schema["enum"]]
        return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
    kind = schema.get("type")
    if kind in ("number", "integer"):
        words = ["a number" if kind == "number" else "a whole number"]
        if "minimum" in schema:
            words.append(f"from {_number(schema['minimum'])}")
        if "exclusiveMinimum" in schema:
            words.append(f"over {_number(schema['exclusiveMinimum'])}")
        if "maximum" in schema:
            words.append(f"up to {_number(schema['maximum'])}")
        return " ".join(words)
    if kind == "boolean":
        return "true or false"
    if kind == "string":
        return "text" + (f" of up to {schema['maxLength']} characters" if "maxLength" in schema else "") + (
            f" matching {schema['pattern']}" if "pattern" in schema else "")
    if kind == "array":
        size = f"{schema.get('minItems', 0)} to {schema['maxItems']}" if "maxItems" in schema else "any number"
        return f"a list of {size} of {allowed(schema.get('items', {}))}"
    if kind == "object":
        each = schema.get("additionalProperties")
        if isinstance(each, dict):
            return f"an object whose keys are {allowed(schema.get('propertyNames', {}))} and values {allowed(each)}"
        return "a JSON object"
    if kind == "null":
        return "null"
    return "any JSON value"


def field_schema(schema: dict[str, Any], path: list[str | int]) -> dict[str, Any] | None:
    """The part of an object schema that `path` (keys and list indices, as in an error's loc) points at;
    None where the schema does not say (a free-form object)."""
    here = schema
    for step in path:
        options = here.get("anyOf", [here])
        if isinstance(step, int):
            nxt = next((o["items"] for o in options if o.get("type") == "array" and "items" in o), None)
        elif step == "[key]":  # pydantic's loc for a bad dict key
            nxt = next((o["propertyNames"] for o in options if "propertyNames" in o), None)
        else:
            nxt = next((o["properties"][step] for o in options if step in o.get("properties", {})), None)
            if nxt is None:
                nxt = next((o["additionalProperties"] for o in options
                            if isinstance(o.get("additionalProperties"), dict)), None)
        if nxt is None:
            return None
        here = nxt
    return here


def with_allowed(error: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A validation error (FastAPI's shape) whose message also gives the values its field allows."""
    loc = list(error.get("loc", []))
    if loc[:1] != ["body"] or len(loc) < 2:
        return error
    if error.get("type") == "extra_forbidden":
        fields = ", ".join(schema.get("properties", {}))
        return {**error, "msg": f"{error['msg']}: {loc[1]!r} is not a field; the fields are {fields}"}
    if error.get("type") == "json_invalid":
        return {**error, "msg": f"{error['msg']}: {error.get('ctx', {}).get('error', '')}"}
    if error.get("type") in ("literal_error", "enum"):  # the message already lists the allowed values
        return error
    part = field_schema(schema, loc[1:])
    return {**error, "msg": f"{error['msg']}; allowed: {allowed(part)}"} if part else error


def not_finite_error(path: list[str | int], literal: str, schema: dict[str, Any]) -> dict[str, Any]:
    part = field_schema(schema, path)
    where = f"; allowed: {allowed(part)}" if part else ""
    return {"loc": ["body", *path], "msg": f"{literal} {NOT_FINITE}{where}", "type": "finite_number", "input": literal}
