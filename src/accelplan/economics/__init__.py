"""Economics of a training job: cost (cloud and owned), energy and emissions, goodput under failures,
and whether the chip can be bought in a region (information, not legal advice).

Pure library: functions return pydantic models; nothing prints. Data with sources lives in `data/*.yaml`.
The names below load on first use, so importing a submodule (the CLI's `accelplan.economics.cli`) stays light.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Economics": "assess", "assess": "assess",
    "Availability": "availability", "RuleMatch": "availability", "availability": "availability",
    "availability_by_group": "availability", "region_codes": "availability", "region_groups": "availability",
    "resolve_region": "availability",
    "UsdRange": "cost",
    "load_tables": "data",
    "EconomicsOptions": "options",
    "daly_interval_s": "reliability", "goodput_fraction": "reliability", "young_interval_s": "reliability",
}

__all__ = [
    "Availability", "Economics", "EconomicsOptions", "RuleMatch", "UsdRange", "assess", "availability",
    "availability_by_group", "daly_interval_s", "goodput_fraction", "load_tables", "region_codes", "region_groups",
    "resolve_region", "young_interval_s",
]

if TYPE_CHECKING:
    from accelplan.economics.assess import Economics, assess
    from accelplan.economics.availability import (
        Availability,
        RuleMatch,
        availability,
        availability_by_group,
        region_codes,
        region_groups,
        resolve_region,
    )
    from accelplan.economics.cost import UsdRange
    from accelplan.economics.data import load_tables
    from accelplan.economics.options import EconomicsOptions
    from accelplan.economics.reliability import daly_interval_s, goodput_fraction, young_interval_s


class _Package(types.ModuleType):
    """Importing the submodule `assess` or `availability` binds the package attribute of that name to the module,
    which would hide the public function of the same name (`from accelplan.economics import availability` gave a
    module once `assess` had imported it). Such a binding is ignored; the name resolves through `__getattr__`."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"accelplan.economics.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'accelplan.economics' has no attribute {name!r}")
