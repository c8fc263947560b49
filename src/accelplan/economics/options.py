"""What the user may override. Every field left at None takes the sourced default from the data files."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from accelplan.catalog.refusal import number_not_bool
from accelplan.catalog.schema import BoardW
from accelplan.economics.data import (
    FailuresPer1000NodeDays,
    Fraction,
    GramsCo2PerKwh,
    PositiveFraction,
    PriceKind,
    Pue,
    SystemMultiplier,
    UsdPerChip,
    UsdPerChipHour,
    UsdPerKwh,
    Years,
)


class EconomicsOptions(BaseModel):
    """Overrides for cost, energy, goodput and availability. Units are in the names; each figure has the plausible
    range of the data file it overrides (economics.data, catalog.schema)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # cost
    prices: dict[str, UsdPerChipHour] = Field(default_factory=dict)  # chip id or alias -> $/chip-hour (low = typical = high)
    # which kind of cloud price the cost uses; with no quote of that kind, the next in PRICE_ORDER that has one
    price_kind: PriceKind = "on_demand"
    purchase_usd: dict[str, UsdPerChip] = Field(default_factory=dict)  # chip id or alias -> purchase price of one chip
    kwh_price: UsdPerKwh | None = None  # $/kWh
    years: Years | None = None  # amortisation period of owned hardware
    utilization: PositiveFraction | None = None  # share of the hardware's life it does paid work
    system_multiplier: SystemMultiplier | None = None  # server + network + storage share per chip price
    overhead_frac_per_year: Fraction | None = None  # maintenance/support, share of capex per year
    # energy
    board_power_w: dict[str, BoardW] = Field(default_factory=dict)  # chip id or alias -> W (for chips with no TDP)
    load_factor: PositiveFraction | None = None  # average share of board power while training
    pue: Pue | None = None
    grid_g_per_kwh: GramsCo2PerKwh | None = None  # gCO2e/kWh
    # goodput
    checkpoint: Literal["sync", "async"] = "async"
    # aggregate write bandwidth cap of the storage, GB/s: the largest parallel file systems write ~10 TB/s
    storage_gb_s: float | None = Field(default=None, gt=0, le=100_000)
    node_write_gb_s: float | None = Field(default=None, gt=0, le=1_000)  # write bandwidth per node, GB/s
    checkpoint_interval_min: float | None = Field(default=None, gt=0, le=10_080)  # None = Daly's optimum; <= a week
    restart_min: float | None = Field(default=None, ge=0, le=10_080)
    node_failures_per_1000_node_days: FailuresPer1000NodeDays | None = None  # per 8-chip node, before the chip factor
    reliability_factor: float | None = Field(default=None, gt=0, le=100)  # replaces the per-chip factor
    planned_per_day: float | None = Field(default=None, ge=0, le=100)
    # availability and location
    region: str | None = None  # region group id or member code (US, EU, CN, DE, ...); None = report all groups

    @field_validator("*", mode="before")
    @classmethod
    def _number_not_bool(cls, v: Any, info: ValidationInfo) -> Any:
        return number_not_bool(cls, v, info)

    @field_validator("prices", "purchase_usd", "board_power_w")
    @classmethod
    def _lower_keys(cls, v: dict[str, float]) -> dict[str, float]:
        return {k.strip().lower(): x for k, x in v.items()}
