"""Find CUDA-specific usage in a source tree, without running or importing any of it.

Python files are parsed once with `ast` and walked once. Dotted names are resolved through the file's
import aliases (`import torch as t; t.cuda.synchronize()`, `from torch import cuda`) and matched
against the `names` of the mapping rows, longest prefix first. Other rules look at the shape of the
code: string constants that are exactly a device or backend ('cuda', 'cuda:0', 'nccl'), comparisons
with them, `.cuda()` calls, `@triton.jit` functions. Comments never reach the AST, and bare string
statements (docstrings) are skipped, so prose that mentions CUDA is not a finding.

Requirements files, pyproject.toml, setup.cfg and conda environment files are read for CUDA-bound
distributions; shell scripts for CUDA_VISIBLE_DEVICES, nvidia-smi, torchrun and NCCL_* words; .cu/.cuh
files count as custom kernels (one finding per `__global__` function).
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from accelplan.port.mappings import Mapping, load_mapping

# Folders skipped unless --include-vendored: version control, caches, virtual environments (also any
# folder holding pyvenv.cfg or conda-meta/), installed packages and vendored third-party code.
EXCLUDED_DIRS = frozenset({
    "__pycache__", "site-packages", "dist-packages", "node_modules", "venv", "virtualenv", "env",
    "third_party", "third-party", "thirdparty", "3rdparty", "vendor", "vendored", "_vendor", "externals",
})
TOP_LEVEL_EXCLUDED_DIRS = frozenset({"build", "dist"})  # setuptools output: copies of the package itself
DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024  # larger files are reported, not read (generated code, data)
CODE_CHARS = 200  # a finding quotes at most this much of its line

_SHELL_SUFFIXES = (".sh", ".bash", ".zsh")
_CUDA_SUFFIXES = (".cu", ".cuh")
_AUTOCAST_NAMES = frozenset({"autocast", "GradScaler"})
_FP64_NAMES = frozenset({"torch.float64", "torch.double"})
_NCCL_BACKENDS = frozenset({"nccl", "gloo", "mpi", "ucc", "hccl", "xla", "cpu", "cuda"})
_IMPORT_GUARDS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_CUDA_WHEEL = re.compile(r"\+cu\d{2,3}\b|/whl/cu\d{2,3}\b|^nvidia-[a-z0-9-]+-cu\d{2}$|^cupy-cuda\d|^pytorch-cuda$|^cudatoolkit$")
_SHELL_WORD = re.compile(r"[A-Za-z0-9_./-]+")


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


@dataclass
class ScanResult:
    root: str
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    lines_scanned: int = 0
    files_by_kind: dict[str, int] = field(default_factory=dict)
    skipped: list[Problem] = field(default_factory=list)  # not read: excluded folder, symlink, huge, binary
    errors: list[Problem] = field(default_factory=list)  # read but not (fully) understood: syntax, encoding


# ------------------------------------------------------------------------------------------ matching
class _Index:
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
                self.requirements[_normalize_dist(r)] = row.id
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


def _normalize_dist(name: str) -> str:
    """PEP 503 name normalisation: case and runs of -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_cuda_device(s: str) -> bool:
    """'cuda', 'cuda:0', and the templates 'cuda:', 'cuda:{}', 'cuda:{rank}', 'cuda:%d' that build one."""
    if not s.startswith("cuda"):
        return False
    if len(s) == 4:
        return True
    if s[4] != ":":
        return False
    rest = s[5:]
    return rest == "" or rest.isdigit() or (rest[0] == "{" and rest[-1] == "}") or rest in ("%d", "%s", "%i")


def _is_nccl_backend(s: str) -> bool:
    """'nccl', or a combined backend string such as 'cpu:gloo,cuda:nccl'."""
    if s == "nccl":
        return True
    if "nccl" not in s or len(s) > 60:
        return False
    parts = [p.strip() for p in s.split(",")]
    return all(p.split(":")[-1] in _NCCL_BACKENDS and all(x in _NCCL_BACKENDS for x in p.split(":")) for p in parts)


def _first_word_is(s: str, word: str) -> bool:
    return s.startswith(word) and (len(s) == len(word) or s[len(word)] in " \t")


def _is_cuda_env(s: str) -> bool:
    return (s.startswith("CUDA_") or s == "PYTORCH_CUDA_ALLOC_CONF") and s.isidentifier() and s.isupper()


