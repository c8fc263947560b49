"""The economics data files: validated on load, errors name file and field, ids match the catalog."""

import shutil

import pytest

from accelplan.economics.data import DATA_DIR, load_tables
from accelplan.errors import CatalogError


def _copy(dest):
    dest.mkdir(parents=True, exist_ok=True)
    for f in DATA_DIR.glob("*.yaml"):
        shutil.copy(f, dest / f.name)
    return dest


def test_shipped_data_loads_once_and_is_cached():
    assert load_tables() is load_tables()


def test_negative_price_is_rejected_naming_file_entry_and_field(tmp_path):
    d = _copy(tmp_path)
    p = d / "prices.yaml"
    p.write_text(p.read_text().replace("usd_per_chip_hour: 3.90", "usd_per_chip_hour: -3.90"))
    with pytest.raises(CatalogError) as err:
        load_tables(d)
    msg = str(err.value)
    assert "prices.yaml" in msg and "h100-sxm" in msg and "usd_per_chip_hour" in msg


def test_unknown_field_and_unknown_group_are_rejected(tmp_path):
    d = _copy(tmp_path)
    g = d / "grid.yaml"
    g.write_text(g.read_text().replace("  US:\n    name: United States", "  US:\n    colour: red\n    name: United States"))
    with pytest.raises(CatalogError, match="grid.yaml, entry 'US', field 'colour': unknown field"):
        load_tables(d)
    d2 = _copy(tmp_path / "second")
    a = d2 / "availability.yaml"
    a.write_text(a.read_text().replace("groups: [E1_E2]", "groups: [MARS]"))
    with pytest.raises(CatalogError, match="availability.yaml.*MARS"):
        load_tables(d2)


def test_every_chip_id_in_the_data_is_in_the_catalog(catalog):
    t = load_tables()
    ids = set(t.prices.chips) | set(t.availability.chips)
    ids |= set(t.reliability.chip_factors.measured.chips)
    assert ids - set(catalog.chips) == set()


def test_every_grid_location_is_a_region_a_user_can_name():
    from accelplan.economics import region_codes

    codes = region_codes()
    assert {k for k in load_tables().grid.locations if k != "world"} <= set(codes)


def test_unknown_figures_are_absent_not_zero():
    for loc in load_tables().grid.locations.values():
        if loc.g_co2e_per_kwh is not None:
            assert loc.g_co2e_per_kwh.value > 0
