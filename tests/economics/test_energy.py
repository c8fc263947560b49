"""Energy and emissions formulas against examples worked by hand (research §C.2, §C.4)."""

import pytest

from accelplan.economics import EconomicsOptions, assess, load_tables
from accelplan.economics.energy import energy_mwh, it_power_w, tco2e


def test_energy_worked_by_hand_for_1024_h100_over_10_days():
    # chips: 1,024 x 700 W x 0.8 = 573,440 W; nodes: 128 x 4,600 W x 0.8 = 471,040 W
    # IT = (573,440 + 471,040) x 1.05 = 1,096,704 W; site = x 1.3 = 1,425,715 W; x 240 h = 342.17 MWh
    it = it_power_w(1024, 8, 700.0, 0.8, 4600.0, 1.4, 0.05)
    assert it == pytest.approx(1_096_704.0)
    mwh = energy_mwh(it, 1.3, 240.0)
    assert mwh == pytest.approx(342.1716, rel=1e-6)
    # at 345 gCO2e/kWh: 342,171.6 kWh x 345 g = 118.05 t
    assert tco2e(mwh, 345.0) == pytest.approx(118.049, rel=1e-4)


def test_node_factor_used_when_the_system_gives_no_overhead():
    # 8 x 400 W x 0.8 = 2,560 W chips; x 1.4 node factor = 3,584 W; x 1.05 = 3,763.2 W
    assert it_power_w(8, 8, 400.0, 0.8, None, 1.4, 0.05) == pytest.approx(3763.2)


def test_default_load_factor_puts_a_dgx_h100_inside_its_reported_typical_draw():
    # research §C.2: DGX H100 typical draw 6.5-8.5 kW (10.2 kW nameplate); catalog overhead 4,600 W
    load = load_tables().grid.energy.load_factor.value
    node_w = it_power_w(8, 8, 700.0, load, 4600.0, 1.4, 0.0)
    assert 6500.0 <= node_w <= 8500.0


def test_assess_energy_is_power_times_pue_times_elapsed_time(catalog):
    chip = catalog.chip("h100-sxm")
    e = assess(chip, catalog.default_system(chip), 1024, 10.0, state_bytes=70e9 * 16,
               options=EconomicsOptions(pue=1.2, grid_g_per_kwh=100.0))
    assert e.energy_mwh == pytest.approx(e.it_power_kw * 1.2 * e.effective_days * 24 / 1000)
    assert e.tco2e == pytest.approx(e.energy_mwh * 1000 * 100.0 / 1e6)


def test_unknown_board_power_gives_unknown_energy_never_a_guess(catalog):
    chip = catalog.chip("ascend-910b")
    assert chip.tdp_w is None
    e = assess(chip, catalog.default_system(chip), 512, 10.0, state_bytes=1e12)
    assert e.energy_mwh is None and e.tco2e is None and e.it_power_kw is None and e.board_power_w is None
    assert e.owned_cost_usd is None
    assert any("board power of ascend-910b unknown" in a for a in e.assumptions)


def test_board_power_override_by_alias_fills_the_gap(catalog):
    chip = catalog.chip("ascend-910b")
    e = assess(chip, catalog.default_system(chip), 512, 10.0, state_bytes=1e12,
               options=EconomicsOptions(board_power_w={"910B": 400.0}))
    assert e.board_power_w == 400.0
    assert e.energy_mwh is not None and e.energy_mwh > 0


def test_region_sets_grid_intensity(catalog):
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    fr = assess(chip, system, 64, 5.0, state_bytes=1e11, options=EconomicsOptions(region="FR"))
    cn = assess(chip, system, 64, 5.0, state_bytes=1e11, options=EconomicsOptions(region="CN"))
    grid = load_tables().grid.locations
    assert fr.grid_g_per_kwh == grid["FR"].g_co2e_per_kwh.value
    assert cn.grid_g_per_kwh == grid["CN"].g_co2e_per_kwh.value
    assert cn.tco2e / fr.tco2e == pytest.approx(cn.grid_g_per_kwh / fr.grid_g_per_kwh)


def test_region_without_a_grid_figure_falls_back_to_world_and_says_so(catalog):
    chip = catalog.chip("h100-sxm")
    e = assess(chip, catalog.default_system(chip), 64, 5.0, state_bytes=1e11, options=EconomicsOptions(region="RU"))
    assert e.location == "world"
    assert any("world average" in a for a in e.assumptions)


@pytest.mark.parametrize(("field", "value"), [
    ("pue", 0.5), ("pue", 3.5), ("pue", float("nan")), ("pue", float("inf")), ("load_factor", 1.5),
    ("load_factor", -0.8), ("kwh_price", 0.0), ("grid_g_per_kwh", -100.0), ("grid_g_per_kwh", float("inf")),
    ("board_power_w", {"h100-sxm": -700.0}), ("board_power_w", {"h100-sxm": 70_000.0}),
    ("board_power_w", {"h100-sxm": float("nan")}),
])
def test_overrides_that_would_give_negative_or_absurd_energy_are_refused(field, value):
    # a negative PUE or board power gave -3.6 MWh; PUE is 1-3 and a board draws at most a few kW (the issue)
    with pytest.raises(ValueError, match=field):
        EconomicsOptions(**{field: value})


def test_plausible_overrides_at_the_edges_of_their_ranges_are_accepted(catalog):
    chip = catalog.chip("h100-sxm")
    opts = EconomicsOptions(pue=3.0, load_factor=1.0, board_power_w={"h100-sxm": 1_400.0}, grid_g_per_kwh=0.0)
    e = assess(chip, catalog.default_system(chip), 8, 1.0, state_bytes=1e9, options=opts)
    assert e.energy_mwh > 0 and e.tco2e == 0
    assert EconomicsOptions(pue=1.0).pue == 1.0
