"""Cloud and owned cost: formulas worked by hand (research §B.5) and the price data's invariants."""

from datetime import date

import pytest
from pydantic import ValidationError

from accelplan.economics import EconomicsOptions, assess, load_tables
from accelplan.economics.cost import (
    capex_per_chip_usd,
    capex_usd_per_chip_hour,
    kind_prices,
    overhead_usd_per_chip_hour,
    owned_cost_usd,
)
from accelplan.economics.data import ChipPrices
from accelplan.economics.energy import energy_mwh, it_power_w


def test_research_tco_worked_example_for_h100():
    # research §B.5: $30k x 1.5 = $45k per GPU slot over 5 years at 80%: 45,000 / 35,040 h = $1.28/h
    capex = capex_per_chip_usd(30_000.0, includes_system=False, system_multiplier=1.5)
    assert capex == 45_000.0
    assert capex_usd_per_chip_hour(capex, 5.0, 0.8) == pytest.approx(1.2842, abs=1e-4)
    # energy: 0.70 kW x 1.5 node factor x 1.3 PUE x $0.08 = $0.109 per GPU-hour
    kwh_per_hour = energy_mwh(it_power_w(1, 8, 700.0, 1.0, None, 1.5, 0.0), 1.3, 1.0) * 1000
    assert kwh_per_hour * 0.08 == pytest.approx(0.1092, abs=1e-4)


def test_price_that_includes_the_system_is_not_multiplied():
    assert capex_per_chip_usd(38_750.0, includes_system=True, system_multiplier=1.5) == 38_750.0


def test_owned_cost_worked_by_hand():
    # 100 chips x 1,000 h; capex $45,000/chip, 5 y, 80%: 45,000 / 35,040 = 1.284247 $/h
    # overhead 4%/y: 45,000 x 0.04 / 7,008 = 0.256849 $/h -> 100,000 chip-h x 1.541096 = 154,109.6
    # energy 50 MWh x $0.10/kWh = 5,000 -> 159,109.6
    assert overhead_usd_per_chip_hour(45_000.0, 0.04, 0.8) == pytest.approx(0.256849, abs=1e-6)
    assert owned_cost_usd(100, 1000.0, 45_000.0, 5.0, 0.8, 0.04, 50.0, 0.10) == pytest.approx(159_109.6, abs=0.1)


def test_each_kind_has_its_own_range_a_band_counts_once_and_superseded_rows_none():
    q = {"product": "p", "region": "not stated", "source": "test", "confidence": "estimate"}
    entry = ChipPrices(cloud=[
        {"provider": "a", "kind": "on_demand", "usd_per_chip_hour": 1.0, "as_of": "2026-03", **q},
        {"provider": "b", "kind": "on_demand", "usd_per_chip_hour": 10.0, "usd_per_chip_hour_high": 12.0,
         "as_of": "2026-10-19", **q},
        {"provider": "c", "kind": "on_demand", "usd_per_chip_hour": 2.0, "as_of": "2026", **q},
        {"provider": "old", "kind": "on_demand", "usd_per_chip_hour": 50.0, "as_of": "2024", "superseded": "cut", **q},
        {"provider": "d", "kind": "spot", "usd_per_chip_hour": 0.5, "as_of": "2025-01", **q},
    ])
    by_kind = kind_prices(entry, now=date(2026, 12, 1))
    assert list(by_kind) == ["on_demand", "spot"]  # on-demand first; the spot quote is not mixed into it
    od = by_kind["on_demand"]
    # low = lowest quote, high = top of the band, typical = median of midpoints 1, 11, 2 = 2
    r = od.usd_per_chip_hour
    assert (r.low, r.typical, r.high, od.quotes) == (1.0, 2.0, 12.0, 3)
    # "2026" may be any day of 2026: the certain span runs from it to 2026-10-19; only 2026-03 is over 6 months old
    assert (od.oldest_as_of, od.newest_as_of, od.stale_quotes, od.stale_dates) == ("2026", "2026-10-19", 1, ["2026-03"])
    assert by_kind["spot"].stale_quotes == 1


