"""One call that answers "how much, how long really, how much energy, can we buy it" for a chip and a job.

`assess` needs what runs (Chip, System), how many chips, and the failure-free training time the
performance model predicted; it adds interruptions and checkpoints (goodput), then prices the real
elapsed time in the cloud and on owned hardware, its energy and emissions, and the chip's availability
in the chosen region. Every figure it uses is listed in `assumptions` and `sources`; what is unknown is
None with a note, never a guess. The cloud cost uses one price kind (on-demand unless asked) and says which and
how old; the other kinds stand beside it; prices, purchase prices and rules older than six months are warned of.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, ConfigDict

from accelplan.catalog.schema import Chip, System
from accelplan.economics import cost, dates, energy
from accelplan.economics.availability import (
    Availability,
    availability,
    availability_by_group,
    caveat_lines,
    resolve_region,
)
from accelplan.economics.cost import KIND_LABEL, KindPrice, UsdRange
from accelplan.economics.data import Intensity, KwhPrice, Location, Status, Tables, load_tables
from accelplan.economics.options import EconomicsOptions
from accelplan.economics.reliability import job_goodput
from accelplan.errors import CatalogError

HOURS_PER_DAY = 24.0
# With no quote of the asked kind: the next kind a buyer can rent at, commitments before interruptible spot; a
# market index (not an offer) last.
PRICE_FALLBACK = ("on_demand", "reserved", "committed_use", "spot", "market_index")


class CloudKind(KindPrice):
    """One price kind's $/chip-hour range, dates and terms, and what the job would cost at it."""

    cost_usd: UsdRange | None  # for the effective (elapsed) time; None when the job cannot progress


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
    # what kind of price, and how old (issue 16); defaults keep older pickles and hand-built objects valid
    cloud_price_kind: str | None = None  # kind behind cloud_usd_per_chip_hour: on_demand, ...; "given" for --price
    cloud_price_as_of: str | None = None  # newest quote of that kind
    cloud_price_oldest_as_of: str | None = None  # oldest quote of that kind
    cloud_by_kind: dict[str, CloudKind] = {}  # every kind with quotes (on-demand, reserved, spot, ...), beside it
    price_notes: list[str] = []  # dated market and capacity notes ("a listed price is not obtainable capacity")
    purchase_kind: str | None = None  # vendor_list, street, analyst_estimate, order_derived; "given"
    purchase_as_of: str | None = None
    prices_as_of: str = ""  # newest dated price in the data
    rules_as_of: str = ""  # newest rule in the data (= availability_as_of)
    data_checked: str = ""  # when prices and rules were last checked against public sources
    data_as_of: str = ""  # one line: "prices as of ..., rules as of ... (checked ...)"
    judged_on: str = ""  # the day staleness was judged against
    stale_after_months: int = dates.STALE_AFTER_MONTHS
    stale: list[str] = []  # warnings: prices, purchase price, electricity price and rules older than that
    availability_caveats: list[str] = []  # dated caveats that apply everywhere (e.g. the Affiliates Rule)


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


def _older(n: int, what: str) -> str:
    return f"{what} {'is' if n == 1 else 'are'} older than {dates.STALE_AFTER_MONTHS} months"


def _dated_span(kp: KindPrice) -> str:
    return (f"dated {kp.newest_as_of}" if kp.oldest_as_of == kp.newest_as_of
            else f"dated {kp.oldest_as_of} to {kp.newest_as_of}")


@dataclass
class CloudChoice:
    """The cloud price an answer uses, and what it says about it."""

    usd_per_chip_hour: UsdRange | None
    kind: str | None  # a PRICE_KINDS entry, "given" for an override, None without a price
    note: str
    by_kind: dict[str, KindPrice] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # dated market notes
    sources: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def _cloud_price(chip: Chip, opt: EconomicsOptions, t: Tables, today: date) -> CloudChoice:
    """The asked kind's range (on-demand unless asked), else the next kind in PRICE_FALLBACK, else why none."""
    override = _lookup(chip, opt.prices)
    found = t.prices.for_chip(chip.id)
    out = CloudChoice(usd_per_chip_hour=None, kind=None, note="no price recorded for this chip",
                      notes=[f"{n.text} ({n.as_of}; {n.source})" for n in t.prices.notes])
    if found is not None:
        price_id, entry = found
        out.by_kind = cost.kind_prices(entry, today)
        out.notes += [f"{n.text} ({n.as_of}; {n.source})" for n in entry.notes]
    if override is not None:
        out.usd_per_chip_hour, out.kind = UsdRange(low=override, typical=override, high=override), "given"
        out.note = f"${override:g}/chip-hour (given)"
        return out
    if found is None:
        return out
    same = f" (figures of {price_id})" if price_id != chip.id else ""
    order = [opt.price_kind, *(k for k in PRICE_FALLBACK if k != opt.price_kind)]
    out.kind = next((k for k in order if k in out.by_kind), None)
    if out.kind is None:
        npp = entry.no_public_price
        out.note = (f"no public price: {npp.note}{same} (looked for as of {npp.as_of})" if npp
                    else f"no cloud price recorded{same}")
        return out
    kp, label = out.by_kind[out.kind], KIND_LABEL[out.kind]
    out.usd_per_chip_hour = kp.usd_per_chip_hour
    out.note = f"{label}: min/median/max of {kp.quotes} quotes{same}, {_dated_span(kp)}"
    if kp.terms:
        out.note += f"; terms: {', '.join(kp.terms)}"
    if out.kind != opt.price_kind:
        out.note = f"no {KIND_LABEL[opt.price_kind]} quote, so {out.note}"
    quotes = entry.current(out.kind)
    out.sources = [f"{q.provider} {q.product} ({label}, {q.as_of}): {q.source}" for q in quotes]
    if any(q.confidence == "unverified" for q in quotes):
        out.assumptions.append(f"{label} cloud prices of {price_id} include unverified quotes")
    if kp.stale_quotes == kp.quotes:
        out.stale.append(_older(kp.quotes, f"the {label} price{'s' * (kp.quotes > 1)} of {price_id} ({_dated_span(kp)})"))
    elif kp.stale_quotes:
        out.stale.append(_older(kp.stale_quotes, f"{kp.stale_quotes} of {kp.quotes} {label} prices of {price_id} "
                                                 f"(dated {', '.join(kp.stale_dates)})"))
    return out


