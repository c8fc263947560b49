"""A realistic small training project: the audit finds what a PyTorch engineer would mark, and its
summary per target adds up."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from accelplan.cli import app
from accelplan.port import audit, to_dict, to_html
from accelplan.port.mappings import CLASSES, TARGETS
from accelplan.port.scanner import scan_tree

from .conftest import MINIPROJECT, expectations, found

runner = CliRunner()


@pytest.fixture(scope="module")
def mini():
    return audit(MINIPROJECT)


def test_miniproject_findings_are_exactly_the_marked_lines(mini):
    assert not mini.scan.errors
    assert found(mini.scan) == expectations(MINIPROJECT)


def test_miniproject_reads_every_kind_of_file(mini):
    assert mini.scan.files_by_kind == {"python": 6, "cuda": 1, "shell": 1, "requirements": 1, "pyproject": 1}


def test_summary_counts_add_up_per_target(mini):
    n = len(mini.scan.findings)
    for t in TARGETS:
        s = mini.summaries[t]
        assert sum(s.by_class.values()) == n
        assert sum(r.findings for r in s.rows) == n
        assert s.auto_covered + s.auto_not_covered + s.by_class["none"] == n
        assert set(s.by_class) == set(CLASSES)


def test_ascend_summary_separates_automatic_migration_from_hand_work(mini):
    s = mini.summaries["npu"]
    # device strings, .cuda(), torch.cuda.* calls, nccl, amp and DDP are rewritten by transfer_to_npu ...
    assert s.auto_covered == sum(1 for f in mini.scan.findings if mini.mapping.row(f.row).targets["npu"].effort_class == "auto")
    assert {"device-placement", "device-query", "nccl-backend", "amp", "ddp-fsdp"} <= {
        r.row for r in s.rows if r.effort_class == "auto"}
    # ... but not flash-attn, the CUDA and Triton kernels, nor comparisons with 'cuda' and 'nccl'
    assert {"flash-attn", "custom-extension", "triton-kernel", "device-compare", "nccl-compare"} <= set(s.not_covered_rows)
    assert s.blockers == []


def test_kernels_count_once_each_for_effort(mini):
    s = mini.summaries["npu"]
    rows = {r.row: r for r in s.rows}
    assert rows["custom-extension"].units == 2  # two __global__ kernels in csrc/fused_rmsnorm.cu
    assert rows["triton-kernel"].units == 1  # one @triton.jit function
    assert rows["custom-extension"].effort_days == (10, 40)  # E.10: 5-20 days per kernel in Ascend C
    assert rows["flash-attn"].units == 1 and rows["flash-attn"].effort_days == (0.5, 2)  # one API family


def test_rocm_needs_least_hand_work_and_tpu_most(mini):
    days = {t: mini.summaries[t].effort_days for t in TARGETS}
    touched = {t: mini.summaries[t].files_touched for t in TARGETS}
    assert days["rocm"][1] < days["npu"][1] < days["xla"][1]
    assert touched["rocm"] < touched["npu"] <= touched["xla"]


def test_audit_never_runs_the_code(tmp_path):
    tree = shutil.copytree(MINIPROJECT, tmp_path / "p")
    marker = tmp_path / "ran"
    (tree / "side_effect.py").write_text(f"open({str(marker)!r}, 'w').write('x')\nimport torch\ntorch.cuda.init()\n")
    result = scan_tree(tree)
    assert not marker.exists()  # neither side_effect.py nor setup.py (which raises SystemExit) was executed
    assert ("side_effect.py", 3, "device-query") in found(result)


# ------------------------------------------------------------------------------------- JSON shape
def test_json_shape(mini):
    d = json.loads(json.dumps(to_dict(mini)))
    assert d["schema"] == "accelplan.port-audit/2"
    assert d["targets"] == ["npu", "rocm", "xla"]
    assert d["source"] == {"document": "research/reliability_cost_policy.md",
                           "section": "E. Software ecosystem (CUDA -> Ascend / ROCm / TPU)"}
    assert isinstance(d["files_scanned"], int) and isinstance(d["lines_scanned"], int)
    assert d["skipped"] == [] and d["not_scanned"] == [] and d["errors"] == []
    f = d["findings"][0]
    assert set(f) == {"path", "line", "col", "code", "row", "category", "idiom", "section", "detail", "kernel", "targets"}
    assert set(f["targets"]) == {"npu", "rocm", "xla"}
    assert set(f["targets"]["npu"]) == {"equivalent", "class", "has_equivalent"}
    for t in ("npu", "rocm", "xla"):
        s = d["summary"][t]
        assert set(s) == {"name", "findings", "files_touched", "by_class", "effort_days", "blockers",
                          "automatic_migration", "rows"}
        assert set(s["automatic_migration"]) == {"tool", "covered", "not_covered", "not_covered_rows", "limits"}
        assert set(s["effort_days"]) == {"low", "high", "method"}
        assert set(s["rows"][0]) == {"row", "idiom", "category", "class", "equivalent", "findings", "files", "units",
                                     "effort_days"}
    assert "transfer_to_npu" in d["summary"]["npu"]["automatic_migration"]["tool"]


def test_cli_json_for_one_target():
    out = runner.invoke(app, ["port-audit", str(MINIPROJECT), "--target", "npu", "--json"], catch_exceptions=False)
    assert out.exit_code == 0
    d = json.loads(out.stdout)
    assert d["targets"] == ["npu"] and set(d["summary"]) == {"npu"}
    assert set(d["findings"][0]["targets"]) == {"npu"}


def test_cli_table_names_files_lines_and_classes():
    out = runner.invoke(app, ["port-audit", str(MINIPROJECT)], catch_exceptions=False)
    assert out.exit_code == 0
    assert "minitrain/train.py:20 [nccl-backend] npu:auto rocm:none xla:rewrite" in out.stdout
    assert "transfer_to_npu" in out.stdout and "engineer-days" in out.stdout


def test_cli_rejects_an_unknown_target():
    from accelplan.errors import AccelplanError

    with pytest.raises(AccelplanError, match="--target 'tpu' is not one of: npu, rocm, xla, all"):
        runner.invoke(app, ["port-audit", str(MINIPROJECT), "--target", "tpu"], catch_exceptions=False)


def test_cli_missing_path_is_one_line_error(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "accelplan", "port-audit", str(tmp_path / "nope")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: PATH") and r.stderr.count("\n") == 1


# -------------------------------------------------------------------------------------------- HTML
def test_html_is_self_contained_and_escaped(tmp_path):
    tree = tmp_path / "p"
    tree.mkdir()
    (tree / "evil.py").write_text('x = torch.zeros(1, device="cuda"); y = "<script>alert(1)</script>" + \'&\'\n')
    html = to_html(audit(tree))
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&amp;" in html
    for external in ("<link", "src=", "href=", "@import", "url("):
        assert external not in html


def test_cli_writes_html(tmp_path):
    out_file = tmp_path / "audit.html"
    r = runner.invoke(app, ["port-audit", str(MINIPROJECT), "--html", str(out_file)], catch_exceptions=False)
    assert r.exit_code == 0
    page = out_file.read_text(encoding="utf-8")
    assert "minitrain/model.py" in page and "npu_fusion_attention" in page


def test_registering_the_command_loads_neither_pydantic_nor_yaml():
    import subprocess
    import sys

    code = "import sys; import accelplan.port.cli; print('pydantic' in sys.modules, 'yaml' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["False", "False"]