def _is_nccl_env(s: str) -> bool:
    return (s.startswith("NCCL_") or s.startswith("TORCH_NCCL_")) and s.isidentifier() and s.isupper()


def _string_row(s: str) -> tuple[str, str] | None:
    """(row, detail) for a string constant that is itself CUDA-specific code, not prose."""
    if _is_cuda_device(s):
        return "device-placement", f"device string '{s}'"
    if _is_nccl_backend(s):
        return "nccl-backend", f"backend string '{s}'"
    if s == "CUDA_VISIBLE_DEVICES" or s == "NVIDIA_VISIBLE_DEVICES":
        return "cuda-visible-devices", s
    if _is_cuda_env(s):
        return "cuda-env", s
    if _is_nccl_env(s):
        return "nccl-env", s
    if s.endswith(_CUDA_SUFFIXES) and len(s) > 3 and not any(c.isspace() for c in s):
        return "custom-extension", f"CUDA source '{s}'"
    if _first_word_is(s, "nvidia-smi"):
        return "nvidia-smi", "nvidia-smi command"
    if _first_word_is(s, "torchrun"):
        return "launcher", "torchrun command"
    return None


# ------------------------------------------------------------------------------------- Python files
class _PythonScan:
    """One pass over one module's AST. Iterative (an explicit stack), so deep nesting cannot overflow."""

    def __init__(self, index: _Index, is_setup_py: bool):
        self.index = index
        self.is_setup_py = is_setup_py
        self.alias: dict[str, str] = {"torch": "torch"}  # `torch` is torch even behind a star import
        self.hits: dict[tuple[int, str], tuple[int, str, bool]] = {}  # (line, row) -> (col, detail, kernel)
        self.consumed: set[int] = set()  # ids of nodes already reported by their parent's rule
        self.requirements: list[tuple[int, str]] = []  # (line, requirement string) from setup(...)
        self.guarded = 0  # depth of `try:` bodies that catch ImportError: optional imports say so

    def add(self, node: ast.AST | _At, row: str, detail: str = "", kernel: bool = False) -> None:
        key = (node.lineno, row)  # type: ignore[attr-defined]
        old = self.hits.get(key)
        if old is None:
            self.hits[key] = (node.col_offset, detail, kernel)  # type: ignore[attr-defined]
        elif kernel and not old[2]:
            self.hits[key] = (old[0], detail, True)

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name of a Name/Attribute chain after alias resolution, or None."""
        parts: list[str] = []
        while type(node) is ast.Attribute:
            parts.append(node.attr)
            node = node.value
        if type(node) is not ast.Name:
            return None
        base = self.alias.get(node.id)
        if base is None:
            return None
        if not parts:
            return base
        parts.append(base)
        parts.reverse()
        return ".".join(parts)

    def run(self, tree: ast.AST) -> None:
        stack: list[ast.AST] = [tree]
        pop, push = stack.pop, stack.extend
        handlers = {
            ast.Import: self._import, ast.ImportFrom: self._import_from, ast.Attribute: self._attribute,
            ast.Name: self._name, ast.Call: self._call, ast.Constant: self._constant, ast.Compare: self._compare,
            ast.Expr: self._expr, ast.JoinedStr: self._joined_str, ast.FunctionDef: self._function,
            ast.AsyncFunctionDef: self._function, ast.Try: self._try, ast.MatchValue: self._match_value,
        }
        get = handlers.get
        while stack:
            node = pop()
            handler = get(type(node))
            children = _children(node) if handler is None else handler(node)
            if children:
                children.reverse()  # pre-order, in source order
                push(children)

    # -- imports (always reported when a row claims them; they bind aliases for the rest of the file)
    def _import(self, node: ast.Import) -> list[ast.AST]:
        for a in node.names:
            if a.asname:
                self.alias[a.asname] = a.name
            else:
                root = a.name.split(".", 1)[0]
                self.alias[root] = root
            row = self.index.match(a.name) or self._extension_module(a.name)
            if row:
                self.add(node, row, f"import {a.name}" + self._guard_note())
        return []

    def _extension_module(self, module: str) -> str | None:
        """A top-level module named *_cuda is by convention a compiled CUDA extension (apex's
        fused_layer_norm_cuda, Megatron's scaled_masked_softmax_cuda)."""
        root = module.split(".", 1)[0]
        return "custom-extension" if root.endswith("_cuda") and root not in self.index.local else None

    def _import_from(self, node: ast.ImportFrom) -> list[ast.AST]:
        if node.level or not node.module:
            for a in node.names:  # relative import: shadows any alias of that name, never matches
                self.alias.pop(a.asname or a.name, None)
            return []
        for a in node.names:
            qual = node.module if a.name == "*" else f"{node.module}.{a.name}"
            if a.name != "*":
                self.alias[a.asname or a.name] = qual
            row = self.index.match(qual) or self._extension_module(node.module)
            if row:
                self.add(node, row, f"from {node.module} import {a.name}" + self._guard_note())
        return []

    def _guard_note(self) -> str:
        return " (optional: inside try/except ImportError)" if self.guarded else ""

    def _try(self, node: ast.Try) -> list[ast.AST]:
        catches = any(h.type is None or any(isinstance(n, ast.Name) and n.id in _IMPORT_GUARDS for n in ast.walk(h.type))
                      for h in node.handlers)
        if catches and any(isinstance(s, ast.Import | ast.ImportFrom) for s in node.body):
            # imports in the try body are optional; the rest of the statement is walked as usual
            self.guarded += 1
            for s in node.body:
                if isinstance(s, ast.Import | ast.ImportFrom):
                    (self._import if isinstance(s, ast.Import) else self._import_from)(s)  # type: ignore[arg-type]
            self.guarded -= 1
            rest = [s for s in node.body if not isinstance(s, ast.Import | ast.ImportFrom)]
            return [*rest, *node.handlers, *node.orelse, *node.finalbody]
        return _children(node)

    # -- names and attribute chains
    def _name(self, node: ast.Name) -> None:
        qual = self.alias.get(node.id)
        if qual is not None and type(node.ctx) is ast.Load and id(node) not in self.consumed:
            row = self.index.match(qual)
            if row and self.index.report_uses[row]:
                self.add(node, row, qual)

    def _attribute(self, node: ast.Attribute) -> list[ast.AST] | None:
        if id(node) in self.consumed:
            return None
        base = node.value
        while type(base) is ast.Attribute:
            base = base.value
        if type(base) is ast.Name and base.id in self.alias:  # an imported name: resolve and match the chain
            qual = self.resolve(node)
            row = self.index.match(qual) if qual else None
            if row and self.index.report_uses[row]:
                self.add(node, row, qual)
            return None  # a chain of plain names has nothing else inside
        if node.attr == "is_cuda":
            self.add(node, "device-compare", "Tensor.is_cuda")
        return [base] if type(base) is not ast.Name else None

    # -- calls: .cuda(), .double(), autocast('cuda'), float64 on the device, setup(install_requires=...)
    def _call(self, node: ast.Call) -> list[ast.AST]:
        func = node.func
        children: list[ast.AST] = []
        fname = func.attr if type(func) is ast.Attribute else func.id if type(func) is ast.Name else ""
        if type(func) is ast.Attribute and func.attr in ("cuda", "double") and self.resolve(func) is None:
            # at the line of `.cuda` itself, which in a call spread over lines is not the call's first line
            at = _At(func.end_lineno or func.lineno, max(0, (func.end_col_offset or 0) - len(func.attr) - 1))
            if func.attr == "cuda":
                self.add(at, "device-placement", ".cuda()")
            elif not node.args and not node.keywords:
                self.add(at, "fp64-dtype", ".double()")
            children.append(func.value)
        else:
            children.append(func)
        if fname in _AUTOCAST_NAMES:
            device_args = [*node.args[:1], *(k.value for k in node.keywords if k.arg in ("device_type", "device"))]
            for arg in device_args:
                if type(arg) is ast.Constant and type(arg.value) is str and _is_cuda_device(arg.value):
                    self.add(arg, "amp", f"{fname}('{arg.value}')")
                    self.consumed.add(id(arg))
        if node.keywords:
            self._fp64_on_device(node)
            if self.is_setup_py and fname == "setup":
                for k in node.keywords:
                    if k.arg in ("install_requires", "extras_require", "setup_requires"):
                        for c in ast.walk(k.value):
                            if type(c) is ast.Constant and type(c.value) is str:
                                self.requirements.append((c.lineno, c.value))
        children.extend(node.args)
        children.extend(k.value for k in node.keywords)
        return children

    def _fp64_on_device(self, node: ast.Call) -> None:
        dtype = device = None
        for k in node.keywords:
            if k.arg == "dtype":
                dtype = k.value
            elif k.arg == "device":
                device = k.value
        if dtype is None or device is None:
            return
        if (type(device) is ast.Constant and type(device.value) is str and _is_cuda_device(device.value)
                and self.resolve(dtype) in _FP64_NAMES):
            self.add(node, "fp64-on-device", "float64 tensor on the CUDA device")
            self.consumed.add(id(dtype))

    # -- strings
    def _constant(self, node: ast.Constant) -> None:
        v = node.value
        if type(v) is str and 3 < len(v) < 120 and id(node) not in self.consumed:
            hit = _string_row(v)
            if hit:
                self.add(node, *hit)

    def _expr(self, node: ast.Expr) -> list[ast.AST]:
        # a bare string statement (docstring, commented-out code in quotes) is prose, not code
        return [] if type(node.value) is ast.Constant else [node.value]

    def _joined_str(self, node: ast.JoinedStr) -> list[ast.AST]:
        values = node.values
        first = values[0] if values else None
        if type(first) is ast.Constant and type(first.value) is str and first.value.startswith("cuda:") and len(values) > 1:
            self.add(node, "device-placement", f"device string f'{first.value}{{...}}'")
        return [v for v in values if type(v) is ast.FormattedValue]

    def _compare(self, node: ast.Compare) -> list[ast.AST]:
        for operand in (node.left, *node.comparators):
            elts = operand.elts if type(operand) in (ast.Tuple, ast.List, ast.Set) else (operand,)  # type: ignore[attr-defined]
            for c in elts:
                self._compared(c)
        return [node.left, *node.comparators]

    def _match_value(self, node: ast.MatchValue) -> list[ast.AST]:
        self._compared(node.value)  # `case "cuda":` compares like ==
        return [node.value]

    def _compared(self, c: ast.AST) -> None:
        if type(c) is ast.Constant and type(c.value) is str:
            if _is_cuda_device(c.value):
                self.add(c, "device-compare", f"compared with '{c.value}'")
                self.consumed.add(id(c))
            elif _is_nccl_backend(c.value):
                self.add(c, "nccl-compare", f"compared with '{c.value}'")
                self.consumed.add(id(c))

    # -- Triton kernels: one finding per @triton.jit function
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
        for dec in node.decorator_list:
            target = dec.func if type(dec) is ast.Call else dec
            if self.resolve(target) in ("triton.jit", "triton.autotune", "triton.heuristics"):
                self.add(node, "triton-kernel", f"Triton kernel {node.name}()", kernel=True)
                break
        return _children(node)


@dataclass(slots=True)
class _At:
    """A position that is not a node's start."""

    lineno: int
    col_offset: int


def _children(node: ast.AST) -> list[ast.AST]:
    out: list[ast.AST] = []
    for name in node._fields:
        v = getattr(node, name, None)
        if type(v) is list:
            out.extend(x for x in v if isinstance(x, ast.AST))
        elif isinstance(v, ast.AST):
            out.append(v)
    return out


def _line(lines: list[bytes], lineno: int) -> str:
    if 0 < lineno <= len(lines):
        return lines[lineno - 1].decode("utf-8", "replace").strip()[:CODE_CHARS]
    return ""


def scan_python(data: bytes, rel: str, index: _Index) -> tuple[list[Finding], list[Problem]]:
    """Findings in one Python source (bytes as read), and what could not be understood."""
    problems: list[Problem] = []
    try:
        tree = ast.parse(data, filename=rel)
    except (SyntaxError, ValueError) as exc:
        undecodable = "codec" in str(exc)  # "(unicode error) 'utf-8' codec can't decode byte ..."
        if not undecodable:
            where = f" at line {exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else ""
            msg = exc.msg if isinstance(exc, SyntaxError) else str(exc)
            return [], [Problem(rel, f"syntax error{where}: {msg}; file not scanned")]
        # not valid in its declared encoding (UTF-8 by default): latin-1 decodes any byte, so read it that way
        problems.append(Problem(rel, "not valid UTF-8 (or its declared encoding); scanned as latin-1"))
        try:
            tree = ast.parse(data.decode("latin-1"), filename=rel)
        except (SyntaxError, ValueError) as exc2:
            return [], [Problem(rel, f"undecodable and not parseable as latin-1 ({exc2}); file not scanned")]
    except (RecursionError, MemoryError) as exc:
        return [], [Problem(rel, f"too deeply nested to parse ({type(exc).__name__}); file not scanned")]
    scan = _PythonScan(index, is_setup_py=rel.rsplit("/", 1)[-1] == "setup.py")
    scan.run(tree)
    lines = data.splitlines() if scan.hits or scan.requirements else []
    findings = [Finding(rel, line, col, _line(lines, line), row, detail, kernel)
                for (line, row), (col, detail, kernel) in scan.hits.items()]
    for line, req in scan.requirements:
        hit = _requirement_row(req, index)
        if hit:
            findings.append(Finding(rel, line, 0, _line(lines, line), hit[0], hit[1]))
    return findings, problems


# --------------------------------------------------------------------- requirements and packaging
def _requirement_row(req: str, index: _Index) -> tuple[str, str] | None:
    """(row, detail) for one requirement line or specifier, e.g. 'flash-attn>=2.5' or 'torch==2.3+cu121'."""
    req = req.split("#", 1)[0].strip()
    if not req:
        return None
    if _CUDA_WHEEL.search(req):
        return "cuda-wheels", f"CUDA build: {req}"
    m = _REQ_NAME.match(req)
    if not m:
        return None
    name = _normalize_dist(m.group(1))
    if _CUDA_WHEEL.search(name):
        return "cuda-wheels", f"CUDA build: {name}"
    row = index.requirements.get(name)
    return (row, f"requires {name}") if row else None


def _text_findings(rel: str, text: str, reqs: Iterable[str], index: _Index) -> list[Finding]:
    """Findings for requirement strings, located at the first line that contains each."""
    lines = text.splitlines()
    out: dict[tuple[int, str], Finding] = {}
    last: dict[str, int] = {}  # a requirement listed in two extras is found at its next occurrence each time
    for req in reqs:
        hit = _requirement_row(req, index)
        if not hit:
            continue
        needle = req.strip()
        lineno = _find_line(lines, needle, after=last.get(needle, 0)) or _find_line(lines, needle)
        if lineno == 0:  # e.g. a poetry table key; fall back to the distribution name
            lineno = _find_line(lines, needle.split("[")[0]) or 1
        last[needle] = lineno
        out.setdefault((lineno, hit[0]), Finding(rel, lineno, 0, lines[lineno - 1].strip()[:CODE_CHARS] if lines else "", *hit))
    return list(out.values())


def _find_line(lines: list[str], needle: str, after: int = 0) -> int:
    """The 1-based number of the first line after `after` that contains needle, or 0."""
    return next((i for i, ln in enumerate(lines[after:], after + 1) if needle in ln), 0)


def scan_requirements(text: str, rel: str, index: _Index) -> list[Finding]:
    out = []
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):  # options: only an index URL can say "CUDA build"
            if _CUDA_WHEEL.search(line):
                out.append(Finding(rel, i, 0, line[:CODE_CHARS], "cuda-wheels", "CUDA wheel index"))
            continue
        hit = _requirement_row(line, index)
        if hit:
            out.append(Finding(rel, i, 0, line[:CODE_CHARS], *hit))
    return out


