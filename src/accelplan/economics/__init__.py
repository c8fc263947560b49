"""Economics of a training job: cost (cloud and owned), energy and emissions, goodput under failures,
and whether the chip can be bought in a region (information, not legal advice).

Pure library: functions return pydantic models; nothing prints. Data with sources lives in `data/*.yaml`.
"""

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

__all__ = [
    "Availability",
    "Economics",
    "EconomicsOptions",
    "RuleMatch",
    "UsdRange",
    "assess",
    "availability",
    "availability_by_group",
    "daly_interval_s",
    "goodput_fraction",
    "load_tables",
    "region_codes",
    "region_groups",
    "resolve_region",
    "young_interval_s",
]
