"""The shipped CUDA-idiom mapping (data/mappings.yaml), validated on load.

The YAML carries research section E of research/reliability_cost_policy.md: E.7's idiom table with the
equivalent and porting class on each target, E.6's library matrix, and E.10's engineer-days per class.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from accelplan import yamlio
from accelplan.errors import CatalogError

DATA_FILE = Path(__file__).parent / "data" / "mappings.yaml"
TARGETS = ("npu", "rocm", "xla")
# least to most work; the order of columns in every summary
CLASSES = ("none", "auto", "drop", "check", "replace", "rebuild", "risk", "partial", "rewrite", "blocker")
NO_EQUIVALENT = "no equivalent"

EffortClass = Literal["none", "auto", "drop", "check", "replace", "rebuild", "risk", "partial", "rewrite", "blocker"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetMapping(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    equivalent: str
    effort_class: EffortClass = Field(alias="class")  # the YAML says `class`, a Python keyword

    @property
    def has_equivalent(self) -> bool:
        return not self.equivalent.lower().startswith(NO_EQUIVALENT)


class Row(_Strict):
    id: str
    section: str
    idiom: str
    category: str
    unit: Literal["family", "kernel"]
    report: Literal["all", "imports"]
    targets: dict[str, TargetMapping]
    names: list[str] = []
    requirements: list[str] = []
    detected_by: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _every_target(self) -> Row:
        missing = [t for t in TARGETS if t not in self.targets]
        if missing or len(self.targets) != len(TARGETS):
            raise ValueError(f"targets must be exactly {', '.join(TARGETS)} (missing: {', '.join(missing) or 'none'})")
        if not self.names and not self.requirements and not self.detected_by:
            raise ValueError("a row needs names, requirements or detected_by, or nothing can find it")
        return self


class TargetInfo(_Strict):
    name: str
    auto_migration: str
    auto_limits: list[str]


class Mapping(_Strict):
    source_document: str
    source_section: str
    targets: dict[str, TargetInfo]
    classes: dict[str, str]
    effort_days: dict[Literal["family", "kernel"], dict[str, dict[str, tuple[float, float] | None]]]
    rows: list[Row]

    @model_validator(mode="after")
    def _consistent(self) -> Mapping:
        if set(self.classes) != set(CLASSES):
            raise ValueError(f"classes must be exactly: {', '.join(CLASSES)}")
        if set(self.targets) != set(TARGETS):
            raise ValueError(f"targets must be exactly: {', '.join(TARGETS)}")
        for unit in ("family", "kernel"):
            table = self.effort_days.get(unit, {})
            if set(table) != set(TARGETS):
                raise ValueError(f"effort_days.{unit} must cover exactly: {', '.join(TARGETS)}")
            for t, days in table.items():
                if set(days) != set(CLASSES):
                    raise ValueError(f"effort_days.{unit}.{t} must give every class: {', '.join(CLASSES)}")
                if any(days[c] is None for c in CLASSES if c != "blocker"):
                    raise ValueError(f"effort_days.{unit}.{t}: only blocker may be null")
        seen: dict[str, str] = {}
        ids: set[str] = set()
        for row in self.rows:
            if row.id in ids:
                raise ValueError(f"row id '{row.id}' appears twice")
            ids.add(row.id)
            for name in [*row.names, *(f"req:{r}" for r in row.requirements)]:
                if name in seen:
                    raise ValueError(f"'{name}' is claimed by rows '{seen[name]}' and '{row.id}'")
                seen[name] = row.id
        return self

    @functools.cached_property
    def by_id(self) -> dict[str, Row]:
        return {r.id: r for r in self.rows}

    def row(self, row_id: str) -> Row:
        return self.by_id[row_id]

    def days(self, row: Row, target: str) -> tuple[float, float] | None:
        """Engineer-days for one unit of this row on this target (E.10); None for a blocker."""
        return self.effort_days[row.unit][target][row.targets[target].effort_class]


def load_mapping(path: Path | str | None = None) -> Mapping:
    """Read and validate a mapping file; the shipped one by default (cached)."""
    if path is None:
        return _shipped()
    return _read(Path(path))


@functools.cache
def _shipped() -> Mapping:
    return _read(DATA_FILE)


def _read(path: Path) -> Mapping:
    try:
        raw = yamlio.safe_load(path.read_text(encoding="utf-8"))
        return Mapping.model_validate(raw)
    except OSError as exc:
        raise CatalogError(str(path), None, None, f"cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise CatalogError(str(path), None, None, f"not valid YAML: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        entry = None
        if err["loc"][:1] == ("rows",) and len(err["loc"]) > 1 and isinstance(raw, dict):
            try:
                entry = raw["rows"][err["loc"][1]].get("id")
            except (IndexError, KeyError, TypeError, AttributeError):
                entry = None
        raise CatalogError(str(path), entry, loc or None, err["msg"]) from exc
