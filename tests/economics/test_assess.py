"""assess(): one answer per chip with every field filled or explained, and invariants across sizes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelplan.economics import EconomicsOptions, assess
from accelplan.errors import AccelplanError


def test_every_catalog_chip_gets_a_complete_answer(catalog):
    opts = EconomicsOptions(region="US")
    for chip_id in sorted(catalog.chips):
        chip = catalog.chip(chip_id)
        e = assess(chip, catalog.default_system(chip), 1024, 20.0, state_bytes=70e9 * 16, options=opts)
        # a price is a positive, ordered range; a missing one is explained (the notes are never empty, so
        # "price or note" could not fail)
        for rng, note, gone in ((e.cloud_usd_per_chip_hour, e.cloud_price_note, ("no price", "no public price",
                                                                                 "no cloud price")),
                                (e.owned_cost_usd, e.owned_cost_note, ("no purchase price", "owned cost unknown"))):
            if rng is None:
                assert any(g in note for g in gone), (chip_id, note)
            else:
                assert 0 < rng.low <= rng.typical <= rng.high, (chip_id, rng)
                assert not any(note.startswith(g) for g in gone), (chip_id, note)
        if e.energy_mwh is None:
            assert any("unknown" in a for a in e.assumptions), chip_id
        else:
            assert e.energy_mwh > 0 and e.tco2e > 0, chip_id
        assert e.expected_interruptions > 0, chip_id
        assert 0 < e.goodput_pct <= 100 and e.effective_days >= 20.0, chip_id
        assert e.effective_days == pytest.approx(20.0 / (e.goodput_pct / 100)), chip_id
        assert e.availability.status and e.availability.as_of, chip_id
        assert set(e.availability_by_group) >= {"US", "CN_MO"}, chip_id
        assert "not legal advice" in e.disclaimer.lower()
        assert e.assumptions and e.sources, chip_id


def test_chip_with_no_published_failure_data_is_flagged_as_an_assumption(catalog):
    h100, ascend = catalog.chip("h100-sxm"), catalog.chip("ascend-910b")
    e_h = assess(h100, catalog.default_system(h100), 1024, 20.0, state_bytes=1e12)
    e_a = assess(ascend, catalog.default_system(ascend), 1024, 20.0, state_bytes=1e12)
    assert not any(a.startswith("ASSUMPTION") for a in e_h.assumptions)
    assert any(a.startswith("ASSUMPTION: ascend-910b has no published failure rate") for a in e_a.assumptions)
    assert e_a.expected_interruptions / e_a.effective_days > e_h.expected_interruptions / e_h.effective_days


def test_region_changes_availability_and_carbon(catalog):
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    us = assess(chip, system, 256, 10.0, state_bytes=1e12, options=EconomicsOptions(region="US"))
    cn = assess(chip, system, 256, 10.0, state_bytes=1e12, options=EconomicsOptions(region="CN"))
    assert (us.availability.status, cn.availability.status) == ("available", "licence_required")
    assert us.tco2e != cn.tco2e and us.kwh_price != cn.kwh_price
    none = assess(chip, system, 256, 10.0, state_bytes=1e12)
    assert none.availability is None and none.availability_by_group["CN_MO"] == "licence_required"


def test_unknown_region_is_refused_with_the_allowed_values(catalog):
    chip = catalog.chip("h100-sxm")
    with pytest.raises(AccelplanError, match="allowed"):
        assess(chip, catalog.default_system(chip), 8, 1.0, state_bytes=1e9, options=EconomicsOptions(region="XX"))


def test_cloud_and_owned_costs_price_the_elapsed_time_not_the_compute_time(catalog):
    chip = catalog.chip("h100-sxm")
    e = assess(chip, catalog.default_system(chip), 4096, 30.0, state_bytes=1e12,
               options=EconomicsOptions(prices={"h100": 2.0}))
    assert e.effective_days > e.compute_days
    assert e.cloud_cost_usd.typical == pytest.approx(4096 * e.effective_days * 24 * 2.0)


def test_sync_checkpoints_block_longer_than_async(catalog):
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    state = 405e9 * 16
    s = assess(chip, system, 1024, 30.0, state_bytes=state, options=EconomicsOptions(checkpoint="sync"))
    a = assess(chip, system, 1024, 30.0, state_bytes=state, options=EconomicsOptions(checkpoint="async"))
    assert a.checkpoint_blocking_s < s.checkpoint_blocking_s == pytest.approx(s.checkpoint_write_s)
    assert a.goodput_pct > s.goodput_pct


@settings(max_examples=25, deadline=None)
@given(nodes=st.integers(1, 4000))
def test_more_chips_means_more_interruptions_and_lower_goodput(catalog, nodes):
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    small = assess(chip, system, 8 * nodes, 30.0, state_bytes=1e12)
    big = assess(chip, system, 16 * nodes, 30.0, state_bytes=1e12)
    assert big.goodput_pct < small.goodput_pct
    assert big.expected_interruptions > small.expected_interruptions


def test_bad_inputs_are_refused(catalog):
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    with pytest.raises(ValueError, match="chips"):
        assess(chip, system, 0, 1.0, state_bytes=1e9)
    with pytest.raises(ValueError, match="pue"):
        EconomicsOptions(pue=0.5)
    with pytest.raises(ValueError, match=r"prices.h100\n.*greater than 0"):
        EconomicsOptions(prices={"h100": -1})