def scan_pyproject(text: str, rel: str, index: _Index) -> list[Finding]:
    doc = tomllib.loads(text)
    reqs: list[str] = []
    project = doc.get("project", {})
    reqs += project.get("dependencies", [])
    for group in project.get("optional-dependencies", {}).values():
        reqs += group
    for group in doc.get("dependency-groups", {}).values():
        reqs += [r for r in group if isinstance(r, str)]
    reqs += doc.get("build-system", {}).get("requires", [])
    poetry = doc.get("tool", {}).get("poetry", {})
    for table in (poetry.get("dependencies", {}), *(g.get("dependencies", {}) for g in poetry.get("group", {}).values())):
        reqs += list(table)
    return _text_findings(rel, text, [r for r in reqs if isinstance(r, str)], index)


def scan_setup_cfg(text: str, rel: str, index: _Index) -> list[Finding]:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(text)
    reqs: list[str] = []
    if cfg.has_option("options", "install_requires"):
        reqs += cfg.get("options", "install_requires").splitlines()
    if cfg.has_section("options.extras_require"):
        for _, value in cfg.items("options.extras_require"):
            reqs += value.splitlines()
    return _text_findings(rel, text, [r for r in reqs if r.strip()], index)


def scan_conda_env(text: str, rel: str, index: _Index) -> list[Finding]:
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("dependencies"), list):
        return []
    reqs: list[str] = []
    for dep in doc["dependencies"]:
        if isinstance(dep, str):
            reqs.append(re.split(r"[=<>! ]", dep.split("::")[-1], maxsplit=1)[0])  # conda spec: name=version
        elif isinstance(dep, dict) and isinstance(dep.get("pip"), list):
            reqs += [d for d in dep["pip"] if isinstance(d, str)]
    return _text_findings(rel, text, reqs, index)


