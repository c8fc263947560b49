"""Sweep grids: a YAML file names a list of values per dimension; every combination is a scenario.

```yaml
models: [llama3.1-8b, llama3.1-70b]
chips: [h100-sxm, ascend-910b]
cluster_sizes: [64, 256]        # or deadline_days: [30, 90] (chips needed to finish in time)
tokens: [1e12]
seq_len: [4096, 8192]
global_batch: [1024]
precision: [bf16]
region: [null, CN]              # availability, grid intensity and electricity price of the economics columns
frameworks: [null, torchtitan]  # training stack (null: the default for each chip's runtime)
prices: [null, {h100-sxm: 2.0, ascend-910b: 1.5}]   # cloud $/chip-hour assumptions (null: published ranges)
phases: [null, [50B@8192, 2B@32K]]   # a programme on each model (docs/inputs.md); null: one phase of `tokens`
exclude:
  - {model: llama3.1-70b, cluster_size: 64}
```

A grid of programmes gives `workloads` (preset ids or workload files) instead of `models`:
`workloads: [openpangu-2.0]`. A scenario with phases or a workload leaves tokens, seq_len and global_batch to its
phases; its row carries the programme's total and each phase's days (`phase_days`, JSON).

A grid of mixed clusters gives `mixes` instead of `chips` and a size: each mix maps chip ids to counts,
`mixes: [{ascend-910b: 2048, h100-sxm: 512}]`, and is planned as one job over them (accelplan.plan.mixed; one phase).
Its row carries the mix, the efficiency against the sum of the parts run alone, and the blocks (JSON).

A scenario's id is a hash of its canonical dimension values, leaving out those that are null, so a
dimension added later with a null default keeps the ids (and the finished results) of older sweeps.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError, model_validator

from accelplan import yamlio
from accelplan.catalog.loader import Catalog, load_catalog
from accelplan.catalog.schema import MAX_PHASES
from accelplan.defaults import DEFAULT_GLOBAL_BATCH, DEFAULT_TOKENS
from accelplan.economics.data import UsdPerChipHour
from accelplan.errors import AccelplanError
from accelplan.paths import read_text

if TYPE_CHECKING:
    from accelplan.request import CompareRequest

# grid key -> scenario field. The two ways to size the cluster are exclusive (see Grid._one_size_dimension).
DIMENSIONS: dict[str, str] = {
    "models": "model", "chips": "chip", "cluster_sizes": "cluster_size", "deadline_days": "deadline_days",
    "tokens": "tokens", "seq_len": "seq_len", "global_batch": "global_batch", "precision": "precision",
    "region": "region", "prices": "price", "frameworks": "framework", "workloads": "workload", "phases": "phases",
    "mixes": "mix",
}
FIELDS: dict[str, str] = {v: k for k, v in DIMENSIONS.items()}  # scenario field -> grid key
_FLOAT_FIELDS = ("deadline_days", "tokens", "price")
# grid key -> its range in accelplan.limits, the same as the CLI flag's: bounds keep every plan search finite
RANGES: dict[str, str] = {"cluster_sizes": "chips", "deadline_days": "days", "tokens": "tokens", "seq_len": "seq_len",
                          "global_batch": "global_batch"}
# Combinations in one grid, before excludes. Two local processes evaluate 100-170 scenarios/s
# (benchmarks/RESULTS_sweep.md): a million is hours of work; a grid past it is most likely a typo, and its
# expansion alone would exhaust memory. Split a larger study into several grids writing the same --out.
MAX_SCENARIOS = 1_000_000


@dataclass(frozen=True)
class Scenario:
    """One workload on one chip at one cluster size (or deadline): the unit a sweep evaluates."""

    model: str | None  # None: the workload's
    chip: str
    cluster_size: int | None
    deadline_days: float | None
    tokens: float | None  # None: the phases'
    seq_len: int | None  # None: the model's default context, capped as `make_workload` does (or the phases')
    global_batch: int | None  # None: the phases'
    precision: str
    region: str | None
    price: float | None = None  # cloud $/chip-hour for this chip; None: the published range
    framework: str | None = None  # training stack id; None: the default for the chip's runtime
    workload: str | None = None  # a programme: preset id or workload file
    phases: str | None = None  # a programme on `model`: its --phase values, comma-separated
    mix: str | None = None  # a mixed cluster: CHIP=COUNT,... (chip is then "mixed", cluster_size the total)

    def values(self) -> dict[str, Any]:
        return asdict(self)

    def request(self) -> CompareRequest:
        """This scenario as the comparison request every face builds (accelplan.request), on its one chip."""
        from accelplan.economics.options import EconomicsOptions
        from accelplan.phases import workload_from_phases
        from accelplan.request import CompareRequest

        workload: Any = self.workload
        if self.phases:
            workload = workload_from_phases(str(self.model), self.phases.split(","), self.precision)
        single = workload is None
        return CompareRequest(
            chips=[self.chip], workload=workload, model=self.model if single else None,
            tokens=self.tokens if single else None, seq_len=self.seq_len if single else None,
            global_batch=self.global_batch if single else None, precision=self.precision,  # type: ignore[arg-type]
            n_chips=self.cluster_size, days=self.deadline_days, region=self.region, framework=self.framework,
            economics=EconomicsOptions(region=self.region, prices={self.chip: self.price} if self.price else {}))

    @property
    def id(self) -> str:
        return scenario_id(self.values())


def scenario_id(values: dict[str, Any]) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of the non-null dimension values."""
    canon = {k: (float(v) if k in _FLOAT_FIELDS else v) for k, v in values.items() if v is not None}
    blob = json.dumps(canon, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Grid(BaseModel):
    """The dimension lists, as written in the YAML; `check_grid` turns ids into canonical ones."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] | None = Field(default=None, min_length=1)
    chips: list[str] | None = Field(default=None, min_length=1)
    cluster_sizes: list[PositiveInt] | None = Field(default=None, min_length=1)
    deadline_days: list[PositiveFloat] | None = Field(default=None, min_length=1)
    tokens: list[PositiveFloat] = Field(default=[DEFAULT_TOKENS], min_length=1)
    seq_len: list[PositiveInt | None] = Field(default=[None], min_length=1)
    global_batch: list[PositiveInt] = Field(default=[DEFAULT_GLOBAL_BATCH], min_length=1)
    precision: list[Literal["bf16", "fp16", "fp8"]] = Field(default=["bf16"], min_length=1)
    region: list[str | None] = Field(default=[None], min_length=1)
    prices: list[dict[str, UsdPerChipHour] | None] = Field(default=[None], min_length=1)  # economics' own range
    frameworks: list[str | None] = Field(default=[None], min_length=1)
    workloads: list[str] | None = Field(default=None, min_length=1)
    phases: list[list[str] | None] = Field(default=[None], min_length=1)
    mixes: list[str] | None = Field(default=None, min_length=1)  # canonical CHIP=COUNT,... (written as mappings)
    exclude: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _scalars_to_lists(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key in DIMENSIONS:
            if key in out and not isinstance(out[key], list) and not (out[key] is None and key in _SIZE_KEYS):
                out[key] = [out[key]]
            for i, v in enumerate(out.get(key) or []):
                if isinstance(v, bool):  # pydantic would read true as 1
                    raise ValueError(f"{key}[{i}]: {str(v).lower()} (a YAML boolean) is not a value of {key}")
        if isinstance(out.get("mixes"), list):
            out["mixes"] = [mix_text(m, i) for i, m in enumerate(out["mixes"])]
        return out

    @model_validator(mode="after")
    def _one_size_dimension(self) -> Grid:
        if self.mixes is not None:
            if self.chips is not None or self.cluster_sizes is not None or self.deadline_days is not None:
                raise ValueError("mixes give the chips and their counts: leave out chips, cluster_sizes and "
                                 "deadline_days")
            if self.workloads is not None or self.phases != [None]:
                raise ValueError("a mixed cluster plans one phase: leave out workloads and phases")
            if self.models is None:
                raise ValueError("models is required (a list of values)")
            return self
        if self.chips is None:
            raise ValueError("chips is required (a list of values), or mixes for mixed clusters")
        if (self.cluster_sizes is None) == (self.deadline_days is None):
            raise ValueError("give exactly one of cluster_sizes (time on N chips) or deadline_days "
                             "(chips needed to finish in time)")
        if self.models is None and self.workloads is None:
            raise ValueError("models is required (a list of values), or workloads for programmes")
        if self.models is not None and self.workloads is not None:
            raise ValueError("workloads give their model: give models (with phases, or one phase of tokens) or "
                             "workloads, not both")
        if self.workloads is not None and self.phases != [None]:
            raise ValueError("workloads give their phases: leave out phases")
        for i, ph in enumerate(self.phases):
            if ph is not None and not 1 <= len(ph) <= MAX_PHASES:
                raise ValueError(f"phases[{i}]: a programme has 1 to {MAX_PHASES} phases, got {len(ph)}")
        one_phase = {"tokens", "seq_len", "global_batch"} & self.model_fields_set
        if one_phase and (self.workloads is not None or None not in self.phases):
            raise ValueError(f"every scenario has phases, which give their own tokens, seq_len and global_batch: "
                             f"leave out {', '.join(sorted(one_phase))}")
        return self

    def scenarios(self) -> list[Scenario]:
        """Every combination not excluded, in grid order, duplicates (same id) dropped."""
        rules = [_exclude_rule(r, i, self) for i, r in enumerate(self.exclude)]
        if self.mixes is not None:
            return self._mixed_scenarios(rules)
        sizes: list[tuple[int | None, float | None]] = (
            [(n, None) for n in self.cluster_sizes] if self.cluster_sizes else [(None, d) for d in self.deadline_days or []])
        seen: set[str] = set()
        out: list[Scenario] = []
        programmes: list[tuple[str | None, str | None, str | None]] = (  # (model, workload, phases)
            [(None, w, None) for w in self.workloads] if self.workloads else
            [(m, None, None if ph is None else ",".join(ph)) for m in self.models or [] for ph in self.phases])
        for (model, workload, phases), chip, (n, days), tokens, seq, gbs, prec, region, prices, fw in itertools.product(
                programmes, self.chips or [], sizes, self.tokens, self.seq_len, self.global_batch, self.precision,
                self.region, self.prices, self.frameworks):
            price = (prices or {}).get(chip)  # a price assumption that does not name this chip leaves it published
            single = workload is None and phases is None  # a programme's phases give tokens, seq_len and batch
            s = Scenario(model=model, chip=chip, cluster_size=n, deadline_days=None if days is None else float(days),
                         tokens=float(tokens) if single else None, seq_len=seq if single else None,
                         global_batch=gbs if single else None, precision=prec, region=region,
                         price=None if price is None else float(price), framework=fw, workload=workload,
                         phases=phases)
            _keep(s, rules, seen, out)
        return out


    def _mixed_scenarios(self, rules: list[dict[str, list[Any]]]) -> list[Scenario]:
        seen: set[str] = set()
        out: list[Scenario] = []
        for model, mix, tokens, seq, gbs, prec, region, fw in itertools.product(
                self.models or [], self.mixes or [], self.tokens, self.seq_len, self.global_batch, self.precision,
                self.region, self.frameworks):
            total = sum(int(part.split("=")[1]) for part in mix.split(","))
            s = Scenario(model=model, chip="mixed", cluster_size=total, deadline_days=None, tokens=float(tokens),
                         seq_len=seq, global_batch=gbs, precision=prec, region=region, framework=fw, mix=mix)
            _keep(s, rules, seen, out)
        return out


def _keep(s: Scenario, rules: list[dict[str, list[Any]]], seen: set[str], out: list[Scenario]) -> None:
    """Add scenario `s` to `out` unless an exclude rule matches it or an earlier scenario has its id."""
    values = s.values()
    if any(all(values[f] in allowed for f, allowed in rule.items()) for rule in rules) or s.id in seen:
        return
    seen.add(s.id)
    out.append(s)


def mix_text(mix: Any, i: int) -> str:
    """A mix as canonical text, CHIP=COUNT,... in chip order, from a mapping {chip: count} or such text."""
    if isinstance(mix, str):
        pairs = [p.partition("=") for p in mix.split(",")]
        mix = {c.strip(): n for c, _, n in pairs}
    if not isinstance(mix, dict) or not 2 <= len(mix) <= 4:
        raise ValueError(f"mixes[{i}]: a mapping of 2 to 4 chip ids to counts, e.g. {{ascend-910b: 2048, "
                         "h100-sxm: 512}")
    out = []
    for chip, n in sorted(mix.items()):
        try:
            count = int(n)
        except (TypeError, ValueError):
            count = 0
        if isinstance(n, bool) or count < 1 or str(count) != str(n).strip():
            raise ValueError(f"mixes[{i}].{chip}: {n!r} is not a whole number of chips >= 1")
        out.append(f"{chip}={count}")
    return ",".join(out)


_SIZE_KEYS = ("cluster_sizes", "deadline_days")


def _allowed_keys() -> str:
    return ", ".join([*DIMENSIONS, "exclude"])


def _format_error(source: str, err: ValidationError) -> str:
    e = err.errors()[0]
    # union members (int | None) add their type names to the location: keep the field path only
    loc = [p for p in e["loc"] if isinstance(p, int) or p in DIMENSIONS or p == "exclude"]
    where = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(loc))
    if e["type"] == "extra_forbidden":
        return f"{source}: unknown key '{e['loc'][0]}'; allowed keys: {_allowed_keys()}"
    if e["type"] == "missing":
        return f"{source}: {where} is required (a list of values)"
    got = "" if e["type"] in ("value_error", "too_short") else f" (got {e['input']!r})"
    msg = e["msg"].removeprefix("Value error, ")
    return f"{source}: {where + ': ' if where else ''}{msg}{got}"


def _exclude_rule(rule: dict[str, Any], i: int, grid: Grid) -> dict[str, list[Any]]:
    """{field: allowed values} from one `exclude` entry, each value checked against the grid's list."""
    out: dict[str, list[Any]] = {}
    for key, value in rule.items():
        field = DIMENSIONS.get(key, key)
        if field not in FIELDS:
            names = sorted({*DIMENSIONS, *FIELDS})
            raise AccelplanError(f"exclude[{i}]: unknown dimension '{key}'; allowed: {', '.join(names)}")
        grid_values = getattr(grid, FIELDS[field]) or []
        values = value if isinstance(value, list) else [value]
        canon = []
        for v in values:
            c = _canonical_like(v, grid_values)
            if c not in grid_values:
                raise AccelplanError(f"exclude[{i}].{key}: {v!r} is not in the grid's {FIELDS[field]} "
                                     f"(allowed: {', '.join(str(g) for g in grid_values)})")
            canon.append(c)
        out[field] = canon
    return out


def _canonical_like(v: Any, grid_values: list[Any]) -> Any:
    """Read an exclude value as the grid's type: YAML reads 1e12 as a string and 30 as an int."""
    if any(isinstance(g, float) for g in grid_values) and isinstance(v, int | str) and not isinstance(v, bool):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def check_ranges(grid: Grid, source: str = "grid") -> None:
    """Every number inside its plausible range (accelplan.limits) and at most MAX_SCENARIOS combinations: the
    checks that keep a sweep finite, made before the catalog is read."""
    from accelplan.limits import reason

    for key, name in RANGES.items():
        for i, v in enumerate(getattr(grid, key) or []):
            why = None if v is None else reason(name, v)
            if why:
                raise AccelplanError(f"{source}: {key}[{i}]: {why}")
    n = math.prod(len(getattr(grid, key) or [None]) for key in DIMENSIONS)
    if n > MAX_SCENARIOS:
        raise AccelplanError(f"{source}: {n:,} combinations; at most {MAX_SCENARIOS:,} in one grid (split it into "
                             "several grids with the same --out)")


def check_grid(grid: Grid, source: str = "grid", catalog: Catalog | None = None) -> Grid:
    """Resolve model and chip ids against the catalog (aliases become canonical ids) and check the excludes."""
    check_ranges(grid, source)
    cat = catalog or load_catalog()

    def chip_id(where: str, c: Any) -> str:
        try:
            cid = cat.chip(str(c)).id
            cat.default_system(cid)
        except AccelplanError as exc:
            raise AccelplanError(f"{source}: {where}: {exc}") from None
        return cid

    for i, m in enumerate(grid.models or []):
        try:
            cat.model(m)
        except AccelplanError as exc:
            raise AccelplanError(f"{source}: models[{i}]: {exc}") from None
    for i, w in enumerate(grid.workloads or []):
        try:
            cat.model(cat.workload(w).model)
        except AccelplanError as exc:
            raise AccelplanError(f"{source}: workloads[{i}]: {exc}") from None
    for i, ph in enumerate(grid.phases):
        if ph is not None:
            from accelplan.phases import parse_phase

            for j, text in enumerate(ph):
                try:
                    parse_phase(text)
                except AccelplanError as exc:
                    raise AccelplanError(f"{source}: phases[{i}][{j}]: {exc}") from None
    chips = (None if grid.chips is None else
             list(dict.fromkeys(chip_id(f"chips[{i}]", c) for i, c in enumerate(grid.chips))))
    mixes = None
    if grid.mixes is not None:
        mixes = []
        for i, mix in enumerate(grid.mixes):
            pairs = {chip_id(f"mixes[{i}].{c}", c): n for c, _, n in (p.partition("=") for p in mix.split(","))}
            if len(pairs) < len(mix.split(",")):
                raise AccelplanError(f"{source}: mixes[{i}]: names a chip twice (aliases included)")
            mixes.append(mix_text(pairs, i))
    excludes = []
    for i, rule in enumerate(grid.exclude):
        if not rule:
            raise AccelplanError(f"{source}: exclude[{i}]: expected a mapping of dimension to value(s)")
        rule = dict(rule)
        for key in ("chip", "chips"):  # chip aliases resolve as the chip list did
            if key in rule:
                vals = rule[key] if isinstance(rule[key], list) else [rule[key]]
                rule[key] = [chip_id(f"exclude[{i}].{key}", v) for v in vals]
        for key in ("mix", "mixes"):  # a mix as a mapping or text, canonical like the grid's
            if key in rule:
                vals = rule[key] if isinstance(rule[key], list) else [rule[key]]
                try:
                    rule[key] = [mix_text(v, i) for v in vals]
                except ValueError as exc:
                    raise AccelplanError(f"{source}: exclude[{i}].{key}: {exc}") from None
        excludes.append(rule)
    prices = []
    for i, mapping in enumerate(grid.prices):
        prices.append(None if mapping is None else
                      {chip_id(f"prices[{i}].{k}", k): float(v) for k, v in mapping.items()})
    for i, region in enumerate(grid.region):
        if region is not None:
            try:
                from accelplan.economics import resolve_region

                resolve_region(str(region))
            except AccelplanError as exc:
                raise AccelplanError(f"{source}: region[{i}]: {exc}") from None
    frameworks = []
    for i, fw in enumerate(grid.frameworks):
        try:
            frameworks.append(None if fw is None else cat.stack(str(fw)).id)
        except AccelplanError as exc:
            raise AccelplanError(f"{source}: frameworks[{i}]: {exc}") from None
    checked = grid.model_copy(update={"chips": chips, "exclude": excludes, "prices": prices,
                                      "frameworks": frameworks, "mixes": mixes})
    for i, rule in enumerate(excludes):
        try:
            _exclude_rule(rule, i, checked)
        except AccelplanError as exc:
            raise AccelplanError(f"{source}: {exc}") from None
    return checked


def parse_grid(data: Any, source: str = "grid", catalog: Catalog | None = None) -> Grid:
    if not isinstance(data, dict):
        raise AccelplanError(f"{source}: expected a mapping of dimension to list of values "
                             f"(keys: {_allowed_keys()}), got {type(data).__name__}")
    try:
        grid = Grid.model_validate(data)
    except ValidationError as err:
        raise AccelplanError(_format_error(source, err)) from None
    return check_grid(grid, source, catalog)


def load_grid(path: str | Path, catalog: Catalog | None = None) -> Grid:
    text = read_text(path, "grid file")
    try:
        data = yamlio.safe_load(text)
    except yaml.YAMLError as exc:
        raise AccelplanError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    return parse_grid(data, str(path), catalog)
