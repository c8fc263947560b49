"""`accelplan sources [--stale] [--json]`: every economics and catalog figure with its source and date.
Only typer loads at start-up; the command imports the rest."""

from __future__ import annotations

import sys
from typing import Any

import typer


def _day(text: str | None) -> Any:
    from datetime import date

    from accelplan.errors import AccelplanError

    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise AccelplanError(f"--today '{text}': expected a date as YYYY-MM-DD") from None


def sources(stale: bool = typer.Option(False, "--stale", help="only the current figures older than 6 months"),
            json_out: bool = typer.Option(False, "--json", help="JSON on stdout"),
            today: str = typer.Option(None, "--today", metavar="YYYY-MM-DD",
                                      help="judge staleness against this day (default: today)"),
            catalog: list[str] = typer.Option(None, "--catalog", metavar="DIR",
                                              help="Extra catalog directory (chips/, systems/, models/ YAML).")) -> None:
    """Every price, rule, economics default and catalog figure with its source and date; --stale lists those older
    than 6 months."""
    import json
    import os

    from rich.console import Console
    from rich.table import Table

    from accelplan.catalog.loader import load_catalog
    from accelplan.economics.data import load_tables
    from accelplan.economics.dates import STALE_AFTER_MONTHS, months_before
    from accelplan.economics.sources import list_sources, stale_entries

    now = _day(today)
    t = load_tables()
    entries = list_sources(now, t, load_catalog(catalog))
    shown = stale_entries(entries) if stale else entries
    cutoff = months_before(now, STALE_AFTER_MONTHS)
    undated = sum(e.as_of is None for e in entries)
    head = {"prices_as_of": t.prices.as_of, "rules_as_of": t.availability.as_of, "prices_checked": t.prices.checked,
            "rules_checked": t.availability.checked, "judged_on": now.isoformat(),
            "stale_after_months": STALE_AFTER_MONTHS, "stale_before": cutoff.isoformat()}
    if json_out:
        doc = {**head, "only_stale": stale, "count": len(shown), "undated": undated,
               "entries": [e.model_dump(mode="json") for e in shown]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 230
    con = Console(soft_wrap=False, width=width, highlight=False)
    con.print(f"prices as of {t.prices.as_of}, rules as of {t.availability.as_of} (checked against public sources "
              f"{max(t.prices.checked, t.availability.checked)}); judged on {now.isoformat()}: a figure is stale when its "
              f"date ends before {cutoff.isoformat()} ({STALE_AFTER_MONTHS} months)")
    table = Table(title=f"{len(shown)} figures older than {STALE_AFTER_MONTHS} months" if stale
                  else f"{len(shown)} figures")
    for col in ("area", "item", "value", "as of", "source", "note"):
        table.add_column(col, overflow="fold")
    for e in shown:
        when = e.as_of or "undated"
        if e.stale:
            when += " (stale)"
        note = e.note or ""
        if not e.current:
            note = note or "superseded"
        table.add_row(e.area, e.item, e.value, when, e.source, note)
    con.print(table)
    con.print(f"[dim]{undated} figures record no date (catalog specifications, reliability and model defaults) and are "
              "never judged stale; dates are as precise as the source ('2026' is read as its last day).[/dim]")


def register(app: typer.Typer) -> None:
    app.command("sources")(sources)
