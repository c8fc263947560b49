"""Availability per chip and region group follows the rules in research §D (information, not legal advice)."""

import pytest

from accelplan.economics import availability, load_tables, region_codes, region_groups
from accelplan.errors import AccelplanError

BITS = {"bf16": 16, "fp16": 16, "fp8": 8, "int8": 8, "fp4": 4}


def _tpp(chip) -> float:
    """Total processing performance (88 FR 73458): dense peak x bit length, maximised over formats."""
    return max((getattr(chip.peak_tflops, f) or 0.0) * bits for f, bits in BITS.items())


def test_us_export_rules_for_china(catalog):
    # H100/H200: licence required, case-by-case since 2026-01-15; Blackwell: presumption of denial
    assert availability("h100-sxm", "CN").status == "licence_required"
    h200 = availability("h200-sxm", "CN")
    assert h200.status == "licence_required"
    assert {"licence_required", "restricted_by_importer"} <= {r.status for r in h200.rules}  # PRC customs too
    assert availability("b200-hgx", "CN").status == "prohibited"
    assert availability("gb300", "HK").status == "prohibited"


def test_same_chips_in_the_us_and_allied_countries(catalog):
    for chip in ("h100-sxm", "h200-sxm", "b200-hgx"):
        assert availability(chip, "US").status == "available"
        assert availability(chip, "EU").status == "available"
        assert availability(chip, "AE").status == "licence_required"
        assert availability(chip, "IR").status == "prohibited"


def test_ascend_is_domestic_in_china_and_high_risk_elsewhere_under_may_2025_guidance():
    for chip in ("ascend-910b", "ascend-910c"):
        assert availability(chip, "CN").status == "available"
        for region in ("US", "DE", "JP", "AE"):
            a = availability(chip, region)
            assert a.status == "high_risk"
            assert a.rules[0].effective_from == "2025-05-13"
            assert "General Prohibition 10" in a.rule


def test_region_changes_the_answer_both_ways():
    # what the US rules close in China, China's own products open, and the other way round
    assert availability("b200-hgx", "US").status == "available" and availability("b200-hgx", "CN").status == "prohibited"
    assert availability("ascend-910b", "CN").status == "available" and availability("ascend-910b", "US").status == "high_risk"


@pytest.mark.parametrize("chip_id", ["v100-sxm2-32gb", "ascend-950dt", "ascend-970", "not-a-chip"])
def test_a_chip_with_no_rule_is_unknown_never_available(chip_id):
    for group in region_groups():
        a = availability(chip_id, group)
        assert a.status == "unknown" and a.rules == []


def test_available_only_when_a_rule_says_so(catalog):
    for chip_id in catalog.chips:
        for group in region_groups():
            a = availability(chip_id, group)
            if a.status == "available":
                assert a.rules and a.rules[0].status == "available" and a.source
            if not a.rules:
                assert a.status == "unknown"


def test_every_answer_carries_date_source_and_disclaimer():
    a = availability("h100-sxm", "cn")
    assert a.as_of == load_tables().availability.as_of
    assert "not legal advice" in a.disclaimer.lower() and a.as_of in a.disclaimer
    assert a.source and a.rules[0].effective_from


def test_region_codes_resolve_to_groups():
    codes = region_codes()
    assert codes["EU"] == "ALLY_A5A6" and codes["DE"] == "ALLY_A5A6" and codes["HK"] == "CN_MO"
    assert codes["NO"] == "ALLY_A5A6"  # YAML's NO-as-false trap
    with pytest.raises(AccelplanError, match="unknown region 'Atlantis'; allowed: .*CN"):
        availability("h100-sxm", "Atlantis")


def test_rule_classes_agree_with_the_catalog_figures(catalog):
    # 3A090.a: TPP >= 4,800; China case-by-case bucket: TPP < 21,000 and DRAM bandwidth < 6,500 GB/s, and the item
    # sold in the US (91 FR 1684), so China-market SKUs fall outside it
    china_buckets = ("cn-case-by-case", "cn-denial", "cn-not-us-sku")
    for chip_id, entry in load_tables().availability.chips.items():
        chip = catalog.chip(chip_id)
        tpp, bw_gb_s = _tpp(chip), (chip.hbm_tb_s or 0.0) * 1000
        if "3A090.a" in entry.classes:
            assert tpp >= 4800, chip_id
            assert sum(b in entry.classes for b in china_buckets) == 1, chip_id
        if "cn-case-by-case" in entry.classes:
            assert tpp < 21_000 and bw_gb_s < 6_500, chip_id
            assert "china" not in chip.name.lower(), chip_id
        if "cn-not-us-sku" in entry.classes:
            assert "China-market" in chip.name, chip_id  # the catalog's own name says so (A800, H800)
        if "cn-denial" in entry.classes:
            assert tpp >= 21_000 or bw_gb_s >= 6_500, chip_id
