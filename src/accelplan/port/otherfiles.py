"""Files other than Python: requirements, pyproject.toml, setup.cfg and conda environments (for
CUDA-bound distributions), shell scripts (CUDA_VISIBLE_DEVICES, nvidia-smi, torchrun, NCCL_* words)
and CUDA sources (one kernel finding per `__global__` function).

Every reader is linear in the file: a requirement is located through an index of the file's lines built
in one pass, and a conda file is read from the YAML parser's event stream (no document tree, no recursion).
"""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import yaml

from accelplan.port.rules import (
    CODE_CHARS,
    CUDA_WHEEL,
    Finding,
    NameIndex,
    NotScanned,
    is_cuda_env,
    is_nccl_env,
    normalize_dist,
    requirement_row,
)

_SHELL_WORD = re.compile(r"[A-Za-z0-9_./-]+")
_REQ_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CONDA_VERSION = re.compile(r"[=<>! ]")  # name=version, name>=version, name 1.0
# libyaml's event parser where PyYAML has it, as accelplan.yamlio does for whole documents
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# a conda file nested deeper than this is not a conda environment (libyaml itself stops at 1,000 levels)
MAX_YAML_DEPTH = 64
# what may hold a requirement on a pyproject.toml line: a "basic" or 'literal' string, or a bare key
_TOML_STRING_OR_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_.-]+)')


class _Lines:
    """The lines of a file and, built in one pass, where each candidate text sits (requirement strings,
    bare keys), so that locating N requirements costs O(N), not O(N x lines)."""

    def __init__(self, text: str, candidates: Callable[[str], Iterable[str]]):
        self.lines = text.splitlines()
        self.exact: dict[str, list[int]] = {}
        for i, line in enumerate(self.lines, 1):
            for c in candidates(line):
                c = c.strip()
                if c:
                    self.exact.setdefault(c, []).append(i)
        self._by_name: dict[str, list[int]] | None = None  # built on the first requirement not found exactly
        self._next: dict[tuple[bool, str], int] = {}

    def by_name(self) -> dict[str, list[int]]:
        """Distribution name (normalised) -> lines of the candidates that start with it."""
        if self._by_name is None:
            self._by_name = {}
            for c, at in self.exact.items():
                m = _REQ_NAME.match(c)
                if m:
                    self._by_name.setdefault(normalize_dist(m.group()), []).extend(at)
            for at in self._by_name.values():
                at.sort()
        return self._by_name

    def locate(self, req: str) -> int:
        """The line of REQ's next occurrence (a requirement listed in two extras is found at each in turn),
        else the first line of a candidate that starts with its distribution name, else 1."""
        needle = req.strip()
        at = self.exact.get(needle)
        key = (True, needle)
        if not at:
            m = _REQ_NAME.match(needle)
            key = (False, normalize_dist(m.group()) if m else "")
            at = self.by_name().get(key[1])
        if not at:
            return 1
        k = self._next.get(key, 0)
        self._next[key] = k + 1
        return at[k] if k < len(at) else at[0]

    def code(self, lineno: int) -> str:
        return self.lines[lineno - 1].strip()[:CODE_CHARS] if 0 < lineno <= len(self.lines) else ""


def _findings(rel: str, located: Iterable[tuple[int, tuple[str, str]]], lines: _Lines) -> list[Finding]:
    """Findings for (line, (row, detail)) pairs; one per line and row."""
    out: dict[tuple[int, str], Finding] = {}
    for lineno, hit in located:
        if (lineno, hit[0]) not in out:
            out[(lineno, hit[0])] = Finding(rel, lineno, 0, lines.code(lineno), *hit)
    return list(out.values())


def _located(reqs: Iterable[str], lines: _Lines, index: NameIndex) -> Iterator[tuple[int, tuple[str, str]]]:
    for req in reqs:
        hit = requirement_row(req, index)
        if hit:  # only a finding needs a line
            yield lines.locate(req), hit


def scan_requirements(text: str, rel: str, index: NameIndex) -> list[Finding]:
    out = []
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):  # options: only an index URL can say "CUDA build"
            if CUDA_WHEEL.search(line):
                out.append(Finding(rel, i, 0, line[:CODE_CHARS], "cuda-wheels", "CUDA wheel index"))
            continue
        hit = requirement_row(line, index)
        if hit:
            out.append(Finding(rel, i, 0, line[:CODE_CHARS], *hit))
    return out


def _table(v: object) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _strings(v: object) -> list[str]:
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def _toml_candidates(line: str) -> Iterator[str]:
    for m in _TOML_STRING_OR_KEY.finditer(line):
        basic, literal, key = m.groups()
        if key is None:
            yield basic if basic is not None else literal
        else:  # a bare key, or a dotted one: [tool.poetry.dependencies.flash-attn]
            yield key
            if "." in key:
                yield from key.split(".")


