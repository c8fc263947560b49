"""An answer names the kind of price its cloud cost uses and how old it is; other kinds stand beside it; figures
older than six months are warned of, judged against an injectable day."""

from datetime import date

import pytest

from accelplan.economics import EconomicsOptions, assess, load_tables
from accelplan.economics.dates import is_stale

DAY = date(2026, 12, 1)


def _assess(catalog, chip_id, now=DAY, **opts):
    chip = catalog.chip(chip_id)
    return assess(chip, catalog.default_system(chip), 64, 5.0, state_bytes=1e11, now=now,
                  options=EconomicsOptions(**opts))


def test_on_demand_by_default_with_the_other_kinds_beside_it(catalog):
    e = _assess(catalog, "h100-sxm")
    assert e.cloud_price_kind == "on_demand"
    assert e.cloud_usd_per_chip_hour == e.cloud_by_kind["on_demand"].usd_per_chip_hour
    assert {"reserved", "spot"} <= set(e.cloud_by_kind)
    assert e.cloud_price_note.startswith("on-demand:")
    # every kind prices the same elapsed chip-hours
    hours = 64 * e.effective_days * 24
    for k in e.cloud_by_kind.values():
        assert k.cost_usd.typical == pytest.approx(k.usd_per_chip_hour.typical * hours)
    # on-demand costs more than spot at the typical price (audit §3: the old "on-demand" rows were spot levels)
    assert e.cloud_by_kind["on_demand"].usd_per_chip_hour.typical > e.cloud_by_kind["spot"].usd_per_chip_hour.typical


def test_the_price_date_is_the_newest_quote_of_the_kind_used(catalog):
    e = _assess(catalog, "h100-sxm")
    quotes = [c for c in load_tables().prices.chips["h100-sxm"].current("on_demand")]
    assert e.cloud_price_as_of in {c.as_of for c in quotes}
    assert e.cloud_price_as_of in e.cloud_price_note
    assert e.prices_as_of == load_tables().prices.as_of and e.prices_as_of in e.data_as_of
    assert e.rules_as_of == e.availability_as_of and e.rules_as_of in e.data_as_of


def test_a_kind_can_be_asked_for(catalog):
    e = _assess(catalog, "h100-sxm", price_kind="spot")
    assert e.cloud_price_kind == "spot" and e.cloud_usd_per_chip_hour == e.cloud_by_kind["spot"].usd_per_chip_hour


def test_with_no_quote_of_the_kind_asked_the_answer_says_which_it_used(catalog):
    # Trainium1 has only an AWS Capacity Block (reserved) quote
    e = _assess(catalog, "trainium1")
    assert e.cloud_price_kind == "reserved"
    assert e.cloud_price_note.startswith("no on-demand quote, so reserved:")
    assert "Capacity Block" in e.cloud_price_note  # the term


def test_a_given_price_overrides_and_says_so(catalog):
    e = _assess(catalog, "h100-sxm", prices={"h100": 2.0})
    assert e.cloud_price_kind == "given" and e.cloud_price_as_of is None
    assert e.cloud_usd_per_chip_hour.typical == 2.0
    assert "on_demand" in e.cloud_by_kind  # the data's kinds still stand beside it


def test_staleness_follows_the_day_it_is_judged_on(catalog):
    q = load_tables().prices.chips["b200-hgx"].current("on_demand")
    young = date(2026, 9, 1)  # every B200 on-demand quote is dated 2026-03-17 or later: none over six months old
    assert not any(is_stale(c.as_of, young) for c in q)
    e = _assess(catalog, "b200-hgx", now=young)
    assert e.judged_on == "2026-09-01"
    assert not any("on-demand price" in w for w in e.stale)
    later = _assess(catalog, "b200-hgx", now=date(2028, 1, 1))
    assert any(w.startswith("the on-demand prices of b200-hgx") for w in later.stale)
    assert any("purchase price of b200-hgx" in w for w in later.stale)


def test_stale_rules_behind_a_regional_answer_are_warned(catalog):
    e = _assess(catalog, "h200-sxm", now=date(2028, 1, 1), region="CN")
    assert e.availability is not None
    for m in e.availability.rules:
        assert any(m.chip_class in w and m.as_of in w for w in e.stale), m.chip_class


def test_caveats_and_price_notes_are_dated(catalog):
    e = _assess(catalog, "h100-sxm", region="CN")
    assert any("Affiliates Rule" in c and "2026-11-10" in c for c in e.availability_caveats)
    assert any("zero capacity" in n and "2026-08-18" in n for n in e.price_notes)


def test_a_partly_stale_kind_names_the_dates_that_are_old(catalog):
    e = _assess(catalog, "h100-sxm")
    kp = e.cloud_by_kind["on_demand"]
    old = [c.as_of for c in load_tables().prices.chips["h100-sxm"].current("on_demand") if is_stale(c.as_of, DAY)]
    assert 0 < kp.stale_quotes == len(old) < kp.quotes
    warning = next(w for w in e.stale if "on-demand prices of h100-sxm" in w)
    assert all(d in warning for d in old)
