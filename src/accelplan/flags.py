"""What several faces (the CLI's commands, `accelplan report`) read from the same flags, in one place: the flags of
a comparison (declared once, shared by `compare` and `report`) and the CompareRequest they build.

Only typer and accelplan.limits are imported at the top: the CLI reads this module at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from accelplan.limits import option

if TYPE_CHECKING:
    from accelplan.catalog.schema import WorkloadSpec
    from accelplan.perf.assumptions import Assumptions
    from accelplan.request import CompareRequest

# the defaults named in the help are accelplan.request's (checked by tests/test_request.py)
CatalogOpt = typer.Option(None, "--catalog", metavar="DIR", help="Extra catalog directory (chips/, systems/, models/ "
                                                                 "YAML).")
ChipsOpt = typer.Option(None, "--chip", "-c", help="repeat for several chips (default: Ascend 910B/910C, H100, H200, "
                                                   "B200, MI300X, TPU v5p, Gaudi 3)")
CompareModelOpt = typer.Option(None, "--model", "-m", help="preset id or path to a HF config.json (one phase; default: "
                                                           "the openpangu-2.0 programme)")
CompareTokensOpt = option(None, "--tokens", name="tokens", help="training tokens (one phase; default 20T)")
DaysOpt = option(None, "--days", name="days", help="deadline: chips needed to finish within it (default 90; not with "
                                                   "--chips)")
NChipsOpt = option(None, "--chips", "-n", name="chips", help="fixed chip count: time to train instead")
SeqOpt = option(None, "--seq-len", name="seq_len", help="sequence length (default: min(preset, 4096))")
CompareGbsOpt = option(None, "--global-batch", name="global_batch", help="sequences per step (one phase; default "
                                                                         "4096)")
ComparePrecOpt = typer.Option(None, "--precision", help="bf16 | fp16 | fp8 (default: the workload's, else bf16)")
PhaseOpt = typer.Option(None, "--phase", metavar="TOKENS@SEQ[:BATCH][/PREC]",
                        help="a phase of the programme (repeat, in order), e.g. --phase 19.5T@4096 --phase 400B@32K "
                             "--phase 20B@512K; BATCH in sequences, or tokens per step with a suffix (16M); default "
                             "batch: the first phase's tokens per step. The model is --model's")
WorkloadOpt = typer.Option(None, "--workload", help="a training programme: preset id (openpangu-2.0) or workload YAML "
                                                     "(model, precision, phases; docs/inputs.md)")
RegionOpt = typer.Option(None, "--region", help="region group or country code (US, EU, CN, ...): marks what cannot be "
                                                "bought there (information, not legal advice)")
AvailableOnlyOpt = typer.Option(False, "--available-only", metavar="", help="drop chips prohibited in --region")
PriceOpt = typer.Option(None, "--price", metavar="CHIP=USD",
                        help="cloud $/chip-hour override (repeat), e.g. ascend-910b=1.9")
PowerOpt = typer.Option(None, "--power", metavar="CHIP=W", help="board power override in W (repeat), for chips whose "
                                                                "TDP the catalog leaves unknown, e.g. ascend-910b=400")
KwhOpt = option(None, "--kwh-price", name="kwh_price", help="electricity $/kWh (default: the grid of --region, else "
                                                            "world)")
PueOpt = option(None, "--pue", name="pue", help="data-centre PUE (default 1.2, see docs/economics.md)")
YearsOpt = option(None, "--years", name="years", help="years over which owned hardware is amortised")
CheckpointOpt = typer.Option("async", "--checkpoint", help="async | sync checkpoint writes")
FrameworkOpt = typer.Option(None, "--framework", help="training stack id (megatron-lm, nemo, torchtitan, mindspeed-llm, "
                                                      "maxtext, ...; `accelplan stacks`); default: the stack of the "
                                                      "chip's runtime, stated in the output")
FrameworkVersionOpt = typer.Option(None, "--framework-version", help="the stack's release (e.g. 25.04, core_v0.14.0) "
                                                                      "or a date; default: its latest release")
CalibrationOpt = typer.Option(None, "--calibration", help="calibration profile from `accelplan bench --out FILE`: "
                                                          "measured efficiencies replace the defaults")
AssumeOpt = typer.Option(None, "--assume", metavar="NAME=VALUE", help="override a modelling assumption (repeat), e.g. "
                                                                      "ep_overlap=1 for a framework that hides MoE "
                                                                      "all-to-all; see `accelplan assumptions`")
MixOpt = typer.Option(None, "--mix", metavar="CHIP=COUNT", help="a mixed cluster: each chip type and its count "
                                                               "(repeat, 2-4 types), e.g. --mix ascend-910b=2048 "
                                                               "--mix h100-sxm=512; replaces --chip/--chips")


def pairs(flag: str, items: list[str] | None, unit: str, example: str) -> dict[str, float]:
    """CHIP=VALUE flags as a dict; anything else names the flag and the expected form."""
    from accelplan.errors import AccelplanError

    out: dict[str, float] = {}
    for item in items or []:
        chip_id, sep, value = item.partition("=")
        try:
            out[chip_id.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not chip_id.strip():
            raise AccelplanError(f"{flag} '{item}' is not CHIP={unit}, e.g. {flag} {example}")
    return out


def economics_options(region: str | None, price: list[str] | None, kwh_price: float | None, pue: float | None,
                      years: float | None, checkpoint: str, power: list[str] | None = None) -> Any:
    """EconomicsOptions from the flags; bad values name the flag and what it accepts."""
    from pydantic import ValidationError

    from accelplan.economics import EconomicsOptions
    from accelplan.errors import AccelplanError

    prices = pairs("--price", price, "USD", "ascend-910b=1.9")
    watts = pairs("--power", power, "W", "ascend-910b=400")
    if checkpoint not in ("async", "sync"):
        raise AccelplanError(f"--checkpoint '{checkpoint}' is not one of: async, sync")
    try:
        return EconomicsOptions(prices=prices, board_power_w=watts, kwh_price=kwh_price, pue=pue, years=years,
                                region=region, checkpoint=checkpoint)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        flag = {"kwh_price": "--kwh-price", "pue": "--pue", "years": "--years", "prices": "--price",
                "board_power_w": "--power"}.get(str(err["loc"][0]), str(err["loc"][0]))
        raise AccelplanError(f"{flag}: {err['msg']}") from None


def workload_spec(phase: list[str] | None, workload: str | None, model_id: str | None, tokens: float | None,
                  seq_len: int | None, global_batch: int | None, precision: str) -> str | WorkloadSpec | None:
    """The programme the flags describe: --workload, or --phase (with --model), or None for one phase from
    --model/--tokens/--seq-len/--global-batch; with none of these flags, the default programme (as `compare`)."""
    from accelplan.errors import AccelplanError
    from accelplan.phases import workload_from_phases
    from accelplan.request import DEFAULT_MODEL, DEFAULT_WORKLOAD

    if workload and phase:
        raise AccelplanError("--workload and --phase both give the phases: give one")
    if workload:
        if any(x is not None for x in (model_id, tokens, seq_len, global_batch)):
            raise AccelplanError("--workload gives the model and phases: drop --model/--tokens/--seq-len/--global-batch")
        return workload
    if phase:
        if any(x is not None for x in (tokens, seq_len, global_batch)):
            raise AccelplanError("--phase gives each phase's tokens, sequence length and batch: drop --tokens/--seq-len/"
                                 "--global-batch")
        return workload_from_phases(model_id or DEFAULT_MODEL, phase, precision)
    if all(x is None for x in (model_id, tokens, seq_len, global_batch)):
        return DEFAULT_WORKLOAD
    return None


def assumptions(items: list[str] | None) -> Assumptions:
    """Assumptions with the --assume overrides; a bad name or value names it and what is allowed."""
    from pydantic import ValidationError

    from accelplan.errors import AccelplanError, UnknownIdError
    from accelplan.perf.assumptions import DEFAULT, Assumptions

    if not items:
        return DEFAULT
    names = list(Assumptions.model_fields)
    values: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in names:
            raise AccelplanError(f"--assume '{item}': {UnknownIdError('assumption', name, names)}")
        try:
            values[name] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise AccelplanError(f"--assume '{item}' is not NAME=NUMBER, e.g. --assume ep_overlap=1")
    try:
        return Assumptions.model_validate({**DEFAULT.model_dump(), **values})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AccelplanError(f"--assume {err['loc'][0]}={err.get('input')}: {err['msg']}") from None


def calibration(path: str | None) -> Any:
    """The calibration profile at --calibration PATH (accelplan.bench.profile), or None."""
    if not path:
        return None
    from accelplan.bench.profile import load_profile

    return load_profile(path)


def compare_request(*, chips: list[str] | None, model: str | None, tokens: float | None, days: float | None,
                    n_chips: int | None, seq_len: int | None, global_batch: int | None, precision: str | None,
                    phase: list[str] | None, workload: str | None, region: str | None, available_only: bool,
                    price: list[str] | None, power: list[str] | None, kwh_price: float | None, pue: float | None,
                    years: float | None, checkpoint: str, framework: str | None, framework_version: str | None,
                    calibration_path: str | None, assume: list[str] | None) -> CompareRequest:
    """The comparison the flags of `compare` and `report` ask for; a bad flag is one line naming it."""
    from accelplan.request import build_request

    econ = economics_options(region, price, kwh_price, pue, years, checkpoint, power)
    spec = workload_spec(phase, workload, model, tokens, seq_len, global_batch, precision or "bf16")
    # a programme carries the model and the phases: tokens/seq-len/global-batch are None (workload_spec refuses them)
    fields: dict[str, Any] = {"model": None if spec else model, "tokens": tokens, "days": days, "n_chips": n_chips,
                              "seq_len": seq_len, "global_batch": global_batch, "precision": precision,
                              "workload": spec, "region": region, "economics": econ, "available_only": available_only,
                              "framework": framework, "framework_version": framework_version,
                              "assumptions": assumptions(assume), "calibration": calibration(calibration_path)}
    if chips:
        fields["chips"] = chips
    return build_request(**fields)
