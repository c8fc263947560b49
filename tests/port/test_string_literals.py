"""A string literal is a finding only where it names a device or a backend: 'cuda:0' anywhere, the bare words
'cuda' and 'nccl' only in a device or backend position. A highlighter's CUDA lexer is not CUDA lock-in."""

from accelplan.port.scanner import scan_tree

from .conftest import FIXTURES, expectations, found

LEXER_TABLE = FIXTURES / "strings" / "lexer_table.py"


def test_a_lexer_table_is_not_a_finding_but_device_and_backend_strings_are():
    r = scan_tree(LEXER_TABLE)
    assert r.not_scanned == [] and r.errors == []
    assert found(r) == expectations(LEXER_TABLE)


def test_the_lexer_table_alone_has_no_findings(tmp_path):
    lines = LEXER_TABLE.read_text(encoding="utf-8").splitlines()
    table = "\n".join(lines[:lines.index("dev = torch.device(\"cuda:0\")  # expect: device-placement")])
    (tmp_path / "lexers.py").write_text(table + "\n", encoding="utf-8")
    assert scan_tree(tmp_path).findings == []


def test_device_and_backend_positions(tmp_path):
    src = '''import os
import torch
def default_device():
    return "cuda"
class Config:
    device: str = "cuda"
    accelerator = "cuda"
    dist_backend = "nccl"
m = torch.load("ckpt.pt", map_location="cuda")
d = os.environ.get("DEVICE", "cuda")
gen = torch.Generator("cuda")
name = "cuda"
kind = "nccl"
def fit(accelerator: Literal["cpu", "cuda"] = "cpu", lang: Literal["c", "cuda"] = "c"): ...
CommBackend = Optional[Literal["nccl", "ucc"]]
state = torch.random.get_rng_state("cuda")
'''
    (tmp_path / "positions.py").write_text(src, encoding="utf-8")
    got = {(line, row) for _, line, row in found(scan_tree(tmp_path))}
    placement = {(n, "device-placement") for n in (4, 6, 7, 9, 10, 11, 14, 16)}
    # lines 12 and 13 say nothing about a device; line 14's second Literal is a language's
    assert got == placement | {(8, "nccl-backend"), (15, "nccl-backend")}


def test_a_cuda_source_path_is_a_finding_but_a_glob_or_a_bare_suffix_is_not(tmp_path):
    src = 'a = ["csrc/fused.cu", "kernel.cuh"]\nb = ["*.cu", ".cuh", "x *.cu"]\n'
    (tmp_path / "sources.py").write_text(src, encoding="utf-8")
    assert found(scan_tree(tmp_path)) == {("sources.py", 1, "custom-extension")}
