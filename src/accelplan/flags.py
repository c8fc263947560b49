"""What several faces (the CLI's commands, `accelplan report`) read from the same flags, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accelplan.catalog.schema import WorkloadSpec


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
    from accelplan.api import DEFAULT_MODEL
    from accelplan.errors import AccelplanError
    from accelplan.phases import DEFAULT_WORKLOAD, workload_from_phases

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
