"""Cost of a job: cloud rental from observed $/chip-hour per price kind, or owned hardware (research §B.5).

Cloud: each price kind (on-demand, reserved, spot, committed-use, market index) has its own range, never mixed:
low = the lowest quote, high = the highest (a band's top), typical = the median of the quotes' midpoints, so a
band counts once.

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
from datetime import date

from pydantic import BaseModel, ConfigDict

from accelplan.economics import dates
from accelplan.economics.data import PRICE_KINDS, ChipPrices, CloudPrice

HOURS_PER_YEAR = 8760.0


class UsdRange(BaseModel):
    model_config = ConfigDict(frozen=True)

    low: float
    typical: float
    high: float

    def scaled(self, k: float) -> UsdRange:
        return UsdRange(low=self.low * k, typical=self.typical * k, high=self.high * k)


KIND_LABEL = {"on_demand": "on-demand", "reserved": "reserved", "spot": "spot", "committed_use": "committed-use",
              "market_index": "market index"}


class KindPrice(BaseModel):
    """The quotes of one price kind for one chip: the $/chip-hour range and the dates behind it."""

    model_config = ConfigDict(frozen=True)

    kind: str
    usd_per_chip_hour: UsdRange
    quotes: int
    stale_quotes: int  # quotes older than dates.STALE_AFTER_MONTHS on the day judged
    stale_dates: list[str]  # their dates, oldest first
    oldest_as_of: str
    newest_as_of: str
    terms: list[str]  # the commitments behind reserved and committed-use quotes
    providers: list[str]


def quote_range(quotes: list[CloudPrice]) -> UsdRange | None:
    """low = lowest quote, high = highest (a band's top), typical = median of the quotes' midpoints; None if none."""
    if not quotes:
        return None
    return UsdRange(low=min(q.low for q in quotes), typical=statistics.median(q.mid for q in quotes),
                    high=max(q.high for q in quotes))


def kind_prices(entry: ChipPrices, now: date) -> dict[str, KindPrice]:
    """Every price kind with current quotes, in the order of `PRICE_KINDS` (on-demand first)."""
    out: dict[str, KindPrice] = {}
    for kind in PRICE_KINDS:
        quotes = entry.current(kind)
        rng = quote_range(quotes)
        if rng is None:
            continue
        when = [q.as_of for q in quotes]
        out[kind] = KindPrice(kind=kind, usd_per_chip_hour=rng, quotes=len(quotes),
                              stale_quotes=sum(dates.is_stale(d, now) for d in when),
                              stale_dates=sorted({d for d in when if dates.is_stale(d, now)}, key=dates.period_start),
                              oldest_as_of=dates.oldest(when), newest_as_of=dates.newest(when),
                              terms=list(dict.fromkeys(q.term for q in quotes if q.term)),
                              providers=list(dict.fromkeys(q.provider for q in quotes)))
    return out


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
