"""accelplan: which accelerator, how many, how long, how much.

The Python API mirrors the CLI and returns data. Heavy modules load on first use, so
`import accelplan` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_catalog": "accelplan.catalog.loader",
    "get_chip": "accelplan.catalog.loader",
    "get_system": "accelplan.catalog.loader",
    "get_model": "accelplan.catalog.loader",
    "estimate": "accelplan.api",
    "search_plans": "accelplan.api",
    "compare": "accelplan.api",
    "equivalent": "accelplan.api",
    "validate": "accelplan.validate.runs",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'accelplan' has no attribute {name!r}")
