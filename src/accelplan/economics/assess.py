"""One call that answers "how much, how long really, how much energy, can we buy it" for a chip and a job.

`assess` needs what runs (Chip, System), how many chips, and the failure-free training time the
performance model predicted; it adds interruptions and checkpoints (goodput), then prices the real
elapsed time in the cloud and on owned hardware, its energy and emissions, and the chip's availability
in the chosen region. Every figure it uses is listed in `assumptions` and `sources`; what is unknown is
None with a note, never a guess.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from accelplan.catalog.schema import Chip, System
from accelplan.economics import cost, energy
from accelplan.economics.availability import Availability, availability, availability_by_group, resolve_region
from accelplan.economics.cost import UsdRange
from accelplan.economics.data import Intensity, KwhPrice, Location, Status, Tables, load_tables
from accelplan.economics.options import EconomicsOptions
from accelplan.economics.reliability import job_goodput
from accelplan.errors import CatalogError

HOURS_PER_DAY = 24.0


class Economics(BaseModel):
    model_config = ConfigDict(frozen=True)

    chip_id: str
    system_id: str
    chips: int
    nodes: int
    compute_days: float  # failure-free, from the performance model
    # cost
    cloud_usd_per_chip_hour: UsdRange | None  # None: no public price (see cloud_price_note)
    cloud_price_note: str
    cloud_cost_usd: UsdRange | None  # for the effective (elapsed) time
    owned_cost_usd: UsdRange | None  # amortised capex + overhead + energy, for the effective time
    owned_cost_note: str
    # energy
    board_power_w: float | None
    it_power_kw: float | None
    pue: float
    energy_mwh: float | None  # site energy over the effective time
    location: str  # grid.yaml location used for intensity and $/kWh
    kwh_price: float
    grid_g_per_kwh: float | None
    tco2e: float | None
    # goodput
    expected_interruptions: float | None  # unexpected, over the effective time
    expected_planned_interruptions: float | None
    job_mtti_h: float
    checkpoint: str
    checkpoint_write_s: float
    checkpoint_blocking_s: float
    checkpoint_interval_min: float
    restart_min: float
    lost_work_min: float
    goodput_pct: float
    effective_days: float | None  # compute_days / goodput; None if the job cannot progress
    # availability (information, not legal advice)
    availability: Availability | None  # None when no region was given
    availability_by_group: dict[str, Status]
    availability_as_of: str
    disclaimer: str
    assumptions: list[str]
    sources: list[str]


def _lookup(chip: Chip, table: dict[str, float]) -> float | None:
    for key in (chip.id, *chip.aliases):
        if key.lower() in table:
            return table[key.lower()]
    return None


def _kwh_price(loc: Location, world: Location) -> KwhPrice:
    out = loc.usd_per_kwh or world.usd_per_kwh
    if out is None:  # GridFile validation guarantees the world fallback
        raise CatalogError("grid.yaml", "world", "usd_per_kwh", "missing")
    return out


def _intensity(loc: Location, world: Location) -> Intensity:
    out = loc.g_co2e_per_kwh or world.g_co2e_per_kwh
    if out is None:
        raise CatalogError("grid.yaml", "world", "g_co2e_per_kwh", "missing")
    return out


def _location(region: str | None, tables: Tables) -> tuple[str, str | None]:
    """(grid location id, note) for a region code or group id."""
    if region is None:
        return "world", "no region given: world-average grid intensity and the default $/kWh"
    key = region.strip().upper()
    if key in tables.grid.locations:
        return key, None
    group = tables.availability.groups[resolve_region(region, tables)]
    if group.grid is not None:
        return group.grid, None
    return "world", f"no electricity figures for '{region}': world average used"


def assess(chip: Chip, system: System, chips: int, compute_days: float, *, state_bytes: float,
           mfu: float | None = None, options: EconomicsOptions | None = None,
           tables: Tables | None = None) -> Economics:
    """Economics of training on `chips` x `chip` for `compute_days` of failure-free compute.

    `state_bytes` is the checkpoint size of the whole job (weights + optimizer state). `mfu` is recorded
    but does not change power: dense training draws 70-90% of board power whatever its MFU (research
    §C.4), so the load factor is a separate, overridable figure.
    """
    if chips <= 0:
        raise ValueError(f"chips must be > 0, got {chips}")
    if compute_days < 0:
        raise ValueError(f"compute_days must be >= 0, got {compute_days}")
    if state_bytes < 0:
        raise ValueError(f"state_bytes must be >= 0, got {state_bytes}")
    opt = options or EconomicsOptions()
    t = tables or load_tables()
    if opt.region is not None:
        resolve_region(opt.region, t)  # fail early, naming the allowed regions
    assumptions: list[str] = []
    sources: list[str] = []
    nodes = math.ceil(chips / system.chips_per_node)

    # ---- goodput: how long it really takes
    gp = job_goodput(
        chip.id, chips, system.chips_per_node, compute_days, state_bytes, t.reliability,
        checkpoint=opt.checkpoint, storage_gb_s=opt.storage_gb_s, node_write_gb_s=opt.node_write_gb_s,
        interval_min=opt.checkpoint_interval_min, restart_min=opt.restart_min,
        rate_per_1000_node_days=opt.node_failures_per_1000_node_days, reliability_factor=opt.reliability_factor,
        planned_per_day=opt.planned_per_day,
    )
    assumptions += gp.assumptions
    sources += gp.sources
    hours = None if gp.effective_days is None else gp.effective_days * HOURS_PER_DAY
    if mfu is not None:
        assumptions.append(f"MFU {mfu:.0%} recorded; power uses the load factor, not MFU")

    # ---- where: electricity price and grid intensity
    loc_id, loc_note = _location(opt.region, t)
    if loc_note:
        assumptions.append(loc_note)
    loc: Location = t.grid.locations[loc_id]
    world = t.grid.locations["world"]
    kwh_rng = _kwh_price(loc, world)
    if opt.kwh_price is not None:
        kwh_price = opt.kwh_price
    else:
        kwh_price = kwh_rng.typical
        kwh_where = loc_id if loc.usd_per_kwh else "world"
        assumptions.append(f"${kwh_price:.3f}/kWh (midpoint of {kwh_rng.low:g}-{kwh_rng.high:g}, {kwh_where})")
        sources.append(kwh_rng.source)
    if opt.grid_g_per_kwh is not None:
        grid_g: float | None = opt.grid_g_per_kwh
    else:
        intensity = _intensity(loc, world)
        grid_g = intensity.value
        where = loc_id if loc.g_co2e_per_kwh else "world (no figure for this location)"
        assumptions.append(f"grid {grid_g:g} gCO2e/kWh, {where}, {intensity.year}, {intensity.basis}")
        sources.append(intensity.source)

    # ---- energy
    ed = t.grid.energy
    load = opt.load_factor if opt.load_factor is not None else ed.load_factor.value
    pue = opt.pue if opt.pue is not None else ed.pue.value
    board = _lookup(chip, opt.board_power_w)
    if board is None:
        board = chip.tdp_w
    it_w = mwh = co2 = None
    if board is None:
        reported = chip.extra.get("tdp_w_reported")
        hint = f" (reported, not confirmed: {reported} W)" if reported else ""
        assumptions.append(f"board power of {chip.id} unknown{hint}: energy, emissions and owned cost unknown; "
                           "give board_power_w to compute them")
    else:
        if system.node_overhead_w is None:
            assumptions.append(f"node overhead of {system.id} unknown: node power = chips x {ed.node_overhead_factor.value:g} "
                               "(typical 8-chip node)")
            sources.append(ed.node_overhead_factor.source)
        it_w = energy.it_power_w(chips, system.chips_per_node, board, load, system.node_overhead_w,
                                 ed.node_overhead_factor.value, ed.network_storage_frac.value)
        assumptions.append(f"board power {board:g} W x load {load:g}; +{ed.network_storage_frac.value:.0%} network and storage; "
                           f"PUE {pue:g}")
        sources += [ed.load_factor.source, ed.network_storage_frac.source]
        if opt.pue is None:
            sources.append(ed.pue.source)
        if hours is not None:
            mwh = energy.energy_mwh(it_w, pue, hours)
            co2 = energy.tco2e(mwh, grid_g) if grid_g is not None else None

    # ---- cloud cost
    override = _lookup(chip, opt.prices)
    found = t.prices.for_chip(chip.id)
    cloud: UsdRange | None
    if override is not None:
        cloud = UsdRange(low=override, typical=override, high=override)
        note = f"${override:g}/chip-hour (given)"
    elif found is None:
        cloud, note = None, "no price recorded for this chip"
    else:
        price_id, entry = found
        cloud = cost.cloud_range(entry)
        same = f" (figures of {price_id})" if price_id != chip.id else ""
        if cloud is not None:
            quotes = entry.current_cloud
            note = (f"min/median/max of {len(quotes)} quotes{same}, dated "
                    f"{', '.join(sorted({q.as_of for q in quotes}))}")
            sources += [f"{q.provider}: {q.source}" for q in quotes]
            if any(q.confidence == "unverified" for q in quotes):
                assumptions.append(f"cloud prices of {price_id} include unverified quotes")
        elif entry.no_public_price:
            note = f"no public price: {entry.no_public_price}{same}"
        else:
            note = f"no cloud price recorded{same}"
    cloud_cost = None if cloud is None or hours is None else cloud.scaled(chips * hours)

    # ---- owned cost
    owned: UsdRange | None = None
    years = opt.years if opt.years is not None else t.prices.tco.years.value
    util = opt.utilization if opt.utilization is not None else t.prices.tco.utilization.value
    mult = opt.system_multiplier if opt.system_multiplier is not None else t.prices.tco.system_multiplier.value
    ovh = opt.overhead_frac_per_year if opt.overhead_frac_per_year is not None else t.prices.tco.overhead_frac_per_year.value
    purchase_override = _lookup(chip, opt.purchase_usd)
    purchase: UsdRange | None = None
    includes_system = False
    if purchase_override is not None:
        purchase = UsdRange(low=purchase_override, typical=purchase_override, high=purchase_override)
        owned_note = f"purchase ${purchase_override:,.0f} per chip (given)"
    elif found is not None and found[1].purchase is not None:
        p = found[1].purchase
        purchase = UsdRange(low=p.low, typical=p.typical, high=p.high)
        includes_system = p.includes_system
        owned_note = f"purchase ${p.low:,.0f}-{p.high:,.0f} per chip ({p.as_of}, confidence {p.confidence})"
        sources.append(p.source)
    else:
        owned_note = "no purchase price recorded"
    if purchase is not None:
        owned_note += (f"; {'price includes the system' if includes_system else f'x {mult:g} for the system'}, "
                       f"{years:g} years at {util:.0%} utilisation, {ovh:.0%}/year overhead")
        if opt.years is None:
            sources += [t.prices.tco.years.source, t.prices.tco.utilization.source, t.prices.tco.system_multiplier.source,
                        t.prices.tco.overhead_frac_per_year.source]
        if mwh is None or hours is None:
            owned_note += "; energy unknown, so owned cost unknown"
        else:
            kwh_low = kwh_price if opt.kwh_price is not None else kwh_rng.low
            kwh_high = kwh_price if opt.kwh_price is not None else kwh_rng.high

            def one(price: float, kwh: float) -> float:
                capex = cost.capex_per_chip_usd(price, includes_system, mult)
                return cost.owned_cost_usd(chips, hours, capex, years, util, ovh, mwh, kwh)

            owned = UsdRange(low=one(purchase.low, kwh_low), typical=one(purchase.typical, kwh_price),
                             high=one(purchase.high, kwh_high))

    # ---- availability
    avail_all = availability_by_group(chip.id, t)
    avail = None if opt.region is None else availability(chip.id, opt.region, t)
    a = t.availability

    return Economics(
        chip_id=chip.id, system_id=system.id, chips=chips, nodes=nodes, compute_days=compute_days,
        cloud_usd_per_chip_hour=cloud, cloud_price_note=note, cloud_cost_usd=cloud_cost,
        owned_cost_usd=owned, owned_cost_note=owned_note,
        board_power_w=board, it_power_kw=None if it_w is None else it_w / 1000.0, pue=pue, energy_mwh=mwh,
        location=loc_id, kwh_price=kwh_price, grid_g_per_kwh=grid_g, tco2e=co2,
        expected_interruptions=gp.expected_interruptions, expected_planned_interruptions=gp.expected_planned_interruptions,
        job_mtti_h=gp.job_mtti_h, checkpoint=gp.checkpoint, checkpoint_write_s=gp.checkpoint_write_s,
        checkpoint_blocking_s=gp.checkpoint_blocking_s, checkpoint_interval_min=gp.checkpoint_interval_min,
        restart_min=gp.restart_min, lost_work_min=gp.lost_work_min, goodput_pct=100.0 * gp.goodput,
        effective_days=gp.effective_days,
        availability=avail, availability_by_group=avail_all, availability_as_of=a.as_of,
        disclaimer=a.disclaimer.replace("{as_of}", a.as_of),
        assumptions=assumptions, sources=list(dict.fromkeys(sources)),
    )
