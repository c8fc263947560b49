"""`compare` answers what decides a purchase: every row carries cost, energy, goodput and availability."""

import json
import subprocess
import sys

import pytest

from accelplan.api import compare
from accelplan.economics import EconomicsOptions

SMALL = {"model": "llama3.1-8b", "tokens": 1e12, "global_batch": 512, "seq_len": 4096}


@pytest.fixture(scope="module")
def us():
    return compare(["h100-sxm", "ascend-910b", "b200-hgx"], days=30, region="US", **SMALL)


def test_every_row_carries_the_purchase_figures(us):
    for row in us.rows:
        e = row.economics
        assert e is not None and e.chips == row.chips
        assert e.goodput_pct is not None and 50 < e.goodput_pct < 100
        assert e.expected_interruptions is not None and e.expected_interruptions >= 0
        assert e.availability is not None and e.availability.as_of
        assert e.effective_days >= e.compute_days
    h100 = next(r for r in us.rows if r.chip == "h100-sxm").economics
    assert h100.cloud_cost_usd.low <= h100.cloud_cost_usd.typical <= h100.cloud_cost_usd.high
    assert h100.energy_mwh > 0 and h100.tco2e > 0 and h100.owned_cost_usd.typical > 0
    assert "not legal advice" in us.disclaimer.lower()


def test_the_deadline_holds_in_elapsed_days(us):
    for row in us.rows:
        assert row.economics.effective_days <= 30 + 1e-9


def test_region_changes_availability_the_way_the_rules_say(us):
    cn = compare(["h100-sxm", "ascend-910b", "b200-hgx"], days=30, region="CN", **SMALL)
    status = {r.chip: r.economics.availability.status for r in cn.rows}
    assert status["ascend-910b"] == "available"
    assert status["b200-hgx"] == "prohibited"
    assert {r.chip: r.economics.availability.status for r in us.rows}["b200-hgx"] == "available"
    dropped = compare(["h100-sxm", "ascend-910b", "b200-hgx"], days=30, region="CN", available_only=True, **SMALL)
    assert [r.chip for r in dropped.rows] == ["h100-sxm", "ascend-910b"]
    assert dropped.dropped and dropped.dropped[0].startswith("b200-hgx: prohibited")


def test_a_price_override_scales_the_cloud_cost(us):
    base = next(r for r in us.rows if r.chip == "h100-sxm")
    hours = base.chips * base.economics.effective_days * 24
    res = compare(["h100-sxm"], days=30, region="US", economics=EconomicsOptions(prices={"h100-sxm": 1.5}), **SMALL)
    assert res.rows[0].economics.cloud_cost_usd.typical == pytest.approx(1.5 * hours, rel=1e-6)


def test_compare_json_from_the_cli_has_economics_and_bad_region_is_one_line():
    run = [sys.executable, "-m", "accelplan", "compare", "-c", "h100", "-m", "llama3.1-8b", "--tokens", "1e12",
           "--days", "30", "--global-batch", "512", "--seq-len", "4096"]
    r = subprocess.run([*run, "--json", "--region", "EU"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)["rows"][0]
    assert row["economics"]["availability"]["status"] == "available"
    bad = subprocess.run([*run, "--region", "Atlantis"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "allowed" in bad.stderr
