"""A comparison request: the one shape the CLI, the report, the web API and the sweep build, and `accelplan.api`
reads. Its defaults are decided here, once: a face that leaves a field out gets the same answer everywhere.

Only pydantic and the catalog's types are imported, so a face may build a request before the model loads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from accelplan.catalog.schema import ModelSpec, WorkloadSpec
from accelplan.defaults import (
    DEFAULT_COMPARE_CHIPS,
    DEFAULT_DAYS,
    DEFAULT_GLOBAL_BATCH,
    DEFAULT_MODEL,
    DEFAULT_SEQ,
    DEFAULT_TOKENS,
    DEFAULT_WORKLOAD,
    PRECISIONS,
)
from accelplan.economics.options import EconomicsOptions
from accelplan.errors import AccelplanError
from accelplan.perf.assumptions import DEFAULT, Assumptions

if TYPE_CHECKING:
    from accelplan.perf.calibration import Calibration

SINGLE_PHASE = ("model", "tokens", "seq_len", "global_batch")

# request field -> the CLI flag that sets it, so an error names what the user typed
FLAGS = {"chips": "--chip", "n_chips": "--chips", "economics": "--price/--power/--kwh-price/--pue/--years",
         "assumptions": "--assume"}


class Conflict(ValueError):
    """Fields of a request that cannot go together; the message names them as the face that shows it calls them (the
    request's field names, or the CLI's flags)."""

    def __init__(self, template: str, *fields: str) -> None:
        self.template, self.fields = template, fields
        super().__init__(template.format(*fields))

    def named(self, name: Callable[[str], str]) -> str:
        return self.template.format(*(name(f) for f in self.fields))


class CompareRequest(BaseModel):
    """Several chips on one workload: chips needed to finish within `days`, or time on `n_chips` chips.

    The workload is a programme of phases (`workload`: a WorkloadSpec, a preset id or a workload file), or one phase
    from `model`, `tokens`, `seq_len` and `global_batch` (each left out takes its default); with none of these, the
    DEFAULT_WORKLOAD programme."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    chips: list[str] = Field(default_factory=lambda: list(DEFAULT_COMPARE_CHIPS), min_length=1,
                             description="chip ids to compare")
    workload: WorkloadSpec | str | None = Field(None, description="a training programme: a preset id, a workload "
                                                                  "file or its spec (instead of the one-phase fields)")
    model: ModelSpec | str | None = Field(None, description=f"one phase: model preset id or spec ({DEFAULT_MODEL})")
    tokens: float | None = Field(None, gt=0, description=f"one phase: training tokens ({DEFAULT_TOKENS:g})")
    seq_len: int | None = Field(None, gt=0, description=f"one phase: sequence length (min(preset, {DEFAULT_SEQ}))")
    global_batch: int | None = Field(None, gt=0, description=f"one phase: sequences per step ({DEFAULT_GLOBAL_BATCH})")
    precision: Literal["bf16", "fp16", "fp8"] | None = Field(None, description="training number format (the "
                                                                               "workload's, else bf16)")
    days: float | None = Field(None, gt=0, description=f"deadline: chips needed to finish within it ({DEFAULT_DAYS:g} "
                                                       "when n_chips is not given)")
    n_chips: int | None = Field(None, ge=1, description="fixed chip count: time to train instead")
    region: str | None = Field(None, description="region for prices and availability")
    economics: EconomicsOptions | None = Field(None, description="price, power and goodput overrides")
    available_only: bool = Field(False, description="leave out chips the rules prohibit in `region`")
    framework: str | None = Field(None, description="training stack every chip runs (each chip's runtime default)")
    framework_version: str | None = Field(None, description="the stack's release or a date (its latest)")
    assumptions: Assumptions = Field(DEFAULT, description="modelling constants (accelplan assumptions)")
    calibration: Any = Field(None, description="a calibration profile, or the path of one (accelplan bench)")

    @model_validator(mode="after")
    def _one_question(self) -> CompareRequest:
        given = [f for f in SINGLE_PHASE if getattr(self, f) is not None]
        if self.workload is not None and given:
            raise Conflict("a {} (its phases) and " + "/".join("{}" for _ in given) + " both describe the job: give "
                           "one", "workload", *given)
        if self.days is not None and self.n_chips is not None:
            raise Conflict("{} and {} ask different questions (chips needed for a deadline, or time on a fixed count): "
                           "give one", "days", "n_chips")
        if self.available_only and not self.region:
            raise Conflict("{} needs a {}: chips are left out by the rules of a region", "available_only", "region")
        return self

    @property
    def mode(self) -> str:
        return "chips" if self.n_chips else "deadline"

    @property
    def deadline_days(self) -> float | None:
        """The deadline the request asks about; None when it asks for the time on n_chips."""
        return None if self.n_chips else (self.days if self.days is not None else DEFAULT_DAYS)

    @property
    def programme(self) -> WorkloadSpec | str | None:
        """The programme asked for: `workload`, or DEFAULT_WORKLOAD when no one-phase field is given either."""
        if self.workload is None and all(getattr(self, f) is None for f in SINGLE_PHASE):
            return DEFAULT_WORKLOAD
        return self.workload

    def economics_options(self) -> EconomicsOptions:
        """The economics overrides with the request's region."""
        opts = self.economics or EconomicsOptions()
        return opts if self.region is None else opts.model_copy(update={"region": self.region})

    def calibration_profile(self) -> Calibration | None:
        if isinstance(self.calibration, str):
            from accelplan.bench.profile import load_profile

            return load_profile(self.calibration)
        return self.calibration  # type: ignore[no-any-return]


def build_request(**fields: Any) -> CompareRequest:
    """A CompareRequest from the CLI's values; a bad one is an AccelplanError of one line naming the flag and what it
    accepts."""
    try:
        return CompareRequest(**fields)
    except ValidationError as exc:
        raise AccelplanError(error_line(exc)) from None


def flag(field: str) -> str:
    """The CLI flag that sets a request field."""
    return FLAGS.get(field, "--" + field.replace("_", "-"))


def error_line(exc: ValidationError) -> str:
    """A request's validation error as one line naming the flag (the field's CLI flag) and what it accepts."""
    err = exc.errors()[0]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, Conflict):
        return cause.named(flag)
    msg = str(err["msg"]).removeprefix("Value error, ")
    if not err.get("loc"):
        return msg
    if err["type"] == "literal_error":  # the CLI's way: "--precision 'fp4' is not one of: bf16, fp16, fp8"
        allowed = str((err.get("ctx") or {}).get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{flag(str(err['loc'][0]))} {err.get('input')!r} is not one of: {allowed}"
    return f"{flag(str(err['loc'][0]))} {err.get('input')!r}: {msg}"


__all__ = ["CompareRequest", "Conflict", "build_request", "error_line", "flag", "DEFAULT_COMPARE_CHIPS", "DEFAULT_WORKLOAD",
           "DEFAULT_MODEL", "DEFAULT_TOKENS", "DEFAULT_DAYS", "DEFAULT_SEQ", "DEFAULT_GLOBAL_BATCH", "PRECISIONS"]
