"""Real trees are messy: bad files are reported and the audit goes on; virtualenvs, vendored folders
and symbolic links are not followed."""

import os

import pytest

from accelplan.port.scanner import scan_tree

from .conftest import ROWS, expectations, found

CUDA_LINE = b"import torch\ntorch.cuda.synchronize()\n"


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def reasons(problems):
    return {p.path: p.reason for p in problems}


def test_a_syntax_error_is_reported_as_not_scanned_and_the_rest_is_scanned(tmp_path):
    write(tmp_path / "broken.py", b"def f(:\n    torch.cuda.synchronize()\n")
    write(tmp_path / "ok.py", CUDA_LINE)
    r = scan_tree(tmp_path)
    assert "syntax error at line 1" in reasons(r.not_scanned)["broken.py"]
    assert r.errors == [] and r.skipped == []
    assert found(r) == {("ok.py", 2, "streams-events")}
    # nothing of the broken file is counted as read: one file, its two lines
    assert r.files_scanned == 1 and r.lines_scanned == 2 and r.files_by_kind == {"python": 1}


def test_python2_code_is_a_reported_syntax_error(tmp_path):
    write(tmp_path / "old.py", b'print "hello"\nimport torch\ntorch.cuda.synchronize()\n')
    write(tmp_path / "ok.py", b"x = 1\n")
    r = scan_tree(tmp_path)
    assert "syntax error" in reasons(r.not_scanned)["old.py"] and r.findings == []


def test_non_utf8_source_is_read_as_latin1_and_reported(tmp_path):
    write(tmp_path / "latin.py", b"# caf\xe9\nimport torch\nname = 'caf\xe9'\ntorch.cuda.synchronize()\n")
    r = scan_tree(tmp_path)
    assert "not valid UTF-8" in reasons(r.errors)["latin.py"]
    assert found(r) == {("latin.py", 4, "streams-events")}


def test_a_declared_encoding_is_honoured_without_complaint(tmp_path):
    write(tmp_path / "decl.py", b"# -*- coding: latin-1 -*-\nimport torch\nname = 'caf\xe9'\ntorch.cuda.synchronize()\n")
    r = scan_tree(tmp_path)
    assert r.errors == [] and found(r) == {("decl.py", 4, "streams-events")}


def test_binary_and_huge_files_are_skipped_and_reported(tmp_path):
    write(tmp_path / "blob.py", b"\x00\x01\x02torch.cuda\x00" * 100)
    write(tmp_path / "big.py", CUDA_LINE + b"x = 1\n" * 5000)
    write(tmp_path / "small.py", CUDA_LINE)
    r = scan_tree(tmp_path, max_file_bytes=10_000)
    why = reasons(r.skipped)
    assert "binary" in why["blob.py"] and "larger than 10,000 bytes" in why["big.py"]
    assert found(r) == {("small.py", 2, "streams-events")}


def elif_chain(n: int) -> bytes:
    chain = "if x:\n    pass\n" + "".join(f"elif x == {i}:\n    torch.cuda.synchronize()\n" for i in range(n))
    return ("import torch\nx = 1\n" + chain).encode()


def test_deep_nesting_does_not_crash_the_scan(tmp_path):
    write(tmp_path / "deep.py", elif_chain(900))  # ~1,800 nested nodes: past the recursion limit of a recursive visitor
    write(tmp_path / "deeper.py", elif_chain(3000))  # CPython's own parser gives up ("during ast construction")
    write(tmp_path / "parens.py", b"import torch\ny = " + b"(" * 300 + b"1" + b")" * 300 + b"\n")
    r = scan_tree(tmp_path)
    assert len([f for f in r.findings if f.path == "deep.py"]) == 900
    why = reasons(r.not_scanned)
    assert "too deeply nested" in why["deeper.py"]
    assert "syntax error" in why["parens.py"]  # "too many nested parentheses": reported


