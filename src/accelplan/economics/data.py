"""The economics data files (prices, grid, reliability, availability), validated on first use and cached.

Each file in `economics/data/` is parsed into the pydantic models below. A bad file raises
`CatalogError` naming the file, the entry and the field. Figures carry a source and a confidence from
the catalog's vocabulary; unknown figures are absent, never zero. Every price and every rule carries an ISO date
(`economics.dates`), and every cloud price its kind (on-demand, reserved with its term, spot, committed-use or a
market index), provider and region.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from accelplan import paths, yamlio
from accelplan.catalog.refusal import explain, number_not_bool
from accelplan.catalog.schema import Confidence
from accelplan.economics.dates import check_iso_date
from accelplan.errors import CatalogError

DATA_DIR = Path(__file__).parent / "data"

Status = Literal["available", "licence_required", "prohibited", "high_risk", "restricted_by_importer", "unknown"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]
# market_index: a published index or survey band, not an offer anyone can rent at
PriceKind = Literal["on_demand", "reserved", "spot", "committed_use", "market_index"]
PRICE_KINDS: tuple[str, ...] = PriceKind.__args__  # type: ignore[attr-defined]
TERMED_KINDS = ("reserved", "committed_use")  # kinds that are a commitment, so name its term
PurchaseKind = Literal["vendor_list", "street", "analyst_estimate", "order_derived"]
IsoDate = Annotated[str, AfterValidator(check_iso_date)]  # "2026", "2026-03" or "2026-03-17"
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _number_not_bool(cls, v: Any, info: ValidationInfo) -> Any:
        return number_not_bool(cls, v, info)


# ---- plausible ranges (issue 13 sec. 3), shared with the user's overrides (options.py). Shipped extremes in
# the comments; each bound leaves headroom and refuses a unit slip (cents for dollars, a percent for a fraction).
UsdPerChipHour = Annotated[float, Field(gt=0, le=100)]  # 0.97-12.29 shipped (on-demand H100 tops ~12)
UsdPerChip = Annotated[float, Field(gt=0, le=1_000_000)]  # purchase price: 8,125-45,000 shipped
UsdPerKwh = Annotated[float, Field(gt=0, le=2)]  # 0.05-0.25 shipped; the 2022 European spot peak was ~0.7
GramsCo2PerKwh = Annotated[float, Field(ge=0, le=2_000)]  # 30-582 shipped; lignite plants emit ~1,100-1,200
Pue = Annotated[float, Field(ge=1, le=3)]  # 1.3 shipped; 1 is the ideal, ~1.1 hyperscale, ~1.6 industry average
Fraction = Annotated[float, Field(ge=0, le=1)]
PositiveFraction = Annotated[float, Field(gt=0, le=1)]
Years = Annotated[float, Field(gt=0, le=20)]  # amortisation: 5 shipped; accelerators are written off in 3-6
SystemMultiplier = Annotated[float, Field(ge=1, le=5)]  # 1.5 shipped: server, network and storage per chip price
NodeFactor = Annotated[float, Field(ge=1, le=5)]  # node power over chip power: 1.4 shipped
FailuresPer1000NodeDays = Annotated[float, Field(gt=0, le=1_000)]  # 2.34-6.5 shipped (Llama 3, Meta RSC)


# ---------- prices.yaml ----------


class DatedNote(_Strict):
    """A dated remark with its source: a market move, a capacity shortage, a quote whose kind is not stated."""

    text: Text
    as_of: IsoDate
    source: Text


class CloudPrice(_Strict):
    """One observed rental price. A band (`usd_per_chip_hour` to `usd_per_chip_hour_high`) counts as one quote."""

    provider: Text
    product: Text
    region: Text  # "not stated" where the source gives none
    kind: PriceKind
    term: str | None = None  # the commitment of a reserved or committed-use price ("3 years")
    usd_per_chip_hour: UsdPerChipHour
    usd_per_chip_hour_high: UsdPerChipHour | None = None
    as_of: IsoDate
    as_of_note: str | None = None
    source: Text
    confidence: Confidence
    kind_note: str | None = None  # why this kind, where the row was relabelled
    superseded: str | None = None  # why this row no longer counts (kept for history)

    @model_validator(mode="after")
    def _term_and_band(self) -> CloudPrice:
        if self.kind in TERMED_KINDS and not (self.term or "").strip():
            raise ValueError(f"a {self.kind} price names its term (e.g. '1 year', 'not stated')")
        if self.kind not in TERMED_KINDS and self.term is not None:
            raise ValueError(f"a {self.kind} price has no term (only {' and '.join(TERMED_KINDS)} do)")
        if self.usd_per_chip_hour_high is not None and self.usd_per_chip_hour_high < self.usd_per_chip_hour:
            raise ValueError(f"usd_per_chip_hour_high ({self.usd_per_chip_hour_high}) is below usd_per_chip_hour "
                             f"({self.usd_per_chip_hour})")
        return self

    @property
    def low(self) -> float:
        return self.usd_per_chip_hour

    @property
    def high(self) -> float:
        return self.usd_per_chip_hour if self.usd_per_chip_hour_high is None else self.usd_per_chip_hour_high

    @property
    def mid(self) -> float:
        return (self.low + self.high) / 2


class Range(_Strict):
    """A purchase price per chip, USD."""

    low: UsdPerChip
    typical: UsdPerChip
    high: UsdPerChip

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low <= self.typical <= self.high:
            raise ValueError(f"need low <= typical <= high, got {self.low}, {self.typical}, {self.high}")
        return self


class PurchasePrice(Range):
    kind: PurchaseKind
    includes_system: bool
    as_of: IsoDate
    as_of_note: str | None = None
    source: Text
    confidence: Confidence


class NoPublicPrice(_Strict):
    """The research looked for a price and found none (not the same as 'not recorded')."""

    note: Text
    as_of: IsoDate  # when it was looked for
    source: Text


class ChipPrices(_Strict):
    same_as: str | None = None
    cloud: list[CloudPrice] = Field(default_factory=list)
    no_public_price: NoPublicPrice | None = None
    purchase: PurchasePrice | None = None
    notes: list[DatedNote] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ChipPrices:
        if self.same_as and (self.cloud or self.no_public_price or self.purchase or self.notes):
            raise ValueError("an entry with same_as holds no figures of its own")
        if self.no_public_price and self.current_cloud:
            raise ValueError("no_public_price and current cloud rows exclude each other")
        return self

    @property
    def current_cloud(self) -> list[CloudPrice]:
        return [c for c in self.cloud if c.superseded is None]

    def current(self, kind: str) -> list[CloudPrice]:
        """The rows of one price kind that still count."""
        return [c for c in self.current_cloud if c.kind == kind]


class Sourced(_Strict):
    """A default with its source; each use below is a subclass that gives `value` its own range."""

    value: float = Field(gt=0)
    source: str
    confidence: Confidence


# each default with its own range: a subclass narrows `value`
class SourcedYears(Sourced):
    value: Years


class SourcedFraction(Sourced):
    value: Fraction


class SourcedPositiveFraction(Sourced):
    value: PositiveFraction


class SourcedMultiplier(Sourced):
    value: SystemMultiplier


class SourcedNodeFactor(Sourced):
    value: NodeFactor


class SourcedPue(Sourced):
    value: Pue


class TcoDefaults(_Strict):
    years: SourcedYears
    utilization: SourcedPositiveFraction
    system_multiplier: SourcedMultiplier
    overhead_frac_per_year: SourcedFraction


class PricesFile(_Strict):
    as_of: IsoDate  # the newest dated price in the file
    checked: IsoDate  # when the file was last checked against public sources
    notes: list[DatedNote] = Field(default_factory=list)  # market-wide: apply to every chip
    chips: dict[str, ChipPrices]
    tco: TcoDefaults

    @model_validator(mode="after")
    def _same_as_known(self) -> PricesFile:
        for cid, entry in self.chips.items():
            if entry.same_as is not None and entry.same_as not in self.chips:
                raise ValueError(f"chips.{cid}.same_as names '{entry.same_as}', which has no entry")
        return self

    def for_chip(self, chip_id: str) -> tuple[str, ChipPrices] | None:
        """(id whose figures apply, entry), following same_as; None when the chip has no entry."""
        entry = self.chips.get(chip_id)
        if entry is None:
            return None
        if entry.same_as is not None:
            return entry.same_as, self.chips[entry.same_as]
        return chip_id, entry


# ---------- grid.yaml ----------


class Intensity(_Strict):
    value: GramsCo2PerKwh
    year: int = Field(ge=1990, le=2100)
    basis: str
    source: str
    confidence: Confidence


class KwhPrice(_Strict):
    low: UsdPerKwh
    high: UsdPerKwh
    as_of: IsoDate  # the newest evidence the range cites
    source: str
    confidence: Confidence

    @model_validator(mode="after")
    def _ordered(self) -> KwhPrice:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) exceeds high ({self.high})")
        return self

    @property
    def typical(self) -> float:
        return (self.low + self.high) / 2


class Location(_Strict):
    name: str
    g_co2e_per_kwh: Intensity | None = None
    usd_per_kwh: KwhPrice | None = None


class EnergyDefaults(_Strict):
    load_factor: SourcedPositiveFraction
    node_overhead_factor: SourcedNodeFactor
    network_storage_frac: SourcedFraction
    pue: SourcedPue


class GridFile(_Strict):
    as_of: IsoDate
    locations: dict[str, Location]
    energy: EnergyDefaults

    @model_validator(mode="after")
    def _world(self) -> GridFile:
        w = self.locations.get("world")
        if w is None or w.g_co2e_per_kwh is None or w.usd_per_kwh is None:
            raise ValueError("locations.world needs g_co2e_per_kwh and usd_per_kwh (the fallback)")
        return self


# ---------- reliability.yaml ----------


class ClusterRate(_Strict):
    name: str
    per_1000_node_days: FailuresPer1000NodeDays
    source: str
    confidence: Confidence


class NodeFailureRate(_Strict):
    chips_per_node: int = Field(ge=1, le=1_024)
    clusters: list[ClusterRate] = Field(min_length=1)


class ChipShare(_Strict):
    # interruptions by cause in one published campaign: 419 in all for Llama 3's 54 days; a million is the bound
    chip_counts: dict[str, Annotated[int, Field(ge=0, le=1_000_000)]]
    total: int = Field(gt=0, le=1_000_000)
    source: str
    confidence: Confidence

    @model_validator(mode="after")
    def _within(self) -> ChipShare:
        if sum(self.chip_counts.values()) > self.total:
            raise ValueError(f"chip_counts sum to {sum(self.chip_counts.values())}, above total {self.total}")
        return self


class Planned(_Strict):
    count: int = Field(ge=0, le=1_000_000)  # planned interruptions: 47 in Llama 3's 54 days
    days: float = Field(gt=0, le=36_500)
    source: str
    confidence: Confidence


class ChipFactor(_Strict):
    factor: float = Field(gt=0, le=100)  # failure rate over the measured fleet's: 1-2 shipped
    chips: list[str] = Field(default_factory=list)
    basis: str
    source: str
    confidence: Confidence


class ChipFactors(_Strict):
    measured: ChipFactor
    unknown: ChipFactor


class CheckpointDefaults(_Strict):
    bloom_bytes: float = Field(gt=0, le=1e15)  # one checkpoint (BLOOM's: 2.3 TB); a petabyte is the bound
    bloom_seconds: float = Field(gt=0, le=86_400)
    bloom_nodes: int = Field(ge=1, le=1_048_576)
    bloom_source: str
    bloom_confidence: Confidence
    async_blocking_s: float = Field(gt=0, le=3_600)  # 5 s shipped
    async_source: str
    async_confidence: Confidence


class RestartDefault(_Strict):
    minutes: float = Field(gt=0, le=10_080)  # 10 shipped; a week is the bound
    source: str
    confidence: Confidence


class ReliabilityFile(_Strict):
    as_of: IsoDate
    node_failure_rate: NodeFailureRate
    chip_share: ChipShare
    planned: Planned
    chip_factors: ChipFactors
    checkpoint: CheckpointDefaults
    restart: RestartDefault


# ---------- availability.yaml ----------


class Group(_Strict):
    name: str
    members: list[str] = Field(default_factory=list)
    grid: str | None = None  # grid.yaml location used when the group id itself is given
    note: str | None = None


class ChipClasses(_Strict):
    classes: list[str] = Field(min_length=1)
    basis: str


class Rule(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    chip_class: str = Field(alias="class")
    groups: list[str] = Field(min_length=1)
    status: Status
    review_policy: str | None = None
    effective_from: Text  # an ISO date where known, else what the source says ("per listing")
    as_of: IsoDate  # the newest date its sources show it holding
    source: Text
    confidence: Confidence
    notes: str | None = None


class Caveat(_Strict):
    text: Text
    as_of: IsoDate
    source: Text


class AvailabilityFile(_Strict):
    as_of: IsoDate  # the newest rule as_of
    compiled: IsoDate
    checked: IsoDate  # when the rules were last checked against public sources
    disclaimer: str
    caveats: list[Caveat] = Field(default_factory=list)
    statuses: list[Status]
    groups: dict[str, Group]
    chips: dict[str, ChipClasses]
    rules: list[Rule]

    @model_validator(mode="after")
    def _references(self) -> AvailabilityFile:
        classes = {c for entry in self.chips.values() for c in entry.classes}
        for i, rule in enumerate(self.rules):
            for g in rule.groups:
                if g not in self.groups:
                    raise ValueError(f"rules.{i}.groups names '{g}' (allowed: {', '.join(self.groups)})")
            if rule.chip_class not in classes:
                raise ValueError(f"rules.{i}.class '{rule.chip_class}' is held by no chip")
        seen: dict[str, str] = {}
        for gid, group in self.groups.items():
            for m in [gid, *group.members]:
                key = m.upper()
                if key in seen and seen[key] != gid:
                    raise ValueError(f"groups: '{m}' is listed under both {seen[key]} and {gid}")
                seen[key] = gid
        return self


# ---------- loading ----------


class Tables(BaseModel):
    model_config = ConfigDict(frozen=True)

    prices: PricesFile
    grid: GridFile
    reliability: ReliabilityFile
    availability: AvailabilityFile


_FILES: dict[str, type[BaseModel]] = {
    "prices": PricesFile,
    "grid": GridFile,
    "reliability": ReliabilityFile,
    "availability": AvailabilityFile,
}


def _load_file(path: Path, model: type[BaseModel]) -> BaseModel:
    if not path.exists():
        raise CatalogError(str(path), None, None, "file not found")
    text = paths.read_text(path, "economics data file")
    try:
        raw: Any = yamlio.safe_load(text)
    except yaml.YAMLError as err:
        raise CatalogError(str(path), None, None, yamlio.describe(err)) from None
    if not isinstance(raw, dict):
        raise CatalogError(str(path), None, None, f"expected a mapping, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        _, msg = explain(err, model)
        loc = [str(x) for x in err.errors()[0]["loc"]]
        # chips.<id>.… / locations.<id>.…: name the entry, then the field inside it
        entry = loc[1] if len(loc) > 1 and loc[0] in ("chips", "locations", "groups") else None
        field = ".".join(loc[2:] if entry else loc) or None
        raise CatalogError(str(path), entry, field, msg) from None


def load_tables(data_dir: Path | None = None) -> Tables:
    """Parse and validate the four data files of `data_dir` (default: the shipped ones)."""
    if data_dir is None:
        return _shipped()
    return _load_dir(Path(data_dir))


def _load_dir(data_dir: Path) -> Tables:
    parsed = {name: _load_file(data_dir / f"{name}.yaml", model) for name, model in _FILES.items()}
    return Tables(**parsed)


@functools.cache
def _shipped() -> Tables:
    return _load_dir(DATA_DIR)