def scan_shell(text: str, rel: str) -> list[Finding]:
    """Shell scripts: whole words, comments dropped (a '#' at a line start or after a blank)."""
    out = []
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = re.split(r"\s#", line, maxsplit=1)[0]
        seen: set[str] = set()
        for w in _SHELL_WORD.findall(line):
            word = w.rsplit("/", 1)[-1]
            if word in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"):
                hit = ("cuda-visible-devices", word)
            elif word == "nvidia-smi":
                hit = ("nvidia-smi", "nvidia-smi command")
            elif word == "torchrun" or w in ("torch.distributed.run", "torch.distributed.launch"):
                hit = ("launcher", w)
            elif _is_nccl_env(word):
                hit = ("nccl-env", word)
            elif _is_cuda_env(word):
                hit = ("cuda-env", word)
            else:
                continue
            if hit[0] not in seen:
                seen.add(hit[0])
                out.append(Finding(rel, i, 0, line[:CODE_CHARS], *hit))
    return out


def scan_cuda_source(text: str, rel: str) -> list[Finding]:
    """A .cu/.cuh file: one kernel finding per `__global__` function (line comments skipped)."""
    out = []
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if "__global__" in line and not line.startswith(("//", "*", "/*")):
            out.append(Finding(rel, i, 0, line[:CODE_CHARS], "custom-extension", "CUDA kernel (__global__)", kernel=True))
    if not out:  # headers and host code still tie the build to nvcc
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        out.append(Finding(rel, 1, 0, first[:CODE_CHARS], "custom-extension", "CUDA source file (no __global__ kernel)"))
    return out