def assess(chip: Chip, system: System, chips: int, compute_days: float, *, state_bytes: float,
           mfu: float | None = None, options: EconomicsOptions | None = None,
           tables: Tables | None = None, now: date | None = None) -> Economics:
    """Economics of training on `chips` x `chip` for `compute_days` of failure-free compute.

    `state_bytes` is the checkpoint size of the whole job (weights + optimizer state). `mfu` is recorded
    but does not change power: dense training draws 70-90% of board power whatever its MFU (research
    §C.4), so the load factor is a separate, overridable figure. `now` is the day staleness is judged
    against (default: today).
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
    stale: list[str] = []
    today = now or date.today()
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
        assumptions.append(f"${kwh_price:.3f}/kWh (midpoint of {kwh_rng.low:g}-{kwh_rng.high:g}, {kwh_where}, "
                           f"as of {kwh_rng.as_of})")
        sources.append(kwh_rng.source)
        if dates.is_stale(kwh_rng.as_of, today):
            stale.append(_older(1, f"the electricity price ({kwh_where}) dated {kwh_rng.as_of}"))
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

    # ---- cloud cost: one price kind (on-demand unless asked), every other kind beside it
    cp = _cloud_price(chip, opt, t, today)
    cloud, note, by_kind, found = cp.usd_per_chip_hour, cp.note, cp.by_kind, t.prices.for_chip(chip.id)
    sources += cp.sources
    assumptions += cp.assumptions
    stale += cp.stale
    cloud_cost = None if cloud is None or hours is None else cloud.scaled(chips * hours)
    cloud_by_kind = {k: CloudKind(**kp.model_dump(), cost_usd=None if hours is None
                                  else kp.usd_per_chip_hour.scaled(chips * hours))
                     for k, kp in by_kind.items()}

    # ---- owned cost
    owned: UsdRange | None = None
    years = opt.years if opt.years is not None else t.prices.tco.years.value
    util = opt.utilization if opt.utilization is not None else t.prices.tco.utilization.value
    mult = opt.system_multiplier if opt.system_multiplier is not None else t.prices.tco.system_multiplier.value
    ovh = opt.overhead_frac_per_year if opt.overhead_frac_per_year is not None else t.prices.tco.overhead_frac_per_year.value
    purchase_override = _lookup(chip, opt.purchase_usd)
    purchase: UsdRange | None = None
    purchase_kind = purchase_as_of = None
    includes_system = False
    if purchase_override is not None:
        purchase = UsdRange(low=purchase_override, typical=purchase_override, high=purchase_override)
        purchase_kind = "given"
        owned_note = f"purchase ${purchase_override:,.0f} per chip (given)"
    elif found is not None and found[1].purchase is not None:
        p = found[1].purchase
        purchase = UsdRange(low=p.low, typical=p.typical, high=p.high)
        purchase_kind, purchase_as_of = p.kind, p.as_of
        includes_system = p.includes_system
        owned_note = (f"purchase ${p.low:,.0f}-{p.high:,.0f} per chip ({p.kind.replace('_', ' ')}, as of {p.as_of}, "
                      f"confidence {p.confidence})")
        sources.append(p.source)
        if dates.is_stale(p.as_of, today):
            stale.append(_older(1, f"the purchase price of {found[0]} dated {p.as_of}"))
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
    if avail is not None:
        stale += [_older(1, f"the rule '{m.chip_class} in {m.group}' effective {m.effective_from} ({m.status}) rests on "
                            f"sources as of {m.as_of}, which")
                  for m in avail.rules if dates.is_stale(m.as_of, today)]
    elif dates.is_stale(a.as_of, today):
        stale.append(_older(2, f"the export and import rules (as of {a.as_of})"))
    checked = (f"checked against public sources {a.checked}" if a.checked == t.prices.checked
               else f"prices checked {t.prices.checked}, rules checked {a.checked}")

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
        cloud_price_kind=cp.kind, cloud_price_as_of=by_kind[cp.kind].newest_as_of if cp.kind in by_kind else None,
        cloud_price_oldest_as_of=by_kind[cp.kind].oldest_as_of if cp.kind in by_kind else None,
        cloud_by_kind=cloud_by_kind, price_notes=cp.notes, purchase_kind=purchase_kind, purchase_as_of=purchase_as_of,
        prices_as_of=t.prices.as_of, rules_as_of=a.as_of, data_checked=max(a.checked, t.prices.checked),
        data_as_of=f"prices as of {t.prices.as_of}, rules as of {a.as_of} ({checked})",
        judged_on=today.isoformat(), stale=stale, availability_caveats=caveat_lines(a),
    )
