"""Energy of a training job and its emissions (research §C.4).

    IT power   = (chips x board power x load factor + node overhead) x (1 + network and storage share)
    site energy = IT power x PUE x hours;  tCO2e = site energy x grid intensity

Node overhead is the system's `node_overhead_w` per node (host CPUs, NICs, fans), scaled by the same load
factor as the chips: catalog overheads are nameplate (maximum PSU draw minus the chips' TDP), and a
training node draws well below nameplate. For DGX H100 this gives (8 x 700 + 4,600) x 0.8 = 8.2 kW per
node, inside the 6.5-8.5 kW typical draw reported in research §C.2. When the system gives no overhead,
the chips' power is multiplied by a typical node/chip factor instead.
"""

from __future__ import annotations

import math

WATTS_PER_MEGAWATT = 1e6
GRAMS_PER_TONNE = 1e6
KWH_PER_MWH = 1e3


def it_power_w(chips: int, chips_per_node: int, board_power_w: float, load_factor: float,
               node_overhead_w: float | None, node_overhead_factor: float, network_storage_frac: float) -> float:
    """Average IT power of the job's hardware, watts."""
    chip_w = chips * board_power_w * load_factor
    if node_overhead_w is not None:
        node_w = math.ceil(chips / chips_per_node) * node_overhead_w * load_factor
    else:
        node_w = chip_w * (node_overhead_factor - 1.0)
    return (chip_w + node_w) * (1.0 + network_storage_frac)


def energy_mwh(it_w: float, pue: float, hours: float) -> float:
    """Site energy (IT x PUE) over `hours`, MWh."""
    return it_w * pue * hours / WATTS_PER_MEGAWATT


def tco2e(mwh: float, g_co2e_per_kwh: float) -> float:
    """Tonnes of CO2e for `mwh` at a grid intensity in gCO2e/kWh."""
    return mwh * KWH_PER_MWH * g_co2e_per_kwh / GRAMS_PER_TONNE
