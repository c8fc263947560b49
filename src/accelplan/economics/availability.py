"""Can a chip be bought or used in a region? Export-control and import rules as data, with dates and sources.

Information, not legal advice. A chip with no matching rule is "unknown", never "available". Where
several rules match (export side and import side), the most restrictive status is the answer and every
matching rule is listed, each with the date it took effect and the date its sources are as of.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from accelplan.economics.data import AvailabilityFile, Status, Tables, load_tables
from accelplan.errors import AccelplanError

# Most restrictive last. "unknown" ranks just above "available": a rule that says "unknown" must not be
# hidden by one that says "available", and any real restriction outranks it.
_SEVERITY: dict[str, int] = {
    "available": 0,
    "unknown": 1,
    "restricted_by_importer": 2,
    "high_risk": 3,
    "licence_required": 4,
    "prohibited": 5,
}


class RuleMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Status
    chip_class: str
    group: str
    review_policy: str | None
    effective_from: str
    source: str
    confidence: str
    notes: str | None = None
    as_of: str = ""  # the newest date its sources show it holding

    def line(self) -> str:
        """The rule in one line, with its dates: what a buyer reads."""
        out = f"{self.status}: {self.chip_class} in {self.group}"
        if self.review_policy:
            out += f": {self.review_policy}"
        if self.notes:
            out += f". {self.notes}"
        return f"{out} (effective {self.effective_from}; sources as of {self.as_of}: {self.source})"


class Availability(BaseModel):
    model_config = ConfigDict(frozen=True)

    chip_id: str
    region: str  # what the user asked for (e.g. "DE")
    group: str  # the region group it resolves to (e.g. "ALLY_A5A6")
    status: Status
    as_of: str
    rule: str  # one line: the deciding rule, or why none applies
    source: str | None  # source of the deciding rule
    basis: str | None  # why the chip is in its rule classes
    rules: list[RuleMatch]  # every matching rule, most restrictive first
    disclaimer: str
    checked: str = ""  # when the rules were last checked against public sources
    caveats: list[str] = []  # apply to every answer (e.g. the Affiliates Rule), each with its date and source
    lines: list[str] = []  # every matching rule in one line with its dates, most restrictive first


def caveat_lines(t: AvailabilityFile) -> list[str]:
    return [f"{c.text} (as of {c.as_of}; {c.source})" for c in t.caveats]


def region_groups(tables: Tables | None = None) -> list[str]:
    """Region group ids, in the order of the data file."""
    return list((tables or load_tables()).availability.groups)


def region_codes(tables: Tables | None = None) -> dict[str, str]:
    """Every accepted --region spelling (upper case) -> its group id."""
    out: dict[str, str] = {}
    for gid, group in (tables or load_tables()).availability.groups.items():
        out[gid.upper()] = gid
        for m in group.members:
            out[m.upper()] = gid
    return out


def resolve_region(region: str, tables: Tables | None = None) -> str:
    """Group id for a group id or member code; raises naming the allowed values."""
    codes = region_codes(tables)
    key = region.strip().upper()
    if key not in codes:
        raise AccelplanError(f"unknown region '{region}'; allowed: {', '.join(sorted(codes))}")
    return codes[key]


def availability(chip_id: str, region: str, tables: Tables | None = None) -> Availability:
    """Status of `chip_id` (a catalog id) in `region` (group id or member code), with the rules that decide it."""
    t = (tables or load_tables()).availability
    group = resolve_region(region, tables)
    disclaimer = t.disclaimer.replace("{as_of}", t.as_of)
    entry = t.chips.get(chip_id)
    classes = set(entry.classes) if entry else set()
    matches = [
        RuleMatch(status=r.status, chip_class=r.chip_class, group=group, review_policy=r.review_policy,
                  effective_from=r.effective_from, source=r.source, confidence=r.confidence, notes=r.notes,
                  as_of=r.as_of)
        for r in t.rules
        if r.chip_class in classes and group in r.groups
    ]
    matches.sort(key=lambda m: -_SEVERITY[m.status])
    dated = {"checked": t.checked, "caveats": caveat_lines(t), "lines": [m.line() for m in matches]}
    if not matches:
        held = "/".join(sorted(classes))
        why = "no rule recorded for this chip" if entry is None else f"no rule recorded for {held} in {group}"
        return Availability(chip_id=chip_id, region=region, group=group, status="unknown", as_of=t.as_of,
                            rule=f"{why}: status unknown (never shown as available)", source=None,
                            basis=entry.basis if entry else None, rules=[], disclaimer=disclaimer, **dated)
    top = matches[0]
    line = f"{top.chip_class} in {group}: {top.status}"
    if top.review_policy:
        line += f" ({top.review_policy})"
    line += f", effective {top.effective_from}, sources as of {top.as_of}"
    return Availability(chip_id=chip_id, region=region, group=group, status=top.status, as_of=t.as_of, rule=line,
                        source=top.source, basis=entry.basis if entry else None, rules=matches, disclaimer=disclaimer,
                        **dated)


def availability_by_group(chip_id: str, tables: Tables | None = None) -> dict[str, Status]:
    """Status of a chip in every region group (for output when no region is chosen)."""
    return {g: availability(chip_id, g, tables).status for g in region_groups(tables)}