# ---------------------------------------------------------------------------------- the tree walk
def _kind(name: str, parent: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".py"):
        return "python"
    if lower.endswith(_CUDA_SUFFIXES):
        return "cuda"
    if lower.endswith(_SHELL_SUFFIXES):
        return "shell"
    if lower == "pyproject.toml":
        return "pyproject"
    if lower == "setup.cfg":
        return "setup.cfg"
    if lower.endswith((".txt", ".in")) and ("requirements" in lower or "constraints" in lower
                                             or parent.lower() in ("requirements", "reqs")):
        return "requirements"
    if lower in ("environment.yml", "environment.yaml", "conda.yml", "conda.yaml"):
        return "conda"
    return None


def iter_files(root: Path, include_vendored: bool, result: ScanResult) -> Iterator[tuple[str, str, str]]:
    """(relative path, absolute path, kind) of every file worth reading, in a stable order.

    Symbolic links are never followed (a link could lead out of the root, or in a loop); they are
    reported as skipped, as are excluded folders.
    """
    stack = [("", str(root))]
    while stack:
        rel_dir, abs_dir = stack.pop()
        try:
            with os.scandir(abs_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            result.skipped.append(Problem(rel_dir or ".", f"cannot list folder: {exc.strerror or exc}"))
            continue
        subdirs = []
        for e in entries:
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            try:
                if e.is_symlink():
                    result.skipped.append(Problem(rel, "symbolic link (not followed)"))
                    continue
                if e.is_dir(follow_symlinks=False):
                    reason = None if include_vendored else _excluded_dir(e, top_level=not rel_dir)
                    if reason:
                        result.skipped.append(Problem(rel + "/", reason))
                    else:
                        subdirs.append((rel, e.path))
                    continue
                if not e.is_file(follow_symlinks=False):
                    continue
            except OSError as exc:
                result.skipped.append(Problem(rel, f"cannot stat: {exc.strerror or exc}"))
                continue
            kind = _kind(e.name, os.path.basename(abs_dir))
            if kind:
                yield rel, e.path, kind
        stack.extend(reversed(subdirs))


def _excluded_dir(entry: os.DirEntry[str], top_level: bool) -> str | None:
    name = entry.name
    if name.startswith("."):
        return "hidden folder (tooling, caches, virtualenvs)"
    if name.endswith(".egg-info") or name in EXCLUDED_DIRS or (top_level and name in TOP_LEVEL_EXCLUDED_DIRS):
        return "excluded folder (virtualenv, build output or vendored code; --include-vendored reads it)"
    if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")) or os.path.isdir(os.path.join(entry.path, "conda-meta")):
        return "virtual environment (--include-vendored reads it)"
    return None


def scan_file(rel: str, path: str, kind: str, index: _Index, max_bytes: int
              ) -> tuple[list[Finding], list[Problem], Problem | None, int]:
    """(findings, errors, skip reason, lines) for one file. Never raises for a bad file."""
    try:
        size = os.stat(path, follow_symlinks=False).st_size
        if size > max_bytes:
            return [], [], Problem(rel, f"larger than {max_bytes:,} bytes ({size:,}); not read (--max-file-bytes)"), 0
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return [], [], Problem(rel, f"cannot read: {exc.strerror or exc}"), 0
    if b"\x00" in data:
        return [], [], Problem(rel, "binary content (NUL bytes); not read"), 0
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    if kind == "python":
        findings, problems = scan_python(data, rel, index)
        return findings, problems, None, lines
    try:
        text = data.decode("utf-8")
        problems = []
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        problems = [Problem(rel, "not valid UTF-8; read as latin-1")]
    try:
        if kind == "cuda":
            findings = scan_cuda_source(text, rel)
        elif kind == "shell":
            findings = scan_shell(text, rel)
        elif kind == "requirements":
            findings = scan_requirements(text, rel, index)
        elif kind == "pyproject":
            findings = scan_pyproject(text, rel, index)
        elif kind == "setup.cfg":
            findings = scan_setup_cfg(text, rel, index)
        else:
            findings = scan_conda_env(text, rel, index)
    except (tomllib.TOMLDecodeError, configparser.Error, yaml.YAMLError, AttributeError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [], [*problems, Problem(rel, f"cannot parse {kind} file: {first}")], None, lines
    return findings, problems, None, lines


def local_packages(python_paths: Iterable[str]) -> set[str]:
    """Names the tree's own code is imported by: top-level modules and packages, also under src/."""
    names = set()
    for rel in python_paths:
        parts = rel.split("/")
        if parts[0] == "src" and len(parts) > 1:
            parts = parts[1:]
        name = parts[0][:-3] if len(parts) == 1 else parts[0]
        if name.isidentifier():
            names.add(name)
    return names


def scan_tree(root: str | Path, *, include_vendored: bool = False, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
              mapping: Mapping | None = None) -> ScanResult:
    """Scan a folder (or one file). Reads files only: nothing under `root` is imported or run."""
    root_path = Path(root)
    if not root_path.exists():
        from accelplan.errors import AccelplanError

        raise AccelplanError(f"PATH '{root}' does not exist")
    index = _Index(mapping or load_mapping())
    result = ScanResult(root=str(root_path))
    if root_path.is_file():
        kind = _kind(root_path.name, root_path.parent.name) or "python"
        files: Iterable[tuple[str, str, str]] = [(root_path.name, str(root_path), kind)]
    else:
        files = list(iter_files(root_path.resolve(), include_vendored, result))
        index.set_local_packages(local_packages(rel for rel, _, kind in files if kind == "python"))
    for rel, path, kind in files:
        findings, problems, skipped, lines = scan_file(rel, path, kind, index, max_file_bytes)
        if skipped:
            result.skipped.append(skipped)
            continue
        result.files_scanned += 1
        result.lines_scanned += lines
        result.files_by_kind[kind] = result.files_by_kind.get(kind, 0) + 1
        result.findings.extend(findings)
        result.errors.extend(problems)
    result.findings.sort(key=lambda f: (f.path, f.line, f.col, f.row))
    return result
