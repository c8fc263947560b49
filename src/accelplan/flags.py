"""What several faces (the CLI's commands, `accelplan report`) read from the same flags, in one place."""

from __future__ import annotations

from typing import Any


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
