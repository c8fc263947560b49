"""`accelplan sweep` and `accelplan sweep-report` as a user meets them."""

import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from accelplan.cli import app

pq = pytest.importorskip("pyarrow.parquet")
runner = CliRunner()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "accelplan", *args], capture_output=True, text=True, timeout=120)


def test_sweep_then_report(tmp_path, small_grid_file):
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.parquet"
    r = runner.invoke(app, ["sweep", str(small_grid_file), "--out", str(out), "--workers", "1", "--csv", "--no-progress"],
                      catch_exceptions=False)
    assert r.exit_code == 0
    assert "8 scenarios: 0 already in" in r.stdout and "6 of them feasible" in r.stdout
    assert pq.read_table(out).num_rows == 8 and (tmp_path / "r.csv").exists()
    again = runner.invoke(app, ["sweep", str(small_grid_file), "--out", str(out), "--workers", "1", "--no-progress"])
    assert "8 already in" in again.stdout and ", 0 run" in again.stdout
    html = tmp_path / "rep.html"
    rep = runner.invoke(app, ["sweep-report", str(out), "--html", str(html)], catch_exceptions=False)
    assert rep.exit_code == 0
    text = html.read_text()
    assert text.count("<svg") == 3  # days vs model size, time vs cost, MFU per chip
    assert "chip-hours (cost proxy)" in text
    # self-contained: no script, stylesheet or image fetched from elsewhere
    assert not re.search(r"<script|<link|<img|src=", text)


def test_bad_grid_is_one_line_exit_2(tmp_path):
    g = tmp_path / "g.yaml"
    g.write_text("models: [llama3.1-8b]\nchips: [h100-sxmm]\ncluster_sizes: [64]\n")
    r = cli("sweep", str(g), "--out", str(tmp_path / "r.parquet"))
    assert r.returncode == 2
    assert "chips[0]" in r.stderr and "did you mean h100-sxm" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_bad_engine_is_one_line_exit_2(small_grid_file):
    r = cli("sweep", str(small_grid_file), "--engine", "dask")
    assert r.returncode == 2 and "allowed: local, ray" in r.stderr


def test_report_of_a_missing_file_says_how_to_make_one(tmp_path):
    r = cli("sweep-report", str(tmp_path / "none.parquet"))
    assert r.returncode == 2 and "accelplan sweep" in r.stderr


def test_help_lists_both_commands():
    out = runner.invoke(app, ["--help"]).stdout
    assert "sweep " in out and "sweep-report" in out