def test_virtualenvs_vendored_and_hidden_folders_are_skipped_by_default(tmp_path):
    write(tmp_path / "train.py", CUDA_LINE)
    write(tmp_path / "myenv" / "pyvenv.cfg", b"home = /usr/bin\n")
    write(tmp_path / "myenv" / "lib" / "site.py", CUDA_LINE)
    write(tmp_path / "condaenv" / "conda-meta" / "history", b"")
    write(tmp_path / "condaenv" / "lib.py", CUDA_LINE)
    write(tmp_path / ".venv" / "lib" / "x.py", CUDA_LINE)
    write(tmp_path / "third_party" / "apex" / "x.py", CUDA_LINE)
    write(tmp_path / "src" / "pkg" / "vendor" / "x.py", CUDA_LINE)
    write(tmp_path / "node_modules" / "x.py", CUDA_LINE)
    write(tmp_path / "build" / "lib" / "x.py", CUDA_LINE)
    write(tmp_path / "pkg.egg-info" / "x.py", CUDA_LINE)
    r = scan_tree(tmp_path)
    assert found(r) == {("train.py", 2, "streams-events")}
    assert set(reasons(r.skipped)) == {"myenv/", "condaenv/", ".venv/", "third_party/", "src/pkg/vendor/",
                                       "node_modules/", "build/", "pkg.egg-info/"}
    everything = scan_tree(tmp_path, include_vendored=True)
    assert len(everything.findings) == 9


def test_symbolic_links_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    write(outside / "secret.py", CUDA_LINE)
    root = tmp_path / "root"
    write(root / "train.py", CUDA_LINE)
    os.symlink(outside, root / "linked_dir")
    os.symlink(outside / "secret.py", root / "linked.py")
    os.symlink(root, root / "loop")
    r = scan_tree(root)
    assert found(r) == {("train.py", 2, "streams-events")}
    assert {p for p, why in reasons(r.skipped).items() if "symbolic link" in why} == {"linked_dir", "linked.py", "loop"}


def test_bad_packaging_files_are_reported_not_fatal(tmp_path):
    write(tmp_path / "pyproject.toml", b"[project\nname = 'x'\n")
    write(tmp_path / "setup.cfg", b"no section header\n")
    write(tmp_path / "environment.yml", b"dependencies: [unclosed\n")
    write(tmp_path / "requirements.txt", b"flash-attn\n\xff\xfe\n")
    r = scan_tree(tmp_path)
    why = reasons(r.not_scanned)
    assert "cannot parse pyproject" in why["pyproject.toml"] and "cannot parse setup.cfg" in why["setup.cfg"]
    assert "cannot parse conda" in why["environment.yml"]
    assert "not valid UTF-8" in reasons(r.errors)["requirements.txt"]  # read as latin-1: scanned, with a caveat
    assert found(r) == {("requirements.txt", 1, "flash-attn")}


def test_a_single_file_can_be_audited(tmp_path):
    f = write(tmp_path / "one.py", CUDA_LINE)
    assert found(scan_tree(f)) == {("one.py", 2, "streams-events")}


def test_a_missing_path_is_a_user_error(tmp_path):
    from accelplan.errors import AccelplanError

    with pytest.raises(AccelplanError, match="does not exist"):
        scan_tree(tmp_path / "missing")


def test_the_trees_own_packages_are_not_library_findings(tmp_path):
    # auditing megatron-core itself: its `import megatron` lines are not lock-in; its torch.cuda calls are
    layer = b"from megatron.core import utils\nimport torch\ntorch.cuda.synchronize()\n"
    write(tmp_path / "megatron" / "core" / "layer.py", layer)
    write(tmp_path / "user.py", b"import apex\n")
    r = scan_tree(tmp_path)
    assert found(r) == {("megatron/core/layer.py", 3, "streams-events"), ("user.py", 1, "apex")}


def test_prose_and_shadowed_names_are_not_findings(tmp_path):
    src = b'''"""Train on cuda with nccl; call torch.cuda.synchronize() and .cuda() as needed."""
import torch
# device = "cuda"
log = "moving the model to cuda"
help_text = "nccl or gloo"
apex = [1, 2, 3]          # a local name, not the apex library
print(apex[0], "cuda:0 is busy", "CUDA_VISIBLE_DEVICES=1 python x.py")
def f():
    """Uses the cuda device."""
    return torch.zeros(1)
'''
    write(tmp_path / "prose.py", src)
    assert scan_tree(tmp_path).findings == []


