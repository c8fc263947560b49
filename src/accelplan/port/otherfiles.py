"""Files other than Python: requirements, pyproject.toml, setup.cfg and conda environments (for
CUDA-bound distributions), shell scripts (CUDA_VISIBLE_DEVICES, nvidia-smi, torchrun, NCCL_* words)
and CUDA sources (one kernel finding per `__global__` function).
"""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Iterable

from accelplan import yamlio
from accelplan.port.rules import CODE_CHARS, CUDA_WHEEL, Finding, NameIndex, is_cuda_env, is_nccl_env, requirement_row

_SHELL_WORD = re.compile(r"[A-Za-z0-9_./-]+")


def _text_findings(rel: str, text: str, reqs: Iterable[str], index: NameIndex) -> list[Finding]:
    """Findings for requirement strings, located at the first line that contains each."""
    lines = text.splitlines()
    out: dict[tuple[int, str], Finding] = {}
    last: dict[str, int] = {}  # a requirement listed in two extras is found at its next occurrence each time
    for req in reqs:
        hit = requirement_row(req, index)
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


def scan_pyproject(text: str, rel: str, index: NameIndex) -> list[Finding]:
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


def scan_setup_cfg(text: str, rel: str, index: NameIndex) -> list[Finding]:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(text)
    reqs: list[str] = []
    if cfg.has_option("options", "install_requires"):
        reqs += cfg.get("options", "install_requires").splitlines()
    if cfg.has_section("options.extras_require"):
        for _, value in cfg.items("options.extras_require"):
            reqs += value.splitlines()
    return _text_findings(rel, text, [r for r in reqs if r.strip()], index)


def scan_conda_env(text: str, rel: str, index: NameIndex) -> list[Finding]:
    doc = yamlio.safe_load(text)
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
