"""Cost of a job: cloud rental from observed $/chip-hour, or owned hardware (research §B.5).

Owned cost per chip-hour of the job:

    capex per chip       = purchase price x system multiplier   (x 1 when the price already includes the system)
    capex $/chip-h       = capex per chip / (years x 8760 h x utilisation)
    overhead $/chip-h    = capex per chip x overhead share per year / (8760 h x utilisation)
    owned cost           = chips x hours x (capex + overhead $/chip-h) + energy MWh x 1000 x $/kWh

Utilisation is the share of the hardware's life spent on paid work: a cluster busy 80% of the time
charges each job 1/0.8 of its hourly depreciation.
"""

from __future__ import annotations

import statistics

from pydantic import BaseModel, ConfigDict

from accelplan.economics.data import ChipPrices

HOURS_PER_YEAR = 8760.0


class UsdRange(BaseModel):
    model_config = ConfigDict(frozen=True)

    low: float
    typical: float
    high: float

    def scaled(self, k: float) -> UsdRange:
        return UsdRange(low=self.low * k, typical=self.typical * k, high=self.high * k)


def cloud_range(entry: ChipPrices) -> UsdRange | None:
    """low / typical / high = min / median / max of the quotes not superseded; None when there are none."""
    quotes = [c.usd_per_chip_hour for c in entry.current_cloud]
    if not quotes:
        return None
    return UsdRange(low=min(quotes), typical=statistics.median(quotes), high=max(quotes))


def capex_per_chip_usd(purchase_usd: float, includes_system: bool, system_multiplier: float) -> float:
    return purchase_usd if includes_system else purchase_usd * system_multiplier


def capex_usd_per_chip_hour(capex_per_chip: float, years: float, utilization: float) -> float:
    return capex_per_chip / (years * HOURS_PER_YEAR * utilization)


def overhead_usd_per_chip_hour(capex_per_chip: float, overhead_frac_per_year: float, utilization: float) -> float:
    return capex_per_chip * overhead_frac_per_year / (HOURS_PER_YEAR * utilization)


def owned_cost_usd(chips: int, hours: float, capex_per_chip: float, years: float, utilization: float,
                   overhead_frac_per_year: float, energy_mwh: float, usd_per_kwh: float) -> float:
    per_chip_hour = (capex_usd_per_chip_hour(capex_per_chip, years, utilization)
                     + overhead_usd_per_chip_hour(capex_per_chip, overhead_frac_per_year, utilization))
    return chips * hours * per_chip_hour + energy_mwh * 1000.0 * usd_per_kwh
