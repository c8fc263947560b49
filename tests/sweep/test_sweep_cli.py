"""`accelplan sweep` and `accelplan sweep-report` as a user meets them."""

import json
import re
import subprocess
import sys
from pathlib import Path

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


def test_a_damaged_journal_line_is_named_and_its_scenario_computed_again(tmp_path, small_grid_file):
    out = tmp_path / "r.parquet"
    assert runner.invoke(app, ["sweep", str(small_grid_file), "--out", str(out), "--workers", "1",
                               "--no-progress"]).exit_code == 0
    rows = pq.read_table(out).to_pylist()
    out.unlink()
    journal = tmp_path / "r.parquet.journal.jsonl"  # what a killed run leaves, with two lines damaged
    lines = [json.dumps(r).encode() for r in rows]
    lines[2] = lines[2].replace(b'"model":"', b'"model":"\xff').replace(b'"model": "', b'"model": "\xff')
    lines[5] = json.dumps({**rows[5], "chips": "eight"}).encode()
    journal.write_bytes(b"\n".join(lines) + b"\n")
    r = cli("sweep", str(small_grid_file), "--out", str(out), "--workers", "1", "--no-progress")
    assert r.returncode == 0, r.stderr
    warned = [ln for ln in r.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warned) == 2 and "Traceback" not in r.stderr
    assert f"{journal}: line 3 is not UTF-8" in warned[0] and f"{journal}: line 6 field chips" in warned[1]
    assert "8 scenarios: 6 already in" in r.stdout and ", 2 run" in r.stdout
    again = pq.read_table(out)
    assert again.num_rows == 8 and not journal.exists()
    assert sorted(again.column("scenario_id").to_pylist()) == sorted(r["scenario_id"] for r in rows)


def _one_line_exit_2(r: subprocess.CompletedProcess, *needles: str) -> None:
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in r.stderr


def test_sweep_outputs_are_refused_before_the_grid_is_read(tmp_path, small_grid_file, monkeypatch):
    import accelplan.sweep.grid
    from accelplan.errors import AccelplanError

    read = []
    monkeypatch.setattr(accelplan.sweep.grid, "load_grid", lambda *a: read.append(a))
    for out, needle in [(tmp_path, "is a directory"), (tmp_path / "no" / "r.parquet", "does not exist (create it first)")]:
        r = runner.invoke(app, ["sweep", str(small_grid_file), "--out", str(out), "--no-progress"])
        assert isinstance(r.exception, AccelplanError) and needle in str(r.exception)
    r = runner.invoke(app, ["sweep", str(small_grid_file), "--out", str(tmp_path / "r.csv"), "--csv"])
    assert isinstance(r.exception, AccelplanError) and "which is --out itself" in str(r.exception)
    (tmp_path / "r.csv").mkdir()
    r = runner.invoke(app, ["sweep", str(small_grid_file), "--out", str(tmp_path / "r.parquet"), "--csv"])
    assert isinstance(r.exception, AccelplanError) and str(r.exception).startswith("--csv")
    notes = tmp_path / "notes.txt"  # the user's own file, given as --out by mistake: neither resumed nor replaced
    notes.write_text("keep me\n")
    r = runner.invoke(app, ["sweep", str(small_grid_file), "--out", str(notes), "--fresh", "--no-progress"])
    assert isinstance(r.exception, AccelplanError) and "not a readable sweep result" in str(r.exception)
    assert notes.read_text() == "keep me\n"
    assert not read and not (tmp_path / "no").exists() and not (tmp_path / "r.parquet").exists()


def test_sweep_and_report_outputs_are_one_line_exit_2(tmp_path, small_grid_file):
    _one_line_exit_2(cli("sweep", str(small_grid_file), "--out", str(tmp_path)), "--out", "is a directory")
    _one_line_exit_2(cli("sweep", str(small_grid_file), "--out", "/nonexistent/r.parquet"), "does not exist")
    assert not Path("/nonexistent").exists()
    # --html is checked before the results are read: a missing results file is not what is reported
    _one_line_exit_2(cli("sweep-report", str(tmp_path / "none.parquet"), "--html", str(tmp_path)),
                     "--html", "is a directory")
    _one_line_exit_2(cli("sweep-report", str(tmp_path), "--html", str(tmp_path / "r.html")), "is a directory")
    results = tmp_path / "r.parquet"
    results.write_bytes(b"PAR1 stands in for results")
    _one_line_exit_2(cli("sweep-report", str(results), "--html", str(results)), "is the results file itself")
    assert results.read_bytes() == b"PAR1 stands in for results"


def test_report_of_a_parquet_that_is_not_a_sweep_result_is_one_line(tmp_path):
    pa = pytest.importorskip("pyarrow")
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"model": ["m"], "x": [1]}), other)
    _one_line_exit_2(cli("sweep-report", str(other), "--html", str(tmp_path / "r.html")), "no column chip")
    typed = tmp_path / "typed.parquet"
    cols = {"model": ["m"], "chip": ["c"], "mode": ["chips"], "feasible": ["yes"]}  # feasible should be a bool
    pq.write_table(pa.table({**cols, **{c: [1.0] for c in ("params_total", "days", "chip_hours", "mfu")},
                             **{c: [1] for c in ("chips", "tp", "pp", "dp", "cp", "ep")}}), typed)
    _one_line_exit_2(cli("sweep-report", str(typed), "--html", str(tmp_path / "r.html")), "column feasible")
    assert not (tmp_path / "r.html").exists()


def test_too_many_workers_is_refused_with_the_range():
    import os

    from accelplan.sweep.engines import MAX_WORKERS_PER_CPU

    most = MAX_WORKERS_PER_CPU * (os.cpu_count() or 1)
    r = cli("sweep", "grid.yaml", "--workers", str(most + 1))
    _one_line_exit_2(r, f"--workers {most + 1}: give 1 to {most}")
