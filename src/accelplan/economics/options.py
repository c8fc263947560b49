"""What the user may override. Every field left at None takes the sourced default from the data files."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class EconomicsOptions(BaseModel):
    """Overrides for cost, energy, goodput and availability. Units are in the names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # cost
    prices: dict[str, float] = Field(default_factory=dict)  # chip id or alias -> $/chip-hour (low = typical = high)
    purchase_usd: dict[str, float] = Field(default_factory=dict)  # chip id or alias -> purchase price of one chip
    kwh_price: float | None = Field(default=None, gt=0)  # $/kWh
    years: float | None = Field(default=None, gt=0)  # amortisation period of owned hardware
    utilization: float | None = Field(default=None, gt=0, le=1)  # share of the hardware's life it does paid work
    system_multiplier: float | None = Field(default=None, ge=1)  # server + network + storage share per chip price
    overhead_frac_per_year: float | None = Field(default=None, ge=0)  # maintenance/support, share of capex per year
    # energy
    board_power_w: dict[str, float] = Field(default_factory=dict)  # chip id or alias -> W (for chips with no TDP)
    load_factor: float | None = Field(default=None, gt=0, le=1)  # average share of board power while training
    pue: float | None = Field(default=None, ge=1)
    grid_g_per_kwh: float | None = Field(default=None, ge=0)  # gCO2e/kWh
    # goodput
    checkpoint: Literal["sync", "async"] = "async"
    storage_gb_s: float | None = Field(default=None, gt=0)  # aggregate write bandwidth cap of the storage, GB/s
    node_write_gb_s: float | None = Field(default=None, gt=0)  # write bandwidth per node, GB/s
    checkpoint_interval_min: float | None = Field(default=None, gt=0)  # None = Daly's optimum
    restart_min: float | None = Field(default=None, ge=0)
    node_failures_per_1000_node_days: float | None = Field(default=None, ge=0)  # per 8-chip node, before the chip factor
    reliability_factor: float | None = Field(default=None, gt=0)  # replaces the per-chip factor
    planned_per_day: float | None = Field(default=None, ge=0)
    # availability and location
    region: str | None = None  # region group id or member code (US, EU, CN, DE, ...); None = report all groups

    @field_validator("prices", "purchase_usd", "board_power_w")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not x > 0:
                raise ValueError(f"value for '{k}' must be > 0, got {x}")
        return {k.strip().lower(): x for k, x in v.items()}
