"""What counts as CUDA-specific: the mapping's dotted names and requirement names as an index, and
the rules for string constants ('cuda', 'cuda:0', 'nccl', CUDA_VISIBLE_DEVICES, ...) and requirement
lines. Shared by the Python pass (pysource) and the other files' readers (otherfiles).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from accelplan.port.mappings import Mapping

CODE_CHARS = 200  # a finding quotes at most this much of its line
CUDA_SUFFIXES = (".cu", ".cuh")
CUDA_WHEEL = re.compile(r"\+cu\d{2,3}\b|/whl/cu\d{2,3}\b|^nvidia-[a-z0-9-]+-cu\d{2}$|^cupy-cuda\d|^pytorch-cuda$|^cudatoolkit$")
_NCCL_BACKENDS = frozenset({"nccl", "gloo", "mpi", "ucc", "hccl", "xla", "cpu", "cuda"})
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_DIST_SEPARATORS = re.compile(r"[-_.]+")
# a file name or path of a CUDA source: 'kernel.cu', 'csrc/ops/fused.cuh'; not a glob ('*.cu') nor a bare suffix
_CUDA_SOURCE = re.compile(r"/?(?:[\w.-]+/)*\w[\w.-]*\.cuh?")
# what a string's position says it names: a keyword, variable, attribute, key or parameter called *device*,
# *backend* or *accelerator*, or an argument of a call such as torch.device(...) or init_process_group(...)
DEVICE, BACKEND = "device", "backend"
TORCH_ARGUMENT = "torch-argument"  # an argument of a torch.* call: there 'cuda' is a device and 'nccl' a backend
_CALL_ROLES = {"to": DEVICE, "autocast": DEVICE, "GradScaler": DEVICE, "Generator": DEVICE,
               "init_process_group": BACKEND, "new_group": BACKEND}


@dataclass(slots=True)
class Finding:
    path: str  # relative to the audited root, '/'-separated
    line: int
    col: int
    code: str
    row: str  # a row id of the mapping
    detail: str = ""
    kernel: bool = False  # one custom kernel (a __global__ function or a @triton.jit function)


@dataclass(slots=True)
class Problem:
    path: str
    reason: str


class NotScanned(Exception):
    """A file that was read but cannot be understood (syntax error, nesting, size of its syntax tree): the
    scanner reports it as not scanned, with this message as the reason, and counts nothing from it."""


class NameIndex:
    """The mapping's names and requirement names as dictionaries, built once per audit."""

    def __init__(self, mapping: Mapping):
        self.names: dict[str, str] = {}
        self.requirements: dict[str, str] = {}
        self.report_uses: dict[str, bool] = {}
        for row in mapping.rows:
            self.report_uses[row.id] = row.report == "all"
            for n in row.names:
                self.names[n] = row.id
            for r in row.requirements:
                self.requirements[normalize_dist(r)] = row.id
        self.roots = frozenset(n.split(".", 1)[0] for n in self.names)
        self.local: frozenset[str] = frozenset()

    def set_local_packages(self, local: set[str]) -> None:
        """Top-level packages of the audited tree itself: importing them is not lock-in (megatron-core
        imports `megatron` everywhere). `torch` stays, or `torch.cuda` inside a PyTorch checkout
        would vanish."""
        self.local = frozenset(local - {"torch"})
        self.roots = self.roots - self.local

    def match(self, qualname: str) -> str | None:
        """The row claiming this dotted name or its longest claimed prefix."""
        dot = qualname.find(".")
        if (qualname if dot < 0 else qualname[:dot]) not in self.roots:
            return None
        names = self.names
        while True:
            row = names.get(qualname)
            if row is not None:
                return row
            dot = qualname.rfind(".")
            if dot < 0:
                return None
            qualname = qualname[:dot]


def normalize_dist(name: str) -> str:
    """PEP 503 name normalisation: case and runs of -_. do not matter."""
    return _DIST_SEPARATORS.sub("-", name).lower()


def is_cuda_device(s: str) -> bool:
    """'cuda', 'cuda:0', and the templates 'cuda:', 'cuda:{}', 'cuda:{rank}', 'cuda:%d' that build one."""
    if not s.startswith("cuda"):
        return False
    if len(s) == 4:
        return True
    if s[4] != ":":
        return False
    rest = s[5:]
    return rest == "" or rest.isdigit() or (rest[0] == "{" and rest[-1] == "}") or rest in ("%d", "%s", "%i")


