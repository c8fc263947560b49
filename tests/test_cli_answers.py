"""No silent wrong answers (issue 13, section 4): what the CLI answers is what a user can check and reproduce."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SMALL = ["-m", "llama3.1-8b", "--seq-len", "2048", "--global-batch", "256", "--tokens", "1e11"]


def cli(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"COLUMNS": str(columns)} if columns else {})}
    return subprocess.run([sys.executable, "-m", "accelplan", *args], capture_output=True, text=True, timeout=300,
                          env=env)


def _strict(text: str):  # noqa: ANN202
    def refuse(name: str):  # noqa: ANN202
        raise ValueError(f"bare {name} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_equiv_of_a_chip_with_itself_is_the_same_count():
    res = cli("equiv", "--from", "h100-sxm", "-n", "64", "--to", "h100-sxm", *SMALL, "--json")
    assert res.returncode == 0, res.stderr
    d = _strict(res.stdout)
    assert d["chips_exact"] == 64 and d["ratio"] == 1.0
    assert d["chips_ladder"] >= d["chips_exact"]


def test_equiv_exact_count_is_the_fewest_whole_nodes_that_match():
    d = _strict(cli("equiv", "--from", "h100-sxm", "-n", "64", "--to", "a100-sxm-80gb", *SMALL, "--json").stdout)
    need, n = d["x"]["tokens_per_s"], d["chips_exact"]
    assert d["y"]["tokens_per_s"] >= need and n % 8 == 0 and n <= d["chips_ladder"]
    # one node fewer falls short (the search is over whole nodes)
    fewer = cli("plan", "-c", "a100-sxm-80gb", "-n", str(n - 8), *SMALL, "--top", "1", "--json")
    if fewer.returncode == 0:
        assert _strict(fewer.stdout)["top"][0]["tokens_per_s"] < need


def test_compare_rows_carry_a_command_that_reproduces_them():
    res = cli("compare", "-c", "h100-sxm", "-c", "mi300x", "-n", "64", *SMALL, "--json")
    assert res.returncode == 0, res.stderr
    for row in _strict(res.stdout)["rows"]:
        p = row["plan"]
        assert p["tp"] * p["pp"] * p["dp"] * p["cp"] == row["chips"]
        cmd = row["estimate_command"].split()
        assert cmd[:2] == ["accelplan", "estimate"]
        est = cli(*cmd[1:], "--json")
        assert est.returncode == 0, est.stderr
        assert _strict(est.stdout)["tokens_per_s"] == pytest.approx(row["tokens_per_s"], rel=1e-9)


def test_compare_fits_a_100_column_terminal_without_cutting_words():
    res = cli("compare", "-c", "ascend-910b", "-c", "h100-sxm", "-n", "64", *SMALL, columns=100)
    assert res.returncode == 0, res.stderr
    table = [ln for ln in res.stdout.splitlines() if ln[:1] in "┏┃┡│└"]
    assert table and max(len(ln) for ln in table) <= 100
    assert "…" not in res.stdout
    assert "ascend-910b" in res.stdout  # the chip id is not folded


@pytest.mark.parametrize(("args", "needle"), [
    (["compare", "--days", "30", "--chips", "64"], "--days and --chips"),
    (["estimate", "-c", "h100-sxm", "-n", "8", "--system", "atlas-800t-a2", *SMALL], "built for ascend-910b"),
    (["plan", "-c", "h100-sxm", "-n", "8", "--top", "0", *SMALL], "--top"),
    (["compare", "--seq-len", "0"], "--seq-len"),
    (["compare", "--seq-len", "-5"], "--seq-len"),
    (["estimate", "-c", "h100-sxm", "-n", "8", "--tp", "0", *SMALL], "--tp"),
    (["estimate", "-c", "h100-sxm", "-n", "8", "--pp", "0", *SMALL], "--pp"),
    (["estimate", "-c", "h100-sxm", "-n", "8", "--cp", "0", *SMALL], "--cp"),
    (["compare", "--pue", "0.5"], "--pue"),
    (["plan", "-c", "h100-sxm", "-n", "99999999999", *SMALL], "--chips"),
    (["compare", "--chips", "99999999999"], "--chips"),
])
def test_refused_in_one_line_before_any_work(args, needle):
    res = cli(*args)
    assert res.returncode == 2, res.stdout[-500:]
    assert res.stderr.count("\n") == 1 and needle in res.stderr and "Traceback" not in res.stderr


def test_plan_json_without_a_feasible_plan_exits_non_zero():
    res = cli("plan", "-c", "h100-sxm", "-n", "8", "-m", "deepseek-v3", "--json")
    assert res.returncode == 1
    assert _strict(res.stdout)["top"] == []


def test_compare_json_is_strict_json():
    # a chip whose figures are unknown must come out as null, never as a bare NaN
    res = cli("compare", "-c", "ascend-910b", "-c", "tpu-v5p", "-n", "64", *SMALL, "--json")
    assert res.returncode == 0, res.stderr
    _strict(res.stdout)


def test_chips_without_figures_say_why_and_fp8_only_chips_are_modelled_at_fp8():
    res = cli("compare", "-c", "ascend-910b1", "-c", "ascend-950pr", "-n", "64", *SMALL, "--json")
    rows = {r["chip"]: r for r in _strict(res.stdout)["rows"]}
    assert "cannot be modelled" in rows["ascend-910b1"]["note"] and "memory capacity" in rows["ascend-910b1"]["note"]
    assert "bf16 peak unknown" in rows["ascend-950pr"]["note"] and "--precision fp8" in rows["ascend-950pr"]["note"]
    fp8 = _strict(cli("compare", "-c", "ascend-950pr", "-n", "64", *SMALL, "--precision", "fp8", "--json").stdout)
    row = fp8["rows"][0]
    assert row["tokens_per_s"] and row["status"] == "announced" and "announced" in row["note"]
    assert "bf16_peak_from_fp8_ratio" in row["estimate"]["efficiency_basis"]


def test_readable_output_details():
    assert cli("--version").stdout.startswith("accelplan ")
    helptext = cli("compare", "--help", columns=120).stdout
    flags = [ln for ln in helptext.splitlines() if "--json" in ln or "--wide" in ln or "--available-only" in ln]
    assert flags and not any("<bool>" in ln for ln in flags)  # a flag takes no value
    small = cli("compare", "-c", "h100-sxm", *SMALL[:-2], "--tokens", "1e9", "--days", "1", columns=200).stdout
    assert "1B tokens" in small and "$0.0M" not in small and "e-" not in small.split("\n")[0]
    assert "$" in small
    net = cli("estimate", "-c", "h20", "-n", "8", *SMALL, "--recompute", "full").stdout
    assert "network:" in net and "assumed" in net  # the H20 system's scale-out rate is not published


def test_plan_groups_zero_stage_twins():
    out = cli("plan", "-c", "h100-sxm", "-n", "64", "-m", "llama3.1-70b", "--top", "8", columns=200).stdout
    rows = [ln.split("│") for ln in out.splitlines() if ln.startswith("│")]
    keys = [tuple(c.strip() for c in r[2:10]) + (r[11].strip(),) for r in rows]  # plan fields and tokens/s
    assert rows and len(keys) == len(set(keys))  # no two rows differ only in the ZeRO column


def test_the_input_ranges_are_documented_as_they_are():
    from pathlib import Path

    from accelplan.limits import LIMITS, show

    doc = (Path(__file__).resolve().parents[1] / "docs" / "inputs.md").read_text()
    for name, (lo, hi, _) in LIMITS.items():
        assert f"| `{name}` | {show(lo)} .. {show(hi)} |" in doc, name


def test_compare_in_china_says_what_the_rules_say_with_dates():
    res = cli("compare", "-c", "h100-sxm", "-c", "h200-sxm", "-n", "64", *SMALL, "--region", "CN", columns=250)
    assert res.returncode == 0, res.stderr
    text = " ".join(res.stdout.split())
    assert "case-by-case in principle" in text and "none approved" in text  # the US side, as of its latest source
    assert "restricted_by_importer" in text  # and China's own import restrictions
    assert "A800 and H800" in text and "Affiliates Rule" in text
    assert "rules as of 20" in text and "prices as of 20" in text


def test_cloud_cost_says_its_price_kind_and_date():
    res = cli("compare", "-c", "h100-sxm", "-c", "trainium1", "-n", "64", *SMALL, columns=250)
    text = " ".join(res.stdout.split())
    assert "cloud $ on-demand" in text
    assert "h100-sxm on-demand as of 20" in text
    d = _strict(cli("compare", "-c", "h100-sxm", "-n", "64", *SMALL, "--json").stdout)
    econ = d["rows"][0]["economics"]
    assert econ["cloud_price_kind"] == "on_demand" and econ["cloud_price_as_of"]
    assert {"on_demand"} <= set(econ["cloud_by_kind"])
