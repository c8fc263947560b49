"""Training programmes (issue 14, section 1): a workload is a list of phases, each on its own best plan on one
cluster, with totals that add up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from accelplan.api import best_estimate, compare
from accelplan.catalog.loader import load_catalog
from accelplan.catalog.schema import Phase, WorkloadSpec
from accelplan.errors import AccelplanError
from accelplan.phases import (
    SECONDS_PER_DAY,
    parse_phase,
    phase_workloads,
    program_at,
    program_for_deadline,
    workload_from_phases,
)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "accelplan", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("spec", "tokens", "seq", "batch", "batch_tokens", "prec"), [
    ("19.5T@4096", 19.5e12, 4096, None, None, None),
    ("400B@32768", 400e9, 32768, None, None, None),
    ("20B@512K", 20e9, 524288, None, None, None),  # K in a sequence length is 1024
    ("1e11@8192:256", 1e11, 8192, 256, None, None),  # a bare integer batch counts sequences
    ("80B@128K:16M", 80e9, 131072, None, 16e6, None),  # with a suffix it counts tokens per step
    ("5B@4096/fp8", 5e9, 4096, None, None, "fp8"),
])
def test_phase_syntax(spec, tokens, seq, batch, batch_tokens, prec):
    p = parse_phase(spec)
    assert (p.tokens, p.seq_len, p.global_batch, p.batch_tokens, p.precision) == (tokens, seq, batch, batch_tokens,
                                                                                    prec)


@pytest.mark.parametrize("spec", ["abc", "0@4096", "1T@0", "1T@4096:0", "1T@4096/fp4", "nanT@4096", "1T", "@4096",
                                  "1e400@4096", "1T@99999999", "-1T@4096", "1T@4096:16M:2"])
def test_bad_phases_are_refused_naming_the_flag(spec):
    with pytest.raises(AccelplanError, match="--phase"):
        parse_phase(spec)


def test_later_phases_keep_the_first_phases_tokens_per_step():
    """4,096 x 4,096 = 16,777,216 tokens per step; at 512K that is 32 sequences, at 32K 512 (by hand)."""
    m = load_catalog().model("openpangu-505b-moe")
    spec = workload_from_phases("openpangu-505b-moe", ["19.5T@4096:4096", "400B@32K", "20B@512K", "1B@96K:7"])
    ws = phase_workloads(spec, m, first_batch=1)
    assert [w.global_batch for w in ws] == [4096, 512, 32, 7]
    assert [w.seq_len for w in ws] == [4096, 32768, 524288, 98304]
    # with no batch on the first phase, the default batch applies to it
    ws = phase_workloads(workload_from_phases("llama3.1-8b", ["1T@8192", "1B@64K"]), m, first_batch=128)
    assert [w.global_batch for w in ws] == [128, 16]


def _on_h100(phases: list[str], first_batch: int):  # noqa: ANN202
    """llama3.1-8b phases as workloads, with the H100 and its default system."""
    cat = load_catalog()
    chip = cat.chip("h100-sxm")
    ws = phase_workloads(workload_from_phases("llama3.1-8b", phases), cat.model("llama3.1-8b"), first_batch)
    return ws, chip, cat.default_system(chip)


def test_programme_totals_add_up_from_each_phase_alone():
    ws, chip, system = _on_h100(["50B@8192:256", "2B@32K"], 256)
    res = program_at(ws, ["a", "b"], chip, system, 64)
    assert res is not None and res.transitions == 1 and res.transition_s > 0
    alone = [best_estimate(w, chip, system, 64) for w in ws]
    days = [w.tokens / e.tokens_per_s / SECONDS_PER_DAY for w, e in zip(ws, alone, strict=True)]
    assert [p.compute_days for p in res.phases] == pytest.approx(days, rel=1e-9)
    assert res.compute_days == pytest.approx(sum(days) + res.transition_s / SECONDS_PER_DAY, rel=1e-9)
    assert res.tokens_per_s == pytest.approx(52e9 / (sum(days) * SECONDS_PER_DAY), rel=1e-9)
    assert min(e.mfu for e in alone) <= res.mfu <= max(e.mfu for e in alone)
    # the economics cover the whole programme, phase changes included
    assert res.economics.compute_days == pytest.approx(res.compute_days)
    assert res.economics.effective_days >= res.compute_days
    # each phase's plan is its own best, not the first phase's
    assert [p.estimate.plan for p in res.phases] == [e.plan for e in alone]


def test_deadline_is_the_fewest_ladder_size_that_meets_it():
    ws, chip, system = _on_h100(["300B@8192:512", "10B@64K"], 512)
    res = program_for_deadline(ws, ["a", "b"], chip, system, 30.0)
    assert res is not None and res.economics.effective_days <= 30.0
    from accelplan.api import cluster_sizes

    ladder = cluster_sizes(system, system.chips_per_node, res.chips)
    smaller = [n for n in ladder if n < res.chips][-1]
    below = program_at(ws, ["a", "b"], chip, system, smaller)
    assert below is None or below.economics.effective_days > 30.0


def test_one_phase_programme_answers_as_the_single_phase_request():
    spec = WorkloadSpec(model="llama3.1-8b", phases=[Phase(tokens=1e11, seq_len=2048, global_batch=256)])
    a = compare(["h100-sxm"], workload=spec, n_chips=64)
    b = compare(["h100-sxm"], model="llama3.1-8b", tokens=1e11, seq_len=2048, global_batch=256, n_chips=64)
    assert a.rows[0].tokens_per_s == b.rows[0].tokens_per_s and a.rows[0].plan == b.rows[0].plan


def test_default_compare_is_the_openpangu_programme_with_a_512k_phase_that_runs():
    """Acceptance: the 512K phase has a feasible plan on at least the 910C, H100, B200 and TPU v5p."""
    res = compare(["ascend-910c", "h100-sxm", "b200-hgx", "tpu-v5p"])
    assert res.workload == "openpangu-2.0" and res.phases[-1]["seq_len"] == 524288
    assert res.tokens == pytest.approx(20e12)
    for row in res.rows:
        assert row.phases, (row.chip, row.note)
        last = row.phases[-1]
        assert last.seq_len == 524288 and last.estimate is not None and last.estimate.fits, row.chip
        assert last.estimate.plan.cp * last.estimate.plan.tp >= 8, row.chip  # 512K needs the sequence split
        assert row.economics.effective_days <= 90.0
        # the total is the phases plus three phase changes (checkpoint, restart, resharded load: minutes each)
        changes = row.days - sum(p.compute_days for p in row.phases)
        assert 3 * 60 / SECONDS_PER_DAY < changes < 3 * 3600 / SECONDS_PER_DAY, row.chip


def test_cli_phases_and_workload_file(tmp_path):
    out = cli("compare", "-c", "h100-sxm", "-m", "llama3.1-8b", "--phase", "20B@8192:256", "--phase", "1B@32K",
              "-n", "64", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert [p["seq_len"] for p in d["phases"]] == [8192, 32768] and d["phases"][1]["global_batch"] == 64
    row = d["rows"][0]
    assert len(row["phases"]) == 2 and all(p["estimate_command"].startswith("accelplan estimate") for p in row["phases"])
    f = tmp_path / "w.yaml"
    f.write_text("model: llama3.1-8b\nphases:\n  - {tokens: 20e9, seq_len: 8192, global_batch: 256}\n"
                 "  - {tokens: 1e9, seq_len: 32768}\n")
    d2 = json.loads(cli("compare", "-c", "h100-sxm", "--workload", str(f), "-n", "64", "--json").stdout)
    assert d2["rows"][0]["tokens_per_s"] == pytest.approx(row["tokens_per_s"], rel=1e-9)
    text = cli("compare", "-c", "h100-sxm", "--workload", str(f), "-n", "64").stdout
    assert "per phase" in text and "32K" in text


@pytest.mark.parametrize(("args", "names"), [
    (["--phase", "1T@0"], "--phase"),
    (["--phase", "1T@4096", "--seq-len", "8192"], "--phase"),
    (["--workload", "openpangu-2.0", "-m", "llama3.1-8b"], "--workload"),
    (["--workload", "nope"], "workload"),
])
def test_cli_phase_errors_are_one_line(args, names):
    out = cli("compare", "-c", "h100-sxm", *args)
    assert out.returncode in (1, 2) and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and names in out.stderr, out.stderr


def test_workload_file_errors_name_the_field(tmp_path):
    f = tmp_path / "w.yaml"
    f.write_text("model: llama3.1-8b\nphases: []\n")
    out = cli("compare", "-c", "h100-sxm", "--workload", str(f))
    assert out.returncode in (1, 2) and "phases" in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_plan_gives_each_phase_its_best_plan_on_the_same_chips():
    out = cli("plan", "-c", "h100-sxm", "-n", "64", "-m", "llama3.1-8b", "--phase", "20B@8192:256", "--phase",
              "1B@64K", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    phases = d["programme"]["phases"]
    assert [p["seq_len"] for p in phases] == [8192, 65536]
    for p in phases:
        e = p["estimate"]
        assert e["chips"] == 64 and e["fits"]
        # the phase's plan is the best `plan` finds for that phase alone
        alone = json.loads(cli("plan", "-c", "h100-sxm", "-n", "64", "-m", "llama3.1-8b", "--seq-len",
                               str(p["seq_len"]), "--global-batch", str(p["global_batch"]), "--tokens",
                               str(p["tokens"]), "--top", "1", "--json").stdout)
        assert alone["top"][0]["tokens_per_s"] == pytest.approx(e["tokens_per_s"], rel=1e-9)
    text = cli("plan", "-c", "h100-sxm", "-n", "64", "-m", "llama3.1-8b", "--phase", "20B@8192:256", "--phase",
               "1B@64K").stdout
    assert "each phase's best plan" in text and "64K" in text and "programme:" in text


def test_estimate_gives_each_phase_on_the_given_plan_and_names_the_phase_it_cannot_run():
    base = ["estimate", "-c", "h100-sxm", "-n", "64", "-m", "llama3.1-8b", "--phase", "20B@8192:256"]
    out = cli(*base, "--phase", "1B@32K", "--tp", "8", "--cp", "2", "--json")
    assert out.returncode == 0, out.stderr
    prog = json.loads(out.stdout)["programme"]
    # every phase runs the one plan given (tp 8 x cp 2 x dp 4 = 64 chips), and the plain estimate of each phase agrees
    for p in prog["phases"]:
        assert (p["estimate"]["plan"]["tp"], p["estimate"]["plan"]["cp"], p["estimate"]["plan"]["dp"]) == (8, 2, 4)
        alone = json.loads(cli("estimate", "-c", "h100-sxm", "-n", "64", "-m", "llama3.1-8b", "--seq-len",
                               str(p["seq_len"]), "--global-batch", str(p["global_batch"]), "--tokens",
                               str(p["tokens"]), "--tp", "8", "--cp", "2", "--json").stdout)
        assert alone["tokens_per_s"] == pytest.approx(p["estimate"]["tokens_per_s"], rel=1e-9)
    assert prog["compute_days"] == pytest.approx(sum(p["compute_days"] for p in prog["phases"])
                                                 + prog["transition_s"] / SECONDS_PER_DAY, rel=1e-9)
    # 128K on tp 2: 16 sequences per step cannot split over dp 32, and the error says which phase
    bad = cli(*base, "--phase", "1B@128K", "--tp", "2")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "phase 2" in bad.stderr, bad.stderr


def test_equiv_on_a_programme_matches_x_programme_days_with_fewest_y():
    from accelplan.api import cluster_sizes
    from accelplan.phases import programme_equivalent

    ws, h100, _ = _on_h100(["20B@8192:256", "1B@32K"], 256)
    cat = load_catalog()
    y = cat.chip("ascend-910b")
    res = programme_equivalent(ws, ["a", "b"], h100, 256, y)
    assert res.y is not None and res.chips_exact is not None
    assert res.y.compute_days <= res.x.compute_days  # Y's whole programme is at least as fast
    assert res.ratio == pytest.approx(res.chips_exact / 256)
    node = cat.default_system(y).chips_per_node
    one_node_less = program_at(ws, ["a", "b"], y, cat.default_system(y), res.chips_exact - node)
    assert one_node_less is None or one_node_less.compute_days > res.x.compute_days or \
        res.chips_exact - node not in cluster_sizes(cat.default_system(y), node, res.chips_exact)
    out = cli("equiv", "--from", "h100-sxm", "-n", "256", "--to", "ascend-910b", "-m", "llama3.1-8b", "--phase",
              "20B@8192:256", "--phase", "1B@32K", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["chips_exact"] == res.chips_exact
