"""Walk a source tree and hand each file to its reader, without running or importing any of it.

Python files go to the one-pass AST reader (pysource); requirements, pyproject.toml, setup.cfg, conda
environments, shell scripts and CUDA sources to theirs (otherfiles). Virtualenvs, vendored and hidden
folders are skipped unless asked for, symbolic links are never followed, and a file that cannot be
read or parsed is reported, never fatal: it is listed as skipped (not read) or not scanned (read, not
understood), and nothing from it is counted. A tree in which no file could be scanned is an error, not
an audit of nothing.
"""

from __future__ import annotations

import configparser
import os
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from accelplan.errors import AccelplanError
from accelplan.port import otherfiles
from accelplan.port.mappings import Mapping, load_mapping
from accelplan.port.pysource import scan_python
from accelplan.port.rules import CUDA_SUFFIXES, Finding, NameIndex, NotScanned, Problem

# Folders skipped unless --include-vendored: version control, caches, virtual environments (also any
# folder holding pyvenv.cfg or conda-meta/), installed packages and vendored third-party code.
EXCLUDED_DIRS = frozenset({
    "__pycache__", "site-packages", "dist-packages", "node_modules", "venv", "virtualenv", "env",
    "third_party", "third-party", "thirdparty", "3rdparty", "vendor", "vendored", "_vendor", "externals",
})
TOP_LEVEL_EXCLUDED_DIRS = frozenset({"build", "dist"})  # setuptools output: copies of the package itself
DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024  # larger files are reported, not read (generated code, data)

_SHELL_SUFFIXES = (".sh", ".bash", ".zsh")
_READERS = {  # kind -> reader of the decoded text
    "cuda": lambda text, rel, index: otherfiles.scan_cuda_source(text, rel),
    "shell": lambda text, rel, index: otherfiles.scan_shell(text, rel),
    "requirements": otherfiles.scan_requirements,
    "pyproject": otherfiles.scan_pyproject,
    "setup.cfg": otherfiles.scan_setup_cfg,
    "conda": otherfiles.scan_conda_env,
}


@dataclass
class ScanResult:
    root: str
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    lines_scanned: int = 0
    files_by_kind: dict[str, int] = field(default_factory=dict)
    skipped: list[Problem] = field(default_factory=list)  # not read: excluded folder, symlink, huge, binary
    not_scanned: list[Problem] = field(default_factory=list)  # read, not understood: syntax, nesting, size
    errors: list[Problem] = field(default_factory=list)  # scanned with a caveat: read as latin-1


@dataclass
class FileScan:
    """What one file gave: findings and caveats, or why it was skipped (not read) or not scanned."""

    findings: list[Finding] = field(default_factory=list)
    caveats: list[Problem] = field(default_factory=list)
    skipped: Problem | None = None
    not_scanned: Problem | None = None
    lines: int = 0


def _kind(name: str, parent: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".py"):
        return "python"
    if lower.endswith(CUDA_SUFFIXES):
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


def scan_file(rel: str, path: str, kind: str, index: NameIndex, max_bytes: int) -> FileScan:
    """One file, read once and handed to its reader. Never raises for a bad file."""
    try:
        size = os.stat(path, follow_symlinks=False).st_size
        if size > max_bytes:
            return FileScan(skipped=Problem(rel, f"larger than {max_bytes:,} bytes ({size:,}); not read (--max-file-bytes)"))
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return FileScan(skipped=Problem(rel, f"cannot read: {exc.strerror or exc}"))
    if b"\x00" in data:
        return FileScan(skipped=Problem(rel, "binary content (NUL bytes); not read"))
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    try:
        if kind == "python":
            findings, caveats = scan_python(data, rel, index)
            return FileScan(findings, caveats, lines=lines)
        try:
            text = data.decode("utf-8")
            caveats = []
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            caveats = [Problem(rel, "not valid UTF-8; read as latin-1")]
        return FileScan(_READERS[kind](text, rel, index), caveats, lines=lines)
    except NotScanned as exc:
        return FileScan(not_scanned=Problem(rel, str(exc)))
    except (tomllib.TOMLDecodeError, configparser.Error, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return FileScan(not_scanned=Problem(rel, f"cannot parse {kind} file: {first}"))
    except RecursionError:  # a parser of ours or a library's that recurses on nesting: the file, not the audit
        return FileScan(not_scanned=Problem(rel, f"cannot parse {kind} file: nested too deeply"))


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
    """Scan a folder (or one file). Reads files only: nothing under `root` is imported or run.

    Raises AccelplanError for an empty or missing PATH, and for a tree in which no file could be scanned."""
    if str(root).strip() == "":
        raise AccelplanError("PATH '': an empty path names nothing; give a folder or a file to audit")
    root_path = Path(root).expanduser()
    if not root_path.exists():
        raise AccelplanError(f"PATH '{root}' does not exist; give a folder or a file to audit")
    if not root_path.is_dir() and not root_path.is_file():
        raise AccelplanError(f"PATH '{root}' is neither a folder nor a regular file (a device, a pipe?)")
    index = NameIndex(mapping or load_mapping())
    result = ScanResult(root=str(root_path))
    if root_path.is_file():
        kind = _kind(root_path.name, root_path.parent.name) or "python"
        files: Iterable[tuple[str, str, str]] = [(root_path.name, str(root_path), kind)]
    else:
        files = list(iter_files(root_path.resolve(), include_vendored, result))
        index.set_local_packages(local_packages(rel for rel, _, kind in files if kind == "python"))
    for rel, path, kind in files:
        one = scan_file(rel, path, kind, index, max_file_bytes)
        if one.skipped:
            result.skipped.append(one.skipped)
        elif one.not_scanned:
            result.not_scanned.append(one.not_scanned)
        else:
            result.files_scanned += 1
            result.lines_scanned += one.lines
            result.files_by_kind[kind] = result.files_by_kind.get(kind, 0) + 1
            result.findings.extend(one.findings)
            result.errors.extend(one.caveats)
    if result.files_scanned == 0:
        raise AccelplanError(f"PATH '{root}': {_nothing_scanned(result)}")
    result.findings.sort(key=lambda f: (f.path, f.line, f.col, f.row))
    return result


def _nothing_scanned(result: ScanResult) -> str:
    """Why an audit of this tree would be empty, in one line."""
    why = "no file could be scanned"
    if not result.not_scanned and not result.skipped:
        why = ("holds no file the audit reads (*.py, *.cu, *.cuh, *.sh, requirements*.txt, pyproject.toml, "
               "setup.cfg, environment.yml)")
    for label, problems in (("not scanned", result.not_scanned), ("skipped", result.skipped)):
        if problems:
            why += f"; {len(problems):,} {label}, e.g. {problems[0].path}: {problems[0].reason}"
    return why