def scan_pyproject(text: str, rel: str, index: NameIndex) -> list[Finding]:
    try:
        doc = tomllib.loads(text)
    except RecursionError:  # tomllib is recursive: arrays nested a few hundred deep exhaust the stack
        raise NotScanned("cannot parse pyproject file: nested too deeply") from None
    project = _table(doc.get("project"))
    reqs = _strings(project.get("dependencies"))
    for group in _table(project.get("optional-dependencies")).values():
        reqs += _strings(group)
    for group in _table(doc.get("dependency-groups")).values():
        reqs += _strings(group)
    reqs += _strings(_table(doc.get("build-system")).get("requires"))
    poetry = _table(_table(doc.get("tool")).get("poetry"))
    for group in [poetry, *_table(poetry.get("group")).values()]:
        reqs += list(_table(_table(group).get("dependencies")))
    lines = _Lines(text, _toml_candidates)
    return _findings(rel, _located(reqs, lines, index), lines)


def _cfg_candidates(line: str) -> Iterator[str]:
    yield line  # a continuation line of install_requires / an extra
    for sep in "=:":
        if sep in line:
            yield line.split(sep, 1)[1]  # the first value, after `install_requires =`


def scan_setup_cfg(text: str, rel: str, index: NameIndex) -> list[Finding]:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(text)
    reqs: list[str] = []
    if cfg.has_option("options", "install_requires"):
        reqs += cfg.get("options", "install_requires").splitlines()
    if cfg.has_section("options.extras_require"):
        for _, value in cfg.items("options.extras_require"):
            reqs += value.splitlines()
    lines = _Lines(text, _cfg_candidates)
    return _findings(rel, _located([r for r in reqs if r.strip()], lines, index), lines)


def scan_conda_env(text: str, rel: str, index: NameIndex) -> list[Finding]:
    """`dependencies:` of a conda environment: conda specs (name=version) and the `pip:` list, each at the
    line the YAML parser saw it on."""
    located = []
    for lineno, value, pip in conda_dependencies(text):
        # a conda spec is channel::name=version; a pip entry is a requirement line
        hit = requirement_row(value if pip else _CONDA_VERSION.split(value.split("::")[-1], maxsplit=1)[0], index)
        if hit:
            located.append((lineno, hit))
    return _findings(rel, located, _Lines(text, lambda line: ()))


class _Open:
    """A mapping or sequence the event stream has opened: its path from the root, the key awaited or just
    read (mappings) or the index of the next item (sequences). A path of None marks a complex key's insides."""

    __slots__ = ("path", "is_map", "is_key", "key", "awaiting_key", "index")

    def __init__(self, path: tuple[Any, ...] | None, is_map: bool, is_key: bool = False):
        self.path, self.is_map, self.is_key = path, is_map, is_key
        self.key: str | None = None
        self.awaiting_key = True
        self.index = 0

    def child_path(self) -> tuple[Any, ...] | None:
        if self.path is None:
            return None
        return (*self.path, self.key if self.is_map else self.index)

    def done_with_child(self) -> None:
        if self.is_map:
            self.awaiting_key = True
        else:
            self.index += 1


def conda_dependencies(text: str) -> Iterator[tuple[int, str, bool]]:
    """(line, value, is_pip) of each string item of the top-level `dependencies:` list and of its `pip:` list.

    Read from the parser's events with a stack of open containers: memory stays flat on a large file and
    nesting cannot recurse; deeper than MAX_YAML_DEPTH is refused. Aliases are not followed."""
    stack: list[_Open] = []
    for ev in yaml.parse(text, Loader=_YAML_LOADER):
        if isinstance(ev, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            closed = stack.pop()
            if stack and not closed.is_key:  # after a complex key, its mapping awaits the value
                stack[-1].done_with_child()
            continue
        if not isinstance(ev, yaml.NodeEvent):  # stream and document boundaries
            continue
        parent = stack[-1] if stack else None
        is_key = parent is not None and parent.is_map and parent.awaiting_key
        if isinstance(ev, yaml.CollectionStartEvent):
            if len(stack) >= MAX_YAML_DEPTH:
                raise NotScanned(f"cannot parse conda file: nested deeper than {MAX_YAML_DEPTH} levels")
            if parent is not None and is_key:  # a complex key: its insides are not followed
                parent.awaiting_key, parent.key = False, None
                stack.append(_Open(None, isinstance(ev, yaml.MappingStartEvent), is_key=True))
            else:
                stack.append(_Open(() if parent is None else parent.child_path(), isinstance(ev, yaml.MappingStartEvent)))
            continue
        value = ev.value if isinstance(ev, yaml.ScalarEvent) else None  # an alias has none
        if parent is None:
            continue
        if is_key:
            parent.awaiting_key, parent.key = False, value
            continue
        path = parent.child_path()
        parent.done_with_child()
        if value is None or path is None or len(path) < 2 or path[0] != "dependencies" or not isinstance(path[1], int):
            continue
        line = ev.start_mark.line + 1 if ev.start_mark else 1
        if len(path) == 2:
            yield line, value, False
        elif len(path) == 4 and path[2] == "pip" and isinstance(path[3], int):
            yield line, value, True


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
            elif is_nccl_env(word):
                hit = ("nccl-env", word)
            elif is_cuda_env(word):
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
