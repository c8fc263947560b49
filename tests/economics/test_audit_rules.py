"""The shipped availability rules against the 2026-12 audit, row by row (shared/research/economics_audit_2026-12.md
§2 rows 1-17 and 16b, §4). Each test reads the shipped data. Information, not legal advice."""

import pytest

from accelplan.economics import availability, load_tables, region_groups
from accelplan.economics.dates import check_iso_date, newest, period_start

RULES = load_tables().availability


def _text(a) -> str:
    """Everything a buyer reads about one answer: the rule lines and the caveats."""
    return " ".join([*a.lines, *a.caveats])


def _rule(chip_class, group):
    found = [r for r in RULES.rules if r.chip_class == chip_class and group in r.groups]
    assert found, (chip_class, group)
    return found


def test_no_rule_or_caveat_is_without_a_date_and_none_postdates_the_check():
    for r in RULES.rules:
        assert check_iso_date(r.as_of) and r.effective_from.strip() and r.source.strip(), r.chip_class
        assert period_start(r.as_of) <= period_start(RULES.checked), r.chip_class
    for c in RULES.caveats:
        assert check_iso_date(c.as_of) and c.source.strip()
    assert RULES.as_of == newest([r.as_of for r in RULES.rules])


def test_row_1_us_available_as_of_mid_2026():
    a = availability("h100-sxm", "US")
    assert a.status == "available" and a.rules[0].as_of >= "2026-06-05"


def test_row_2_allies_available_and_malaysia_thailand_singapore_have_their_own_entries():
    assert availability("h100-sxm", "DE").status == "available"
    for code in ("MY", "TH", "SG"):
        assert code in region_groups()
    my = availability("h100-sxm", "MY")
    assert "Strategic Trade Permit" in _text(my)  # Malaysia's own permit (lowyat.net 2025-07)
    assert "draft" in _text(availability("h100-sxm", "TH"))  # the 2025 draft US rule, not adopted
    # nothing is published on the US side for these countries: unknown, never available
    for code in ("MY", "TH", "SG"):
        assert availability("h100-sxm", code).status == "unknown"


def test_row_3_d1_d4_licence_with_unverified_presumption_and_the_g42_humain_approvals():
    a = availability("b200-hgx", "AE")
    assert a.status == "licence_required"
    assert "[unverified]" in a.rules[0].review_policy
    assert "G42" in _text(a) and "Humain" in _text(a) and "2025-11-19" in _text(a)


@pytest.mark.parametrize("chip_id", ["h100-sxm", "h200-sxm", "mi300x", "mi325x"])
def test_row_4_china_case_by_case_only_in_principle(chip_id):
    a = availability(chip_id, "CN")
    assert a.status == "licence_required"
    top = a.rules[0]
    assert top.chip_class == "cn-case-by-case" and top.effective_from == "2026-01-15"
    text = _text(a)
    assert "91 FR 1684" in top.source and "2026-01-15" in top.source  # published 2026-01-15, not 01-13
    assert "exports from the US only" in top.review_policy  # (a) re-exports stay presumption of denial
    assert "re-exports" in top.review_policy and "presumption of denial" in top.review_policy
    assert "commercially available in the US" in top.review_policy  # (b)
    assert "proclamation" in text and "2026-01-14" in text  # (c) the 25% is the import duty, not the rule
    assert "none approved" in text and "2026-02-24" in text  # (d) no H200 licence as of 2026-02-24
    assert "A800" in text and "H800" in text  # China-only SKUs do not qualify
    assert any(r.status == "restricted_by_importer" for r in a.rules)  # China restricts imports too


@pytest.mark.parametrize("chip_id", ["a800-sxm4-80gb", "h800-sxm"])
def test_row_4b_china_only_skus_are_outside_the_case_by_case_policy(chip_id):
    a = availability(chip_id, "CN")
    assert a.status == "prohibited"
    assert a.rules[0].chip_class == "cn-not-us-sku"
    assert "commercially available in the US" in a.rules[0].review_policy


@pytest.mark.parametrize("chip_id", ["b200-hgx", "gb300", "mi355x", "gaudi3"])
def test_row_5_above_the_thresholds_stays_denied(chip_id):
    a = availability(chip_id, "CN")
    assert a.status == "prohibited" and "91 FR 1684" in a.rules[0].source
    if chip_id == "b200-hgx":
        assert "B30A" in _text(a)


def test_row_6_other_d5_licence_and_russia_belarus_prohibited():
    assert availability("h100-sxm", "VE").status == "licence_required"
    for code in ("RU", "BY"):
        a = availability("h100-sxm", code)
        assert a.status == "prohibited" and "746.8" in a.rules[0].review_policy


