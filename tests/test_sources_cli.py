"""`accelplan sources [--stale] [--json]`: every economics and catalog figure with its source and date."""

import json
import subprocess
import sys
from datetime import date

from accelplan.economics import load_tables
from accelplan.economics.dates import is_stale

RUN = [sys.executable, "-m", "accelplan", "sources"]


def _json(*args):
    r = subprocess.run([*RUN, "--json", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_every_figure_is_listed_with_its_source_and_every_price_and_rule_with_its_date(catalog):
    doc = _json("--today", "2026-12-01")
    entries = doc["entries"]
    assert all(e["source"].strip() for e in entries)
    t = load_tables()
    prices = [e for e in entries if e["area"] == "cloud price"]
    assert len(prices) == sum(len(c.cloud) for c in t.prices.chips.values())
    rules = [e for e in entries if e["area"] == "rule"]
    assert len(rules) == len(t.availability.rules)
    assert all(e["as_of"] for e in entries if e["area"] in ("cloud price", "purchase price", "rule", "caveat"))
    # catalog figures: one per figure of every chip, each named with the chip id
    h100 = [e for e in entries if e["area"] == "catalog" and e["item"].startswith("chip h100-sxm ")]
    assert len(h100) == len(catalog.chip("h100-sxm").figure_paths())
    assert doc["prices_as_of"] == t.prices.as_of and doc["rules_as_of"] == t.availability.as_of


def test_stale_lists_exactly_the_current_dated_figures_older_than_six_months():
    day = date(2026, 12, 1)
    everything = _json("--today", day.isoformat())["entries"]
    stale = _json("--stale", "--today", day.isoformat())
    assert stale["only_stale"] and stale["stale_before"] == "2026-06-01"
    want = {(e["area"], e["item"], e["value"]) for e in everything
            if e["as_of"] and e["current"] and is_stale(e["as_of"], day)}
    got = {(e["area"], e["item"], e["value"]) for e in stale["entries"]}
    assert got == want and got
    # the H200 Capacity Block snapshot taken before January 2025 is among them
    assert any("h200-sxm" in i and v == "$5.408/chip-hour" for _, i, v in got)


def test_the_judging_day_moves_what_is_stale():
    early = _json("--stale", "--today", "2025-01-01")["entries"]
    late = _json("--stale", "--today", "2030-01-01")["entries"]
    assert len(early) < len(late)


def test_text_output_states_the_dates_and_a_bad_day_is_one_line():
    r = subprocess.run([*RUN, "--stale", "--today", "2026-12-01"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    t = load_tables()
    head = r.stdout.splitlines()[0]
    assert f"prices as of {t.prices.as_of}" in head and f"rules as of {t.availability.as_of}" in head
    assert "older than 6 months" in r.stdout
    bad = subprocess.run([*RUN, "--today", "1 Dec"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "YYYY-MM-DD" in bad.stderr
