"""The Python pass: one `ast.parse` and one walk per file.

Dotted names are resolved through the file's import aliases (`import torch as t; t.cuda.synchronize()`,
`from torch import cuda`) and matched against the mapping rows' `names`, longest prefix first. Other
rules look at the shape of the code: string constants that name a device or backend ('cuda:0' anywhere;
'cuda' and 'nccl' only where their position says so: `device=`, `.to(...)`, `backend=`, `device = ...`),
comparisons with them, `.cuda()` calls, `@triton.jit` functions. Comments never reach the AST and bare
string statements (docstrings) are skipped, so prose that mentions CUDA is not a finding. Nothing is
imported or run.

A file whose syntax tree would not fit the memory budget is not parsed (see AST_BYTES_PER_TOKEN).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accelplan.port.rules import (
    CODE_CHARS,
    TORCH_ARGUMENT,
    Finding,
    NameIndex,
    NotScanned,
    Problem,
    call_role,
    is_cuda_device,
    is_nccl_backend,
    requirement_row,
    role_of,
    string_row,
)

_AUTOCAST_NAMES = frozenset({"autocast", "GradScaler"})
_FP64_NAMES = frozenset({"torch.float64", "torch.double"})
_IMPORT_GUARDS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_DEFAULT_GETTERS = frozenset({"get", "getenv", "pop", "setdefault"})  # device = os.environ.get("DEVICE", "cuda")
_OPTION_DEFAULTS = ("default", "const", "choices")  # parser.add_argument("--device", default="cuda")

# ast.parse holds the whole syntax tree in memory. Measured on CPython 3.11 with 2-4 MiB files, peak memory
# per token (a name, number or punctuation mark) was 490 (`x = [0, 0, ...]`) to 922 bytes (`a\na\n...`, one
# statement per name); ordinary code, 500. A file is parsed only if its tokens times AST_BYTES_PER_TOKEN fit
# AST_MEMORY_BUDGET_BYTES, which keeps the audit of any file under about 500 MB (the process itself is ~40 MB).
AST_BYTES_PER_TOKEN = 1024
AST_MEMORY_BUDGET_BYTES = 384 * 2**20
MAX_TOKENS = AST_MEMORY_BUDGET_BYTES // AST_BYTES_PER_TOKEN
# an upper bound on Python tokens: every run of word characters, every other visible character, every newline
_TOKEN = re.compile(rb"\w+|[^\s\w]|\n")


class _PythonScan:
    """One pass over one module's AST. Iterative (an explicit stack), so deep nesting cannot overflow."""

    def __init__(self, index: NameIndex, is_setup_py: bool):
        self.index = index
        self.is_setup_py = is_setup_py
        self.alias: dict[str, str] = {"torch": "torch"}  # `torch` is torch even behind a star import
        self.hits: dict[tuple[int, str], tuple[int, str, bool]] = {}  # (line, row) -> (col, detail, kernel)
        self.consumed: set[int] = set()  # ids of nodes already reported by their parent's rule
        self.requirements: list[tuple[int, str]] = []  # (line, requirement string) from setup(...)
        self.guarded = 0  # depth of `try:` bodies that catch ImportError: optional imports say so
        self.roles: dict[int, str] = {}  # id(node) -> DEVICE, BACKEND or TORCH_ARGUMENT: what its place says

    def add(self, node: ast.AST | _At, row: str, detail: str = "", kernel: bool = False) -> None:
        key = (node.lineno, row)  # type: ignore[union-attr]
        old = self.hits.get(key)
        if old is None:
            self.hits[key] = (node.col_offset, detail, kernel)  # type: ignore[union-attr]
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
        handlers: dict[type, Callable[[Any], list[ast.AST] | None]] = {
            ast.Import: self._import, ast.ImportFrom: self._import_from, ast.Attribute: self._attribute,
            ast.Name: self._name, ast.Call: self._call, ast.Constant: self._constant, ast.Compare: self._compare,
            ast.Expr: self._expr, ast.JoinedStr: self._joined_str, ast.FunctionDef: self._function,
            ast.AsyncFunctionDef: self._function, ast.Try: self._try, ast.MatchValue: self._match_value,
            ast.Assign: self._assign, ast.AnnAssign: self._ann_assign, ast.Dict: self._dict,
            ast.IfExp: self._pass_role, ast.BoolOp: self._pass_role, ast.Tuple: self._pass_role,
            ast.List: self._pass_role, ast.Set: self._pass_role, ast.Subscript: self._subscript,
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
            if row and qual and self.index.report_uses[row]:
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
            if row and qual and self.index.report_uses[row]:
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
                if type(arg) is ast.Constant and type(arg.value) is str and is_cuda_device(arg.value):
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
        if node.args or node.keywords:
            self._call_roles(node, fname, self.resolve(func))
        children.extend(node.args)
        children.extend(k.value for k in node.keywords)
        return children

    def _call_roles(self, node: ast.Call, fname: str, qualname: str | None) -> None:
        """Roles of the call's arguments: positional ones by the function (`.to('cuda')`), keywords by their name
        (`backend='nccl'`), a getter's default by its key or by where the value goes (`device = d.get(k, 'cuda')`),
        an option's default by the option's name (`add_argument('--device', default='cuda')`), and any argument
        of a torch API (`torch.cuda.get_rng_state('cuda')`, `DeviceMesh.from_group(pg, 'cuda')`)."""
        first = node.args[0] if node.args else None
        key = first.value if type(first) is ast.Constant and type(first.value) is str else None
        named = role_of(key)
        torch_api = TORCH_ARGUMENT if qualname is not None and qualname.startswith("torch.") else None
        positional = call_role(fname) or torch_api
        if positional:
            for a in node.args:
                self.mark(a, positional)
        elif fname in _DEFAULT_GETTERS:  # by the key's name or by the place the value goes
            for a in node.args[1:]:
                self.mark(a, named or self.roles.get(id(node)))
        option = named if key and key.startswith("-") else None
        for k in node.keywords:
            self.mark(k.value, role_of(k.arg) or (option if k.arg in _OPTION_DEFAULTS else None) or torch_api)

    def mark(self, node: ast.AST | None, role: str | None) -> None:
        if role and node is not None:
            self.roles[id(node)] = role

    def _fp64_on_device(self, node: ast.Call) -> None:
        dtype = device = None
        for k in node.keywords:
            if k.arg == "dtype":
                dtype = k.value
            elif k.arg == "device":
                device = k.value
        if dtype is None or device is None:
            return
        if (type(device) is ast.Constant and type(device.value) is str and is_cuda_device(device.value)
                and self.resolve(dtype) in _FP64_NAMES):
            self.add(node, "fp64-on-device", "float64 tensor on the CUDA device")
            self.consumed.add(id(dtype))

    # -- strings
    def _constant(self, node: ast.Constant) -> None:
        v = node.value
        if type(v) is str and 3 < len(v) < 120 and id(node) not in self.consumed:
            hit = string_row(v, self.roles.get(id(node)))
            if hit:
                self.add(node, *hit)

    # -- positions that say what a string names: `device = ...`, {"backend": ...}, and what passes a role on
    def _assign(self, node: ast.Assign) -> list[ast.AST]:
        for t in node.targets:
            if type(t) is ast.Tuple and type(node.value) is ast.Tuple and len(t.elts) == len(node.value.elts):
                for te, ve in zip(t.elts, node.value.elts, strict=True):  # device, backend = "cuda", "nccl"
                    self.mark(ve, role_of(_target_name(te)))
            else:
                self.mark(node.value, role_of(_target_name(t)))
        return [*node.targets, node.value]

    def _ann_assign(self, node: ast.AnnAssign) -> list[ast.AST]:
        role = role_of(_target_name(node.target))
        self.mark(node.value, role)
        self.mark(node.annotation, role)  # backend: Literal["nccl", "gloo"]: the values it accepts
        return [node.target, node.annotation, *([node.value] if node.value else [])]

    def _dict(self, node: ast.Dict) -> list[ast.AST]:
        for k, v in zip(node.keys, node.values, strict=True):
            if type(k) is ast.Constant and type(k.value) is str:
                self.mark(v, role_of(k.value))
        return [*(k for k in node.keys if k is not None), *node.values]

    def _subscript(self, node: ast.Subscript) -> list[ast.AST]:
        """`Optional[Literal["nccl", "ucc"]]` in a backend's annotation or alias: the index takes the role."""
        self.mark(node.slice, self.roles.get(id(node)))
        return [node.value, node.slice]

    def _pass_role(self, node: ast.IfExp | ast.BoolOp | ast.Tuple | ast.List | ast.Set) -> list[ast.AST]:
        """`"cuda" if ok else "cpu"`, `args.device or "cuda"`, `("cuda", "cpu")` take the role of their place."""
        children = _children(node)
        role = self.roles.get(id(node))
        if role:
            for c in children:
                if c is not getattr(node, "test", None):
                    self.mark(c, role)
        return children

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
            if is_cuda_device(c.value):
                self.add(c, "device-compare", f"compared with '{c.value}'")
                self.consumed.add(id(c))
            elif is_nccl_backend(c.value):
                self.add(c, "nccl-compare", f"compared with '{c.value}'")
                self.consumed.add(id(c))

    # -- Triton kernels: one finding per @triton.jit function
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
        for dec in node.decorator_list:
            target = dec.func if type(dec) is ast.Call else dec
            if self.resolve(target) in ("triton.jit", "triton.autotune", "triton.heuristics"):
                self.add(node, "triton-kernel", f"Triton kernel {node.name}()", kernel=True)
                break
        a = node.args
        params = [*a.posonlyargs, *a.args]
        for p, d in [*zip(params[len(params) - len(a.defaults):], a.defaults, strict=True),
                     *zip(a.kwonlyargs, a.kw_defaults, strict=True)]:
            self.mark(d, role_of(p.arg))  # def init(backend="nccl", device: str = "cuda")
        for p in [*params, *a.kwonlyargs]:
            self.mark(p.annotation, role_of(p.arg))  # accelerator: Literal["cpu", "cuda"]
        returns = role_of(node.name)
        if returns:  # def default_device(): return "cuda" if ... else "cpu"
            for n in ast.walk(node):
                if type(n) is ast.Return:
                    self.mark(n.value, returns)
        return _children(node)


@dataclass(slots=True)
class _At:
    """A position that is not a node's start."""

    lineno: int
    col_offset: int


def _target_name(node: ast.AST) -> str | None:
    """The name an assignment target gives its value: `device`, `self.device`, `cfg["device"]`."""
    if type(node) is ast.Name:
        return node.id
    if type(node) is ast.Attribute:
        return node.attr
    if type(node) is ast.Subscript and type(node.slice) is ast.Constant and type(node.slice.value) is str:
        return node.slice.value
    return None


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


def count_tokens(data: bytes, limit: int) -> int:
    """Tokens in DATA, an upper bound that never undercounts Python's own; counting stops past LIMIT."""
    if len(data) <= limit:  # a token is at least one byte
        return len(data)
    n = 0
    for _ in _TOKEN.finditer(data):
        n += 1
        if n > limit:
            break
    return n


def scan_python(data: bytes, rel: str, index: NameIndex) -> tuple[list[Finding], list[Problem]]:
    """Findings in one Python source (bytes as read), and the caveats of a file read with one (latin-1).
    Raises NotScanned for a file that cannot be understood: a syntax error, nesting, a syntax tree too big."""
    if count_tokens(data, MAX_TOKENS) > MAX_TOKENS:
        raise NotScanned(f"more than {MAX_TOKENS:,} tokens: its syntax tree would need over "
                         f"{AST_MEMORY_BUDGET_BYTES // 2**20} MiB (generated or minified code?)")
    try:
        tree, problems = _parse(data, rel)
    except (RecursionError, MemoryError) as exc:
        raise NotScanned(f"too deeply nested or too big to parse ({type(exc).__name__})") from None
    scan = _PythonScan(index, is_setup_py=rel.rsplit("/", 1)[-1] == "setup.py")
    scan.run(tree)
    lines = data.splitlines() if scan.hits or scan.requirements else []
    findings = [Finding(rel, line, col, _line(lines, line), row, detail, kernel)
                for (line, row), (col, detail, kernel) in scan.hits.items()]
    for line, req in scan.requirements:
        hit = requirement_row(req, index)
        if hit:
            findings.append(Finding(rel, line, 0, _line(lines, line), hit[0], hit[1]))
    return findings, problems


def _parse(data: bytes, rel: str) -> tuple[ast.Module, list[Problem]]:
    """The module's AST, read as latin-1 (with that caveat) if it is not valid in its declared encoding."""
    try:
        return ast.parse(data, filename=rel), []
    except (SyntaxError, ValueError) as exc:
        if "codec" not in str(exc):  # "(unicode error) 'utf-8' codec can't decode byte ..." is an encoding problem
            where = f" at line {exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else ""
            msg = exc.msg if isinstance(exc, SyntaxError) else str(exc)
            raise NotScanned(f"syntax error{where}: {msg}") from None
    # latin-1 decodes any byte, so a file that is not valid UTF-8 (or its declared encoding) is read that way
    try:
        tree = ast.parse(data.decode("latin-1"), filename=rel)
    except (SyntaxError, ValueError) as exc:
        raise NotScanned(f"not valid UTF-8 and not parseable as latin-1 ({exc})") from None
    return tree, [Problem(rel, "not valid UTF-8 (or its declared encoding); scanned as latin-1")]
