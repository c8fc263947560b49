"""Fuzzing the command line (issue 13 sec. 3): whatever the flags, the CLI answers, or refuses in one line.

Each case runs `accelplan` in-process through its real entry point (`accelplan.cli.main`) with a cheap base command
and one to three flags set to generated values: numbers at and beyond every edge (0, negatives, NaN, inf, 1e400,
10^11, text), unknown ids, empty strings and files that are directories. A case passes when it exits 0, 1 (an
answer that is "no": no feasible plan) or 2 (refused), with no traceback and no "internal error", and a refusal is
exactly one line on stderr. Hypothesis' deadline bounds each case's time.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelplan.cli import main

BASE = {
    "estimate": ["estimate", "-c", "h100-sxm", "-n", "8", "-m", "llama3.1-8b", "--seq-len", "2048",
                 "--global-batch", "64", "--recompute", "full"],
    "plan": ["plan", "-c", "h100-sxm", "-n", "16", "-m", "llama3.1-8b", "--seq-len", "2048", "--global-batch", "64",
             "--top", "2"],
    "compare": ["compare", "-c", "h100-sxm", "-n", "16", "-m", "llama3.1-8b", "--seq-len", "2048",
                "--global-batch", "64", "--tokens", "1e10"],
    "equiv": ["equiv", "--from", "h100-sxm", "-n", "16", "--to", "h100-sxm", "-m", "llama3.1-8b", "--seq-len", "2048",
              "--global-batch", "64", "--tokens", "1e10"],
}
NUMERIC = {
    "estimate": ["-n", "--tp", "--pp", "--cp", "--ep", "--vpp", "--micro-batch", "--zero", "--seq-len",
                 "--global-batch", "--tokens", "--recompute-layers"],
    "plan": ["-n", "--seq-len", "--global-batch", "--tokens", "--top"],
    "compare": ["-n", "--seq-len", "--global-batch", "--tokens", "--days", "--pue", "--kwh-price", "--years"],
    "equiv": ["-n", "--seq-len", "--global-batch", "--tokens"],
}
TEXT = {
    "-c": ["h100-sxm", "nope", "", " ", "ascend-910b1", "ascend-950pr", "ascend-970", "tpu-v5p"],
    "-m": ["llama3.1-8b", "deepseek-v3", "nope", "", "/", "/dev/null", str(Path(__file__).parent)],
    "--precision": ["bf16", "fp8", "fp4", "int3", ""],
    "--framework": ["nemo", "mindspeed-llm", "maxtext", "nope", ""],
    "--framework-version": ["25.04", "1999-01-01", "x" * 200, ""],
    "--recompute": ["none", "selective", "full", "partial", ""],
    "--system": ["atlas-800t-a2", "hgx-h100-ib400", "nope"],
    "--assume": ["ep_overlap=1", "ep_overlap=nan", "ep_overlap=-1", "nope=1", "x", "link_efficiency=1e400"],
    "--calibration": ["/", "/dev/null", "nope.yaml"],
    "--catalog": ["/dev/null", "nope", "/"],
}
TEXT_FOR = {"estimate": ["-c", "-m", "--precision", "--framework", "--framework-version", "--recompute", "--system",
                         "--assume", "--calibration", "--catalog"],
            "plan": ["-c", "-m", "--precision", "--framework", "--system", "--assume", "--catalog"],
            "compare": ["-c", "-m", "--precision", "--framework", "--assume", "--catalog"],
            "equiv": ["-m", "--precision", "--assume"]}
EDGE = ["0", "-1", "nan", "inf", "-inf", "1e400", "", "4096x", "1e-300", "99999999999", "3.5", "abc", "0x10", "1_0"]

numbers = st.one_of(st.sampled_from(EDGE), st.integers(-2**40, 2**40).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr))


def invoke(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["accelplan", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


def check(args: list[str]) -> None:
    code, _, err = invoke(args)
    assert "Traceback" not in err and "internal error" not in err, (args, err)
    assert code in (0, 1, 2), (args, code, err)
    if code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1, (args, err)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    cmd = draw(st.sampled_from(sorted(BASE)))
    args = list(BASE[cmd])
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            args += [draw(st.sampled_from(NUMERIC[cmd])), draw(numbers)]
        else:
            flag = draw(st.sampled_from(TEXT_FOR[cmd]))
            args += [flag, draw(st.sampled_from(TEXT[flag]))]
    return args


@settings(max_examples=300, deadline=15_000, suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
def test_any_flags_answer_or_refuse_in_one_line(args):
    check(args)


@settings(max_examples=60, deadline=5_000)
@given(st.lists(st.text(max_size=12), max_size=4))
def test_garbage_arguments_are_refused_in_one_line(words):
    check(words)
