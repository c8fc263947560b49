"""Every economics and catalog figure with its source and date: what `accelplan sources` lists.

A figure's date is the one its data file records (ISO, `economics.dates`); catalog figures (chip, system and stack
specifications) record none, so their date is None and they are never judged stale. `stale` is judged against
`now` with the same six-month threshold the economics answers use.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from accelplan.economics import dates
from accelplan.economics.cost import KIND_LABEL
from accelplan.economics.data import Tables, load_tables


class SourceEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    area: str  # cloud price, purchase price, price note, rule, caveat, electricity price, grid intensity, ... catalog
    item: str  # what the figure is
    value: str
    as_of: str | None  # ISO date the data records; None when it records none
    source: str
    confidence: str | None
    current: bool  # False for a superseded price, kept for history
    stale: bool | None  # older than dates.STALE_AFTER_MONTHS on `now`; None when undated
    note: str | None = None


def _entry(area: str, item: str, value: str, as_of: str | None, source: str, confidence: str | None, now: date,
           current: bool = True, note: str | None = None) -> SourceEntry:
    stale = None if as_of is None else dates.is_stale(as_of, now)
    return SourceEntry(area=area, item=item, value=value, as_of=as_of, source=source, confidence=confidence,
                       current=current, stale=stale, note=note)


def _usd_h(low: float, high: float | None) -> str:
    return f"${low:g}/chip-hour" if high is None else f"${low:g}-{high:g}/chip-hour"


def price_entries(t: Tables, now: date) -> list[SourceEntry]:
    out: list[SourceEntry] = []
    p = t.prices
    for n in p.notes:
        out.append(_entry("price note", "all chips", n.text, n.as_of, n.source, None, now))
    for cid, entry in p.chips.items():
        if entry.same_as:
            continue
        for c in entry.cloud:
            kind = KIND_LABEL[c.kind] + (f" ({c.term})" if c.term else "")
            out.append(_entry("cloud price", f"{cid} {kind}: {c.provider} {c.product}, region {c.region}",
                              _usd_h(c.usd_per_chip_hour, c.usd_per_chip_hour_high), c.as_of, c.source, c.confidence,
                              now, current=c.superseded is None,
                              note=f"superseded: {c.superseded}" if c.superseded else c.kind_note))
        if entry.no_public_price:
            npp = entry.no_public_price
            out.append(_entry("no public price", cid, npp.note, npp.as_of, npp.source, None, now))
        for n in entry.notes:
            out.append(_entry("price note", cid, n.text, n.as_of, n.source, None, now))
        if entry.purchase:
            b = entry.purchase
            span = f"${b.low:,.0f}" if b.low == b.high else f"${b.low:,.0f}-{b.high:,.0f}"
            out.append(_entry("purchase price", f"{cid} ({b.kind.replace('_', ' ')})",
                              f"{span} per chip" + (" incl. system" if b.includes_system else ""), b.as_of, b.source,
                              b.confidence, now, note=b.as_of_note))
    for name in ("years", "utilization", "system_multiplier", "overhead_frac_per_year"):
        d = getattr(p.tco, name)
        out.append(_entry("tco default", name, f"{d.value:g}", None, d.source, d.confidence, now))
    return out


def rule_entries(t: Tables, now: date) -> list[SourceEntry]:
    a = t.availability
    out = [_entry("rule", f"{r.chip_class} in {', '.join(r.groups)}", r.status, r.as_of, r.source, r.confidence, now,
                  note=f"effective {r.effective_from}" + (f"; {r.review_policy}" if r.review_policy else ""))
           for r in a.rules]
    out += [_entry("caveat", "all regions", c.text, c.as_of, c.source, None, now) for c in a.caveats]
    return out


def grid_entries(t: Tables, now: date) -> list[SourceEntry]:
    out: list[SourceEntry] = []
    for lid, loc in t.grid.locations.items():
        if loc.usd_per_kwh is not None:
            k = loc.usd_per_kwh
            out.append(_entry("electricity price", lid, f"${k.low:g}-{k.high:g}/kWh", k.as_of, k.source, k.confidence,
                              now))
        if loc.g_co2e_per_kwh is not None:
            g = loc.g_co2e_per_kwh
            out.append(_entry("grid intensity", lid, f"{g.value:g} gCO2e/kWh ({g.basis})", str(g.year), g.source,
                              g.confidence, now))
    e = t.grid.energy
    for name in ("load_factor", "node_overhead_factor", "network_storage_frac", "pue"):
        d = getattr(e, name)
        out.append(_entry("energy default", name, f"{d.value:g}", None, d.source, d.confidence, now))
    return out


def reliability_entries(t: Tables, now: date) -> list[SourceEntry]:
    r = t.reliability
    out = [_entry("reliability", f"node failures, {c.name}", f"{c.per_1000_node_days:g} per 1000 node-days", None,
                  c.source, c.confidence, now) for c in r.node_failure_rate.clusters]
    out.append(_entry("reliability", "chip share of interruptions",
                      f"{sum(r.chip_share.chip_counts.values())} of {r.chip_share.total}", None, r.chip_share.source,
                      r.chip_share.confidence, now))
    out.append(_entry("reliability", "planned interruptions", f"{r.planned.count} in {r.planned.days:g} days", None,
                      r.planned.source, r.planned.confidence, now))
    for name in ("measured", "unknown"):
        f = getattr(r.chip_factors, name)
        out.append(_entry("reliability", f"chip factor, {name}", f"{f.factor:g}", None, f.source, f.confidence, now))
    c = r.checkpoint
    out.append(_entry("reliability", "checkpoint write (BLOOM)",
                      f"{c.bloom_bytes:g} B in {c.bloom_seconds:g} s on {c.bloom_nodes} nodes", None, c.bloom_source,
                      c.bloom_confidence, now))
    out.append(_entry("reliability", "async checkpoint blocking", f"{c.async_blocking_s:g} s", None, c.async_source,
                      c.async_confidence, now))
    out.append(_entry("reliability", "restart", f"{r.restart.minutes:g} min", None, r.restart.source,
                      r.restart.confidence, now))
    return out


def catalog_entries(catalog: Any, now: date) -> list[SourceEntry]:
    """Each numeric figure of every chip, system and stack, with the references its entry names for it."""
    out: list[SourceEntry] = []
    for kind, entries in (("chip", catalog.chips), ("system", catalog.systems), ("stack", catalog.stacks)):
        for eid, obj in entries.items():
            for path, value in obj.figure_paths().items():
                refs = "; ".join(s.ref for s in obj.sources_for(path)) or "no source named"
                out.append(_entry("catalog", f"{kind} {eid} {path}", f"{value:g}", None, refs,
                                  obj.confidence.get(path), now))
    return out


def list_sources(now: date | None = None, tables: Tables | None = None, catalog: Any = None) -> list[SourceEntry]:
    """Every economics figure (prices, rules, electricity, grid, reliability, defaults) and catalog figure."""
    from accelplan.catalog.loader import load_catalog

    today = now or date.today()
    t = tables or load_tables()
    return [*price_entries(t, today), *rule_entries(t, today), *grid_entries(t, today),
            *reliability_entries(t, today), *catalog_entries(catalog or load_catalog(), today)]


def stale_entries(entries: list[SourceEntry]) -> list[SourceEntry]:
    """The current figures older than six months (a superseded price is old by design, so it is left out)."""
    return [e for e in entries if e.stale and e.current]
