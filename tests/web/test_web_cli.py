"""`accelplan serve` and `accelplan report` as commands: registered, cheap to load, clear without the extra."""

import subprocess
import sys

from typer.testing import CliRunner

from accelplan.cli import app


def py(code: str):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_serve_and_report_are_listed_in_help():
    out = CliRunner().invoke(app, ["--help"]).stdout
    assert "serve" in out and "report" in out


def test_loading_the_cli_does_not_load_the_web_stack():
    r = py("import sys, accelplan.cli; print(sorted(m for m in ('fastapi', 'uvicorn', 'plotly', 'matplotlib') "
           "if m in sys.modules))")
    assert r.stdout.strip() == "[]", r.stderr


def test_serve_without_the_web_extra_says_how_to_install_it():
    # a None entry in sys.modules makes `import fastapi` fail as if it were not installed
    r = py("import sys; sys.modules['fastapi'] = None; sys.argv = ['accelplan', 'serve']; "
           "from accelplan.cli import main; main()")
    assert r.returncode == 2
    assert "pip install 'accelplan[web]'" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_serve_rejects_a_port_out_of_range():
    r = subprocess.run([sys.executable, "-m", "accelplan", "serve", "--port", "70000"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "--port" in r.stderr