def test_import_aliases_are_resolved(tmp_path):
    src = b"""import torch as t
from torch import cuda as c
from torch.cuda import amp
import torch.distributed as d
t.cuda.synchronize()
c.empty_cache()
amp.GradScaler()
d.init_process_group(backend="nccl")
"""
    write(tmp_path / "alias.py", src)
    assert found(scan_tree(tmp_path)) == {
        ("alias.py", 2, "torch-cuda-other"), ("alias.py", 3, "amp"), ("alias.py", 5, "streams-events"),
        ("alias.py", 6, "memory-apis"), ("alias.py", 7, "amp"), ("alias.py", 8, "nccl-backend")}


# --------------------------------------------------------------- section 7 of issue 13: any tree, a true answer
def nested_toml(depth: int) -> bytes:
    return b'[project]\nname = "x"\ndependencies = ["flash-attn"]\n[tool.x]\ny = ' + b"[" * depth + b"]" * depth + b"\n"


def test_a_deeply_nested_pyproject_is_reported_not_fatal(tmp_path):
    data = nested_toml(590)
    assert 1100 < len(data) < 1300  # the 1.2 KB file of the issue: tomllib recurses once per level or more
    write(tmp_path / "pyproject.toml", data)
    write(tmp_path / "ok.py", CUDA_LINE)
    r = scan_tree(tmp_path)
    assert "nested too deeply" in reasons(r.not_scanned)["pyproject.toml"]
    assert found(r) == {("ok.py", 2, "streams-events")} and r.files_scanned == 1


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_loader(request, monkeypatch):
    """Both of PyYAML's parsers: the pure-Python one is what runs where PyYAML was built without libyaml."""
    import yaml

    from accelplan.port import otherfiles

    if request.param == "libyaml":
        if not hasattr(yaml, "CSafeLoader"):
            pytest.skip("PyYAML built without libyaml")
        monkeypatch.setattr(otherfiles, "_YAML_LOADER", yaml.CSafeLoader)
    else:
        monkeypatch.setattr(otherfiles, "_YAML_LOADER", yaml.SafeLoader)
    return request.param


def test_a_deeply_nested_conda_file_is_reported_not_fatal(tmp_path, yaml_loader):
    data = b"name: x\ndependencies:\n  - " + b"- " * 590 + b"flash-attn\n"
    assert 1100 < len(data) < 1300  # 590 nested lists in 1.2 KB; composing them recursed past the limit
    write(tmp_path / "environment.yml", data)
    write(tmp_path / "ok.py", CUDA_LINE)
    r = scan_tree(tmp_path)
    assert "nested deeper than" in reasons(r.not_scanned)["environment.yml"]
    assert found(r) == {("ok.py", 2, "streams-events")}


def test_conda_files_read_the_same_with_either_yaml_parser(yaml_loader):
    env = ROWS / "packaging" / "environment.yml"
    r = scan_tree(env)
    assert r.not_scanned == [] and found(r) == expectations(env)


def test_conda_dependencies_are_found_at_their_own_lines_whatever_the_layout(tmp_path):
    env = b"""name: x
channels: [pytorch, nvidia]
variables: {dependencies: [flash-attn]}
dependencies:
  - python=3.11
  - pytorch-cuda=12.1
  - {pip: [apex]}
  - pip:
      - flash-attn>=2
      - "xformers"
  - ? [complex, key]
    : flash-attn
"""
    write(tmp_path / "environment.yml", env)
    assert found(scan_tree(tmp_path)) == {("environment.yml", 6, "cuda-wheels"), ("environment.yml", 7, "apex"),
                                          ("environment.yml", 9, "flash-attn"), ("environment.yml", 10, "xformers")}


def test_requirements_in_pyproject_are_located_at_each_occurrence(tmp_path):
    doc = b"""[build-system]
requires = ["setuptools"]
[project]
name = "x"
dependencies = ["torch"]
[project.optional-dependencies]
train = ["flash-attn>=2", "apex"]
infer = ["flash-attn>=2"]
[tool.poetry.dependencies]
xformers = "^0.0.27"
"""
    write(tmp_path / "pyproject.toml", doc)
    assert found(scan_tree(tmp_path)) == {("pyproject.toml", 7, "flash-attn"), ("pyproject.toml", 7, "apex"),
                                          ("pyproject.toml", 8, "flash-attn"), ("pyproject.toml", 10, "xformers")}