def test_a_reserved_price_names_its_term_and_an_on_demand_price_has_none():
    q = {"provider": "p", "product": "p", "region": "r", "usd_per_chip_hour": 1.0, "as_of": "2026", "source": "s",
         "confidence": "estimate"}
    with pytest.raises(ValidationError, match="names its term"):
        ChipPrices(cloud=[{**q, "kind": "reserved"}])
    with pytest.raises(ValidationError, match="has no term"):
        ChipPrices(cloud=[{**q, "kind": "on_demand", "term": "1 year"}])
    with pytest.raises(ValidationError, match="below usd_per_chip_hour"):
        ChipPrices(cloud=[{**q, "kind": "spot", "usd_per_chip_hour_high": 0.5}])


def test_every_cloud_quote_and_purchase_price_names_source_and_date():
    for cid, entry in load_tables().prices.chips.items():
        for c in entry.cloud:
            assert c.source.strip() and c.as_of.strip(), cid
        if entry.purchase:
            assert entry.purchase.source.strip() and entry.purchase.as_of.strip(), cid


@pytest.mark.parametrize("chip_id", ["ascend-910b", "ascend-910b3", "ascend-910c"])
def test_ascend_has_no_public_cloud_price(catalog, chip_id):
    chip = catalog.chip(chip_id)
    e = assess(chip, catalog.default_system(chip), 64, 5.0, state_bytes=1e11)
    assert e.cloud_usd_per_chip_hour is None and e.cloud_cost_usd is None
    assert e.cloud_price_note.startswith("no public price")


def test_price_override_by_alias_is_low_typical_and_high(catalog):
    chip = catalog.chip("ascend-910b")
    e = assess(chip, catalog.default_system(chip), 64, 5.0, state_bytes=1e11,
               options=EconomicsOptions(prices={"Ascend-910B": 1.9}))
    r = e.cloud_usd_per_chip_hour
    assert (r.low, r.typical, r.high) == (1.9, 1.9, 1.9)
    # 64 chips x effective hours x $1.9
    assert e.cloud_cost_usd.typical == pytest.approx(64 * e.effective_days * 24 * 1.9)


def test_owned_cost_follows_years_and_kwh_overrides(catalog):
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    base = dict(purchase_usd={"h100-sxm": 30_000.0}, kwh_price=0.10, utilization=0.8, system_multiplier=1.5,
                overhead_frac_per_year=0.0)
    e5 = assess(chip, system, 64, 5.0, state_bytes=1e11, options=EconomicsOptions(years=5, **base))
    e3 = assess(chip, system, 64, 5.0, state_bytes=1e11, options=EconomicsOptions(years=3, **base))
    hours = e5.effective_days * 24
    energy_usd = e5.energy_mwh * 1000 * 0.10
    # capex share: 64 x hours x 45,000 / (years x 8,760 x 0.8)
    assert e5.owned_cost_usd.typical == pytest.approx(64 * hours * 45_000 / (5 * 8760 * 0.8) + energy_usd)
    assert e3.owned_cost_usd.typical == pytest.approx(64 * hours * 45_000 / (3 * 8760 * 0.8) + energy_usd)


def test_chip_with_no_price_data_says_so_without_claiming_none_exists(catalog):
    chip = catalog.chip("ascend-950dt")
    e = assess(chip, catalog.default_system(chip), 64, 5.0, state_bytes=1e11)
    assert e.cloud_usd_per_chip_hour is None
    assert e.cloud_price_note == "no price recorded for this chip"
    gb200 = catalog.chip("gb200")  # a purchase estimate, but no cloud quote in the research
    e = assess(gb200, catalog.default_system(gb200), 72, 5.0, state_bytes=1e11)
    assert e.cloud_price_note == "no cloud price recorded" and e.owned_cost_usd is not None
