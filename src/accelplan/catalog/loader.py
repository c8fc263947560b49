"""Load and validate the catalog: shipped YAML plus the user's own directories.

User directories come from `--catalog DIR` or the ACCELPLAN_CATALOG environment variable
(os.pathsep-separated). A user directory may hold `chips/`, `systems/`, `models/`, `stacks/` and `workloads/`
(training programmes) subfolders, or YAML files directly, told apart by their keys. A user entry with the id of a
shipped one replaces it.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from accelplan import paths, yamlio
from accelplan.catalog.refusal import explain
from accelplan.catalog.schema import Chip, Confidence, ModelSpec, Source, System, WorkloadSpec
from accelplan.catalog.stack import Stack
from accelplan.errors import CatalogError, UnknownIdError

DATA = Path(__file__).parent / "data"
ENV_VAR = "ACCELPLAN_CATALOG"
_KINDS: dict[str, type[BaseModel]] = {"chips": Chip, "systems": System, "models": ModelSpec, "stacks": Stack,
                                      "workloads": WorkloadSpec}


@dataclass
class Catalog:
    chips: dict[str, Chip] = field(default_factory=dict)
    systems: dict[str, System] = field(default_factory=dict)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    stacks: dict[str, Stack] = field(default_factory=dict)
    workloads: dict[str, WorkloadSpec] = field(default_factory=dict)  # training programmes (phases), e.g. openpangu-2.0
    chip_alias: dict[str, str] = field(default_factory=dict)
    stack_alias: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # "chips/h100-sxm" -> file it came from

    def chip(self, chip_id: str) -> Chip:
        key = chip_id.strip().lower()
        cid = self.chip_alias.get(key, key)
        if cid not in self.chips:
            raise UnknownIdError("chip", chip_id, [*self.chips, *self.chip_alias])
        return self.chips[cid]

    def system(self, system_id: str) -> System:
        if system_id not in self.systems:
            raise UnknownIdError("system", system_id, self.systems)
        return self.systems[system_id]

    def default_system(self, chip: Chip | str) -> System:
        c = self.chip(chip) if isinstance(chip, str) else chip
        for s in self.systems.values():
            if c.id in s.default_for:
                return s
        raise CatalogError("catalog", c.id, "default_for", "no system names this chip in default_for")

    def stack(self, stack_id: str) -> Stack:
        key = stack_id.strip().lower()
        sid = self.stack_alias.get(key, key)
        if sid not in self.stacks:
            raise UnknownIdError("stack", stack_id, [*self.stacks, *self.stack_alias])
        return self.stacks[sid]

    def default_stack(self, chip: Chip) -> Stack:
        """The stack assumed for a chip when a request names none: the one whose `default_for` lists its runtime."""
        for st in self.stacks.values():
            if chip.runtime in st.default_for:
                return st
        raise CatalogError("catalog", chip.id, "runtime", f"no stack names runtime '{chip.runtime}' in default_for")

    def resolve_stack(self, chip: Chip, stack_id: str | None = None, version: str | None = None) -> tuple[Stack, str]:
        """The stack a request runs on, at the release it names, with a note that says which and why."""
        if stack_id is None:
            st = self.default_stack(chip)
            resolved, why = st.at_release(version)
            return (resolved.on_runtime(chip.runtime),
                    f"stack: {why}; none was named, so the default for {chip.runtime} devices is assumed")
        st = self.stack(stack_id)
        if chip.runtime not in st.runtimes:
            raise CatalogError("catalog", st.id, "runtimes",
                               f"does not run on {chip.id} ({chip.runtime}); it runs on {', '.join(st.runtimes)}")
        resolved, why = st.at_release(version)
        note = f"stack: {why}" + (f"; its {chip.runtime} properties" if chip.runtime in st.by_runtime else "")
        return resolved.on_runtime(chip.runtime), note

    def model(self, model_id: str) -> ModelSpec:
        if model_id in self.models:
            return self.models[model_id]
        p = Path(model_id)
        if p.suffix in (".json", ".yaml", ".yml") or p.exists():
            return load_model_file(p)
        raise UnknownIdError("model", model_id, self.models)


    def workload(self, workload_id: str) -> WorkloadSpec:
        """A workload preset, or a workload YAML file (model, precision and phases; docs/inputs.md)."""
        if workload_id in self.workloads:
            return self.workloads[workload_id]
        p = Path(workload_id)
        if p.suffix in (".yaml", ".yml") or p.exists():
            entry = _parse("workloads", _read_yaml(p, "workload file"), p)
            assert isinstance(entry, WorkloadSpec)
            return entry
        raise UnknownIdError("workload", workload_id, self.workloads)


def _parse(kind: str, data: Any, file: Path) -> BaseModel:
    if data is None:
        raise CatalogError(str(file), None, None, f"the file is empty; expected one {kind[:-1]}")
    if not isinstance(data, dict):
        raise CatalogError(str(file), None, None, f"expected a mapping for one {kind[:-1]}, got {type(data).__name__}")
    model = _KINDS[kind]
    try:
        return model.model_validate(data)
    except ValidationError as err:
        loc, msg = explain(err, model)
        raise CatalogError(str(file), str(data.get("id", "?"))[:80], loc or None, msg) from None


def _guess_kind(data: dict) -> str | None:
    if "peak_tflops" in data:
        return "chips"
    if "levels" in data:
        return "systems"
    if "layers" in data and "hidden" in data:
        return "models"
    if "overlap" in data and "kernels" in data:
        return "stacks"
    if "phases" in data:
        return "workloads"
    return None


def _read_yaml(file: Path, what: str = "catalog file") -> Any:
    """The YAML in a catalog or model file; one-line CatalogError for a file that cannot be read or is refused."""
    text = paths.read_text(file, what)
    try:
        return yamlio.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(str(file), None, None, yamlio.describe(exc)) from None


def read_entry(file: Path, kind: str | None = None) -> tuple[str, BaseModel]:
    """(kind, entry) of one catalog file: a chip, system, model or stack, told apart by its keys where `kind` is
    None. Raises a one-line AccelplanError naming the file (and the entry and field, where the file parses)."""
    data = _read_yaml(file)
    if kind is None:
        kind = _guess_kind(data) if isinstance(data, dict) else None
        if kind is None:
            raise CatalogError(str(file), None, None,
                               "cannot tell whether this is a chip (peak_tflops), system (levels), model (layers), "
                               "stack (overlap, kernels) or workload (phases)")
    return kind, _parse(kind, data, file)


def _load_dir(cat: Catalog, root: Path, user: dict[str, str] | None = None) -> int:
    """Add the entries under ROOT; returns how many files it read. USER (for directories the user names) maps
    'kind/id' to the file that defined it, so one id defined twice among them is refused, not silently replaced
    (replacing a shipped entry is what a user catalog is for)."""
    n = 0
    for kind in _KINDS:
        sub = root / kind
        files = sorted(sub.glob("*.y*ml")) if sub.is_dir() else []
        for f in files:
            _add(cat, kind, read_entry(f, kind)[1], f, user)
            n += 1
    for f in sorted(root.glob("*.y*ml")):
        found, entry = read_entry(f)
        _add(cat, found, entry, f, user)
        n += 1
    return n


def _add(cat: Catalog, kind: str, obj: Any, file: Path, user: dict[str, str] | None = None) -> None:
    if user is not None:
        key = f"{kind}/{obj.id}"
        if key in user:
            raise CatalogError(str(file), obj.id, "id", f"also defined in {user[key]}: give each id once")
        user[key] = str(file)
    getattr(cat, kind)[obj.id] = obj
    cat.origin[f"{kind}/{obj.id}"] = str(file)
    if kind in ("chips", "stacks"):
        alias = cat.chip_alias if kind == "chips" else cat.stack_alias
        for a in obj.aliases:
            alias[a.lower()] = obj.id


def _check_links(cat: Catalog) -> None:
    for s in cat.systems.values():
        f = cat.origin[f"systems/{s.id}"]
        if s.chip not in cat.chips and s.chip not in cat.chip_alias:
            raise CatalogError(f, s.id, "chip", f"names unknown chip '{s.chip}'")
        for c in s.default_for:
            if c not in cat.chips:
                raise CatalogError(f, s.id, "default_for", f"names unknown chip '{c}'")


def _root(file: str) -> Path:
    """The catalog directory a file belongs to (its kind's folder's parent, or its own folder)."""
    p = Path(file)
    return p.parent.parent if p.parent.name in _KINDS else p.parent


SCALEUP_ROUNDING = 2e-3  # relative difference between a chip's quoted scale-up figure and its system's, from rounding


def _derive_scaleup(cat: Catalog) -> None:
    """A chip's scale-up figures are its default system's first network level, the one the step model reads: one
    source of truth. A figure the chip file also states (datasheets quote it) must agree with the system in the same
    catalog directory; a user's system that replaces the shipped one wins (that is what a user catalog is for). A
    figure the chip states but the system lacks is refused: it belongs in the system, with its source."""
    for cid, c in list(cat.chips.items()):
        s = next((x for x in cat.systems.values() if cid in x.default_for), None)
        if s is None:
            continue
        lvl = s.levels[0]
        unidir = lvl.gb_s_unidir
        derived = {"gb_s_unidir": unidir, "gb_s_bidir": None if unidir is None else 2.0 * unidir,
                   "domain_chips": lvl.size}
        what = {"gb_s_unidir": "levels.0.gb_s_unidir", "gb_s_bidir": "2 x levels.0.gb_s_unidir",
                "domain_chips": "levels.0.size"}
        file = cat.origin[f"chips/{cid}"]
        strict = _root(file) == _root(cat.origin[f"systems/{s.id}"])
        sources = list(c.sources)
        field_sources = {k: v for k, v in c.field_sources.items() if not k.startswith("scaleup.")}
        confidence = {k: v for k, v in c.confidence.items() if not k.startswith("scaleup.")}
        for k, v in derived.items():
            path, stated = f"scaleup.{k}", getattr(c.scaleup, k)
            # within rounding: vendors quote 1075 GB/s both ways for 537.5 one way, which a system rounds to 538
            agrees = stated is not None and v is not None and math.isclose(stated, v, rel_tol=SCALEUP_ROUNDING)
            if stated is not None and not agrees and strict:
                raise CatalogError(file, cid, path, f"{stated:g}, but its default system '{s.id}' has "
                                   f"{'none' if v is None else f'{v:g}'} ({what[k]}); the system's network is the one "
                                   "modelled: correct the one that is wrong (a figure the system lacks moves to it, "
                                   "with its source)")
            if v is None:
                continue
            if agrees:  # the chip's own quote, with its source
                derived[k] = stated
                field_sources[path], confidence[path] = c.field_sources[path], c.confidence[path]
                continue
            conf: Confidence = "derived"
            if k == "domain_chips":  # a system's domain size is its shape, not a sourced figure: cite the system
                refs = [Source(ref=f"system {s.id} ({s.name})", figures=f"scale-up domain of {v:g} chips")]
            else:
                refs = s.sources_for("levels.0.gb_s_unidir")
                conf = s.confidence["levels.0.gb_s_unidir"]
            idx = []
            for ref in refs:
                if ref not in sources:
                    sources.append(ref)
                idx.append(sources.index(ref))
            field_sources[path], confidence[path] = idx, conf
        scaleup = c.scaleup.model_copy(update={**derived, "name": c.scaleup.name or lvl.name,
                                               "topology": c.scaleup.topology or lvl.topology})
        cat.chips[cid] = c.model_copy(update={"scaleup": scaleup, "sources": sources, "field_sources": field_sources,
                                              "confidence": confidence})


@functools.lru_cache(maxsize=8)
def _load(dirs: tuple[str, ...]) -> Catalog:
    cat = Catalog()
    _load_dir(cat, DATA)
    user: dict[str, str] = {}
    for d in dirs:
        p = Path(d)
        if not p.is_dir():
            what = "is a file, not a directory" if p.exists() else "does not exist"
            raise CatalogError(d, None, None, f"catalog directory {what}")
        if _load_dir(cat, p, user) == 0:
            raise CatalogError(d, None, None, "no catalog entries here: expected chips/, systems/, models/, stacks/ or "
                                              "workloads/ folders of *.yaml, or *.yaml entries at the top")
    _check_links(cat)
    _derive_scaleup(cat)
    return cat


def load_catalog(extra_dirs: list[str] | None = None) -> Catalog:
    """The shipped catalog plus `extra_dirs` and the directories in $ACCELPLAN_CATALOG."""
    env = [d for d in os.environ.get(ENV_VAR, "").split(os.pathsep) if d]
    return _load(tuple([*env, *(extra_dirs or [])]))


def get_chip(chip_id: str) -> Chip:
    return load_catalog().chip(chip_id)


def get_system(system_id: str) -> System:
    return load_catalog().system(system_id)


def get_model(model_id: str) -> ModelSpec:
    return load_catalog().model(model_id)


def load_model_file(path: Path) -> ModelSpec:
    """A ModelSpec YAML, or a HuggingFace config.json (read as JSON, no transformers needed)."""
    if not path.exists():
        raise CatalogError(str(path), None, None, "file not found")
    if path.suffix == ".json":
        from accelplan.catalog.hf import model_from_hf_config

        text = paths.read_text(path, "model file")
        try:
            data = yamlio.load_json(text)
        except yaml.YAMLError as exc:  # refused: duplicate keys, deep nesting
            raise CatalogError(str(path), None, None, str(exc)) from None
        except ValueError as exc:
            raise CatalogError(str(path), None, None, f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise CatalogError(str(path), None, None,
                               f"expected a JSON object (a HuggingFace config.json), got {type(data).__name__}")
        return model_from_hf_config(data, name=path.parent.name or path.stem, file=str(path))
    data = _read_yaml(path, "model file")
    if isinstance(data, dict) and "model_type" in data:
        from accelplan.catalog.hf import model_from_hf_config

        return model_from_hf_config(data, name=path.stem, file=str(path))
    return _parse("models", data, path)  # type: ignore[return-value]
