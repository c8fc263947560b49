"""The published runs ship with the package, so a newcomer reproduces the README's accuracy line from a clone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from accelplan.validate.shipped import run_rows, shipped_runs_path

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "accelplan", *args], capture_output=True, text=True, timeout=300)


def test_shipped_runs_are_the_shared_file(shared_dir):
    # the copy inside the package must not drift from the project's validation set
    assert shipped_runs_path().read_bytes() == (shared_dir / "validation" / "runs.yaml").read_bytes()


def test_shipped_runs_are_package_data():
    assert shipped_runs_path().is_file()
    assert "validate/data/*.yaml" in (ROOT / "pyproject.toml").read_text()


def test_runs_lists_filters_and_refuses_an_unknown_vendor():
    rows = run_rows()
    assert len(rows) == len({r["id"] for r in rows}) >= 150
    huawei = run_rows(vendor="huawei")
    assert huawei and all(r["vendor"] == "huawei" for r in huawei) and len(huawei) < len(rows)
    nemo = run_rows(framework="nemo")
    assert nemo and {r["framework"] for r in nemo} == {"nemo"}
    res = cli("runs", "--vendor", "acme")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "--vendor 'acme'" in res.stderr
    assert "nvidia" in res.stderr  # names the allowed values


def test_runs_json_is_one_row_per_run():
    res = cli("runs", "--framework", "torchtitan", "--json")
    assert res.returncode == 0
    rows = json.loads(res.stdout)
    assert rows and all(r["framework"] == "torchtitan" and r["id"] for r in rows)


def test_validate_without_a_file_reproduces_the_readme_line():
    # README's accuracy block quotes `accelplan validate` on the shipped runs; the figures must be what it prints
    res = cli("validate")
    assert res.returncode == 0, res.stderr
    printed = re.search(r"MAPE ([\d.]+)% over \d+ runs \(bias ([+-][\d.]+)%.*leave-one-source-out ([\d.]+)%", res.stdout)
    assert printed, res.stdout[-2000:]
    readme = (ROOT / "README.md").read_text()
    quoted = re.search(r"MAPE ([\d.]+)% \(bias ([+-][\d.]+)%\); leave-one-source-out ([\d.]+)%", readme)
    assert quoted, "README lost its accuracy line"
    assert printed.groups() == quoted.groups()


def test_tools_run_without_the_shared_folder(tmp_path):
    # tools/holdout.py used to crash outside the project checkout; it now defaults to the shipped runs
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "holdout.py")], capture_output=True, text=True,
                         timeout=600, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "MAPE by fraction" in res.stdout


@pytest.mark.parametrize("bad", ["", "nonexistent.yaml"])
def test_validate_refuses_a_missing_file_in_one_line(bad, tmp_path):
    res = cli("validate", bad)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
