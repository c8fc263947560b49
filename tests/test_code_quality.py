"""The linters the team agreed on run as tests, so CI (which runs only the README's test command) runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_ruff_is_clean() -> None:
    pytest.importorskip("ruff", reason="ruff is not installed (the `test` extra installs it)")
    res = _run("ruff", "check", "src", "tests", "tools", "benchmarks")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_mypy_is_clean() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (the `test` extra installs it)")
    res = _run("mypy", "--cache-dir", str(ROOT / ".mypy_cache"))
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_no_module_imports_a_private_name_from_another():
    # the faces (CLI, report, web, sweep) use the library's public names; a leading underscore stays in its module
    import re

    bad = []
    for f in sorted((ROOT / "src" / "accelplan").rglob("*.py")):
        for n, line in enumerate(f.read_text().splitlines(), 1):
            m = re.search(r"from (accelplan[\w.]*) import (.+)", line)
            names = [name.strip() for name in m.group(2).strip("()").split(",")] if m else []
            if any(name.startswith("_") and not name.startswith("__") for name in names):  # dunders are public
                bad.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bad, "\n".join(bad)