def test_a_packaging_file_of_the_wrong_shape_is_read_for_what_it_has(tmp_path):
    doc = b'project = 3\n[build-system]\nrequires = "flash-attn"\n[dependency-groups]\ndev = ["apex", 1]\n'
    write(tmp_path / "pyproject.toml", doc)
    r = scan_tree(tmp_path)
    assert r.not_scanned == [] and found(r) == {("pyproject.toml", 5, "apex")}


# ------------------------------------------------------------------------------- PATH that names nothing
def run_cli(*args: str, cwd=None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "accelplan", "port-audit", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_an_empty_path_is_a_one_line_error_not_an_audit_of_the_current_folder(tmp_path):
    write(tmp_path / "train.py", CUDA_LINE)  # what `Path('')` (the current folder) would have audited
    r = run_cli("", "--target", "npu", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error: PATH '': an empty path") and r.stderr.count("\n") == 1


@pytest.mark.parametrize("layout", ["missing", "empty folder", "no readable file", "only a virtualenv",
                                    "only broken files", "a pipe"])
def test_a_path_with_nothing_to_scan_is_an_error(tmp_path, layout):
    from accelplan.errors import AccelplanError

    root = tmp_path / "tree"
    if layout == "a pipe":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        os.mkfifo(root)  # opening it to read would block forever
    elif layout != "missing":
        root.mkdir()
    if layout == "no readable file":
        write(root / "README.md", b"uses torch.cuda\n")
    if layout == "only a virtualenv":
        write(root / ".venv" / "x.py", CUDA_LINE)
    if layout == "only broken files":
        write(root / "a.py", b"def f(:\n")
    with pytest.raises(AccelplanError, match=r"^PATH '.*tree'") as err:
        scan_tree(root)
    message = str(err.value)
    assert "\n" not in message
    expected = {"missing": "does not exist", "empty folder": "holds no file the audit reads",
                "no readable file": "holds no file the audit reads", "only a virtualenv": "skipped, e.g. .venv/",
                "only broken files": "not scanned, e.g. a.py: syntax error",
                "a pipe": "neither a folder nor a regular file"}[layout]
    assert expected in message


def test_nothing_to_scan_exits_2_with_one_line(tmp_path):
    r = run_cli(str(tmp_path), "--json")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"error: PATH '{tmp_path}'") and r.stderr.count("\n") == 1


# ----------------------------------------------------------------------------- not scanned, said so
def test_a_file_with_a_syntax_error_is_listed_as_not_scanned_in_text_and_json(tmp_path):
    import json

    write(tmp_path / "broken.py", b"import torch\ntorch.cuda.synchronize(\n")
    write(tmp_path / "ok.py", CUDA_LINE)
    text = run_cli(str(tmp_path), "--target", "npu")
    assert text.returncode == 0, text.stderr
    assert "1 files not scanned" in text.stdout
    assert [ln for ln in text.stdout.splitlines() if "broken.py" in ln] == [
        "not scanned: broken.py: syntax error at line 2: '(' was never closed"]
    d = json.loads(run_cli(str(tmp_path), "--target", "npu", "--json").stdout)
    assert d["not_scanned"] == [{"path": "broken.py", "reason": "syntax error at line 2: '(' was never closed"}]
    assert d["errors"] == [] and d["files_scanned"] == 1 and d["lines_scanned"] == 2
    assert [f["path"] for f in d["findings"]] == ["ok.py"]


def test_html_output_is_refused_before_the_work(tmp_path):
    from typer.testing import CliRunner

    from accelplan.cli import app
    from accelplan.errors import AccelplanError

    runner = CliRunner()
    missing = tmp_path / "no-such-folder" / "audit.html"
    for html, message in ((str(missing), "does not exist"), (str(tmp_path), "is a directory"),
                          ("", "an empty path")):
        # the PATH is missing too: the --html refusal comes first, before any file is read
        with pytest.raises(AccelplanError, match=f"--html.*{message}"):
            runner.invoke(app, ["port-audit", str(tmp_path / "missing-tree"), "--html", html], catch_exceptions=False)
    assert not missing.parent.exists()