def test_row_7_embargo_stands_for_iran_north_korea_cuba_but_syria_is_no_longer_a_plain_embargo():
    for code in ("IR", "KP", "CU"):
        assert availability("h100-sxm", code).status == "prohibited"
    sy = availability("h100-sxm", "SY")
    assert sy.status == "licence_required"
    assert "2025-09-02" in sy.rules[0].review_policy and "embargo is not lifted" in sy.rules[0].review_policy


def test_row_8_d5_headquartered_entities_need_a_licence_anywhere():
    a = availability("h100-sxm", "D5HQ_ENTITY")
    assert a.status == "licence_required" and "2026-05-31" in a.rules[0].source


def test_row_9_affiliates_rule_suspension_ended_and_reimposes():
    a = availability("h100-sxm", "ENTITY_LIST")
    assert a.status == "prohibited"
    for where in (_text(a), " ".join(c.text for c in RULES.caveats)):
        assert "2026-11-09" in where and "2026-11-10" in where and ">=50%" in where
    assert not any("not found" in c.text and "after 2026-11-09" in c.text for c in RULES.caveats)  # the old wording
    assert "2026-11-10" in RULES.groups["ENTITY_LIST"].name


def test_row_10_h20_licence_share_not_codified_and_production_halted():
    r = _rule("h20-class", "CN_MO")
    lic = next(x for x in r if x.status == "licence_required")
    assert "not codified" in lic.review_policy
    assert "2025-08-22" in (lic.notes or "")  # production halt


def test_row_11_h20_to_other_d5_needs_a_licence():
    assert availability("h20", "VE").status == "licence_required"
    assert availability("h20", "RU").status == "licence_required"


def test_row_12_china_side_h20_measures_include_the_cac_ban_and_customs_crackdown():
    imp = next(x for x in _rule("h20-class", "CN_MO") if x.status == "restricted_by_importer")
    assert "2025-09-17" in imp.notes and "2025-10-10" in imp.notes


def test_row_13_h200_import_restriction_starts_mid_january_with_the_approval_conditions():
    r = next(x for x in _rule("h200", "CN_MO") if x.status == "restricted_by_importer")
    assert r.effective_from == "2026-01-14"
    assert "2026-01-28" in r.review_policy and "2026-01-30" in r.review_policy
    assert "military" in r.notes and "critical-infrastructure" in r.notes


def test_row_14_china_steers_public_buyers_to_domestic_chips():
    china_side = _rule("non-prc", "CN_MO")
    text = " ".join(f"{r.review_policy} {r.notes or ''}" for r in china_side)
    assert "Xinchuang" in text and "state-funded" in text and "customs crackdown" in text
    assert all(r.status == "restricted_by_importer" for r in china_side)


def test_row_15_ascend_in_china_carries_the_gp10_and_mofcom_caveats():
    a = availability("ascend-910b", "CN")
    assert a.status == "available" and "MOFCOM" in _text(a) and "multinational" in _text(a)


@pytest.mark.parametrize("region", ["US", "DE", "AE", "VE"])
def test_row_16_ascend_high_risk_where_it_was(region):
    a = availability("ascend-910c", region)
    assert a.status == "high_risk" and "General Prohibition 10" in a.rule


@pytest.mark.parametrize("region", ["IR", "SY", "RU", "D5HQ_ENTITY", "ENTITY_LIST", "MY", "TH", "SG"])
def test_row_16b_ascend_guidance_applies_anywhere_in_the_world(region):
    # these groups used to fall through to "unknown"; the guidance says "anywhere in the world"
    a = availability("ascend-910b3", region)
    assert a.status == "high_risk" and "anywhere in the world" in a.rules[0].review_policy


def test_ascend_is_high_risk_in_every_group_but_china():
    for group in region_groups():
        expected = "available" if group == "CN_MO" else "high_risk"
        assert availability("ascend-910b", group).status == expected, group


def test_row_17_cloud_access_pending_bills_and_the_d5_headquarters_red_flag():
    cn = availability("tpu-v5p", "CN")
    text = _text(cn)
    assert any(r.chip_class == "cloud-only" and r.status == "unknown" for r in cn.rules)
    for bill in ("Remote Access Security Act", "AI Overwatch Act", "Chip Security Act"):
        assert bill in text
    hq = availability("trainium2", "D5HQ_ENTITY")
    assert hq.status == "high_risk" and "red flag" in hq.rules[0].review_policy
