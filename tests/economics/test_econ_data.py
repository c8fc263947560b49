"""The economics data files: validated on load, errors name file and field, ids match the catalog."""

import shutil

import pytest

from accelplan.economics.data import DATA_DIR, load_tables
from accelplan.errors import AccelplanError, CatalogError


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
    text = p.read_text()
    assert "usd_per_chip_hour: 6.88" in text  # AWS p5 on-demand, an h100-sxm row
    p.write_text(text.replace("usd_per_chip_hour: 6.88", "usd_per_chip_hour: -6.88"))
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


@pytest.mark.parametrize("pue", ["5", "0.9", "-1.3", ".nan", ".inf"])
def test_implausible_pue_is_refused_with_its_range(tmp_path, pue):
    # the plausible range: PUE between 1 (all power reaches the IT load) and 3
    d = _copy(tmp_path)
    g = d / "grid.yaml"
    text = g.read_text()
    assert "pue: {value: 1.3," in text
    g.write_text(text.replace("pue: {value: 1.3,", f"pue: {{value: {pue},"))
    with pytest.raises(CatalogError) as err:
        load_tables(d)
    msg = str(err.value)
    assert "\n" not in msg and "grid.yaml" in msg and "energy.pue.value" in msg and "1 <= value <= 3" in msg


def test_a_price_in_cents_is_refused(tmp_path):
    # $6.88 per H100-hour written as 688 (cents): above any on-demand accelerator price
    d = _copy(tmp_path)
    p = d / "prices.yaml"
    text = p.read_text()
    assert "usd_per_chip_hour: 6.88" in text
    p.write_text(text.replace("usd_per_chip_hour: 6.88", "usd_per_chip_hour: 688"))
    with pytest.raises(CatalogError, match="h100-sxm.*usd_per_chip_hour.*688"):
        load_tables(d)


def test_a_duplicate_key_in_a_data_file_is_refused(tmp_path):
    d = _copy(tmp_path)
    g = d / "grid.yaml"
    g.write_text(g.read_text().replace("  pue: {value: 1.3,", "  pue: {value: 1.1, source: x, confidence: estimate}\n"
                                                            "  pue: {value: 1.3,"))
    with pytest.raises(CatalogError, match="grid.yaml.*duplicate key 'pue'"):
        load_tables(d)


def test_a_data_file_that_is_a_directory_is_refused(tmp_path):
    d = _copy(tmp_path)
    (d / "grid.yaml").unlink()
    (d / "grid.yaml").mkdir()
    with pytest.raises(AccelplanError) as err:
        load_tables(d)
    assert "grid.yaml" in str(err.value) and "directory" in str(err.value)
