"""`--catalog DIR` means the same in every command: the user's chip is found, and an overridden figure is used.

The extra catalog holds a new chip (`acme-x1`, an H100 under another name with its own system) and an override of
`h100-sxm` with half the bf16 peak. Each command must find the new chip and must answer differently for the
overridden one than for the shipped figures (a hidden reload of the built-in catalog would not)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from accelplan.cli import app

DATA = Path(__file__).resolve().parents[1] / "src" / "accelplan" / "catalog" / "data"
runner = CliRunner()
SMALL = ["-m", "llama3.1-8b", "--seq-len", "2048", "--global-batch", "64", "--tokens", "1e11"]


def run(*args: str):  # noqa: ANN201
    res = runner.invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


@pytest.fixture(scope="module")
def extra(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("usercat")
    (root / "chips").mkdir()
    (root / "systems").mkdir()
    h100 = yaml.safe_load((DATA / "chips" / "h100-sxm.yaml").read_text())
    acme = {**h100, "id": "acme-x1", "name": "ACME X1", "aliases": []}
    (root / "chips" / "acme-x1.yaml").write_text(yaml.safe_dump(acme))
    slow = {**h100, "peak_tflops": {**h100["peak_tflops"], "bf16": h100["peak_tflops"]["bf16"] / 2}}
    (root / "chips" / "h100-sxm.yaml").write_text(yaml.safe_dump(slow))
    system = yaml.safe_load((DATA / "systems" / "hgx-h100-ib400.yaml").read_text())
    system.update({"id": "acme-x1-node", "chip": "acme-x1", "default_for": ["acme-x1"]})
    (root / "systems" / "acme-x1-node.yaml").write_text(yaml.safe_dump(system))
    return str(root)


def test_chips_and_chip_see_the_users_chip(extra):
    ids = {c["id"] for c in json.loads(run("chips", "--json", "--catalog", extra).stdout)}
    assert "acme-x1" in ids
    d = json.loads(run("chip", "acme-x1", "--json", "--catalog", extra).stdout)
    assert d["id"] == "acme-x1"
    d = json.loads(run("chip", "h100-sxm", "--json", "--catalog", extra).stdout)
    assert d["figures"]["peak_tflops.bf16"]["value"] == pytest.approx(989.4 / 2)


def _estimate(*extra_args: str) -> dict:
    args = ["estimate", "-c", "h100-sxm", "-n", "8", *SMALL, "--micro-batch", "1", "--zero", "1", "--recompute", "full", "--json"]
    return json.loads(run(*args, *extra_args).stdout)


def test_estimate_uses_the_overridden_figures(extra):
    shipped, user = _estimate(), _estimate("--catalog", extra)
    assert user["tokens_per_s"] < 0.8 * shipped["tokens_per_s"]  # half the GEMM peak: much slower
    acme = json.loads(run("estimate", "-c", "acme-x1", "-n", "8", *SMALL, "--micro-batch", "1", "--recompute", "full", "--json",
                          "--catalog", extra).stdout)
    assert acme["chip"] == "acme-x1" and acme["system"] == "acme-x1-node"


def test_plan_finds_the_users_chip(extra):
    out = json.loads(run("plan", "-c", "acme-x1", "-n", "16", *SMALL, "--json", "--catalog", extra).stdout)
    assert out["chip"] == "acme-x1" and out["top"]


def test_compare_uses_the_users_catalog(extra):
    args = ["compare", "-c", "acme-x1", "-c", "h100-sxm", "-n", "64", *SMALL, "--json"]
    user = json.loads(run(*args, "--catalog", extra).stdout)
    rows = {r["chip"]: r for r in user["rows"]}
    assert rows["acme-x1"]["tokens_per_s"] and rows["h100-sxm"]["tokens_per_s"]
    # the same chip under two names, one with half its bf16 peak
    assert rows["h100-sxm"]["tokens_per_s"] < 0.8 * rows["acme-x1"]["tokens_per_s"]


def test_equiv_uses_the_users_catalog(extra):
    out = json.loads(run("equiv", "--from", "acme-x1", "-n", "64", "--to", "h100-sxm", *SMALL, "--json",
                         "--catalog", extra).stdout)
    assert out["x"]["chip"] == "acme-x1" and out["y"]["chips"] > 64  # the slowed H100 needs more chips


def test_report_uses_the_users_catalog(extra, tmp_path):
    pytest.importorskip("plotly")
    out = tmp_path / "r.html"
    run("report", "-c", "acme-x1", "-n", "64", *SMALL, "--html", str(out), "--catalog", extra)
    assert "acme-x1" in out.read_text()


def test_systems_and_models_take_the_flag(extra):
    ids = {s["id"] for s in json.loads(run("systems", "--json", "--catalog", extra).stdout)}
    assert "acme-x1-node" in ids
    assert re.search("llama3.1-8b", run("models", "--catalog", extra).stdout)


def test_validate_predicts_runs_on_the_users_chip(extra, tmp_path):
    from accelplan.validate.shipped import shipped_runs_path

    runs = yaml.safe_load(shipped_runs_path().read_text())
    pub = next(r for r in runs if r["chip"] == "h100-sxm" and r["measured"]["tokens_per_s"])
    mine = tmp_path / "runs.yaml"
    mine.write_text(yaml.safe_dump([{**pub, "id": "on-acme", "chip": "acme-x1", "system": None}]))
    out = json.loads(run("validate", str(mine), "--json", "--catalog", extra).stdout)
    assert out["runs"][0]["chip"] == "acme-x1" and out["runs"][0]["error_pct"] is not None


def test_sweep_runs_the_users_chip_in_its_workers(extra, tmp_path):
    pytest.importorskip("pyarrow")
    import subprocess
    import sys

    import pyarrow.parquet as pq

    grid = tmp_path / "grid.yaml"
    grid.write_text("models: [llama3.1-8b]\nchips: [acme-x1]\ncluster_sizes: [16]\ntokens: 1e11\nseq_len: [2048]\n"
                    "global_batch: [64]\n")
    out = tmp_path / "r.parquet"
    res = subprocess.run([sys.executable, "-m", "accelplan", "sweep", str(grid), "--out", str(out), "--workers", "1",
                          "--no-progress", "--catalog", extra], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rows = pq.read_table(out).to_pylist()
    assert [r["chip"] for r in rows] == ["acme-x1"] and rows[0]["feasible"]


def test_model_and_stack_commands_take_the_flag(extra, tmp_path):
    import shutil

    shutil.copytree(extra, tmp_path / "cat")
    (tmp_path / "cat" / "models").mkdir()
    m = yaml.safe_load((DATA / "models" / "llama3.1-8b.yaml").read_text())
    (tmp_path / "cat" / "models" / "mine.yaml").write_text(yaml.safe_dump({**m, "id": "my-8b", "layers": 16}))
    d = json.loads(run("model", "my-8b", "--json", "--catalog", str(tmp_path / "cat")).stdout)
    full = json.loads(run("model", "llama3.1-8b", "--json").stdout)
    assert 0 < d["params_total"] < full["params_total"]  # half the layers: fewer parameters
    assert "megatron-lm" in {s["id"] for s in json.loads(run("stacks", "--json", "--catalog", extra).stdout)}
    assert json.loads(run("stack", "nemo", "--json", "--catalog", extra).stdout)["id"] == "nemo"