def is_nccl_backend(s: str) -> bool:
    """'nccl', or a combined backend string such as 'cpu:gloo,cuda:nccl'."""
    if s == "nccl":
        return True
    if "nccl" not in s or len(s) > 60:
        return False
    parts = [p.strip() for p in s.split(",")]
    return all(p.split(":")[-1] in _NCCL_BACKENDS and all(x in _NCCL_BACKENDS for x in p.split(":")) for p in parts)


def _first_word_is(s: str, word: str) -> bool:
    return s.startswith(word) and (len(s) == len(word) or s[len(word)] in " \t")


def is_cuda_env(s: str) -> bool:
    return (s.startswith("CUDA_") or s == "PYTORCH_CUDA_ALLOC_CONF") and s.isidentifier() and s.isupper()


def is_nccl_env(s: str) -> bool:
    return (s.startswith("NCCL_") or s.startswith("TORCH_NCCL_")) and s.isidentifier() and s.isupper()


@functools.lru_cache(maxsize=4096)  # asked for every keyword, target and call: the same few names recur
def role_of(name: str | None) -> str | None:
    """DEVICE or BACKEND when a name (keyword, variable, attribute, dict key, parameter, function) says that its
    string value is one: `device=`, `self.device`, `map_location=`, `accelerator=`, `dist_backend = ...`."""
    if not name:
        return None
    low = name.lower()
    if "backend" in low:
        return BACKEND
    if "device" in low or "accelerator" in low or low == "map_location":
        return DEVICE
    return None


def call_role(func_name: str) -> str | None:
    """The role of a call's positional string arguments: `.to('cuda')`, `torch.device('cuda')`,
    `init_process_group('nccl')`, `torch.set_default_device('cuda')`."""
    return _CALL_ROLES.get(func_name) or role_of(func_name)


def string_row(s: str, role: str | None = None) -> tuple[str, str] | None:
    """(row, detail) for a string constant that is itself CUDA-specific code, not prose.

    The bare words 'cuda' and 'nccl' are also names of a language, a lexer, a file type and a library, so they
    count only where their position names a device or a backend (ROLE); 'cuda:0', 'cpu:gloo,cuda:nccl',
    CUDA_*/NCCL_* variables, CUDA source paths and nvidia-smi/torchrun commands name one wherever they are.
    """
    if is_cuda_device(s):
        return ("device-placement", f"device string '{s}'") if s != "cuda" or role in (DEVICE, TORCH_ARGUMENT) else None
    if is_nccl_backend(s):
        return ("nccl-backend", f"backend string '{s}'") if s != "nccl" or role in (BACKEND, TORCH_ARGUMENT) else None
    if s == "CUDA_VISIBLE_DEVICES" or s == "NVIDIA_VISIBLE_DEVICES":
        return "cuda-visible-devices", s
    if is_cuda_env(s):
        return "cuda-env", s
    if is_nccl_env(s):
        return "nccl-env", s
    if s.endswith(CUDA_SUFFIXES) and _CUDA_SOURCE.fullmatch(s):
        return "custom-extension", f"CUDA source '{s}'"
    if _first_word_is(s, "nvidia-smi"):
        return "nvidia-smi", "nvidia-smi command"
    if _first_word_is(s, "torchrun"):
        return "launcher", "torchrun command"
    return None


def requirement_row(req: str, index: NameIndex) -> tuple[str, str] | None:
    """(row, detail) for one requirement line or specifier, e.g. 'flash-attn>=2.5' or 'torch==2.3+cu121'."""
    req = req.split("#", 1)[0].strip()
    if not req:
        return None
    if "cu" in req and CUDA_WHEEL.search(req):  # every CUDA_WHEEL pattern contains "cu": a cheap test first
        return "cuda-wheels", f"CUDA build: {req}"
    m = _REQ_NAME.match(req)
    if not m:
        return None
    name = normalize_dist(m.group(1))
    if "cu" in name and CUDA_WHEEL.search(name):
        return "cuda-wheels", f"CUDA build: {name}"
    row = index.requirements.get(name)
    return (row, f"requires {name}") if row else None
