"""The one comparison request (accelplan.request): its defaults are decided once, and every face builds it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from accelplan import defaults
from accelplan.errors import AccelplanError
from accelplan.request import CompareRequest, build_request


def test_an_empty_request_is_the_default_programme_in_90_days_on_the_default_chips():
    req = CompareRequest()
    assert req.programme == defaults.DEFAULT_WORKLOAD == "openpangu-2.0"
    assert req.deadline_days == 90.0 and req.mode == "deadline"
    assert tuple(req.chips) == defaults.DEFAULT_COMPARE_CHIPS


def test_one_phase_field_asks_for_one_phase_and_n_chips_for_the_time():
    req = CompareRequest(model="llama3.1-8b", n_chips=64)
    assert req.programme is None and req.deadline_days is None and req.mode == "chips"


@pytest.mark.parametrize(("fields", "names"), [
    ({"workload": "openpangu-2.0", "tokens": 1e12}, ("workload", "tokens")),
    ({"days": 30, "n_chips": 64}, ("days", "n_chips")),
    ({"available_only": True}, ("available_only", "region")),
])
def test_conflicting_fields_are_refused_naming_them(fields, names):
    with pytest.raises(ValidationError) as err:
        CompareRequest(**fields)
    assert all(n in str(err.value) for n in names)


@pytest.mark.parametrize(("fields", "flags"), [
    ({"days": 30, "n_chips": 64}, ("--days", "--chips")),
    ({"available_only": True}, ("--available-only", "--region")),
    ({"precision": "fp4"}, ("--precision", "bf16, fp16, fp8")),
    ({"n_chips": 0}, ("--chips",)),
])
def test_the_cli_error_is_one_line_naming_the_flag(fields, flags):
    with pytest.raises(AccelplanError) as err:
        build_request(**fields)
    assert "\n" not in str(err.value) and all(f in str(err.value) for f in flags), str(err.value)


def test_compare_and_report_share_the_flags_and_their_defaults():
    """report's flags are compare's (the same typer options), so their help cannot drift apart."""
    from accelplan import cli
    from accelplan.report import cli as report_cli

    def options(fn):  # noqa: ANN001, ANN202
        import inspect

        return {p.name: p.default for p in inspect.signature(fn).parameters.values()}

    comp, rep = options(cli.compare), options(report_cli.report)
    shared = set(comp) & set(rep)
    assert {"model_id", "tokens", "days", "chips", "phase", "workload", "region", "price", "assume"} <= shared
    assert all(comp[k] is rep[k] for k in shared if k != "json_out")


def test_api_compare_takes_a_request_or_keywords_only():
    from accelplan.api import compare

    with pytest.raises(TypeError):
        compare(["h100-sxm"], "llama3.1-8b")  # type: ignore[misc]


def test_cli_conflict_is_one_line():
    out = subprocess.run([sys.executable, "-m", "accelplan", "compare", "--available-only"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--region" in out.stderr, out.stderr
