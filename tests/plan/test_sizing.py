"""Cluster sizing: errors name the field, and the walks find the sizes a hand calculation gives."""

from dataclasses import dataclass

import pytest

from accelplan.errors import PlanError
from accelplan.plan import sizing


@dataclass(frozen=True)
class Best:
    chips: int
    tokens_per_s: float


def linear(rate_per_chip: float) -> sizing.BestAt[Best]:
    return lambda n: Best(n, rate_per_chip * n)


def test_a_system_built_for_another_chip_is_refused_naming_the_field(catalog):
    h100, mi300x = catalog.chip("h100-sxm"), catalog.chip("mi300x")
    with pytest.raises(PlanError, match=r"^system 'mi300x-platform' is built for mi300x, not h100-sxm") as err:
        sizing.check_system(h100, catalog.default_system(mi300x))
    assert "--" not in str(err.value)  # a field, not a CLI flag


@pytest.mark.parametrize("days", [0.0, -3.0])
def test_a_deadline_of_no_days_is_refused_naming_the_field(catalog, days):
    s = catalog.default_system("h100-sxm")
    with pytest.raises(PlanError, match=r"^deadline days must be > 0"):
        sizing.chips_needed(s, 1e12, days, linear(1.0))


def test_chips_needed_is_the_first_ladder_size_that_meets_the_rate(catalog):
    s = catalog.default_system("h100-sxm")  # 8 per node: ladder 8, 16, 24, 32, 48, 64, 96, ...
    # 100 tokens/s per chip and 5,000 tokens/s needed: 50 chips, so 64 is the first ladder size that makes it
    day = sizing.SECONDS_PER_DAY
    assert sizing.chips_needed(s, 5_000 * day, 1.0, linear(100.0)).chips == 64
    assert sizing.chips_needed(s, 4_800 * day, 1.0, linear(100.0)).chips == 48  # exactly 48 chips' worth


def test_matching_chips_narrows_to_whole_nodes_between_ladder_sizes(catalog):
    s = catalog.default_system("h100-sxm")
    ladder, exact = sizing.matching_chips(s, 5_000.0, linear(100.0))
    assert (ladder.chips, exact.chips) == (64, 56)  # 50 chips' worth: 7 nodes of 8


def test_a_deadline_met_only_in_compute_days_grows_by_the_goodput(catalog):
    @dataclass(frozen=True)
    class Econ:
        effective_days: float | None
        goodput_pct: float

    s = catalog.default_system("h100-sxm")
    day = sizing.SECONDS_PER_DAY
    # 90% goodput: 4,800 tokens/s of compute (48 chips) finishes in 1.11 elapsed days; 1 day needs 5,333 (64 chips)
    found = sizing.chips_for_deadline(s, 4_800 * day, 1.0, linear(100.0),
                                      lambda b: Econ(4_800 * day / b.tokens_per_s / day / 0.9, 90.0))
    assert found is not None and found[0].chips == 64 and found[1].effective_days <= 1.0
